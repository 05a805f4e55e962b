import { appendFileSync, chmodSync, existsSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { basename, delimiter, join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { writeSyntheticRepo } from '../bench/synthetic.ts';
import { keepNewest } from '../src/lib/fsutil.ts';
import { prewarmBuilds, prewarmTree, type BuildContext } from '../src/validate/build.ts';
import { DEFAULT_LIMITS, findKustomize } from '../src/validate/kustomize.ts';
import { simulateCluster } from '../src/validate/simulate.ts';
import { loadSnapshot, saveSnapshot, treeKey } from '../src/validate/snapshot.ts';
import { validateRepository } from '../src/validate/pipeline.ts';
import { copyPath, fixtureRepo, SCHEMAS, tempDir } from './helpers.ts';

const test = suite('render cache');

/** A build context that counts builds rendered by kustomize (several may share one process). */
const context = (repoRoot: string, cacheDir: string) => {
  const stats = { processes: 0, builds: 0 };
  const ctx: BuildContext = { repoRoot, cacheDir, kustomize: findKustomize(), renders: new Map(), schedule: (task) => task(), stats };
  return {
    ctx,
    runs: {
      get count() {
        return stats.builds;
      },
    },
    stats,
  };
};

const cluster = { name: 'c1', entry: 'clusters/c1/flux' };

test('an unchanged repository is not built again', async () => {
  const repo = tempDir();
  const cacheDir = tempDir();
  writeSyntheticRepo(repo, 3, 1);
  const first = context(repo, cacheDir);
  const a = await simulateCluster(first.ctx, cluster);
  assert.is(first.runs.count, a.kustomizations.length);
  const second = context(repo, cacheDir);
  const b = await simulateCluster(second.ctx, cluster);
  assert.is(second.runs.count, 0);
  assert.equal(b.resources.map((r) => r.obj), a.resources.map((r) => r.obj));
});

test('a changed file rebuilds only the Kustomization that reads it', async () => {
  const repo = tempDir();
  const cacheDir = tempDir();
  writeSyntheticRepo(repo, 3, 1);
  await simulateCluster(context(repo, cacheDir).ctx, cluster);
  appendFileSync(join(repo, 'kubernetes/apps/ns0/app1/app/helmrelease.yaml'), '  timeout: 10m\n');
  const again = context(repo, cacheDir);
  const sim = await simulateCluster(again.ctx, cluster);
  assert.is(again.runs.count, 1);
  const hr = sim.resources.find((r) => r.obj.kind === 'HelmRelease' && r.obj.metadata.name === 'app1');
  assert.is(hr?.obj.spec.timeout, '10m');
});

test('clusters sharing an app build it once', async () => {
  const repo = tempDir();
  writeSyntheticRepo(repo, 2, 2);
  const { ctx, runs } = context(repo, tempDir());
  const sims = await Promise.all([simulateCluster(ctx, cluster), simulateCluster(ctx, { name: 'c2', entry: 'clusters/c2/flux' })]);
  // The roots differ (one entry folder each); cluster-apps and the two apps render the same overlay.
  assert.is(sims[0].kustomizations.length, 4);
  assert.is(runs.count, 2 + 1 + 2);
});


test('a Flux Kustomization built ahead of the simulation is not built again', async () => {
  const repo = tempDir();
  writeSyntheticRepo(repo, 2, 1);
  const cold = context(repo, tempDir());
  const expected = await simulateCluster(cold.ctx, cluster);
  const warm = context(repo, tempDir());
  prewarmBuilds(warm.ctx, 'kubernetes/apps/ns0/app0/ks.yaml');
  assert.is(warm.ctx.renders.size, 1, 'the prewarmed build started before the simulation');
  const sim = await simulateCluster(warm.ctx, cluster);
  assert.is(warm.runs.count, cold.runs.count, 'and the simulation reused it');
  assert.equal(sim.resources.map((r) => r.obj), expected.resources.map((r) => r.obj));
});

test('a prewarmed tree is built in one kustomize process, not one per level, and simulates the same', async () => {
  const repo = tempDir();
  writeSyntheticRepo(repo, 2, 1);
  // One of another source, which the simulation does not follow: its path is not this repository's.
  const flux = join(repo, 'clusters/c1/flux');
  writeFileSync(join(flux, 'kustomization.yaml'), `${readFileSync(join(flux, 'kustomization.yaml'), 'utf8')}  - vendor.yaml\n`);
  writeFileSync(
    join(flux, 'vendor.yaml'),
    'apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: vendor\n  namespace: flux-system\nspec:\n  interval: 1h\n  path: ./kubernetes/apps/ns0\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: vendor\n',
  );
  const cold = context(repo, tempDir());
  const expected = await simulateCluster(cold.ctx, cluster);
  // The root, cluster-apps, then the two apps: each level waits for the one above.
  assert.is(cold.stats.processes, 3);
  const warm = context(repo, tempDir());
  prewarmTree(warm.ctx, [cluster.entry]);
  assert.is(warm.ctx.renders.size, 3, 'cluster-apps and both apps started before the simulation, not the vendor\'s folder');
  const sim = await simulateCluster(warm.ctx, cluster);
  assert.is(warm.stats.processes, 1);
  assert.is(warm.runs.count, cold.runs.count, 'no build more than the simulation needs');
  assert.equal(sim.resources.map((r) => r.obj), expected.resources.map((r) => r.obj));
});

/** kustomize itself, each run counted in a log: the kustomize processes a test started, whatever context asked. */
const countingKustomize = () => {
  const bin = tempDir('k8s-ops-counting-kustomize-');
  const log = join(bin, 'runs.log');
  const kubectl = (process.env.PATH ?? '').split(delimiter).map((d) => join(d, 'kubectl')).find(existsSync)!;
  writeFileSync(join(bin, 'kustomize'), `#!/bin/sh\n[ "$1" = build ] && shift\necho run >> "${log}"\nexec ${kubectl} kustomize "$@"\n`);
  chmodSync(join(bin, 'kustomize'), 0o755);
  const path = process.env.PATH;
  process.env.PATH = `${bin}${delimiter}${path}`;
  const kustomize = findKustomize();
  process.env.PATH = path;
  return { kustomize, runs: () => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean).length : 0) };
};

