// The Grafana dashboards in Git: valid JSON, unique uids, the cluster variable, provisioned datasources,
// PromQL that parses and names only metrics a scrape object of the repository produces.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { checkDashboards } from '../src/validate/dashboards.ts';
import { validateRepository } from '../src/validate/pipeline.ts';
import { parsePromQL, withoutGrafanaVariables } from '../src/validate/promql.ts';
import { findingLine } from '../src/validate/report.ts';
import { CACHE, ROOT, SCHEMAS, tempDir } from './helpers.ts';

const test = suite('dashboards');

const DASHBOARDS = 'clusters/infra/apps/observability/grafana/dashboards';

const VM = { type: 'prometheus', uid: 'victoriametrics' };
const CLUSTER = { name: 'cluster', type: 'query', datasource: VM, query: { query: 'label_values(kube_node_info, cluster)' } };

const HELMRELEASE = `apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: grafana
spec:
  values:
    datasources:
      datasources.yaml:
        apiVersion: 1
        datasources:
          - name: VictoriaMetrics
            uid: victoriametrics
            type: prometheus
            isDefault: true
          - name: VictoriaLogs
            uid: victorialogs
            type: victoriametrics-logs-datasource
`;

const SCRAPES = `apiVersion: operator.victoriametrics.com/v1beta1
kind: VMServiceScrape
metadata:
  name: kube-state-metrics
spec: {}
---
apiVersion: operator.victoriametrics.com/v1beta1
kind: VMServiceScrape
metadata:
  name: node-exporter
spec: {}
`;

const CATALOGUE = `targets:
  VMServiceScrape/kube-state-metrics: [kube_node_info, kube_pod_status_phase]
  VMServiceScrape/node-exporter: [node_cpu_seconds_total]
documented:
  overview:
    recorded_metric: a recording rule of this dashboard's own
`;

const panel = (title: string, expr: string, datasource: unknown = VM) => ({ type: 'timeseries', title, datasource, targets: [{ refId: 'A', datasource, expr }] });
const board = (uid: string, panels: unknown[], variables: unknown[] = [CLUSTER]) => JSON.stringify({ uid, title: uid, templating: { list: variables }, panels }, null, 2);

/** A repository with a Grafana app, its dashboards folder and the scrape objects the catalogue names. */
const repoWith = (dashboards: Record<string, string>, catalogue = CATALOGUE): string => {
  const repo = tempDir();
  const app = join(repo, 'clusters/infra/apps/observability/grafana');
  mkdirSync(join(app, 'app'), { recursive: true });
  mkdirSync(join(app, 'dashboards'));
  mkdirSync(join(repo, 'kubernetes/apps/observability/scrapes'), { recursive: true });
  writeFileSync(join(app, 'app', 'helmrelease.yaml'), HELMRELEASE);
  writeFileSync(join(repo, 'kubernetes/apps/observability/scrapes/scrapes.yaml'), SCRAPES);
  writeFileSync(join(app, 'dashboards', 'metrics.yaml'), catalogue);
  for (const [name, text] of Object.entries(dashboards)) writeFileSync(join(app, 'dashboards', name), text);
  return repo;
};
const findings = (repo: string) => checkDashboards(repo).map(findingLine);
const at = (name: string) => `clusters/infra/apps/observability/grafana/dashboards/${name}`;

test('the repository\'s dashboards pass: each parses, has its own uid and a cluster variable, and reads catalogued metrics', () => {
  assert.equal(checkDashboards(ROOT).map(findingLine), []);
  const uids = ['cluster-overview.json', 'flux-gitops.json', 'application-health.json'].map((f) => JSON.parse(readFileSync(join(ROOT, DASHBOARDS, f), 'utf8')).uid);
  assert.equal(uids, ['cluster-overview', 'flux-gitops', 'application-health']);
});

test('a clean dashboard, a documented metric and a LogsQL query on the logs datasource give no finding', () => {
  const repo = repoWith({
    'overview.json': board('overview', [
      panel('Nodes', 'count by (cluster) (kube_node_info{cluster=~"$cluster"})'),
      panel('CPU', 'sum by (cluster) (rate(node_cpu_seconds_total{cluster=~"${cluster}"}[$__rate_interval]))'),
      panel('Recorded', 'recorded_metric'),
      panel('Logs', 'cluster:~"$cluster" _msg:~"error" | sort by (_time) desc', { type: 'victoriametrics-logs-datasource', uid: 'victorialogs' }),
      { type: 'row', title: 'A row', panels: [panel('In a row', 'kube_pod_status_phase{phase="Running"}')] },
    ]),
  });
  assert.equal(findings(repo), []);
});

