import { parsePromQL } from './promql.ts';
import type { KObject } from './types.ts';

/** The alerting and recording rules of a VMRule or PrometheusRule whose expression does not parse as PromQL. */
export const alertRuleProblems = (o: KObject): { message: string; path: (string | number)[] }[] => {
  const problems: { message: string; path: (string | number)[] }[] = [];
  const groups: unknown[] = Array.isArray(o.spec?.groups) ? o.spec.groups : [];
  groups.forEach((group: any, g) => {
    // vmalert's other datasources (graphite, vlogs) speak other languages.
    if (group?.type && group.type !== 'prometheus') return;
    const rules: unknown[] = Array.isArray(group?.rules) ? group.rules : [];
    rules.forEach((rule: any, i) => {
      if (typeof rule?.expr !== 'string') return;
      const { error } = parsePromQL(rule.expr, { grafana: false });
      if (!error) return;
      const name = rule.alert ? `alert ${rule.alert}` : rule.record ? `record ${rule.record}` : `rule ${i + 1} of group ${group?.name ?? g + 1}`;
      const before = rule.expr.slice(0, error.offset).split('\n');
      const rest = rule.expr.slice(error.offset).trim().split('\n')[0].slice(0, 30);
      const where = rest ? `line ${before.length} of the expression, column ${before[before.length - 1].length + 1}, at ${JSON.stringify(rest)}` : 'the end of the expression';
      const variable = rest.startsWith('$') ? ` (nothing substitutes ${/^\$\{?\w*\}?/.exec(rest)![0]} in a rule)` : '';
      // vmalert reads MetricsQL, a superset of PromQL: its extensions are reported too (the rule can be set to warning).
      const extensions = o.kind === 'VMRule' ? '; MetricsQL extensions are not read' : '';
      problems.push({
        message: `${name}: expr does not parse as PromQL at ${where}${variable}${extensions}`,
        path: ['spec', 'groups', g, 'rules', i, 'expr'],
      });
    });
  });
  return problems;
};