test('runs under way at once share kustomize processes, and a build both ask for is rendered once', async () => {
  const { kustomize, runs } = countingKustomize();
  const a = tempDir();
  writeSyntheticRepo(a, 2, 1);
  // A copy with one app changed: of its builds, only that app's differs from the first's.
  const b = tempDir();
  copyPath(a, b);
  appendFileSync(join(b, 'kubernetes/apps/ns0/app1/app/helmrelease.yaml'), '  timeout: 10m\n');
  const alone = context(b, tempDir());
  const expected = await simulateCluster(alone.ctx, cluster);

  const cacheDir = tempDir();
  const [first, second] = [context(a, cacheDir), context(b, cacheDir)];
  first.ctx.kustomize = second.ctx.kustomize = kustomize;
  for (const { ctx } of [first, second]) prewarmTree(ctx, [cluster.entry]);
  const [, sim] = await Promise.all([simulateCluster(first.ctx, cluster), simulateCluster(second.ctx, cluster)]);
  assert.is(runs(), 1, 'both trees in one kustomize process');
  assert.is(first.runs.count + second.runs.count, alone.runs.count + 1, 'the builds they share rendered once, the changed app once more');
  assert.equal(sim.resources.map((r) => [r.origin?.file, r.obj]), expected.resources.map((r) => [r.origin?.file, r.obj]), 'the copy renders as it does alone, its files named from its own root');
  const hr = sim.resources.find((r) => r.obj.kind === 'HelmRelease' && r.obj.metadata.name === 'app1' && r.obj.metadata.namespace === 'ns0');
  assert.is(hr?.obj.spec.timeout, '10m');
});