test('each defect is reported on its dashboard with its line', () => {
  const repo = repoWith({
    'broken.json': '{\n  "uid": "broken",\n  "panels": [\n}\n',
    'twin-a.json': board('twin', [panel('Nodes', 'kube_node_info')]),
    'twin-b.json': board('twin', [panel('Nodes', 'kube_node_info')]),
    'no-cluster.json': board('no-cluster', [panel('Nodes', 'kube_node_info')], []),
    'datasource.json': board('datasource', [panel('Elsewhere', 'kube_node_info', { type: 'prometheus', uid: 'prometheus-somewhere' })]),
    'query.json': board('query', [
      panel('Unbalanced', 'sum(rate(kube_node_info[5m])'),
      panel('Unknown function', 'rollup_candlestick(kube_node_info)'),
      panel('Unknown metric', 'sum(kube_node_infoo) + node_cpu_seconds_total'),
      panel('By name', '{__name__="container_memory_rss"}'),
      panel('Bare variable', 'topk($count, kube_node_info)'),
      panel('Name regex', '{__name__=~"kube_.*"}'),
    ]),
  });
  assert.equal(findings(repo), [
    `${at('broken.json')}:4: dashboard-json [house]: not valid JSON: ${(() => { try { JSON.parse('{\n  "uid": "broken",\n  "panels": [\n}\n'); } catch (e) { return (e as Error).message; } })()}`,
    `${at('datasource.json')}:22: dashboard-datasource [house]: panel "Elsewhere": datasource prometheus/prometheus-somewhere is not provisioned (provisioned: prometheus/victoriametrics, victoriametrics-logs-datasource/victorialogs)`,
    `${at('no-cluster.json')}: dashboard-cluster-variable [house]: has no variable "cluster": every dashboard can show either cluster or both`,
    `${at('query.json')}:34: dashboard-query [house]: panel "Unbalanced" query A: does not parse as PromQL near "_info[5m])"`,
    `${at('query.json')}:52: dashboard-query [house]: panel "Unknown function" query A: does not parse as PromQL near "andlestick(kube_node"`,
    `${at('query.json')}:70: dashboard-metric [house]: panel "Unknown metric" query A: metric kube_node_infoo is produced by no scrape object listed in metrics.yaml (nor documented there for this dashboard)`,
    `${at('query.json')}:88: dashboard-metric [house]: panel "By name" query A: metric container_memory_rss is produced by no scrape object listed in metrics.yaml (nor documented there for this dashboard)`,
    `${at('query.json')}:106: dashboard-query [house]: panel "Bare variable" query A: variable $count stands where a metric name or number belongs`,
    `${at('query.json')}:124: dashboard-metric [house]: panel "Name regex" query A: selects metrics by a __name__ regular expression, which cannot be checked against metrics.yaml`,
    `${at('twin-b.json')}:2: dashboard-uid [house]: uid "twin" is also the uid of ${at('twin-a.json')}`,
  ]);
});

test('a metric documented for another dashboard does not count, and a catalogue key must name a real scrape object', () => {
  const repo = repoWith({ 'other.json': board('other', [panel('Recorded', 'recorded_metric')]) });
  const lines = findings(repo);
  assert.ok(lines.includes(`${at('other.json')}:34: dashboard-metric [house]: panel "Recorded" query A: metric recorded_metric is produced by no scrape object listed in metrics.yaml (nor documented there for this dashboard)`), lines.join('\n'));
  const bad = repoWith({ 'a.json': board('a', [panel('Nodes', 'kube_node_info')]) }, `targets:\n  VMPodScrape/no-such-scrape: [kube_node_info]\n`);
  assert.equal(findings(bad), [
    `${at('metrics.yaml')}:2: dashboard-metrics [house]: targets.VMPodScrape/no-such-scrape: no such scrape object in the repository (a VMServiceScrape, VMPodScrape, VMNodeScrape, ... or a component the operator scrapes, as Kind/name)`,
  ]);
});

