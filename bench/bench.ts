// Times cold and warm validations of this repository and of a synthetic one: `npm run bench -- --apps N --clusters M`.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/validate/config.ts';
import { schemaDirsFrom, TOOLKIT_ROOT, validateRepository } from '../src/validate/pipeline.ts';
import { table } from '../src/validate/report.ts';
import { writeSyntheticRepo } from './synthetic.ts';

const { values } = parseArgs({ options: { apps: { type: 'string', default: '60' }, clusters: { type: 'string', default: '2' } } });
const apps = Number(values.apps);
const clusters = Number(values.clusters);
const schemaDirs = schemaDirsFrom([], (await loadConfig(TOOLKIT_ROOT)).schemaDirs, TOOLKIT_ROOT);
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

const repoCache = mkdtempSync(join(tmpdir(), 'k8s-ops-bench-'));
await time('this repository, cold', TOOLKIT_ROOT, repoCache);
await time('this repository, warm', TOOLKIT_ROOT, repoCache);
timeCli('this repository, warm, CLI process', TOOLKIT_ROOT, repoCache);

const synthetic = mkdtempSync(join(tmpdir(), 'k8s-ops-synthetic-'));
const syntheticCache = mkdtempSync(join(tmpdir(), 'k8s-ops-bench-'));
writeSyntheticRepo(synthetic, apps, clusters);
await time(`synthetic ${apps} apps x ${clusters} clusters, cold`, synthetic, syntheticCache);
await time(`synthetic ${apps} apps x ${clusters} clusters, warm`, synthetic, syntheticCache);
timeCli(`synthetic ${apps} apps x ${clusters} clusters, warm, CLI process`, synthetic, syntheticCache);

console.log(table(rows));
for (const d of [repoCache, synthetic, syntheticCache]) rmSync(d, { recursive: true, force: true });
