import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { addSampleApp, type SampleApp } from '../src/validate/sample-app.ts';
import { validateRepository } from '../src/validate/pipeline.ts';
import { findingLine, uniqueFindings } from '../src/validate/report.ts';
import type { ClusterResult, KObject } from '../src/validate/types.ts';
import { CACHE, ROOT, SCHEMAS, scratchRepo, unexpectedFindings } from './helpers.ts';

const test = suite('components: limitrange and resourcequota; priority classes');

const validateWith = async (apps: SampleApp[]): Promise<ClusterResult[]> => {
  const root = await scratchRepo();
  for (const app of apps) addSampleApp(root, app);
  return (await validateRepository({ repo: root, schemaDirs: SCHEMAS })).results;
};

const get = (results: ClusterResult[], kind: string, name: string, namespace?: string): KObject[] =>
  results.map((r) => {
    const found = r.resources.find((x) => x.obj.kind === kind && x.obj.metadata?.name === name && (namespace === undefined || x.obj.metadata?.namespace === namespace));
    assert.ok(found, `${r.cluster.name}: ${kind} ${namespace ?? ''}/${name} was not rendered`);
    return found!.obj;
  });

const both = ['limitrange', 'resourcequota'];
// Quantities may come out of Flux's substitution as numbers or strings; the API server takes both.
const asStrings = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, String(v)]));
const overrides = {
  LIMITRANGE_DEFAULT_CPU_REQUEST: '100m',
  LIMITRANGE_DEFAULT_MEMORY_REQUEST: '128Mi',
  LIMITRANGE_DEFAULT_MEMORY_LIMIT: '1Gi',
  LIMITRANGE_MAX_MEMORY: '4Gi',
  RESOURCEQUOTA_REQUESTS_CPU: '8',
  RESOURCEQUOTA_REQUESTS_MEMORY: '16Gi',
  RESOURCEQUOTA_LIMITS_MEMORY: '32Gi',
  RESOURCEQUOTA_REQUESTS_STORAGE: '500Gi',
  RESOURCEQUOTA_PVCS: '20',
  RESOURCEQUOTA_PODS: '100',
  RESOURCEQUOTA_LOADBALANCERS: '1',
};

let results: ClusterResult[] = [];
test.before(async () => {
  results = await validateWith([
    { namespace: 'sample-limits', name: 'limits-demo', components: both },
    { namespace: 'sample-limits-tuned', name: 'tuned-demo', components: both, substitute: overrides },
  ]);
});

test('both components build clean through a sample app on both clusters, with defaults and overrides', () => {
  assert.equal(results.map((r) => r.cluster.name), ['apps', 'infra']);
  assert.equal(unexpectedFindings(uniqueFindings(results)).map(findingLine), []);
});

test('defaults: requests and a memory limit for containers without, no CPU limit; a quota on the namespace', () => {
  for (const lr of get(results, 'LimitRange', 'default-limits', 'sample-limits')) {
    assert.equal(lr.spec.limits, [{ type: 'Container', defaultRequest: { cpu: '50m', memory: '64Mi' }, default: { memory: '512Mi' }, max: { memory: '16Gi' } }]);
  }
  for (const rq of get(results, 'ResourceQuota', 'default-quota', 'sample-limits')) {
    assert.equal(asStrings(rq.spec.hard), {
      'requests.cpu': '4',
      'requests.memory': '8Gi',
      'limits.memory': '16Gi',
      'requests.storage': '100Gi',
      persistentvolumeclaims: '10',
      pods: '50',
      'services.loadbalancers': '0',
    });
  }
});

test('every knob is taken from the app\'s postBuild.substitute', () => {
  for (const lr of get(results, 'LimitRange', 'default-limits', 'sample-limits-tuned')) {
    assert.equal(lr.spec.limits[0], { type: 'Container', defaultRequest: { cpu: '100m', memory: '128Mi' }, default: { memory: '1Gi' }, max: { memory: '4Gi' } });
  }
  for (const rq of get(results, 'ResourceQuota', 'default-quota', 'sample-limits-tuned')) {
    assert.equal(asStrings(rq.spec.hard), {
      'requests.cpu': '8',
      'requests.memory': '16Gi',
      'limits.memory': '32Gi',
      'requests.storage': '500Gi',
      persistentvolumeclaims: '20',
      pods: '100',
      'services.loadbalancers': '1',
    });
  }
});

test('namespace-wide: a second app of the namespace with the component is a duplicate', async () => {
  const twice = await validateWith([
    { namespace: 'sample-limits', name: 'first', components: ['limitrange'] },
    { namespace: 'sample-limits', name: 'second', components: ['limitrange'] },
  ]);
  const dup = uniqueFindings(twice).filter((f) => f.rule === 'duplicate-id');
  assert.ok(dup.length > 0 && dup.every((f) => /LimitRange sample-limits\/default-limits/.test(f.message)), uniqueFindings(twice).map(findingLine).join('\n'));
});

test('priority classes: cluster-services and application (the global default) on every cluster; system-* only the built-in ones', async () => {
  // The classes are the repository's own, not the test skeleton's.
  const repository = (await validateRepository({ repo: ROOT, schemaDirs: SCHEMAS, cacheDir: CACHE })).results;
  assert.equal(repository.map((r) => r.cluster.name), ['apps', 'infra']);
  for (const r of repository) {
    const classes = r.resources.filter((x) => x.obj.kind === 'PriorityClass').map((x) => x.obj);
    assert.equal(classes.map((c) => c.metadata.name).sort(), ['application', 'cluster-services'], r.cluster.name);
    const [app] = classes.filter((c) => c.metadata.name === 'application');
    const [services] = classes.filter((c) => c.metadata.name === 'cluster-services');
    assert.is(app.globalDefault, true);
    assert.is(services.globalDefault, false);
    assert.ok(services.value > app.value);
    // The API server reserves system-* and values above one billion for its own classes.
    assert.ok(services.value <= 1_000_000_000);
    assert.is(r.resources.find((x) => x.obj.kind === 'PriorityClass')?.appliedBy, 'flux-system/priority-classes');
    assert.is(r.resources.find((x) => x.obj.kind === 'Kustomization' && x.obj.metadata.name === 'priority-classes')?.appliedBy, 'flux-system/cluster-infrastructure');
  }
});

test.run();
