// Hostile repositories: the validator and renderer read pull requests from forks, so every path, name and
// YAML file a repository holds is untrusted. Each case is a copy of the clean fixture with one attack laid
// over it; each must be refused or contained with a finding while the rest of the run completes.
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join, relative } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { loadAnswersFile } from '../generators/lib/answers.ts';
import { invoke } from '../src/lib/cli.ts';
import { contain } from '../src/lib/contain.ts';
import { UserError } from '../src/lib/errors.ts';
import { walkFiles } from '../src/lib/fsutil.ts';
import { MAX_CONFIG_BYTES, MAX_YAML_BYTES } from '../src/lib/yaml-safe.ts';
import { loadConfig } from '../src/validate/config.ts';
import { validateRepository, type RunOptions } from '../src/validate/pipeline.ts';
import { main as renderMain } from '../src/validate/render-cli.ts';
import { findKustomize, runKustomize } from '../src/validate/kustomize.ts';
import { findingLine } from '../src/validate/report.ts';
import { isRule, ruleTag } from '../src/validate/rules.ts';
import { SchemaValidator } from '../src/validate/schema.ts';
import { checkSopsFiles } from '../src/validate/sops-files.ts';
import { checkDashboards } from '../src/validate/dashboards.ts';
import { checkRepoFiles } from '../src/validate/repo-files.ts';
import type { Finding } from '../src/validate/types.ts';
import { CACHE, copyPath, fixtureRepo, ownCache, ROOT, SCHEMAS, tempDir } from './helpers.ts';

const test = suite('containment');

