import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cacheArea, cacheRecord } from '../src/lib/cache.ts';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { compileCached, forgetCompiled } from '../src/lib/compiled-schemas.ts';
import { loadConfig } from '../src/validate/config.ts';
import { SchemaValidator } from '../src/validate/schema.ts';
import { AJV_OPTIONS, goRegExp } from '../src/validate/schema-patches.ts';
import { schemaPaths } from '../src/validate/schema-registry.ts';
import { checkSchemas, NoSchemasError } from '../src/validate/schema-stage.ts';
import { CACHE, ROOT, SCHEMAS, tempDir } from './helpers.ts';

const test = suite('schema');
const validator = () => new SchemaValidator({ dirs: SCHEMAS, cacheDir: CACHE, kubernetesVersion: '1.35.0' });

test('without a network, one failed download stops the others, and the verdict says why', async () => {
  const real = globalThis.fetch;
  let calls = 0;
  globalThis.fetch = (async () => {
    calls++;
    throw new TypeError('fetch failed');
  }) as typeof fetch;
  try {
    const offline = new SchemaValidator({ dirs: [], cacheDir: tempDir(), kubernetesVersion: '1.35.0' });
    const verdicts = [];
    for (const kind of ['ConfigMap', 'Service', 'Secret']) verdicts.push(await offline.check({ apiVersion: 'v1', kind, metadata: { name: 'x' } }));
    assert.is(calls, 1);
    for (const v of verdicts) assert.equal(v, { kind: 'missing', tried: [(v as any).tried[0]], unreachable: true });
    // The stage says so once, as a usage error (exit 2), instead of a finding per resource.
    const resources = ['a', 'b'].map((name) => ({ obj: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name } }, appliedBy: 'flux-system/x', sops: false }));
    const failure = await checkSchemas(resources, offline, await loadConfig(ROOT)).then(() => undefined, (e) => e);
    assert.instance(failure, NoSchemasError);
    assert.is(failure.exitCode, 2);
    assert.match(failure.message, /could not be reached \(no network\?\); point K8S_OPS_SCHEMA_DIR or --schema-dir at a schema folder$/);
  } finally {
    globalThis.fetch = real;
  }
});

test('kubeconform file names', () => {
  assert.is(schemaPaths('apps/v1', 'Deployment', '1.35.0').k8s, 'k8s/v1.35.0-standalone-strict/deployment-apps-v1.json');
  assert.is(schemaPaths('v1', 'ConfigMap', '1.35.0').k8s, 'k8s/v1.35.0-standalone-strict/configmap-v1.json');
  assert.is(schemaPaths('helm.toolkit.fluxcd.io/v2', 'HelmRelease', '1.35.0').crd, 'crds/helm.toolkit.fluxcd.io/helmrelease_v2.json');
});

test('Go RE2 patterns are matched as RE2 matches them, never by backtracking', () => {
  assert.ok(goRegExp('(?i)^abc$', 'u').test('ABC'));
  assert.ok(goRegExp('^\\PC*$', 'u').test('plain text'));
  assert.not.ok(goRegExp('^\\PC*$', 'u').test('bell\u0007'));
  assert.ok(goRegExp('^(?P<word>[a-z]+)\\z', 'u').test('abc'), 'Go-only syntax');
  // Exponential for a backtracking engine (2^5000 ways to fail); RE2 answers in one pass.
  assert.not.ok(goRegExp('^(a+)+$', 'u').test(`${'a'.repeat(5000)}!`));
  assert.ok(goRegExp('(?=x)', 'u').test('anything'), 'a pattern RE2 refuses is not enforced');
});

test('every pattern of a schema is enforced as its own', async () => {
  const schema = { type: 'object', properties: { scheme: { type: 'string', pattern: '^(http|ssh)://' }, name: { type: 'string', pattern: '^[a-z]+$' } } };
  const validate = await compileCached({ key: 'two-patterns', schema: () => schema, options: AJV_OPTIONS, cacheDir: tempDir() });
  assert.ok(validate({ scheme: 'ssh://git@example.com', name: 'abc' }));
  assert.not.ok(validate({ scheme: 'ftp://example.com', name: 'abc' }));
  assert.not.ok(validate({ scheme: 'ssh://x', name: 'ABC' }));
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

test('compiled validators are cached as code and give the same verdicts from the cache', async () => {
  const cacheDir = tempDir();
  const bad = { apiVersion: 'helm.toolkit.fluxcd.io/v2', kind: 'HelmRelease', metadata: { name: 'x', namespace: 'y' }, spec: { interval: 5 } };
  const fresh = await new SchemaValidator({ dirs: SCHEMAS, cacheDir, kubernetesVersion: '1.35.0' }).check(bad);
  const files = readdirSync(cacheArea(cacheDir, 'validators').dir);
  assert.ok(files.some((f) => f.endsWith('.cjs')), 'the compiled code is kept');
  // A new validator with the same cache, as a new process has: no ajv compile, the same issues.
  rmSync(cacheRecord(cacheDir, 'schema-results').file, { force: true });
  const cached = await new SchemaValidator({ dirs: SCHEMAS, cacheDir, kubernetesVersion: '1.35.0' }).check(bad);
  assert.equal(cached, fresh);
  assert.is(cached.kind, 'invalid');
});

test('a damaged compiled validator is compiled again', async () => {
  const cacheDir = tempDir();
  const schema = { type: 'object', properties: { name: { type: 'string', pattern: '(?i)^[a-z]+$' } } };
  const options = { allErrors: true, code: { regExp: goRegExp } };
  const first = await compileCached({ key: 'k', schema: () => schema, options, cacheDir });
  assert.ok(first({ name: 'ABC' }), 'the Go pattern engine is used');
  const [file] = readdirSync(cacheArea(cacheDir, 'validators').dir).filter((f) => f.endsWith('.cjs'));
  writeFileSync(join(cacheArea(cacheDir, 'validators').dir, file), 'this is not javascript {');
  // As a new process: this one's own validators do not answer.
  forgetCompiled();
  const again = await compileCached({ key: 'k', schema: () => schema, options, cacheDir });
  assert.ok(again({ name: 'ABC' }));
  assert.not.ok(again({ name: 'a1' }));
  assert.not.match(readFileSync(join(cacheArea(cacheDir, 'validators').dir, file), 'utf8'), 'not javascript', 'the entry was replaced');
});

test.run();
