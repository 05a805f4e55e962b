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
      const { error } = parsePromQL(rule.expr);
      if (!error) return;
      const name = rule.alert ? `alert ${rule.alert}` : rule.record ? `record ${rule.record}` : `rule ${i + 1} of group ${group?.name ?? g + 1}`;
      // MetricsQL (VictoriaMetrics) extends PromQL; this reads PromQL only.
      const extensions = o.kind === 'VMRule' ? ' (MetricsQL-only syntax is not read)' : '';
      problems.push({ message: `${name}: expr does not parse as PromQL near ${JSON.stringify(error.near.replace(/\s+/g, ' ').trim())}${extensions}`, path: ['spec', 'groups', g, 'rules', i, 'expr'] });
    });
  });
  return problems;
};
