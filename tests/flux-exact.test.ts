import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { invoke } from '../src/lib/cli.ts';
import { main as validateMain } from '../src/validate/cli.ts';
import { loadConfig } from '../src/validate/config.ts';
import { validateRepository, type RunOptions } from '../src/validate/pipeline.ts';
import { remediationProblems } from '../src/validate/policy.ts';
import { findingLine, formatReport, githubAnnotation, uniqueFindings } from '../src/validate/report.ts';
import { RULES } from '../src/validate/rules.ts';
import { CrdCatalog, crdVersions, crdVersionSchema } from '../src/validate/schema-crds.ts';
import { externalSecretKeys } from '../src/validate/substitute-from.ts';
import { writeSyntheticRepo } from '../bench/synthetic.ts';
import { CACHE, copyPath, fixtureRepo, FIXTURES, ROOT, SCHEMAS, tempDir } from './helpers.ts';

const test = suite('flux-exact');

/** A copy of the clean fixture with files written over it (`null` deletes one). */
const repoFrom = (files: Record<string, string | null>, base = 'clean'): string => {
  const repo = tempDir();
  copyPath(join(FIXTURES, base), repo);
  for (const [file, text] of Object.entries(files)) {
    const path = join(repo, file);
    if (text === null) rmSync(path);
    else {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, text);
    }
  }
  return repo;
};

const ENTRY = 'clusters/test/flux';
const APP = 'kubernetes/apps/demo/podinfo/app';
const run = (repo: string, opts: Partial<RunOptions> = {}) => validateRepository({ repo, schemaDirs: SCHEMAS, cacheDir: CACHE, ...opts });
const lines = async (repo: string, opts: Partial<RunOptions> = {}) => uniqueFindings((await run(repo, opts)).results).map(findingLine);
const validate = (args: string[]) => invoke(validateMain, ['--cache-dir', CACHE, ...args]);

const appKustomization = (...resources: string[]) =>
  `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n${['ocirepository.yaml', 'helmrelease.yaml', 'httproute.yaml', 'ciliumnetworkpolicy.yaml', ...resources].map((r) => `  - ./${r}\n`).join('')}`;
const withLine = (file: string, after: string, line: string, repo = join(FIXTURES, 'clean')) =>
  readFileSync(join(repo, file), 'utf8').replace(after, `${after}${line}`);

const helmRelease = (name: string, spec: string) =>
  `apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: ${name}\nspec:\n  interval: 1h\n  chartRef:\n    kind: OCIRepository\n    name: podinfo\n  install:\n    remediation:\n      retries: 3\n  upgrade:\n    remediation:\n      retries: 3\n${spec}`;

// ---------------------------------------------------------------------------------------------
// The rules table

