import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { goRegExp, schemaPaths, SchemaValidator } from '../src/validate/schema.ts';
import { SCHEMAS, tempDir } from './helpers.ts';

const test = suite('schema');
const validator = () => new SchemaValidator({ dirs: SCHEMAS, cacheDir: tempDir(), kubernetesVersion: '1.35.0' });

test('kubeconform file names', () => {
  assert.is(schemaPaths('apps/v1', 'Deployment', '1.35.0').k8s, 'k8s/v1.35.0-standalone-strict/deployment-apps-v1.json');
  assert.is(schemaPaths('v1', 'ConfigMap', '1.35.0').k8s, 'k8s/v1.35.0-standalone-strict/configmap-v1.json');
  assert.is(schemaPaths('helm.toolkit.fluxcd.io/v2', 'HelmRelease', '1.35.0').crd, 'crds/helm.toolkit.fluxcd.io/helmrelease_v2.json');
});

test('Go RE2 patterns are translated', () => {
  assert.ok(goRegExp('(?i)^abc$', 'u').test('ABC'));
  assert.ok(goRegExp('^\\PC*$', 'u').test('plain text'));
  assert.not.ok(goRegExp('^\\PC*$', 'u').test('bell\u0007'));
});

test('the five CRDs the bundle README flags compile after patching', async () => {
  const v = validator();
  for (const [apiVersion, kind] of [
    ['monitoring.coreos.com/v1', 'PrometheusRule'],
    ['monitoring.coreos.com/v1alpha1', 'AlertmanagerConfig'],
    ['cilium.io/v2', 'CiliumNetworkPolicy'],
    ['cilium.io/v2', 'CiliumClusterwideNetworkPolicy'],
    ['ceph.rook.io/v1', 'CephObjectStoreUser'],
  ]) {
    const verdict = await v.check({ apiVersion, kind, metadata: { name: 'x', namespace: 'y' }, spec: {} });
    assert.ok(verdict.kind !== 'missing', `${kind} should have a schema`);
  }
});

test('strict built-ins: unknown field and wrong type', async () => {
  const v = validator();
  const bad = await v.check({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', lables: {} }, data: { a: 1 } });
  assert.is(bad.kind, 'invalid');
  const messages = bad.kind === 'invalid' ? bad.issues.map((i) => i.message) : [];
  assert.ok(messages.includes('metadata.lables: unknown field'), messages.join('; '));
  assert.ok(messages.some((m) => m.startsWith('data.a: must be string')), messages.join('; '));
});

test('CRDs get a strict root and real ObjectMeta', async () => {
  const v = validator();
  const verdict = await v.check({
    apiVersion: 'source.toolkit.fluxcd.io/v1',
    kind: 'GitRepository',
    metadata: { name: 'x', namespace: 'flux-system', lables: {} },
    spec: { url: 'https://example.com/x', interval: '1h' },
    extra: true,
  });
  const messages = verdict.kind === 'invalid' ? verdict.issues.map((i) => i.message) : [];
  assert.ok(messages.includes('metadata.lables: unknown field'), messages.join('; '));
  assert.ok(messages.includes('extra: unknown field'), messages.join('; '));
});

test('a strict CRD root still admits apiVersion, kind and metadata where the catalog omits them', async () => {
  const verdict = await validator().check({ apiVersion: 'talos.dev/v1alpha1', kind: 'ServiceAccount', metadata: { name: 'x', namespace: 'y' }, spec: { roles: ['os:reader'] } });
  assert.is(verdict.kind, 'valid', JSON.stringify(verdict));
});

test('a version the stack does not serve has no schema', async () => {
  const verdict = await validator().check({ apiVersion: 'external-secrets.io/v1beta1', kind: 'ExternalSecret', metadata: { name: 'x' } });
  assert.is(verdict.kind, 'missing');
});

test('results are cached by content across runs', async () => {
  const cacheDir = tempDir();
  const obj = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' }, data: { a: 1 } };
  const first = new SchemaValidator({ dirs: SCHEMAS, cacheDir, kubernetesVersion: '1.35.0' });
  const a = await first.check(obj);
  first.save();
  const second = new SchemaValidator({ dirs: SCHEMAS, cacheDir, kubernetesVersion: '1.35.0' });
  const b = await second.check(obj);
  assert.equal(a, b);
  assert.is((second as any).ajv, undefined, 'a cached verdict needs no compiled schema');
});

test.run();