test('a variable query is checked like a panel\'s, and a folder without a catalogue or provisioned datasources is refused', () => {
  const variable = { ...CLUSTER, query: { query: 'label_values(kube_node_inf{job="x"}, cluster)' } };
  const repo = repoWith({ 'v.json': board('v', [panel('Nodes', 'kube_node_info')], [variable]) });
  assert.equal(findings(repo), [
    `${at('v.json')}:7: dashboard-metric [house]: variable cluster: metric kube_node_inf is produced by no scrape object listed in metrics.yaml (nor documented there for this dashboard)`,
  ]);
  const bare = repoWith({ 'a.json': board('a', [panel('Nodes', 'kube_node_info')]) });
  writeFileSync(join(bare, 'clusters/infra/apps/observability/grafana/app/helmrelease.yaml'), HELMRELEASE.replace(/ {4}datasources:[\s\S]*/, '    replicas: 1\n'));
  assert.equal(findings(bare), [`${at('a.json')}: dashboard-datasource [house]: no HelmRelease in clusters/infra/apps/observability/grafana provisions datasources (values.datasources)`]);
  const uncatalogued = repoWith({ 'a.json': board('a', [panel('Nodes', 'kube_node_info')]) });
  writeFileSync(join(uncatalogued, DASHBOARDS, 'metrics.yaml'), '');
  assert.equal(findings(uncatalogued), [`${at('metrics.yaml')}: dashboard-metrics [house]: needs a mapping targets: {<Kind>/<name>: [metric, ...]}`]);
});

test('checking only the files a change touched checks their whole folder and still knows every scrape object', () => {
  const repo = repoWith({ 'a.json': board('a', [panel('Nodes', 'kube_node_infoo')]), 'b.json': board('a', [panel('Nodes', 'kube_node_info')]) });
  assert.equal(checkDashboards(repo, [join(repo, DASHBOARDS, 'b.json')], { complete: false }).map(findingLine), [
    `${at('a.json')}:34: dashboard-metric [house]: panel "Nodes" query A: metric kube_node_infoo is produced by no scrape object listed in metrics.yaml (nor documented there for this dashboard)`,
    `${at('b.json')}:2: dashboard-uid [house]: uid "a" is also the uid of ${at('a.json')}`,
  ]);
  assert.equal(checkDashboards(repo, [join(repo, 'README.md')], { complete: false }), []);
});

test('PromQL: metric names, Grafana variables and parse errors', () => {
  assert.equal(withoutGrafanaVariables('rate(x{a="$cluster"}[$__rate_interval]) offset ${__range}'), 'rate(x{a="__grafana_variable_cluster"}[5m]) offset 5m');
  const q = parsePromQL('histogram_quantile(0.9, sum by (le) (rate(a_bucket{x=~"[[v]]"}[5m]))) / on () group_left {__name__="b", c="d"} and ignoring (z) c offset 1h');
  assert.equal(q, { metrics: ['a_bucket', 'b', 'c'], bareVariables: [], nameRegex: false });
  assert.ok(parsePromQL('sum(x').error);
  assert.ok(parsePromQL('').error);
  assert.equal(parsePromQL('label_replace(x, "y", "$1", "z", "(.*)")').metrics, ['x']);
});

test('npm run validate reports a dashboard\'s defects with every cluster', async () => {
  // Two clusters whose Flux entry folders apply nothing: only the repository files step has something to say.
  const repo = repoWith({ 'a.json': board('a', [panel('Nodes', 'kube_node_infoo')]) });
  for (const cluster of ['one', 'two']) {
    mkdirSync(join(repo, 'clusters', cluster, 'flux'), { recursive: true });
    writeFileSync(join(repo, 'clusters', cluster, 'flux', 'kustomization.yaml'), 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: []\n');
  }
  const { results } = await validateRepository({ repo, schemaDirs: SCHEMAS, repoFiles: true, cacheDir: CACHE });
  assert.equal(results.map((r) => r.cluster.name), ['one', 'two']);
  for (const r of results) {
    assert.equal(r.findings.filter((f) => f.rule.startsWith('dashboard-')).map(findingLine), [
      `${at('a.json')}:34: dashboard-metric [house]: panel "Nodes" query A: metric kube_node_infoo is produced by no scrape object listed in metrics.yaml (nor documented there for this dashboard)`,
    ]);
  }
  const without = await validateRepository({ repo, schemaDirs: SCHEMAS, cacheDir: CACHE });
  assert.not.ok(without.results.some((r) => r.findings.some((f) => f.rule.startsWith('dashboard-'))));
});

test.run();