test('a shared run that fails on one build runs that build alone and the others together', async () => {
  const { kustomize, runs } = countingKustomize();
  const repo = tempDir();
  writeSyntheticRepo(repo, 6, 1);
  writeFileSync(join(repo, 'kubernetes/apps/ns0/app3/app/helmrelease.yaml'), 'apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: [\n');
  const { ctx, stats } = context(repo, tempDir());
  ctx.kustomize = kustomize;
  prewarmTree(ctx, [cluster.entry]);
  const sim = await simulateCluster(ctx, cluster);
  // The root and cluster-apps share the first process with the six apps; kustomize names the broken app's
  // folder in its error, so the second process takes the other five and the third the broken one alone.
  assert.is(runs(), 3);
  assert.is(stats.processes, 3);
  assert.is(stats.builds, 8, 'each build counted once: the failed shared run renders none');
  assert.equal(sim.findings.filter((f) => f.severity === 'error').map((f) => [f.rule, f.file]), [['yaml', 'kubernetes/apps/ns0/app3/app/helmrelease.yaml']]);
  assert.is(sim.resources.filter((r) => r.obj.kind === 'HelmRelease').length, 5);
});

test('two copies that fail the same build at once each report it with their own paths', async () => {
  const a = tempDir();
  writeSyntheticRepo(a, 2, 1);
  // kustomize refuses the field and names the folder by its path, absolute and relative to its overlay.
  appendFileSync(join(a, 'kubernetes/apps/ns0/app1/app/kustomization.yaml'), 'resourcez: []\n');
  const b = tempDir();
  copyPath(a, b);
  const cacheDir = tempDir();
  const [first, second] = [context(a, cacheDir), context(b, cacheDir)];
  const sims = await Promise.all([simulateCluster(first.ctx, cluster), simulateCluster(second.ctx, cluster)]);
  for (const [sim, own, other] of [[sims[0], a, b], [sims[1], b, a]] as const) {
    const errors = sim.findings.filter((f) => f.severity === 'error');
    assert.ok(errors.some((f) => f.message.includes('resourcez')), 'the failure is reported');
    assert.ok(errors.every((f) => ![own, other].some((root) => f.message.includes(basename(root)))), errors.map((f) => f.message).join('\n'));
  }
});

test("a failed build of the repository's root names it from the root too", async () => {
  const repo = tempDir();
  writeSyntheticRepo(repo, 1, 1);
  const apps = join(repo, 'clusters/c1/flux/apps.yaml');
  writeFileSync(apps, readFileSync(apps, 'utf8').replace('path: ./kubernetes/apps', 'path: ./'));
  writeFileSync(join(repo, 'kustomization.yaml'), 'resources:\n  - kubernetes/apps\nresourcez: []\n');
  const { ctx } = context(repo, tempDir());
  const sim = await simulateCluster(ctx, cluster);
  const errors = sim.findings.filter((f) => f.severity === 'error').map((f) => f.message);
  assert.ok(errors.some((m) => m.includes('resourcez')), errors.join('\n'));
  assert.ok(errors.every((m) => !m.includes(basename(repo))), errors.join('\n'));
});

test('a prewarmed build is started as its parent will apply it, with the parent\'s Kustomization patches', async () => {
  const repo = tempDir();
  writeSyntheticRepo(repo, 2, 1);
  // cluster-apps gives every Kustomization it applies a patch of its own, as this repository's does.
  const apps = join(repo, 'clusters/c1/flux/apps.yaml');
  const defaults = [
    '  patches:',
    '    - patch: |-',
    '        apiVersion: kustomize.toolkit.fluxcd.io/v1',
    '        kind: Kustomization',
    '        metadata:',
    '          name: _',
    '        spec:',
    '          patches:',
    '            - patch: |-',
    '                apiVersion: helm.toolkit.fluxcd.io/v2',
    '                kind: HelmRelease',
    '                metadata:',
    '                  name: _',
    '                spec:',
    '                  timeout: 7m',
    '              target:',
    '                kind: HelmRelease',
    '      target:',
    '        group: kustomize.toolkit.fluxcd.io',
    '        kind: Kustomization',
    '',
  ].join('\n');
  writeFileSync(apps, readFileSync(apps, 'utf8').replace('  postBuild:\n', `${defaults}  postBuild:\n`));
  const cold = context(repo, tempDir());
  const expected = await simulateCluster(cold.ctx, cluster);
  assert.ok(expected.resources.some((r) => r.obj.kind === 'HelmRelease' && r.obj.spec.timeout === '7m'), 'the parent\'s patch reaches the release');
  const warm = context(repo, tempDir());
  prewarmBuilds(warm.ctx, 'kubernetes/apps/ns0/app0/ks.yaml');
  const sim = await simulateCluster(warm.ctx, cluster);
  assert.is(warm.runs.count, cold.runs.count, 'the simulation found the patched build under way and built nothing more');
  assert.equal(sim.resources.map((r) => r.obj), expected.resources.map((r) => r.obj));
});