/** A copy of the clean fixture (cluster `test`), beside a folder outside it that an attack may aim at. */
const hostileRepo = () => {
  const parent = tempDir('k8s-ops-hostile-');
  const repo = join(parent, 'repo');
  copyPath(fixtureRepo('clean'), repo);
  const outside = join(parent, 'outside');
  mkdirSync(outside);
  writeFileSync(join(outside, 'stolen.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: stolen\n  namespace: demo\ndata:\n  secret: from-outside\n');
  writeFileSync(join(outside, 'kustomization.yaml'), 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ./stolen.yaml\n');
  return { repo, outside, parent };
};

const write = (repo: string, file: string, text: string) => {
  mkdirSync(dirname(join(repo, file)), { recursive: true });
  writeFileSync(join(repo, file), text);
};

/** Flux Kustomizations of the cluster root, added to its kustomization.yaml as `hostile.yaml`. */
const addFluxKustomizations = (repo: string, specs: Record<string, Record<string, unknown>>) => {
  const docs = Object.entries(specs).map(([name, spec]) =>
    [
      'apiVersion: kustomize.toolkit.fluxcd.io/v1',
      'kind: Kustomization',
      'metadata:',
      `  name: ${JSON.stringify(name)}`,
      '  namespace: flux-system',
      'spec:',
      '  interval: 1h',
      '  prune: true',
      '  sourceRef:',
      '    kind: GitRepository',
      '    name: flux-system',
      ...Object.entries(spec).map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`),
    ].join('\n'),
  );
  write(repo, 'clusters/test/flux/hostile.yaml', `${docs.join('\n---\n')}\n`);
  const root = join(repo, 'clusters/test/flux/kustomization.yaml');
  writeFileSync(root, `${readFileSync(root, 'utf8')}  - ./hostile.yaml\n`);
};

const KUSTOMIZATION = 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n';
const configMap = (name: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: demo\ndata:\n  a: b\n`;

const validate = async (repo: string, opts: Partial<RunOptions> = {}) => {
  const { results } = await validateRepository({ repo, schemaDirs: SCHEMAS, cacheDir: CACHE, ...opts });
  const findings = results.flatMap((r) => r.findings);
  for (const f of findings) assert.ok(isRule(f.rule), `${findingLine(f)}: the rule is not in src/validate/rules.ts`);
  const objects = results.flatMap((r) => r.resources.map((x) => x.obj));
  return { findings, objects, names: objects.map((o) => `${o.kind}/${o.metadata?.name}`) };
};

const of = (findings: Finding[], rule: string) => findings.filter((f) => f.rule === rule).map((f) => `${f.file}: ${f.message}`).sort();

/** The clean fixture's app is still built and checked: the attack stopped one Kustomization, not the run. */
const runCompleted = (names: string[]) => {
  for (const n of ['HelmRelease/podinfo', 'HTTPRoute/podinfo', 'Gateway/internal']) assert.ok(names.includes(n), `${n} missing: the run did not complete`);
};

test('a spec.path, a component or a listed file outside the repository is refused, directly and through a symlink', async () => {
  const { repo, outside } = hostileRepo();
  symlinkSync(outside, join(repo, 'kubernetes/linked'));
  write(repo, 'kubernetes/resource/kustomization.yaml', `${KUSTOMIZATION}resources:\n  - ../../../outside/stolen.yaml\n`);
  write(repo, 'kubernetes/linked-file/kustomization.yaml', `${KUSTOMIZATION}resources:\n  - ./cm.yaml\n`);
  symlinkSync(join(outside, 'stolen.yaml'), join(repo, 'kubernetes/linked-file/cm.yaml'));
  write(repo, 'kubernetes/generated/cm.yaml', configMap('generated'));
  symlinkSync(join(outside, 'stolen.yaml'), join(repo, 'kubernetes/generated/more.yaml'));
  write(repo, 'kubernetes/component-host/cm.yaml', configMap('component-host'));
  write(repo, 'kubernetes/component-host/kustomization.yaml', `${KUSTOMIZATION}resources:\n  - ./cm.yaml\n`);
  addFluxKustomizations(repo, {
    'path-up': { path: '../outside' },
    'path-link': { path: './kubernetes/linked' },
    'component-up': { path: './kubernetes/component-host', components: ['../../../outside'] },
    'component-link': { path: './kubernetes/component-host', components: ['../linked'] },
    'resource-up': { path: './kubernetes/resource' },
    'resource-link': { path: './kubernetes/linked-file' },
    'generated-link': { path: './kubernetes/generated' },
  });
  const { findings, names } = await validate(repo);
  const real = (p: string) => join(outside, p);
  assert.equal(of(findings, 'outside-repository'), [
    `clusters/test/flux/hostile.yaml: Kustomization flux-system/component-link: component ../linked is a symlink to ${outside}, outside the repository: not read`,
    'clusters/test/flux/hostile.yaml: Kustomization flux-system/component-up: component ../../../outside resolves to ../outside, outside the repository: not read',
    `clusters/test/flux/hostile.yaml: Kustomization flux-system/path-link: spec.path ./kubernetes/linked is a symlink to ${outside}, outside the repository: not read (Flux confines it to the source)`,
    'clusters/test/flux/hostile.yaml: Kustomization flux-system/path-up: spec.path ../outside resolves to ../outside, outside the repository: not read (Flux confines it to the source)',
    `kubernetes/generated/more.yaml: Kustomization flux-system/generated-link: spec.path more.yaml is a symlink to ${real('stolen.yaml')}, outside the repository: not read, and the Kustomization is not built`,
    `kubernetes/linked-file/kustomization.yaml: Kustomization flux-system/resource-link: resources ./cm.yaml is a symlink to ${real('stolen.yaml')}, outside the repository: not read, and the Kustomization is not built`,
    'kubernetes/resource/kustomization.yaml: Kustomization flux-system/resource-up: resources ../../../outside/stolen.yaml resolves to ../outside/stolen.yaml, outside the repository: not read, and the Kustomization is not built',
  ]);
  assert.ok(findings.filter((f) => f.rule === 'outside-repository').every((f) => f.severity === 'error' && ruleTag(f.rule) === 'flux'));
  assert.not.ok(names.includes('ConfigMap/stolen'), 'an object from outside the repository was built');
  // A refused component leaves the rest of its Kustomization built; the symlinked manifest in the app folder fails its build.
  assert.ok(names.includes('ConfigMap/component-host'));
  runCompleted(names);
});

test('validator.config.yaml or .sops.yaml as a symlink out of the repository is not read', async () => {
  const { repo, outside } = hostileRepo();
  writeFileSync(join(outside, 'settings.yaml'), 'kubernetesVersion: 1.35.0\n');
  symlinkSync(join(outside, 'settings.yaml'), join(repo, 'validator.config.yaml'));
  await loadConfig(repo).then(
    () => assert.unreachable('a settings file outside the repository was read'),
    (e) => assert.is(e.message, `validator.config.yaml is a symlink to ${join(outside, 'settings.yaml')}, outside the repository: not read`),
  );
  writeFileSync(join(outside, 'sops.yaml'), 'creation_rules:\n  - age: age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p\n');
  symlinkSync(join(outside, 'sops.yaml'), join(repo, '.sops.yaml'));
  write(repo, 'kubernetes/secret.sops.yaml', 'stringData:\n  token: plain\n');
  assert.equal((await checkSopsFiles(repo)).map((f) => `${f.file}: ${f.rule}: ${f.message}`), [
    `kubernetes/secret.sops.yaml: sops-rule: .sops.yaml: is a symlink to ${join(outside, 'sops.yaml')}, outside the repository: not read`,
  ]);
});

test('plugin configurations written inline, duplicate keys, second documents and plugin folders never let kustomize read outside', async () => {
  const { repo, outside } = hostileRepo();
  writeFileSync(join(outside, 'secret.txt'), 'from-outside\n');
  const generator = (files: string) => `apiVersion: builtin\nkind: ConfigMapGenerator\nmetadata:\n  name: exfil\n  namespace: demo\nfiles:\n${files}`;
  // kustomize takes any entry of generators/transformers/validators that reads as YAML objects as a configuration.
  write(repo, 'kubernetes/inline-block/kustomization.yaml', `${KUSTOMIZATION}generators:\n  - |-\n${generator(`  - ${join(outside, 'secret.txt')}\n`).replace(/^/gm, '    ')}\n`);
  write(repo, 'kubernetes/inline-flow/kustomization.yaml', `${KUSTOMIZATION}resources:\n  - ./cm.yaml\ntransformers:\n  - "{apiVersion: builtin, kind: PatchTransformer, metadata: {name: p}, path: ../../../outside/stolen.yaml}"\n`);
  write(repo, 'kubernetes/inline-flow/cm.yaml', configMap('inline-flow'));
  // go-yaml takes the last of two equal keys, and kustomize the first document: both hid a path from the walk.
  write(repo, 'kubernetes/duplicate/kustomization.yaml', `${KUSTOMIZATION}resources: []\nresources:\n  - ../../../outside/stolen.yaml\n`);
  write(repo, 'kubernetes/documents/kustomization.yaml', `${KUSTOMIZATION}resources:\n  - ${join(outside, 'stolen.yaml')}\n---\n{}\n`);
  write(repo, 'kubernetes/plugin-file/kustomization.yaml', `${KUSTOMIZATION}generators:\n  - ./generator.yaml\n`);
  write(repo, 'kubernetes/plugin-file/generator.yaml', generator(`  - cm.yaml\nfiles:\n  - ${join(outside, 'secret.txt')}\n`));
  // A folder's configurations exist only once it is built, and a patch there may point them anywhere.
  write(repo, 'kubernetes/plugin-folder/kustomization.yaml', `${KUSTOMIZATION}generators:\n  - ./made\n`);
  write(repo, 'kubernetes/plugin-folder/made/kustomization.yaml', `${KUSTOMIZATION}resources:\n  - ./generator.yaml\npatches:\n  - target: {kind: ConfigMapGenerator}\n    patch: |-\n      - {op: add, path: /files, value: [${join(outside, 'secret.txt')}]}\n`);
  write(repo, 'kubernetes/plugin-folder/made/generator.yaml', 'apiVersion: builtin\nkind: ConfigMapGenerator\nmetadata:\n  name: made\n  namespace: demo\n');
  // An inline transformer inside the repository still builds.
  write(repo, 'kubernetes/inline-ok/kustomization.yaml', `${KUSTOMIZATION}resources:\n  - ./cm.yaml\ntransformers:\n  - |-\n    apiVersion: builtin\n    kind: AnnotationsTransformer\n    metadata:\n      name: note\n    annotations:\n      note: inline\n    fieldSpecs:\n      - path: metadata/annotations\n        create: true\n`);
  write(repo, 'kubernetes/inline-ok/cm.yaml', configMap('inline-ok'));
  const names = ['inline-block', 'inline-flow', 'duplicate', 'documents', 'plugin-file', 'plugin-folder', 'inline-ok'];
  addFluxKustomizations(repo, Object.fromEntries(names.map((n) => [n, { path: `./kubernetes/${n}` }])));
  const { findings, objects, names: built } = await validate(repo);
  const ks = (n: string) => `Kustomization flux-system/${n}`;
  assert.equal(of(findings, 'outside-repository'), [
    `kubernetes/inline-block/kustomization.yaml: ${ks('inline-block')}: files ${join(outside, 'secret.txt')} resolves to ../outside/secret.txt, outside the repository: not read, and the Kustomization is not built`,
    `kubernetes/inline-flow/kustomization.yaml: ${ks('inline-flow')}: path ../../../outside/stolen.yaml resolves to ../outside/stolen.yaml, outside the repository: not read, and the Kustomization is not built`,
  ]);
  assert.equal(of(findings, 'yaml'), [
    `kubernetes/documents/kustomization.yaml: ${ks('documents')}: has more than one YAML document, of which kustomize would read only the first: refused, since kustomize may read it differently, and the Kustomization is not built`,
    `kubernetes/duplicate/kustomization.yaml: ${ks('duplicate')}: has the key resources twice in one mapping, of which kustomize would silently take one: refused, since kustomize may read it differently, and the Kustomization is not built`,
    `kubernetes/plugin-file/generator.yaml: ${ks('plugin-file')}: has the key files twice in one mapping, of which kustomize would silently take one: refused, since kustomize may read it differently, and the Kustomization is not built`,
  ]);
  assert.equal(of(findings, 'plugin-not-followed'), [
    `kubernetes/plugin-folder/kustomization.yaml: ${ks('plugin-folder')}: generators ./made is a kustomization folder: the plugin configurations it builds, and the files they name, are known only after a build: not followed, so the Kustomization is not built`,
  ]);
  assert.not.ok(JSON.stringify(objects).includes('from-outside'), 'a file outside the repository was read');
  assert.not.ok(built.includes('ConfigMap/stolen'));
  assert.is(objects.find((o) => o.kind === 'ConfigMap' && o.metadata?.name === 'inline-ok')?.metadata?.annotations?.note, 'inline');
  runCompleted(built);
});

test('--path outside the repository, or a symlink out of it, is refused before anything is read', async () => {
  const { repo, outside } = hostileRepo();
  symlinkSync(outside, join(repo, 'escape'));
  await validateRepository({ repo, path: outside, schemaDirs: SCHEMAS, cacheDir: CACHE }).then(
    () => assert.unreachable('--path outside was accepted'),
    (e) => assert.is(e.message, `--path ${outside} resolves to ../outside, outside the repository ${repo}`),
  );
  await validateRepository({ repo, path: join(repo, 'escape'), schemaDirs: SCHEMAS, cacheDir: CACHE }).then(
    () => assert.unreachable('--path through a symlink was accepted'),
    (e) => assert.is(e.message, `--path ${join(repo, 'escape')} is a symlink to ${outside}, outside the repository ${repo}`),
  );
  const inside = await validate(repo, { path: join(repo, 'clusters/test/flux') });
  runCompleted(inside.names);
});

test('render writes only Kubernetes names, inside --out: a name with ../ or an output folder that is a symlink is refused', async () => {
  const { repo, parent } = hostileRepo();
  write(repo, 'kubernetes/escape/cm.yaml', configMap('escape'));
  addFluxKustomizations(repo, { '../../../../escaped': { path: './kubernetes/escape' }, 'Not_A.Name': { path: './kubernetes/escape' } });
  const out = join(parent, 'rendered');
  const r = await invoke(renderMain, ['--repo', repo, '--out', out, '--cache-dir', CACHE, '--quiet']);
  assert.is(r.code, 1, r.stderr);
  assert.equal(r.stderr.split('\n').filter((l) => l.includes('invalid-name')).sort(), [
    'clusters/test/flux/hostile.yaml:17: invalid-name [flux]: Kustomization flux-system/Not_A.Name: name "Not_A.Name" is not a Kubernetes object name: not written',
    'clusters/test/flux/hostile.yaml:4: invalid-name [flux]: Kustomization flux-system/../../../../escaped: name "../../../../escaped" is not a Kubernetes object name: not written',
  ]);
  const written = walkFiles(parent).map((f) => relative(parent, f)).filter((f) => !f.startsWith('repo/') && !f.startsWith('outside/')).sort();
  assert.equal(written, ['rendered/flux-system/cluster-apps.yaml', 'rendered/flux-system/flux-system.yaml', 'rendered/flux-system/podinfo.yaml']);

  // An output folder whose namespace folder is a symlink elsewhere: nothing is written through it.
  const elsewhere = join(parent, 'elsewhere');
  mkdirSync(elsewhere);
  const linked = join(parent, 'linked-out');
  mkdirSync(linked);
  symlinkSync(elsewhere, join(linked, 'flux-system'));
  const again = await invoke(renderMain, ['--repo', repo, '--out', linked, '--cache-dir', CACHE, '--quiet']);
  assert.is(again.code, 1);
  assert.match(again.stderr, /Kustomization flux-system\/podinfo: flux-system\/podinfo\.yaml is under a symlink to .*elsewhere.*, outside the output folder: not written/);
  assert.equal(readdirSync(elsewhere), []);

  // A file of the output folder replaced by a dangling symlink out of it, and one by a symlink loop: nothing
  // is written where they lead.
  const planted = join(out, 'flux-system/podinfo.yaml');
  rmSync(planted);
  symlinkSync(join(elsewhere, 'planted.yaml'), planted);
  rmSync(join(out, 'flux-system/cluster-apps.yaml'));
  symlinkSync(join(out, 'flux-system/cluster-apps.yaml'), join(out, 'flux-system/cluster-apps.yaml'));
  const third = await invoke(renderMain, ['--repo', repo, '--out', out, '--cache-dir', CACHE, '--quiet']);
  assert.is(third.code, 1);
  assert.match(third.stderr, /Kustomization flux-system\/podinfo: flux-system\/podinfo\.yaml is under a symlink to .*elsewhere\/planted\.yaml, outside the output folder: not written/);
  assert.match(third.stderr, /Kustomization flux-system\/cluster-apps: flux-system\/cluster-apps\.yaml is under a symlink .*: not written/);
  assert.equal(readdirSync(elsewhere), []);
});

test('a dangling symlink leads where a write through it lands; a symlink loop is not inside', () => {
  const root = tempDir();
  const outside = tempDir();
  mkdirSync(join(root, 'in'));
  symlinkSync(join(outside, 'nothing-yet.yaml'), join(root, 'in/dangling.yaml'));
  symlinkSync('../in/missing.yaml', join(root, 'in/relative.yaml'));
  symlinkSync('loop.yaml', join(root, 'in/loop.yaml'));
  const dangling = contain(root, 'in/dangling.yaml');
  assert.is(dangling.inside, false);
  assert.is(dangling.real, join(realpathSync(outside), 'nothing-yet.yaml'));
  assert.is(contain(root, 'in/relative.yaml').inside, true);
  assert.is(contain(root, 'in/loop.yaml').inside, false);
  assert.is(contain(root, 'in/not-there/file.yaml').inside, true);
});

test('a kind, apiVersion or group outside Kubernetes syntax is a schema finding: no file is read, nothing downloaded or cached', async () => {
  const { repo } = hostileRepo();
  write(
    repo,
    'kubernetes/apps/demo/podinfo/app/odd.yaml',
    [
      'apiVersion: v1\nkind: ../../../../evil\nmetadata:\n  name: odd-kind\n  namespace: demo',
      'apiVersion: evil.example/../../../../../evil\nkind: Thing\nmetadata:\n  name: odd-version\n  namespace: demo',
      'apiVersion: Evil_Group.example/v1\nkind: Thing\nmetadata:\n  name: odd-group\n  namespace: demo',
      'apiVersion: evil.example/v1\nkind: Thing.json\nmetadata:\n  name: odd-dot\n  namespace: demo',
    ].join('\n---\n') + '\n',
  );
  const k = join(repo, 'kubernetes/apps/demo/podinfo/app/kustomization.yaml');
  writeFileSync(k, `${readFileSync(k, 'utf8')}  - ./odd.yaml\n`);
  const { findings, names } = await validate(repo);
  assert.equal(of(findings, 'schema'), [
    'kubernetes/apps/demo/podinfo/app/odd.yaml: ../../../../evil demo/odd-kind: the kind "../../../../evil" is not a Kubernetes kind name (letters, digits and dashes): no schema looked for',
    'kubernetes/apps/demo/podinfo/app/odd.yaml: Thing demo/odd-group: the API group "Evil_Group.example" is not a DNS subdomain: no schema looked for',
    'kubernetes/apps/demo/podinfo/app/odd.yaml: Thing demo/odd-version: apiVersion "evil.example/../../../../../evil" is not GROUP/VERSION: no schema looked for',
    'kubernetes/apps/demo/podinfo/app/odd.yaml: Thing.json demo/odd-dot: the kind "Thing.json" is not a Kubernetes kind name (letters, digits and dashes): no schema looked for',
  ]);
  assert.equal(of(findings, 'schema-missing'), []);
  runCompleted(names);

  // A schema folder with a permissive schema where `../` would lead: never read.
  const schemaRoot = tempDir('k8s-ops-hostile-schemas-');
  mkdirSync(join(schemaRoot, 'schemas', 'k8s', 'v1.35.0-standalone-strict'), { recursive: true });
  writeFileSync(join(schemaRoot, 'evil-v1.json'), '{}');
  const local = new SchemaValidator({ dirs: [join(schemaRoot, 'schemas')], cacheDir: tempDir('k8s-ops-hostile-cache-'), kubernetesVersion: '1.35.0' });
  assert.equal(await local.check({ apiVersion: 'v1', kind: '../../../evil', metadata: { name: 'x' } }), {
    kind: 'bad-type',
    reason: 'the kind "../../../evil" is not a Kubernetes kind name (letters, digits and dashes)',
    field: 'kind',
  });
  assert.equal(local.schemaFiles(), []);

  // Without schema folders (kubeconform's public locations): nothing is fetched, nothing lands in the cache.
  const cacheDir = tempDir('k8s-ops-hostile-cache-');
  const fetched: string[] = [];
  const realFetch = globalThis.fetch;
  globalThis.fetch = (async (url: string) => {
    fetched.push(String(url));
    throw new Error('no network in this test');
  }) as typeof fetch;
  try {
    const schemas = new SchemaValidator({ dirs: [], cacheDir, kubernetesVersion: '1.35.0' });
    for (const [apiVersion, kind] of [['v1', '../../evil'], ['evil.example/../../x', 'Thing'], ['v1/../x', 'Pod'], ['v1', 'a/b'], ['x.example/v1', 'Thing '], ['v1', '\u212Austomization']]) {
      const verdict = await schemas.check({ apiVersion, kind, metadata: { name: 'x' } });
      assert.is(verdict.kind, 'bad-type', `${apiVersion} ${kind}`);
      await schemas.warm(apiVersion, kind);
    }
    schemas.save();
  } finally {
    globalThis.fetch = realFetch;
  }
  assert.equal(fetched, []);
  assert.not.ok(existsSync(join(cacheDir, 'schemas')), 'a schema was cached');
});

test('a pattern that makes a backtracking engine hang, in a CRD or in .sops.yaml, is matched in one pass: a finding, and the run goes on', async () => {
  const { repo } = hostileRepo();
  // ^(a+)+$ against 40 a's and a "!" takes a backtracking engine 2^40 steps.
  const evil = `${'a'.repeat(40)}!`;
  write(
    repo,
    'kubernetes/redos/crd.yaml',
    'apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: things.evil.example\nspec:\n  group: evil.example\n  names: {kind: Thing, plural: things, singular: thing, listKind: ThingList}\n  scope: Namespaced\n  versions:\n    - name: v1\n      served: true\n      storage: true\n      schema:\n        openAPIV3Schema:\n          type: object\n          properties:\n            spec:\n              type: object\n              properties:\n                v: {type: string, pattern: "^(a+)+$"}\n',
  );
  write(repo, 'kubernetes/redos/thing.yaml', `apiVersion: evil.example/v1\nkind: Thing\nmetadata:\n  name: thing\n  namespace: demo\nspec:\n  v: ${evil}\n`);
  write(repo, 'kubernetes/redos/kustomization.yaml', `${KUSTOMIZATION}resources:\n  - ./crd.yaml\n  - ./thing.yaml\n`);
  addFluxKustomizations(repo, { redos: { path: './kubernetes/redos' } });
  const { findings, names } = await validate(repo);
  assert.equal(
    findings.filter((f) => f.file === 'kubernetes/redos/thing.yaml').map((f) => f.rule),
    ['schema'],
  );
  assert.match(findings.find((f) => f.file === 'kubernetes/redos/thing.yaml')!.message, /pattern/);
  runCompleted(names);

  write(repo, '.sops.yaml', 'creation_rules:\n  - path_regex: (a+)+b\n    age: age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p\n');
  write(repo, `kubernetes/${'a'.repeat(40)}.sops.yaml`, 'stringData:\n  token: plain\n');
  assert.equal((await checkSopsFiles(repo)).map((f) => `${f.rule}: ${f.message}`), [`sops-rule: .sops.yaml: no creation rule matches kubernetes/${'a'.repeat(40)}.sops.yaml`]);
});

/** An alias bomb: a few hundred bytes whose aliases expand to 9^8 values. */
const BOMB = (() => {
  const lines = ['l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]'];
  for (let i = 1; i <= 8; i++) lines.push(`l${i}: &l${i} [${Array(9).fill(`*l${i - 1}`).join(', ')}]`);
  return lines.join('\n');
})();
const manifestBomb = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bomb\n  namespace: demo\n${BOMB.replace(/^l0:/, 'data:\n  l0:').replace(/\nl/g, '\n  l')}\n`;
/** A YAML file one byte over `limit`: a comment, so a parser that read it would still accept it. */
const oversized = (limit: number) => `# ${'x'.repeat(limit - 1)}\n`;

test('an alias bomb or an oversized manifest (SOPS-encrypted or not) is refused before kustomize reads it; the run goes on', async () => {
  const { repo } = hostileRepo();
  write(repo, 'kubernetes/bomb/secret.sops.yaml', manifestBomb);
  write(repo, 'kubernetes/bomb/kustomization.yaml', `${KUSTOMIZATION}resources:\n  - ./secret.sops.yaml\n`);
  write(repo, 'kubernetes/large/big.yaml', oversized(MAX_YAML_BYTES));
  write(repo, 'kubernetes/large/cm.yaml', configMap('large'));
  addFluxKustomizations(repo, { bomb: { path: './kubernetes/bomb' }, large: { path: './kubernetes/large' } });
  const { findings, names } = await validate(repo);
  assert.equal(of(findings, 'yaml-limit'), [
    'kubernetes/bomb/secret.sops.yaml: Kustomization flux-system/bomb: its aliases expand beyond 100 nodes (a YAML "billion laughs" bomb?): refused, before kustomize reads it; the Kustomization is not built',
    'kubernetes/large/big.yaml: Kustomization flux-system/large: 16.0 MiB, larger than the 16 MiB a YAML file may have: refused unread, before kustomize reads it; the Kustomization is not built',
  ]);
  assert.not.ok(names.includes('ConfigMap/bomb') || names.includes('ConfigMap/large'));
  runCompleted(names);
});

test('an alias bomb or an oversized *.sops.yaml file is a finding of the SOPS check, not a crash', async () => {
  const { repo } = hostileRepo();
  write(repo, '.sops.yaml', 'creation_rules:\n  - path_regex: .*\\.sops\\.yaml$\n    age: age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p\n');
  write(repo, 'kubernetes/bomb.sops.yaml', `${BOMB}\n`);
  write(repo, 'kubernetes/large.sops.yaml', oversized(1024 * 1024));
  const findings = await checkSopsFiles(repo);
  assert.equal(
    findings.map((f) => [f.file, f.rule, f.severity]),
    [
      ['kubernetes/bomb.sops.yaml', 'sops-unreadable', 'error'],
      ['kubernetes/large.sops.yaml', 'sops-unreadable', 'error'],
    ],
  );
  assert.match(findings[0].message, /alias/i);
  assert.match(findings[1].message, /larger than \d+ bytes: refused unread/);
});

test('an alias bomb or an oversized file among the repository\'s other files (workflows, a dashboards app) is a finding, not a crash', async () => {
  const { repo } = hostileRepo();
  write(repo, '.github/workflows/bomb.yaml', `${BOMB}\n`);
  write(repo, '.github/workflows/big.yaml', oversized(MAX_CONFIG_BYTES));
  const files = await checkRepoFiles(repo, SCHEMAS, tempDir('k8s-ops-hostile-cache-'));
  assert.equal(
    files.findings.map((f) => `${f.file}: ${f.rule}: ${f.message}`),
    [
      '.github/workflows/big.yaml: yaml-limit: 1.0 MiB, larger than the 1 MiB a YAML file may have: refused unread',
      '.github/workflows/bomb.yaml: yaml-limit: its aliases expand beyond 100 nodes (a YAML "billion laughs" bomb?): refused',
    ],
  );
  // The dashboards check reads every YAML file of the app beside a dashboards folder for its datasources.
  write(repo, 'kubernetes/apps/demo/grafana/dashboards/board.json', '{"uid": "board", "panels": []}\n');
  write(repo, 'kubernetes/apps/demo/grafana/dashboards/metrics.yaml', 'targets: {}\n');
  write(repo, 'kubernetes/apps/demo/grafana/app/bomb.yaml', `${BOMB}\n`);
  write(repo, 'kubernetes/apps/demo/grafana/app/large.yaml', oversized(MAX_YAML_BYTES));
  assert.equal(
    checkDashboards(repo).filter((f) => f.rule === 'yaml-limit').map((f) => `${f.file}: ${f.message}`),
    [
      'kubernetes/apps/demo/grafana/app/bomb.yaml: its aliases expand beyond 100 nodes (a YAML "billion laughs" bomb?): refused',
      'kubernetes/apps/demo/grafana/app/large.yaml: 16.0 MiB, larger than the 16 MiB a YAML file may have: refused unread',
    ],
  );
});

test('an alias bomb or an oversized validator.config.yaml or answers file is a one-line error naming the file', async () => {
  const { repo, parent } = hostileRepo();
  const refusals = async (read: () => unknown): Promise<string> => {
    try {
      await read();
    } catch (e) {
      assert.instance(e, UserError, String((e as Error).stack));
      assert.not.match((e as Error).message, /\n/);
      return (e as Error).message;
    }
    assert.unreachable('accepted');
    return '';
  };
  writeFileSync(join(repo, 'validator.config.yaml'), `${BOMB}\n`);
  assert.is(await refusals(() => loadConfig(repo)), 'validator.config.yaml: its aliases expand beyond 100 nodes (a YAML "billion laughs" bomb?): refused');
  writeFileSync(join(repo, 'validator.config.yaml'), oversized(MAX_CONFIG_BYTES));
  assert.is(await refusals(() => loadConfig(repo)), 'validator.config.yaml: 1.0 MiB, larger than the 1 MiB a YAML file may have: refused unread');

  const answers = join(parent, 'answers.yaml');
  writeFileSync(answers, `${BOMB}\n`);
  assert.is(await refusals(() => loadAnswersFile(answers)), `--answers ${answers}: its aliases expand beyond 100 nodes (a YAML "billion laughs" bomb?): refused`);
  writeFileSync(answers, oversized(MAX_CONFIG_BYTES));
  assert.is(await refusals(() => loadAnswersFile(answers)), `--answers ${answers}: 1.0 MiB, larger than the 1 MiB a YAML file may have: refused unread`);
});

test('a remote resource, base or component is reported as not followed and never fetched', async () => {
  const { repo } = hostileRepo();
  write(repo, 'kubernetes/remote/kustomization.yaml', `${KUSTOMIZATION}resources:\n  - https://github.com/example/evil//deploy?ref=main\n  - ./cm.yaml\n`);
  write(repo, 'kubernetes/remote/cm.yaml', configMap('remote'));
  write(repo, 'kubernetes/remote-base/kustomization.yaml', `${KUSTOMIZATION}bases:\n  - github.com/example/evil/base?ref=v1\n`);
  write(repo, 'kubernetes/remote-component/cm.yaml', configMap('remote-component'));
  addFluxKustomizations(repo, {
    remote: { path: './kubernetes/remote' },
    'remote-base': { path: './kubernetes/remote-base' },
    'remote-component': { path: './kubernetes/remote-component', components: ['https://github.com/example/evil//component'] },
  });
  const { findings, names } = await validate(repo);
  assert.equal(of(findings, 'remote-not-followed'), [
    'kubernetes/remote-base/kustomization.yaml: Kustomization flux-system/remote-base: bases github.com/example/evil/base?ref=v1 is remote: not fetched (validation reads no network), so the Kustomization is not built',
    'kubernetes/remote/kustomization.yaml: Kustomization flux-system/remote: resources https://github.com/example/evil//deploy?ref=main is remote: not fetched (validation reads no network), so the Kustomization is not built',
  ]);
  assert.ok(findings.filter((f) => f.rule === 'remote-not-followed').every((f) => f.severity === 'warning'));
  assert.equal(of(findings, 'component-missing'), [
    'clusters/test/flux/hostile.yaml: Kustomization flux-system/remote-component: component https://github.com/example/evil//component must be local and relative (Flux refuses a remote or absolute one)',
  ]);
  assert.not.ok(names.includes('ConfigMap/remote'));
  runCompleted(names);
});

const which = (name: string): string => {
  const found = (process.env.PATH ?? '').split(delimiter).map((d) => join(d, name)).find(existsSync);
  if (!found) throw new Error(`${name} is not on PATH`);
  return found;
};

test('kustomize runs without the operator\'s kubeconfig: no API server is asked anything', async () => {
  const { repo, parent } = hostileRepo();
  const asked: string[] = [];
  const server = createServer((req, res) => {
    asked.push(`${req.method} ${req.url}`);
    res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const kubeconfig = join(parent, 'kubeconfig');
  const apiServer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  writeFileSync(kubeconfig, `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "${apiServer}"}}]\nusers: [{name: u, user: {token: operator-token}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\n`);
  const saved = process.env.KUBECONFIG;
  process.env.KUBECONFIG = kubeconfig;
  try {
    const result = await runKustomize(findKustomize(), join(repo, 'kubernetes/apps/demo/podinfo/app'));
    assert.ok(result.ok, result.ok ? '' : result.error);
  } finally {
    if (saved === undefined) delete process.env.KUBECONFIG;
    else process.env.KUBECONFIG = saved;
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
  assert.equal(asked, []);
});

test('a kustomize build over its memory cap is a finding naming its Kustomization, and the run goes on', async () => {
  const { repo } = hostileRepo();
  // Not YAML, so no size limit of ours applies: kustomize reads it whole, base64 and all, far past the cap.
  write(repo, 'kubernetes/heavy/data.txt', `${'0123456789abcdef'.repeat(63)}\n`.repeat(16 * 1024));
  write(repo, 'kubernetes/heavy/kustomization.yaml', `${KUSTOMIZATION}configMapGenerator:\n  - name: heavy\n    namespace: demo\n    files:\n      - data.txt\n`);
  addFluxKustomizations(repo, { heavy: { path: './kubernetes/heavy' } });
  const limits = { timeoutMs: 300_000, memoryBytes: 128 * 1024 ** 2, outputBytes: 1024 ** 3 };
  const { findings, names } = await validate(repo, { limits, cacheDir: ownCache() });
  assert.equal(of(findings, 'build-limit'), ['clusters/test/flux/hostile.yaml: Kustomization flux-system/heavy: kustomize build ran out of its 128 MiB memory cap']);
  runCompleted(names);
});

test('a kustomize build over its time limit is stopped, reported on its Kustomization, and the run goes on', async () => {
  const { repo, parent } = hostileRepo();
  write(repo, 'kubernetes/slow/cm.yaml', configMap('slow'));
  addFluxKustomizations(repo, { slow: { path: './kubernetes/slow' } });
  // kustomize itself, except that it never finishes the folder kubernetes/slow (alone or shared with others).
  const bin = join(parent, 'bin');
  mkdirSync(bin);
  writeFileSync(
    join(bin, 'kustomize'),
    `#!/bin/sh\n[ "$1" = build ] && shift\nfor a; do dir=$a; done\nif grep -rqs 'kubernetes/slow/' "$dir"; then sleep 6137; fi\nexec ${which('kubectl')} kustomize "$@"\n`,
  );
  chmodSync(join(bin, 'kustomize'), 0o755);
  const path = process.env.PATH;
  process.env.PATH = `${bin}${delimiter}${path}`;
  try {
    const limits = { timeoutMs: 2000, memoryBytes: 1024 ** 3, outputBytes: 64 * 1024 ** 2 };
    const { findings, names } = await validate(repo, { limits, cacheDir: ownCache() });
    assert.equal(of(findings, 'build-limit'), ['clusters/test/flux/hostile.yaml: Kustomization flux-system/slow: kustomize build took longer than 2 s and was stopped']);
    runCompleted(names);
  } finally {
    process.env.PATH = path;
  }
  // The hanging process was killed with its group, not left behind.
  const sleeping = readdirSync('/proc').filter((pid) => {
    try {
      return /^\d+$/.test(pid) && readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').includes('sleep 6137');
    } catch {
      return false;
    }
  });
  assert.equal(sleeping, [], 'the stopped kustomize is still running');
});

test('.gitignore covers the keys and credentials the docs and tasks create, and not the Flux manifests named like them', () => {
  const ignored = [
    '1password-credentials.json',
    'flux-infra',
    'flux-infra.pub',
    'clusters/infra/talos/talsecret.yaml',
    'secrets.yaml',
    'bootstrap/infra/secrets.yaml',
    'infra.kubeconfig',
    'kubeconfig',
    '.envrc',
    'age.key',
    'key.txt',
    'keys.txt',
    'sops.agekey',
  ];
  const kept = ['clusters/infra/flux/config/flux-system.yaml', '.github/workflows/flux-diff.yaml', 'bootstrap/values/flux-instance.yaml', 'bootstrap/infra/secrets.yaml.tpl', 'clusters/infra/talos/talsecret.sops.yaml'];
  const r = spawnSync('git', ['check-ignore', '--no-index', '--verbose', '--non-matching', '--stdin'], { cwd: ROOT, input: [...ignored, ...kept].join('\n'), encoding: 'utf8' });
  const verdict = new Map(r.stdout.trim().split('\n').map((l) => [l.split('\t')[1], !l.startsWith('::') && !/:!/.test(l.split('\t')[0])]));
  assert.equal(ignored.filter((f) => !verdict.get(f)), [], 'not ignored');
  assert.equal(kept.filter((f) => verdict.get(f)), [], 'ignored');
});

/** The shell code blocks of a Markdown text (fenced, untyped or sh/bash/shell/console), and its inline code spans, one a line. */
const shellBlocks = (markdown: string): string => {
  const out: string[] = [];
  let fence: string | undefined;
  for (const line of markdown.split('\n')) {
    const open = /^\s*```\s*(\w*)/.exec(line);
    if (open) fence = fence === undefined ? open[1] : undefined;
    else if (fence !== undefined && ['', 'sh', 'bash', 'shell', 'console'].includes(fence)) out.push(line);
    else if (fence === undefined) out.push(...[...line.matchAll(/`([^`]+)`/g)].map((m) => m[1]));
  }
  return out.join('\n');
};

/** Shell commands of the docs (code blocks), the Taskfiles and the scripts, continuation lines joined. */
const commands = (): { file: string; command: string }[] => {
  const files = [...walkFiles(join(ROOT, 'docs')), ...walkFiles(join(ROOT, '.taskfiles')), ...walkFiles(join(ROOT, 'scripts')), join(ROOT, 'README.md'), join(ROOT, 'Taskfile.yaml')];
  return files
    .filter((f) => /\.(md|ya?ml|ts|sh)$/.test(f))
    .flatMap((f) => {
      let text = readFileSync(f, 'utf8');
      if (f.endsWith('.md')) text = shellBlocks(text);
      return text.replace(/\\\n/g, ' ').split('\n').map((command) => ({ file: relative(ROOT, f), command }));
    });
};

test('docs, tasks and scripts never put a secret on a command line: values reach op and kubectl on stdin or in mode-600 files', () => {
  const segments = (command: string) => command.split(/&&|\|\||;|\|/).map((s) => s.trim().replace(/^\(/, ''));
  const offending = commands().filter(({ command }) =>
    // An op assignment statement (`field=value`) filled in by a command substitution: the value is in op's argv.
    segments(command).some((s) => /^op item (create|edit)\b/.test(s) && /["'\s][\w.-]+(\[\w+\])?=["']?(\$\(|`)/.test(s)) ||
    // kubectl's --from-literal puts the value in argv; --from-file=/dev/stdin does not.
    /--from-literal=/.test(command) ||
    /\b(op|sops|age)\b[^|]*--(password|token|secret|identity)[= ]["']?\$/.test(command) ||
    // curl's user and headers are in its argv too: `-K -` reads them from stdin.
    /\bcurl\b[^|]*\s(-u|--user)[= ]?["']?[^\s"']*\$/.test(command) ||
    /\s(-H|--header)[= ]?["']authorization:[^"']*\$/i.test(command) ||
    // htpasswd's -b takes the password as an argument; without it, htpasswd asks.
    /\bhtpasswd\s+-[a-zA-Z]*b/.test(command),
  );
  assert.equal(offending.map((o) => `${o.file}: ${o.command.trim()}`), []);
});

test.run();
