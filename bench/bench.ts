// Times cold and warm validations of this repository and of a synthetic one: `npm run bench -- --apps N --clusters M`;
// with `--path DIR [--repo ROOT]`, a Flux repository's entry folder against the plain kustomize loop (bench/path.ts).
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/validate/config.ts';
import { schemaDirsFrom, TOOLKIT_ROOT, validateRepository } from '../src/validate/pipeline.ts';
import { table } from '../src/validate/report.ts';
import { benchPath } from './path.ts';
import { writeSyntheticRepo } from './synthetic.ts';

const { values } = parseArgs({
  options: {
    apps: { type: 'string', default: '60' },
    clusters: { type: 'string', default: '2' },
    'no-tests': { type: 'boolean' },
    path: { type: 'string' },
    repo: { type: 'string' },
  },
});
const apps = Number(values.apps);
const clusters = Number(values.clusters);
const schemaDirs = schemaDirsFrom([], (await loadConfig(TOOLKIT_ROOT)).schemaDirs, TOOLKIT_ROOT);
if (values.path) {
  console.log(await benchPath(values.path, values.repo, schemaDirs));
  process.exit(0);
}
const rows: Record<string, string | number>[] = [];

const time = async (label: string, repo: string, cacheDir: string) => {
  const started = performance.now();
  const { results } = await validateRepository({ repo, schemaDirs, cacheDir });
  rows.push({
    run: label,
    clusters: results.length,
    kustomizations: results.reduce((n, r) => n + r.kustomizations.length, 0),
    resources: results.reduce((n, r) => n + r.resources.length, 0),
    errors: results.reduce((n, r) => n + r.findings.filter((f) => f.severity === 'error').length, 0),
    seconds: ((performance.now() - started) / 1000).toFixed(3),
  });
};

/** The warm run as a user meets it: a new node process, tsx included. */
const timeCli = (label: string, repo: string, cacheDir: string) => {
  const started = performance.now();
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(TOOLKIT_ROOT, 'src/validate/cli.ts'), '--repo', repo, '--cache-dir', cacheDir, '--quiet'], {
    env: { ...process.env, K8S_OPS_SCHEMA_DIR: schemaDirs.join(':') },
    encoding: 'utf8',
  });
  rows.push({ run: label, clusters: '', kustomizations: '', resources: '', errors: r.status === 0 ? 0 : 'exit ' + r.status, seconds: ((performance.now() - started) / 1000).toFixed(3) });
};

/**
 * `npx plop app -- --answers FILE` as an operator runs it, in a copy of this repository after `npm run validate`:
 * each run adds a new app, so its renders and schema verdicts are not cached yet. The target is two seconds.
 */
const timeAppGenerator = (runs: number) => {
  const copy = mkdtempSync(join(tmpdir(), 'k8s-ops-bench-repo-'));
  const tracked = spawnSync('git', ['ls-files', '-z'], { cwd: TOOLKIT_ROOT, encoding: 'utf8' }).stdout.split('\0').filter(Boolean);
  for (const file of tracked) if (existsSync(join(TOOLKIT_ROOT, file))) cpSync(join(TOOLKIT_ROOT, file), join(copy, file), { recursive: true });
  symlinkSync(join(TOOLKIT_ROOT, 'node_modules'), join(copy, 'node_modules'));
  const env = { ...process.env, K8S_OPS_SCHEMA_DIR: schemaDirs.join(delimiter), K8S_OPS_CACHE_DIR: join(copy, '.cache', 'k8s-ops') };
  spawnSync('npm', ['run', 'validate', '--', '--quiet'], { cwd: copy, env, encoding: 'utf8' });
  // What npx, node, tsx and plop cost before any generator code runs: the floor under the target.
  const floorStarted = performance.now();
  spawnSync('npx', ['plop', '--version'], { cwd: copy, env, encoding: 'utf8' });
  rows.push({ run: 'npx plop --version (start-up, no generator)', clusters: '', kustomizations: '', resources: '', errors: '', seconds: ((performance.now() - floorStarted) / 1000).toFixed(3) });
  const example = JSON.parse(readFileSync(join(TOOLKIT_ROOT, 'schemas', 'app.schema.json'), 'utf8')).examples[0];
  for (let i = 1; i <= runs; i++) {
    const name = `bench${i}`;
    const answers = { ...example, name, route: { ...example.route, host: `${name}.\${CLUSTER_DOMAIN}` }, database: { name }, secrets: [name] };
    const file = join(copy, `${name}.answers.json`);
    writeFileSync(file, JSON.stringify(answers));
    const started = performance.now();
    const r = spawnSync('npx', ['plop', 'app', '--', '--answers', file], { cwd: copy, env, encoding: 'utf8' });
    rows.push({ run: `npx plop app (new app ${i}), target < 2 s`, clusters: answers.clusters.length, kustomizations: '', resources: '', errors: r.status === 0 ? 0 : `exit ${r.status}`, seconds: ((performance.now() - started) / 1000).toFixed(3) });
  }
  rmSync(copy, { recursive: true, force: true });
};

const repoCache = mkdtempSync(join(tmpdir(), 'k8s-ops-bench-'));
await time('this repository, cold', TOOLKIT_ROOT, repoCache);
await time('this repository, warm', TOOLKIT_ROOT, repoCache);
// The CLI also checks the component library through sample apps; its result is kept for the unchanged tree.
timeCli('this repository, CLI process, component library checked', TOOLKIT_ROOT, repoCache);
timeCli('this repository, warm, CLI process', TOOLKIT_ROOT, repoCache);

const synthetic = mkdtempSync(join(tmpdir(), 'k8s-ops-synthetic-'));
const syntheticCache = mkdtempSync(join(tmpdir(), 'k8s-ops-bench-'));
writeSyntheticRepo(synthetic, apps, clusters);
await time(`synthetic ${apps} apps x ${clusters} clusters, cold`, synthetic, syntheticCache);
await time(`synthetic ${apps} apps x ${clusters} clusters, warm`, synthetic, syntheticCache);
timeCli(`synthetic ${apps} apps x ${clusters} clusters, warm, CLI process`, synthetic, syntheticCache);

timeAppGenerator(3);

/**
 * `npm test` as CI runs it (every suite in worker processes sharing a cache that starts empty but for the
 * compiled validators the runner keeps between runs, the type-check alongside): its wall time is the figure
 * the suite is held to, ninety seconds on a quiet two-core machine.
 */
const timeTests = () => {
  const started = performance.now();
  const r = spawnSync('npm', ['test'], { cwd: TOOLKIT_ROOT, env: { ...process.env, K8S_OPS_SCHEMA_DIR: schemaDirs.join(delimiter) }, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  const sum = (label: string) => [...r.stdout.matchAll(new RegExp(`${label}:\\s+(\\d+)`, 'g'))].reduce((n, m) => n + Number(m[1]), 0);
  rows.push({ run: `npm test (${sum('Passed')} of ${sum('Total')} passed), target <= 90 s`, clusters: '', kustomizations: '', resources: '', errors: r.status === 0 ? 0 : `exit ${r.status}`, seconds: ((performance.now() - started) / 1000).toFixed(3) });
};
if (!values['no-tests']) timeTests();

console.log(table(rows));
for (const d of [repoCache, synthetic, syntheticCache]) rmSync(d, { recursive: true, force: true });