test('a simulated tree is remembered by content, wherever the copy is', async () => {
  const repo = tempDir();
  writeSyntheticRepo(repo, 2, 1);
  const copy = tempDir();
  copyPath(repo, copy);
  const kustomize = findKustomize();
  const key = treeKey(repo, kustomize);
  assert.is(treeKey(copy, kustomize), key);
  const cacheDir = tempDir();
  const objects = [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } }];
  saveSnapshot(cacheDir, key, 'c1', objects);
  assert.equal(loadSnapshot(cacheDir, key, 'c1'), objects);
  assert.is(loadSnapshot(cacheDir, key, 'c2'), undefined);
  appendFileSync(join(copy, 'kubernetes/apps/ns0/app1/app/helmrelease.yaml'), '  timeout: 10m\n');
  assert.is.not(treeKey(copy, kustomize), key, 'a changed file is another tree');
});

test('two runs over one cache that build the same thing at once each build in a folder of their own', async () => {
  const bin = tempDir('k8s-ops-slow-kustomize-');
  const kubectl = (process.env.PATH ?? '').split(delimiter).map((d) => join(d, 'kubectl')).find(existsSync)!;
  // kustomize itself, except that the second run of each folder's build starts late: after the first has finished.
  writeFileSync(
    join(bin, 'kustomize'),
    `#!/bin/sh\n[ "$1" = build ] && shift\nfor a; do dir=$a; done\nkey=$(printf %s "$dir" | sed 's/-[0-9]*-[0-9]*$//' | md5sum | cut -c1-16)\nif mkdir "${bin}/$key" 2>/dev/null; then :; else sleep 2; fi\nexec ${kubectl} kustomize "$@"\n`,
  );
  chmodSync(join(bin, 'kustomize'), 0o755);
  const path = process.env.PATH;
  process.env.PATH = `${bin}${delimiter}${path}`;
  try {
    const cacheDir = tempDir('k8s-ops-shared-cache-');
    // Limits of its own each: runs of one process with the same limits would share the build instead (batch.ts),
    // as two processes over one cache cannot.
    const limits = [DEFAULT_LIMITS, { ...DEFAULT_LIMITS, timeoutMs: DEFAULT_LIMITS.timeoutMs - 1 }];
    const runs = await Promise.all(limits.map((l) => validateRepository({ repo: fixtureRepo('clean'), schemaDirs: SCHEMAS, cacheDir, limits: l })));
    for (const { results } of runs) assert.equal(results.flatMap((r) => r.findings).map((f) => `${f.file}: ${f.message}`), []);
  } finally {
    process.env.PATH = path;
  }
});

test("pruning keeps an area to its size and leaves another process's file in the making alone", () => {
  const dir = tempDir('k8s-ops-prune-');
  const at = Date.now() / 1000;
  ['old', 'middle', 'new'].forEach((name, i) => {
    writeFileSync(join(dir, `${name}.json`), '{}');
    utimesSync(join(dir, `${name}.json`), at + i, at + i);
  });
  writeFileSync(join(dir, 'next.json.4242.tmp'), '{');
  utimesSync(join(dir, 'next.json.4242.tmp'), at - 60, at - 60);
  keepNewest(dir, 1);
  assert.equal(readdirSync(dir).sort(), ['new.json', 'next.json.4242.tmp']);
});

test.run();
