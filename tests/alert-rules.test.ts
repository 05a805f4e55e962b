import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { alertRuleProblems } from '../src/validate/alert-rules.ts';

const test = suite('alert rules');

const vmrule = (groups: unknown[]) => ({ apiVersion: 'operator.victoriametrics.com/v1beta1', kind: 'VMRule', metadata: { name: 'r' }, spec: { groups } });

test('good PromQL passes; a broken expression is named by its alert, with where it stops and its path', () => {
  const problems = alertRuleProblems(
    vmrule([
      { name: 'ok', rules: [{ alert: 'Up', expr: 'up == 0' }, { record: 'job:rate5m', expr: 'sum by (job) (rate(x_total[5m]))' }] },
      { name: 'bad', rules: [{ alert: 'Half', expr: 'sum(rate(x_total[5m])) /\n' }, { alert: 'Threshold', expr: 'up > $threshold' }] },
    ]),
  );
  assert.equal(problems.map((p) => p.path), [['spec', 'groups', 1, 'rules', 0, 'expr'], ['spec', 'groups', 1, 'rules', 1, 'expr']]);
  assert.is(problems[0].message, 'alert Half: expr does not parse as PromQL at the end of the expression; MetricsQL extensions are not read');
  // Nothing substitutes a Grafana variable in an alerting rule: vmalert would refuse it.
  assert.is(problems[1].message, 'alert Threshold: expr does not parse as PromQL at line 1 of the expression, column 6, at "$threshold" (nothing substitutes $threshold in a rule); MetricsQL extensions are not read');
});

test('groups for another datasource are not read as PromQL; a PrometheusRule is checked too', () => {
  assert.equal(alertRuleProblems(vmrule([{ name: 'logs', type: 'vlogs', rules: [{ alert: 'Errors', expr: '_time:5m error | stats count()' }] }])), []);
  const problems = alertRuleProblems({ apiVersion: 'monitoring.coreos.com/v1', kind: 'PrometheusRule', metadata: { name: 'p' }, spec: { groups: [{ name: 'g', rules: [{ alert: 'A', expr: 'rate(x[5m]' }] }] } });
  assert.is(problems.length, 1);
  assert.not.match(problems[0].message, /MetricsQL/);
});

test.run();
