// npm run rollout-preview against a small repository built here from tests/fixtures/clean: commits that add,
// remove and change objects (a HelmRelease value, a whole Kustomization) and one that breaks validation.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { invoke } from '../src/lib/cli.ts';
import { main } from '../src/rollout/preview-cli.ts';
import { compareSides, MASKED, MASKED_CHANGED, type RenderedSide } from '../src/rollout/preview.ts';
import { id, type KObject } from '../src/validate/types.ts';
import { copyPath, FIXTURES, SCHEMAS, tempDir } from './helpers.ts';

const test = suite('rollout-preview');

let repo: string;
let cache: string;
const commits: Record<string, string> = {};

const git = (...args: string[]): string => {
  const r = spawnSync('git', ['-c', 'user.name=test', '-c', 'user.email=test@example.com', ...args], { cwd: repo, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
};
const file = (path: string) => join(repo, path);
const edit = (path: string, from: string, to: string) => {
  const text = readFileSync(file(path), 'utf8');
  assert.ok(text.includes(from), `${path} has no ${JSON.stringify(from)}`);
  writeFileSync(file(path), text.replace(from, to));
};
const commit = (name: string) => {
  git('add', '-A');
  git('commit', '-q', '-m', name);
  commits[name] = git('rev-parse', 'HEAD');
};

const EXTRA_KS = `apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: &app extra
  namespace: flux-system
spec:
  targetNamespace: demo
  path: ./kubernetes/apps/demo/extra/app
  sourceRef:
    kind: GitRepository
    name: flux-system
  postBuild:
    substitute:
      APP: *app
    substituteFrom:
      - kind: ConfigMap
        name: cluster-vars
  interval: 1h
  prune: true
  wait: false
`;
const configMap = (name: string, data: Record<string, string>) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n${Object.entries(data).map(([k, v]) => `  ${k}: ${v}\n`).join('')}`;

test.before(() => {
  repo = tempDir('k8s-ops-preview-repo-');
  cache = tempDir('k8s-ops-preview-cache-');
  copyPath(join(FIXTURES, 'clean'), repo);
  rmSync(file('expect.yaml'));
  renameSync(file('clusters/test'), file('clusters/apps'));
  git('init', '-q', '--initial-branch=main');
  // Before: the clean cluster, and a second app of its own Flux Kustomization.
  mkdirSync(file('kubernetes/apps/demo/extra/app'), { recursive: true });
  writeFileSync(file('kubernetes/apps/demo/extra/ks.yaml'), EXTRA_KS);
  writeFileSync(file('kubernetes/apps/demo/extra/app/configmap.yaml'), configMap('extra', { greeting: 'hello' }));
  writeFileSync(file('kubernetes/apps/demo/extra/app/kustomization.yaml'), 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ./configmap.yaml\n');
  edit('kubernetes/apps/demo/kustomization.yaml', '  - ./podinfo/ks.yaml\n', '  - ./podinfo/ks.yaml\n  - ./extra/ks.yaml\n');
  commit('before');
  // After: a HelmRelease value changed, a ConfigMap added beside it, the extra Kustomization removed.
  edit('kubernetes/apps/demo/podinfo/app/helmrelease.yaml', 'replicaCount: 1', 'replicaCount: 2');
  writeFileSync(file('kubernetes/apps/demo/podinfo/app/configmap.yaml'), configMap('podinfo-settings', { level: 'info' }));
  edit('kubernetes/apps/demo/podinfo/app/kustomization.yaml', '  - ./ocirepository.yaml\n', '  - ./ocirepository.yaml\n  - ./configmap.yaml\n');
  edit('kubernetes/apps/demo/kustomization.yaml', '  - ./extra/ks.yaml\n', '');
  rmSync(file('kubernetes/apps/demo/extra'), { recursive: true });
  commit('after');
  // Broken: podinfo waits for a Kustomization that does not exist.
  edit('kubernetes/apps/demo/podinfo/ks.yaml', '  wait: false\n', '  wait: false\n  dependsOn:\n    - name: cert-manager\n');
  commit('broken');
  git('branch', 'release', commits.before);
});
test.after(() => {
  rmSync(repo, { recursive: true, force: true });
  rmSync(cache, { recursive: true, force: true });
});

const preview = (args: string[]) => invoke(main, ['--repo', repo, '--cache-dir', cache, '--quiet', ...SCHEMAS.flatMap((d) => ['--schema-dir', d]), ...args], {}, 'rollout-preview: ');

test('per Kustomization: a removed Kustomization, an added object, a changed HelmRelease value with its diff', async () => {
  const r = await preview(['--from', commits.before, '--to', commits.after]);
  assert.is(r.code, 0, r.stderr + r.stdout);
  const out = r.stdout;
  assert.match(out, `Rollout preview of the apps cluster: ${commits.before} (${commits.before.slice(0, 7)}) -> ${commits.after} (${commits.after.slice(0, 7)})`);
  assert.match(out, 'Kustomization flux-system/cluster-apps: 1 object(s) differ\n  - Kustomization flux-system/extra\n');
  assert.match(out, 'Kustomization flux-system/extra: removed, 1 object\n  - ConfigMap demo/extra\n');
  assert.match(out, 'Kustomization flux-system/podinfo: 2 object(s) differ\n  + ConfigMap demo/podinfo-settings\n  ~ HelmRelease demo/podinfo\n');
  assert.match(out, `      --- ${commits.before}: HelmRelease demo/podinfo\n      +++ ${commits.after}: HelmRelease demo/podinfo\n`);
  assert.match(out, /\n {6}- {4}replicaCount: 1\n {6}\+ {4}replicaCount: 2\n/);
  assert.match(out, 'Validation of');
  assert.match(out, 'clean, nothing new.');
  assert.match(out, '3 Kustomizations differ: 1 added, 2 removed, 1 changed object(s).');
  assert.not.match(out, 'flux-system/flux-system', 'an unchanged Kustomization is not listed');
});

test('the defaults compare release with main; the other way round, the removed Kustomization is added', async () => {
  git('checkout', '-q', '--detach', commits.after);
  git('branch', '-f', 'main', commits.after);
  const r = await preview([]);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, `Rollout preview of the apps cluster: release (${commits.before.slice(0, 7)}) -> main (${commits.after.slice(0, 7)})`);
  const back = await preview(['--from', 'main', '--to', 'release', '--format', 'json']);
  assert.is(back.code, 0, back.stderr);
  const json = JSON.parse(back.stdout);
  assert.equal(json.kustomizations.map((k: any) => [k.kustomization, k.change]), [
    ['flux-system/cluster-apps', 'changed'],
    ['flux-system/extra', 'added'],
    ['flux-system/podinfo', 'changed'],
  ]);
  const podinfo = json.kustomizations[2].objects;
  assert.equal(podinfo.map((o: any) => [o.change, o.object]), [['removed', 'ConfigMap demo/podinfo-settings'], ['changed', 'HelmRelease demo/podinfo']]);
  assert.match(podinfo[1].diff, '-    replicaCount: 2\n+    replicaCount: 1');
  assert.equal(json.errors, []);
});

test('a --to side with a validation error: exit 1, the finding marked new, the markdown for the job summary', async () => {
  const r = await preview(['--from', commits.after, '--to', commits.broken, '--format', 'markdown']);
  assert.is(r.code, 1, r.stderr);
  assert.match(r.stdout, `### Rollout preview: apps cluster, \`${commits.after}\``);
  assert.match(r.stdout, '#### Kustomization `flux-system/cluster-apps`: changed\n\n- changed: `Kustomization flux-system/podinfo`\n\n```diff\n');
  assert.match(r.stdout, '+  dependsOn:\n+    - name: cert-manager');
  assert.match(r.stdout, /#### Validation of [0-9a-f]{40} \([0-9a-f]{7}\): 1 error; 1 finding\(s\) [0-9a-f]{40} does not have\./);
  assert.match(r.stdout, /- `kubernetes\/apps\/demo\/podinfo\/ks\.yaml:\d+: depends-on \[flux\]: [^`]*cert-manager[^`]*` \*\*new\*\*/);
  // The other way round the error goes away: nothing new, exit 0.
  const fixed = await preview(['--from', commits.broken, '--to', commits.after]);
  assert.is(fixed.code, 0, fixed.stderr);
  assert.match(fixed.stdout, 'clean, nothing new.');
});

test('usage errors: an unknown ref, an unknown format, a cluster at neither side (exit 2)', async () => {
  const unknown = await preview(['--from', 'no-such-branch']);
  assert.is(unknown.code, 2);
  assert.is(unknown.stderr.trim(), `rollout-preview: --from no-such-branch: no such commit or branch in ${repo}`);
  const format = await preview(['--format', 'yaml']);
  assert.is(format.code, 2);
  assert.match(format.stderr, '--format must be one of text, markdown, json, not "yaml"');
  const cluster = await preview(['--from', commits.before, '--to', commits.after, '--cluster', 'lab']);
  assert.is(cluster.code, 2);
  assert.match(cluster.stderr, `rollout-preview: --cluster lab: no clusters/lab/flux/ at ${commits.before} nor at ${commits.after}`);
  assert.is(git('worktree', 'list').split('\n').length, 1, 'every temporary worktree is removed');
});

test('Secret values never show: a changed value is marked changed, an unchanged one only masked', () => {
  const secret = (data: Record<string, string>): KObject => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db', namespace: 'demo' }, stringData: data });
  const side = (ref: string, objects: KObject[]): RenderedSide => ({
    ref,
    sha: ref.padEnd(40, '0'),
    present: true,
    findings: [],
    kustomizations: new Map([['flux-system/db', new Map(objects.map((o) => [id(o), o]))]]),
  });
  const [change] = compareSides(side('from', [secret({ user: 'admin', password: 'hunter2' })]), side('to', [secret({ user: 'admin', password: 'correct-horse' })]));
  const diff = change.objects[0].diff!;
  assert.not.match(diff, 'hunter2');
  assert.not.match(diff, 'correct-horse');
  assert.not.match(diff, 'admin');
  assert.match(diff, `-  password: ${MASKED}\n+  password: ${MASKED_CHANGED}`);
  assert.match(diff, `   user: ${MASKED}`);
  assert.equal(compareSides(side('from', [secret({ a: 'x' })]), side('to', [secret({ a: 'x' })])), [], 'an unchanged Secret is no change');
});

test.run();
