// `npm run bench -- --path DIR [--repo ROOT]`: the validator against the plain loop over the same repository's
// app folders, cold and warm, measured one after another in this process.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { parseYamlDocuments, toJSCapped } from '../src/lib/yaml-safe.ts';
import { kustomizationFile } from '../src/validate/inputs.ts';
import { findKustomize } from '../src/validate/kustomize.ts';
import { TOOLKIT_ROOT, validateRepository } from '../src/validate/pipeline.ts';
import { table } from '../src/validate/report.ts';
import { SchemaValidator } from '../src/validate/schema.ts';

const seconds = (ms: number) => (ms / 1000).toFixed(2);

/** One `kubectl kustomize DIR` (or `kustomize build DIR`), its output as text. */
const kustomizeOnce = (dir: string): Promise<string> =>
  new Promise((done) => {
    const bin = findKustomize();
    const child = spawn(bin.command, [...bin.args, '--load-restrictor', 'LoadRestrictionsNone', dir], { stdio: ['ignore', 'pipe', 'ignore'] });
    const out: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.on('close', () => done(Buffer.concat(out).toString('utf8')));
  });

/**
 * The plain loop: for each folder, `kubectl kustomize` it and check what it prints against the schemas, one
 * folder after the other, as `for d in ...; do kubectl kustomize $d | kubeconform -strict; done` would. The
 * check is ours, in this process, with one validator for the whole loop (kubeconform would load the schemas
 * again for each folder), from an empty cache: each schema is compiled once.
 */
const plainLoop = async (folders: string[], schemaDirs: string[], kubernetesVersion: string) => {
  const cacheDir = mkdtempSync(join(tmpdir(), 'k8s-ops-bench-loop-'));
  const schemas = new SchemaValidator({ dirs: schemaDirs, cacheDir, kubernetesVersion });
  let objects = 0;
  let kustomizeMs = 0;
  const started = performance.now();
  for (const dir of folders) {
    const built = performance.now();
    const text = await kustomizeOnce(dir);
    kustomizeMs += performance.now() - built;
    for (const doc of parseYamlDocuments(text)) {
      const obj = toJSCapped(doc, dir);
      if (!obj || typeof obj !== 'object' || typeof obj.apiVersion !== 'string' || typeof obj.kind !== 'string') continue;
      await schemas.check(obj);
      objects++;
    }
  }
  const ms = performance.now() - started;
  rmSync(cacheDir, { recursive: true, force: true });
  return { ms, kustomizeMs, objects };
};

/** The warm run as a user meets it: `npm run validate` as a new node process, tsx included. */
const cliRun = (path: string, repo: string, cacheDir: string, schemaDirs: string[]): number => {
  const started = performance.now();
  spawnSync(process.execPath, ['--import', 'tsx', join(TOOLKIT_ROOT, 'src/validate/cli.ts'), '--path', path, '--repo', repo, '--cache-dir', cacheDir, '--quiet'], {
    env: { ...process.env, K8S_OPS_SCHEMA_DIR: schemaDirs.join(delimiter) },
    stdio: 'ignore',
  });
  return performance.now() - started;
};

export const benchPath = async (path: string, repo: string | undefined, schemaDirs: string[]): Promise<string> => {
  const loadBefore = loadavg()[0];
  const cacheDir = mkdtempSync(join(tmpdir(), 'k8s-ops-bench-'));
  const run = async () => {
    const started = performance.now();
    const v = await validateRepository({ path, repo, schemaDirs, cacheDir });
    return { ms: performance.now() - started, v };
  };
  const cold = await run();
  const repoRoot = cold.v.repoRoot;
  // The folders Flux builds for this entry point: every Kustomization's spec.path that has a kustomization file.
  const folders = [...new Set(cold.v.results.flatMap((r) => r.kustomizations.map((k) => resolve(repoRoot, String(k.ks.spec.path ?? '.')))))]
    .filter((d) => kustomizationFile(d) !== undefined)
    .sort();
  const loop = await plainLoop(folders, schemaDirs, '1.35.0');
  const warm = await run();
  const warmCli = cliRun(resolve(path), repoRoot, cacheDir, schemaDirs);
  rmSync(cacheDir, { recursive: true, force: true });

  const kustomizations = cold.v.results.reduce((n, r) => n + r.kustomizations.length, 0);
  const resources = cold.v.results.reduce((n, r) => n + r.resources.length, 0);
  const row = (run: string, objects: number, ms: number) => ({
    run,
    objects,
    seconds: seconds(ms),
    'loop / run': (loop.ms / ms).toFixed(1),
    'kustomize part / run': (loop.kustomizeMs / ms).toFixed(1),
  });
  const rows = [
    row(`plain loop: kustomize + schema check, ${folders.length} folders one by one`, loop.objects, loop.ms),
    row('  its kustomize part alone (what any checker adds comes on top)', loop.objects, loop.kustomizeMs),
    row(`validate, cold (empty cache): ${kustomizations} Kustomizations`, resources, cold.ms),
    row('validate, warm (same tree, in this process)', resources, warm.ms),
    row('validate, warm, CLI process (node + tsx start-up included)', resources, warmCli),
  ];
  return [
    table(rows),
    '',
    `How: the runs follow each other in this process on ${repoRoot} (entry ${path}), so they share the machine's load`,
    `(${cpus().length} CPUs, load average ${loadBefore.toFixed(1)} before and ${loadavg()[0].toFixed(1)} after; node ${process.version}).`,
    `The plain loop runs \`${findKustomize().args[0] === 'build' ? 'kustomize build' : 'kubectl kustomize'} --load-restrictor LoadRestrictionsNone DIR\` for each folder a Flux Kustomization`,
    'builds, one after the other, and checks every object it prints against the same schemas with the validator\'s own',
    'schema check in this process (kubeconform -strict in spirit: no substitution, no Flux overlay), compiling each schema',
    'once for the whole loop from an empty cache. The cold run starts from an empty cache too (renders, verdicts, compiled',
    'schemas); the warm run repeats it with that cache. Objects: what each run checked (the loop sees unsubstituted objects).',
    'Ratios above 1 mean the run is that many times faster than the loop; the second ratio compares with the loop\'s',
    'kustomize processes alone, a floor no checker can go under (kubeconform\'s own time would come on top).',
  ].join('\n');
};