test('every rule the code reports is in the rules table, and every rule in the table is reported somewhere', () => {
  const sources = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
  const named = new Set<string>();
  // `rule: 'x'`, `report(r, 'x'`, `finding(r, 'x'`, `fail('x'`, `RULE = 'x'`, and both sides of a ternary that picks a rule.
  const pattern = /(?:\brule:\s*|\breport\(\s*(?:[a-zA-Z]+,\s*)?|\bfinding\(\s*[a-zA-Z]+,\s*|\bfail\(\s*|\bRULE = )'([a-z][a-z0-9-]*)'/g;
  const ternary = /\? '([a-z][a-z0-9-]*)' : '([a-z][a-z0-9-]*)'/g;
  for (const file of sources(join(ROOT, 'src'))) {
    if (file.endsWith('rules.ts')) continue;
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      for (const m of line.matchAll(pattern)) named.add(m[1]);
      if (/\brule\b|\breport\(/.test(line)) for (const m of line.matchAll(ternary)) named.add(m[1]).add(m[2]);
    }
  }
  const table = Object.keys(RULES);
  const unknown = [...named].filter((r) => !table.includes(r));
  assert.equal(unknown, [], 'rules reported but not in src/validate/rules.ts');
  assert.equal(table.filter((r) => !named.has(r)), [], 'rules in the table that nothing reports');
  for (const [name, rule] of Object.entries(RULES)) assert.ok(rule.description && ['flux', 'house'].includes(rule.tag), name);
});

test('the config schema names exactly the rules of the table, and refuses another', async () => {
  const schema = JSON.parse(readFileSync(join(ROOT, 'schemas', 'validator-config.schema.json'), 'utf8'));
  assert.equal(schema.properties.rules.propertyNames.enum, Object.keys(RULES));
  const repo = tempDir();
  writeFileSync(join(repo, 'validator.config.yaml'), 'rules:\n  label-prefixes: off\n');
  await loadConfig(repo).then(
    () => assert.unreachable('should refuse'),
    (e) => assert.match(e.message, /^validator\.config\.yaml: rules: must be equal to one of the allowed values/),
  );
  writeFileSync(join(repo, 'validator.config.yaml'), 'rules:\n  label-prefix: loud\n');
  await loadConfig(repo).then(
    () => assert.unreachable('should refuse'),
    (e) => assert.match(e.message, /^validator\.config\.yaml: rules\.label-prefix: must be equal to one of the allowed values/),
  );
});

// ---------------------------------------------------------------------------------------------
// Flux rules and house rules

const mixed = () =>
  repoFrom({
    // A house rule broken (a label without the house prefix) and a Flux one (a dependency that does not exist).
    [`${APP}/helmrelease.yaml`]: withLine(`${APP}/helmrelease.yaml`, '  name: podinfo\n', '  labels:\n    team: web\n'),
    'kubernetes/apps/demo/podinfo/ks.yaml': withLine('kubernetes/apps/demo/podinfo/ks.yaml', '  targetNamespace: demo\n', '  dependsOn:\n    - name: cert-manager\n'),
  });

test('findings print their tag; with --path only the flux rules run, unless --house', async () => {
  const repo = mixed();
  const label = `${APP}/helmrelease.yaml:7: label-prefix [house]: HelmRelease demo/podinfo: custom label "team" must be under monosense.dev/`;
  const dependsOn = 'kubernetes/apps/demo/podinfo/ks.yaml:10: depends-on [flux]: Kustomization flux-system/podinfo: dependsOn flux-system/cert-manager is not a Kustomization in this cluster';
  assert.equal(await lines(repo), [label, dependsOn]);
  assert.equal(await lines(repo, { path: join(repo, ENTRY) }), [dependsOn]);
  assert.equal(await lines(repo, { path: join(repo, ENTRY), house: true }), [label, dependsOn]);
});

test('validator.config.yaml turns a rule off or sets its severity; a house rule set there runs with --path too', async () => {
  const repo = mixed();
  writeFileSync(join(repo, 'validator.config.yaml'), 'rules:\n  depends-on: warning\n  label-prefix: "off"\n');
  assert.equal(await lines(repo), [
    'kubernetes/apps/demo/podinfo/ks.yaml:10: depends-on [flux]: Kustomization flux-system/podinfo: dependsOn flux-system/cert-manager is not a Kustomization in this cluster (warning)',
  ]);
  writeFileSync(join(repo, 'validator.config.yaml'), 'rules:\n  depends-on: "off"\n  label-prefix: error\n');
  assert.equal(await lines(repo, { path: join(repo, ENTRY) }), [
    `${APP}/helmrelease.yaml:7: label-prefix [house]: HelmRelease demo/podinfo: custom label "team" must be under monosense.dev/`,
  ]);
});

test('the remediation rule accepts what Flux defaults: an unset upgrade strategy is rollback', () => {
  const messages = (spec: unknown) => remediationProblems(spec as any).map((p) => p.message);
  assert.equal(messages({ install: { remediation: { retries: 3 } }, upgrade: { remediation: { retries: 3 } } }), []);
  assert.equal(messages({ install: { remediation: { retries: 3 } }, upgrade: { remediation: { remediateLastFailure: true } } }), []);
  assert.equal(messages({ install: { remediation: { retries: 3 } }, upgrade: { remediation: { retries: 3, strategy: 'uninstall' } } }), [
    "spec.upgrade.remediation.strategy must be rollback (Flux's default when unset), not uninstall",
  ]);
  assert.equal(messages({ install: { remediation: { retries: 3 } }, upgrade: { remediation: { strategy: 'rollback' } } }), [
    "a failed upgrade is never rolled back: set spec.upgrade.remediation.retries (Flux's default of 0 remediates nothing)",
  ]);
  assert.equal(messages({}), [
    'spec.install.remediation.retries must be 3',
    "a failed upgrade is never rolled back: set spec.upgrade.remediation.retries (Flux's default of 0 remediates nothing)",
  ]);
});

test('cluster-vars applies to every Kustomization that substitutes, whatever its file name', async () => {
  const ks = (name: string, postBuild: string) =>
    `apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: ${name}\n  namespace: flux-system\nspec:\n  interval: 1h\n  path: ./kubernetes/${name}\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n${postBuild}`;
  const configMap = (name: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: demo\ndata:\n  app: \${APP:=none}\n`;
  const repo = repoFrom({
    'kubernetes/apps/demo/extra.yaml': `${ks('substitutes', '  postBuild:\n    substitute:\n      APP: extra\n')}---\n${ks('plain', '')}`,
    'kubernetes/apps/demo/kustomization.yaml': withLine('kubernetes/apps/demo/kustomization.yaml', '  - ./podinfo/ks.yaml\n', '  - ./extra.yaml\n'),
    'kubernetes/substitutes/configmap.yaml': configMap('substitutes'),
    'kubernetes/plain/configmap.yaml': configMap('plain'),
  });
  assert.equal(await lines(repo), [
    'kubernetes/apps/demo/extra.yaml:13: cluster-vars [house]: Kustomization flux-system/substitutes: substitutes, so postBuild.substituteFrom must include ConfigMap cluster-vars',
  ]);
});

// ---------------------------------------------------------------------------------------------
// What Flux would have at apply time

test('a wrong targetNamespace is reported once, on the Kustomization that sets it', async () => {
  const repo = repoFrom({ 'kubernetes/apps/demo/podinfo/ks.yaml': readFileSync(join(FIXTURES, 'clean/kubernetes/apps/demo/podinfo/ks.yaml'), 'utf8').replace('targetNamespace: demo', 'targetNamespace: demoo') });
  assert.equal(await lines(repo), [
    'kubernetes/apps/demo/podinfo/ks.yaml:8: namespace-missing [flux]: Kustomization flux-system/podinfo: targetNamespace demoo is not created in this cluster (4 objects it applies would fail)',
  ]);
});

const store = 'apiVersion: external-secrets.io/v1\nkind: ClusterSecretStore\nmetadata:\n  name: vault\nspec:\n  provider:\n    fake:\n      data: []\n';
const externalSecret = (target: string) =>
  `apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata:\n  name: podinfo-vars\n  namespace: flux-system\nspec:\n  refreshInterval: 5m\n  secretStoreRef:\n    kind: ClusterSecretStore\n    name: vault\n${target}`;
const usingVars = (...names: string[]) => ({
  'kubernetes/apps/demo/podinfo/ks.yaml': withLine('kubernetes/apps/demo/podinfo/ks.yaml', '        name: cluster-vars\n', '      - kind: Secret\n        name: podinfo-vars\n'),
  [`${APP}/helmrelease.yaml`]: readFileSync(join(FIXTURES, 'clean', APP, 'helmrelease.yaml'), 'utf8').replace('Hello from ${CLUSTER_NAME}', names.map((n) => `\${${n}}`).join(' ')),
});
const message = async (repo: string) =>
  (await run(repo)).results[0].resources.find((r) => r.obj.kind === 'HelmRelease')?.obj.spec.values.ui.message;

test('a substituteFrom Secret an ExternalSecret makes is present: its template keys stand in, other names are unset', async () => {
  const repo = repoFrom({
    ...usingVars('PODINFO_HOST', 'NOT_GIVEN'),
    [`${ENTRY}/store.yaml`]: store,
    [`${ENTRY}/externalsecret.yaml`]: externalSecret('  target:\n    name: podinfo-vars\n    template:\n      data:\n        PODINFO_HOST: "{{ .host }}"\n  data:\n    - secretKey: host\n      remoteRef:\n        key: podinfo\n'),
    [`${ENTRY}/kustomization.yaml`]: withLine(`${ENTRY}/kustomization.yaml`, '  - ./cluster-apps.yaml\n', '  - ./store.yaml\n  - ./externalsecret.yaml\n'),
  });
  assert.equal(await lines(repo), [
    `${APP}/helmrelease.yaml:25: unresolved-variable [flux]: \${NOT_GIVEN} in HelmRelease podinfo has no value in Kustomization flux-system/podinfo postBuild (Flux would substitute an empty string)`,
  ]);
  // As the YAML Flux substitutes reads back: `message: podinfo-host ` (NOT_GIVEN written empty).
  assert.is(await message(repo), 'podinfo-host');
});

test('an ExternalSecret whose keys come from the store gives any variable; so does an object declared external', async () => {
  const dataFrom = repoFrom({
    ...usingVars('PODINFO_HOST', 'ANY_NAME'),
    [`${ENTRY}/store.yaml`]: store,
    [`${ENTRY}/externalsecret.yaml`]: externalSecret('  dataFrom:\n    - extract:\n        key: podinfo\n'),
    [`${ENTRY}/kustomization.yaml`]: withLine(`${ENTRY}/kustomization.yaml`, '  - ./cluster-apps.yaml\n', '  - ./store.yaml\n  - ./externalsecret.yaml\n'),
  });
  assert.equal(await lines(dataFrom), []);
  assert.is(await message(dataFrom), 'podinfo-host any-name');

  const bootstrap = repoFrom(usingVars('PODINFO_HOST'));
  assert.equal(await lines(bootstrap), [
    'kubernetes/apps/demo/podinfo/ks.yaml:25: substitute-from [flux]: Kustomization flux-system/podinfo: substituteFrom Secret flux-system/podinfo-vars is created nowhere in this cluster',
  ]);
  writeFileSync(join(bootstrap, 'validator.config.yaml'), 'external:\n  - kind: Secret\n    namespace: flux-system\n    name: podinfo-vars\n    reason: made at bootstrap\n');
  assert.equal(await lines(bootstrap), []);
  assert.is(await message(bootstrap), 'podinfo-host');
});

test("which keys an ExternalSecret's Secret has", () => {
  assert.equal(externalSecretKeys({ data: [{ secretKey: 'a' }, { secretKey: 'b' }] }), ['a', 'b']);
  assert.equal(externalSecretKeys({ data: [{ secretKey: 'a' }], dataFrom: [{ extract: { key: 'x' } }] }), 'all');
  assert.equal(externalSecretKeys({ dataFrom: [{ extract: { key: 'x' } }], target: { template: { data: { URL: 'x' } } } }), ['URL']);
  assert.equal(externalSecretKeys({ data: [{ secretKey: 'a' }], target: { template: { mergePolicy: 'Merge', data: { URL: 'x' } } } }), ['URL', 'a']);
  assert.equal(externalSecretKeys({ target: { template: { templateFrom: [{ configMap: { name: 'x' } }] } } }), 'all');
});

const pvc = (storageClass: string) =>
  `apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: podinfo\nspec:\n  accessModes: [ReadWriteOnce]\n  storageClassName: ${storageClass}\n  resources:\n    requests:\n      storage: 1Gi\n`;
const cephRelease = helmRelease('rook-ceph-cluster', '  values:\n    cephBlockPools:\n      - name: ceph-block\n        storageClass:\n          enabled: true\n          name: ceph-block\n');

test('a storage class a chart might create is a warning naming the release; declared, it is present; otherwise an error', async () => {
  const files = (storageClass: string) => ({
    [`${APP}/pvc.yaml`]: pvc(storageClass),
    [`${APP}/rook-ceph-cluster.yaml`]: cephRelease,
    [`${APP}/kustomization.yaml`]: appKustomization('pvc.yaml', 'rook-ceph-cluster.yaml'),
  });
  const repo = repoFrom(files('ceph-block'));
  assert.equal(await lines(repo), [
    `${APP}/pvc.yaml:7: storage-class [flux]: PersistentVolumeClaim demo/podinfo: storage class ceph-block is created nowhere in this cluster; HelmRelease demo/rook-ceph-cluster might create it: if so, declare it in validator.config.yaml (releases.<name>.provides, or external) (warning)`,
  ]);
  writeFileSync(join(repo, 'validator.config.yaml'), 'releases:\n  rook-ceph-cluster:\n    provides:\n      - kind: StorageClass\n        name: ceph-block\n');
  assert.equal(await lines(repo), []);
  writeFileSync(join(repo, 'validator.config.yaml'), 'external:\n  - kind: StorageClass\n    name: ceph-block\n    reason: created by the rook-ceph-cluster HelmRelease\n');
  assert.equal(await lines(repo), []);
  assert.equal(await lines(repoFrom(files('fast-ssd'))), [
    `${APP}/pvc.yaml:7: storage-class [flux]: PersistentVolumeClaim demo/podinfo: storage class fast-ssd is created nowhere in this cluster`,
  ]);
});

test("a HelmRelease's valuesFrom needs its ConfigMap or Secret; createNamespace makes the release's namespace", async () => {
  const spec = '  valuesFrom:\n    - kind: Secret\n      name: web-values\n    - kind: ConfigMap\n      name: optional-values\n      optional: true\n';
  const repo = repoFrom({
    [`${APP}/values.yaml`]: helmRelease('values', spec),
    [`${APP}/kustomization.yaml`]: appKustomization('values.yaml'),
  });
  assert.equal(await lines(repo), [
    `${APP}/values.yaml:17: values-from [flux]: HelmRelease demo/values: valuesFrom Secret demo/web-values is created nowhere in this cluster`,
  ]);
  writeFileSync(join(repo, APP, 'externalsecret.yaml'), externalSecret('  target:\n    name: web-values\n  data:\n    - secretKey: values.yaml\n      remoteRef:\n        key: podinfo\n').replace('  namespace: flux-system\n', ''));
  writeFileSync(join(repo, APP, 'kustomization.yaml'), appKustomization('values.yaml', 'externalsecret.yaml'));
  writeFileSync(join(repo, 'validator.config.yaml'), 'external:\n  - kind: ClusterSecretStore\n    name: vault\n    reason: made at bootstrap\n');
  assert.equal(await lines(repo), []);

  // A release in flux-system installing into `other`, and a ConfigMap there (the root Kustomization sets no targetNamespace).
  const other = (createNamespace: boolean) =>
    repoFrom({
      [`${ENTRY}/other.yaml`]: [
        'apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: other\n  namespace: flux-system\nspec:\n  interval: 1h\n',
        '  chartRef:\n    kind: OCIRepository\n    name: podinfo\n    namespace: demo\n  targetNamespace: other\n',
        `  install:\n${createNamespace ? '    createNamespace: true\n' : ''}    remediation:\n      retries: 3\n  upgrade:\n    remediation:\n      retries: 3\n`,
      ].join(''),
      [`${ENTRY}/configmap.yaml`]: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: other\ndata:\n  a: b\n',
      [`${ENTRY}/kustomization.yaml`]: withLine(`${ENTRY}/kustomization.yaml`, '  - ./cluster-apps.yaml\n', '  - ./other.yaml\n  - ./configmap.yaml\n'),
    });
  const noPolicy = `${ENTRY}/other.yaml:1: network-policy [house]: namespace other is tier 2 and runs workloads (HelmRelease other), but has no CiliumNetworkPolicy`;
  assert.equal(await lines(other(true)), [noPolicy]);
  assert.equal(await lines(other(false)), [
    `${ENTRY}/configmap.yaml:5: namespace-missing [flux]: ConfigMap other/settings: namespace other is not created in this cluster`,
    noPolicy,
  ]);
});

// ---------------------------------------------------------------------------------------------
// Schemas of CRDs in the repository

const widgetCrd = (versions = '') => `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  names:
    kind: Widget
    plural: widgets
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              properties:
                size:
                  type: integer
                port:
                  x-kubernetes-int-or-string: true
                  format: int-or-string
                extra:
                  type: object
                  x-kubernetes-preserve-unknown-fields: true
                  properties:
                    known:
                      type: string
${versions}`;
const widget = (spec: string) => `apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: podinfo\nspec:\n${spec}`;

test('CRDs are converted as kubeconform does: strict below the root, lists and preserved fields left open, int-or-string', () => {
  const schema = crdVersionSchema({
    type: 'object',
    properties: {
      spec: {
        type: 'object',
        properties: {
          port: { format: 'int-or-string', description: 'x' },
          open: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true, properties: { a: { type: 'string' } } },
          either: { anyOf: [{ type: 'object', properties: { a: { type: 'string' } } }] },
          given: { type: 'object', properties: {}, additionalProperties: { type: 'string' } },
        },
      },
    },
  });
  assert.is(schema.additionalProperties, undefined, 'the root stays open (the API server checks it)');
  assert.is(schema.properties.spec.additionalProperties, false);
  assert.equal(schema.properties.spec.properties.port, { oneOf: [{ type: 'string' }, { type: 'integer' }] });
  assert.is(schema.properties.spec.properties.open.additionalProperties, undefined);
  assert.is(schema.properties.spec.properties.either.anyOf[0].additionalProperties, undefined);
  assert.equal(schema.properties.spec.properties.given.additionalProperties, { type: 'string' });
  const served = crdVersions(
    { spec: { group: 'example.com', names: { kind: 'Widget' }, versions: [{ name: 'v1', schema: { openAPIV3Schema: { type: 'object' } } }, { name: 'v0', served: false, schema: { openAPIV3Schema: { type: 'object' } } }] } },
    'x.yaml',
  );
  assert.equal(served.map((v) => v.version), ['v1']);
  assert.ok(new CrdCatalog([{ obj: { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', spec: served.length ? { group: 'example.com', names: { kind: 'Widget' }, versions: [{ name: 'v1', schema: { openAPIV3Schema: { type: 'object' } } }] } : {} }, source: 'x.yaml' }]).get('example.com/v1', 'Widget'));
});

test('a CRD rendered in the cluster checks its custom resources strictly', async () => {
  const repo = repoFrom({
    [`${APP}/crd.yaml`]: widgetCrd(),
    [`${APP}/widget.yaml`]: widget('  sise: 3\n  port: http\n  extra:\n    anything: true\n'),
    [`${APP}/kustomization.yaml`]: appKustomization('crd.yaml', 'widget.yaml'),
  });
  assert.equal(await lines(repo), [`${APP}/widget.yaml:6: schema [flux]: Widget demo/podinfo: spec.sise: unknown field`]);
});

test('a kind without a schema: an error here, a warning with --path unless --strict; --crd-dir gives the schema', async () => {
  const repo = repoFrom({
    [`${APP}/widget.yaml`]: widget('  size: big\n'),
    [`${APP}/kustomization.yaml`]: appKustomization('widget.yaml'),
    'crds/widget.yaml': widgetCrd(),
  });
  const missing = `${APP}/widget.yaml:1: schema-missing [flux]: Widget demo/podinfo: no schema for example.com/v1 Widget (tried ${SCHEMAS[0]}/k8s/v1.35.0-standalone-strict/widget-example-v1.json, ${SCHEMAS[0]}/crds/example.com/widget_v1.json); a version the cluster does not serve, or give its CustomResourceDefinition with --crd-dir, or list the kind with a reason in validator.config.yaml`;
  assert.equal(await lines(repo), [missing]);
  assert.equal(await lines(repo, { path: join(repo, ENTRY) }), [`${missing} (warning)`]);
  assert.equal(await lines(repo, { path: join(repo, ENTRY), strict: true }), [missing]);
  assert.equal(await lines(repo, { crdDirs: [join(repo, 'crds')] }), [`${APP}/widget.yaml:6: schema [flux]: Widget demo/podinfo: spec.size: must be integer (got "big")`]);
});

test('--crd-dir wins over the schema folders; a missing one is a usage error', async () => {
  // A CRD that knows a field the bundle's GitRepository schema does not.
  const crds = tempDir();
  writeFileSync(
    join(crds, 'gitrepositories.yaml'),
    'apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: gitrepositories.source.toolkit.fluxcd.io\nspec:\n  group: source.toolkit.fluxcd.io\n  names:\n    kind: GitRepository\n  scope: Namespaced\n  versions:\n    - name: v1\n      served: true\n      storage: true\n      schema:\n        openAPIV3Schema:\n          type: object\n          properties:\n            spec:\n              type: object\n              x-kubernetes-preserve-unknown-fields: true\n',
  );
  const repo = repoFrom({ [`${ENTRY}/flux-system.yaml`]: withLine(`${ENTRY}/flux-system.yaml`, '  interval: 1h\n', '  newField: true\n') });
  assert.equal(await lines(repo), [`${ENTRY}/flux-system.yaml:9: schema [flux]: GitRepository flux-system/flux-system: spec.newField: unknown field`]);
  assert.equal(await lines(repo, { crdDirs: [crds] }), []);
  const r = await validate(['--repo', repo, '--crd-dir', join(crds, 'nope')]);
  assert.is(r.code, 2);
  assert.match(r.stderr, /^error: --crd-dir .*nope: no such directory\n$/);
});

test('--kubernetes-version picks the built-in schemas, and must be one the schema folders have', async () => {
  const clean = join(FIXTURES, 'clean');
  const ok = await validate(['--repo', clean, '--kubernetes-version', '1.35.0']);
  assert.is(ok.code, 0, ok.stderr);
  const absent = await validate(['--repo', clean, '--kubernetes-version', '1.29.0']);
  assert.is(absent.code, 2);
  assert.is(absent.stderr, 'error: no built-in schemas of Kubernetes 1.29.0 in the schema folders (they have v1.35.0-standalone-strict): pick --kubernetes-version among them\n');
  const bad = await validate(['--repo', clean, '--kubernetes-version', 'latest']);
  assert.is(bad.code, 2);
  assert.is(bad.stderr, 'error: --kubernetes-version must be X.Y.Z, not "latest"\n');
});

test('without any schema (no folder, public locations unreachable), one line and exit 2', async () => {
  const real = globalThis.fetch;
  const env = process.env.K8S_OPS_SCHEMA_DIR;
  globalThis.fetch = (async () => {
    throw new TypeError('fetch failed');
  }) as typeof fetch;
  delete process.env.K8S_OPS_SCHEMA_DIR;
  try {
    const r = await invoke(validateMain, ['--cache-dir', tempDir(), '--repo', join(FIXTURES, 'clean')]);
    assert.is(r.code, 2);
    assert.is(r.stdout, '');
    assert.is(
      r.stderr,
      "error: schemas cannot be had: no schema folder is given and kubeconform's public locations could not be reached (no network?); point K8S_OPS_SCHEMA_DIR or --schema-dir at a schema folder\n",
    );
  } finally {
    globalThis.fetch = real;
    if (env === undefined) delete process.env.K8S_OPS_SCHEMA_DIR;
    else process.env.K8S_OPS_SCHEMA_DIR = env;
  }
});

// ---------------------------------------------------------------------------------------------
// The report

test('--format github prints each finding as a GitHub Actions annotation', async () => {
  const r = await validate(['--repo', fixtureRepo('dangling-depends-on'), '--format', 'github']);
  assert.is(r.code, 1);
  assert.equal(r.stdout.split('\n').filter((l) => l.startsWith('::')), [
    '::error file=kubernetes/apps/demo/podinfo/ks.yaml,line=13,title=depends-on [flux]::Kustomization flux-system/podinfo: dependsOn flux-system/cert-manager is not a Kustomization in this cluster',
  ]);
  assert.match(r.stdout, /\ncluster\s+kustomizations\s+resources\s+errors\s+warnings\s+seconds\n/);
  const escaped = githubAnnotation({ file: 'a,b:c.yaml', rule: 'namespace', severity: 'warning', message: '100% sure\nreally' });
  assert.is(escaped, '::warning file=a%2Cb%3Ac.yaml,title=namespace [flux]::100%25 sure%0Areally');
});

test("the summary's counts are the findings printed, and no finding is printed without its file", async () => {
  const repo = tempDir();
  writeSyntheticRepo(repo, 1, 2);
  // One app shared by both clusters, with one finding each, and no Namespace in Git for it.
  const hr = join(repo, 'kubernetes/apps/ns0/app0/app/helmrelease.yaml');
  writeFileSync(hr, readFileSync(hr, 'utf8').replace('  name: ${APP}\n', '  name: ${APP}\n  labels:\n    team: web\n'));
  rmSync(join(repo, 'kubernetes/apps/ns0/app0/app/ciliumnetworkpolicy.yaml'));
  const k = join(repo, 'kubernetes/apps/ns0/app0/app/kustomization.yaml');
  writeFileSync(k, readFileSync(k, 'utf8').replace('  - ciliumnetworkpolicy.yaml\n', ''));
  const ns = join(repo, 'kubernetes/apps/ns0/kustomization.yaml');
  writeFileSync(ns, readFileSync(ns, 'utf8').replace('  - namespace.yaml\n', ''));
  writeFileSync(join(repo, 'validator.config.yaml'), 'external:\n  - kind: Namespace\n    name: ns0\n    reason: made by hand\n');
  const { results } = await run(repo);
  const report = formatReport(results, 'text');
  const printed = report.split('\n').filter((l) => /^\S+:\d+: /.test(l) || /^\S+: [a-z-]+ \[/.test(l));
  assert.equal(printed, [
    'kubernetes/apps/ns0/app0/app/helmrelease.yaml:1: network-policy [house]: namespace ns0 is tier 2 and runs workloads (HelmRelease app0), but has no CiliumNetworkPolicy',
    'kubernetes/apps/ns0/app0/app/helmrelease.yaml:6: label-prefix [house]: HelmRelease ns0/app0: custom label "team" must be under monosense.dev/',
  ]);
  assert.match(report, /\nc1 +\d+ +\d+ +2 +0 +[\d.]+\nc2 +\d+ +\d+ +2 +0 +[\d.]+\ntotal +2 +0\n?$/);
  for (const r of results) for (const f of r.findings) assert.ok(f.file && f.file !== '?', findingLine(f));
});

test.run();
