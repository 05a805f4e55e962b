import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv from 'ajv';
import * as assert from 'uvu/assert';
import { parse, parseDocument, stringify } from 'yaml';
import { copyTree, isDir } from '../src/lib/fsutil.ts';
import { addResource } from '../generators/lib/yaml-edit.ts';
import { validateRepository } from '../src/validate/pipeline.ts';
import { cacheArea } from '../src/lib/cache.ts';
import { launch } from '../src/lib/spawner.ts';
import { listClusters } from '../src/lib/layout.ts';
import { invoke } from '../src/lib/cli.ts';
import { generatorMain } from '../generators/lib/run.ts';
import type { Finding } from '../src/validate/types.ts';

// Git's housekeeping after each commit and push (`maintenance run --auto`, `gc --auto`) is more processes
// every time, and changes nothing a test looks at in its small, short-lived repositories.
if (!process.env.GIT_CONFIG_COUNT) {
  const config = { 'gc.auto': '0', 'maintenance.auto': 'false' };
  Object.entries(config).forEach(([key, value], i) => Object.assign(process.env, { [`GIT_CONFIG_KEY_${i}`]: key, [`GIT_CONFIG_VALUE_${i}`]: value }));
  process.env.GIT_CONFIG_COUNT = String(Object.keys(config).length);
}

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * A folder's tree (or a file) copied to `to`: the repositories and fixtures tests change are copied dozens of
 * times a run, and cpSync's checks on every entry cost twice the copy. Symbolic links are not copied: the
 * trees copied have none.
 */
export const copyPath = (from: string, to: string): void => (isDir(from) ? copyTree(from, to) : copyFileSync(from, to));

export const FIXTURES = join(ROOT, 'tests', 'fixtures');

/** The schema bundle: K8S_OPS_SCHEMA_DIR as CI sets it, else ../shared/schemas beside the project. */
export const SCHEMAS: string[] = (() => {
  const dirs = (process.env.K8S_OPS_SCHEMA_DIR ?? join(ROOT, '..', 'shared', 'schemas')).split(delimiter).filter(Boolean).map((d) => resolve(ROOT, d));
  for (const d of dirs) if (!isDir(d)) throw new Error(`schema bundle ${d} not found: set K8S_OPS_SCHEMA_DIR`);
  return dirs;
})();

/**
 * The findings this repository (or a copy of it) has by design: ArsipQ's manifests are deployed from its
 * own repository, and the Keycloak Operator's from its release repository; the validator names each, as a
 * warning, and does not follow it. The rest is unexpected.
 */
export const EXTERNAL_SOURCES = [
  'clusters/apps/apps/business/arsipq/config/flux-kustomization.yaml',
  'clusters/infra/apps/arsipq-platform/keycloak/ks.yaml',
];
export const unexpectedFindings = (findings: Finding[]): Finding[] =>
  findings.filter((f) => !(f.rule === 'source-not-followed' && f.severity === 'warning' && EXTERNAL_SOURCES.includes(f.file)));

/** A temporary folder below the run's own (tests/run.ts removes it when the run is done), else below TMPDIR. */
export const tempDir = (prefix = 'k8s-ops-test-'): string => mkdtempSync(join(process.env.K8S_OPS_TEST_TMP ?? tmpdir(), prefix));

/**
 * A fixture repository: a folder of tests/fixtures/ as it is, or, when its expect.yaml names a `base`,
 * one defect laid over that base, made here: the base tree, then the defect's files on top, then the
 * files expect.yaml lists under `delete`. Made once per run; a test that changes it copies it first.
 */
const fixtures = new Map<string, string>();
export const fixtureRepo = (name: string): string => {
  const own = join(FIXTURES, name);
  const expect = existsSync(join(own, 'expect.yaml')) ? (parse(readFileSync(join(own, 'expect.yaml'), 'utf8')) ?? {}) : {};
  if (!expect.base) return own;
  if (!fixtures.has(name)) {
    const dir = tempDir(`k8s-ops-fixture-${name}-`);
    copyPath(fixtureRepo(expect.base), dir);
    copyPath(own, dir);
    for (const file of expect.delete ?? []) rmSync(join(dir, file));
    fixtures.set(name, dir);
  }
  return fixtures.get(name)!;
};

/**
 * One cache for the whole run, shared by the tests and by what they call (generators, the validator's
 * defaults): each schema is compiled and each folder built once per run, as on an operator's machine. It
 * starts empty every run but for the compiled validators, which the runner keeps between runs (run.ts);
 * the tests of the cache itself use caches of their own.
 */
export const CACHE: string = (process.env.K8S_OPS_CACHE_DIR ??= tempDir('k8s-ops-cache-'));

/**
 * A cache of its own for a test of what is kept (the library check's result, verdicts, snapshots), sharing
 * the run's compiled validators, renders and downloaded schemas, which such a test does not look at.
 */
export const ownCache = (): string => {
  const dir = tempDir('k8s-ops-own-cache-');
  for (const area of ['validators', 'builds', 'schemas'] as const) {
    const shared = cacheArea(CACHE, area).dir;
    mkdirSync(shared, { recursive: true });
    symlinkSync(shared, cacheArea(dir, area).dir);
  }
  return dir;
};

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs one of the project's entry points as a user would, through node with tsx. */
export const runNode = (script: string, args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Promise<Run> =>
  runProcess(process.execPath, ['--import', 'tsx', join(ROOT, script), ...args], {
    cwd: opts.cwd ?? ROOT,
    env: { ...process.env, K8S_OPS_SCHEMA_DIR: SCHEMAS.join(delimiter), ...opts.env },
  });

/**
 * The stand-ins of tests/fixtures/platform-stubs: the Kustomization each provides, its namespace, and the
 * cluster-wide names it defines that the real platform may define under a Kustomization of another name
 * (a stub beside them would be a duplicate).
 */
const STUBS: { folder: string; kustomization: string; namespace: string; objects?: [kind: string, name: string][] }[] = [
  { folder: 'stub-networking', kustomization: 'gateway', namespace: 'networking', objects: [['Gateway', 'internal'], ['Gateway', 'external']] },
  { folder: 'stub-external-secrets', kustomization: 'onepassword-store', namespace: 'external-secrets', objects: [['ClusterSecretStore', 'onepassword']] },
  { folder: 'stub-databases', kustomization: 'cloudnative-pg-cluster', namespace: 'databases', objects: [['Cluster', 'postgres']] },
  { folder: 'stub-storage', kustomization: 'classes', namespace: 'storage', objects: [['StorageClass', 'ceph-block'], ['StorageClass', 'openebs-hostpath']] },
  { folder: 'stub-volsync', kustomization: 'volsync', namespace: 'volsync-system' },
];

/**
 * The repositories the generator and library tests change, made once per run; each scratchRepo() copies one.
 * `full` is this repository as it is. The default, `platform`, is its skeleton: the clusters' Flux entry
 * points, Talos and bootstrap files, the shared chart sources, the component library, the docs and tasks,
 * with the platform stand-ins of tests/fixtures/platform-stubs in place of the apps (the Gateways, the
 * ClusterSecretStore, postgres, the storage classes): what an app needs around it, at a tenth of the cost
 * of validating everything.
 */
type ScratchKind = 'platform' | 'full';
const scratchBases = new Map<ScratchKind, Promise<string>>();

const FULL_TREE = ['clusters', 'kubernetes', 'infrastructure', 'bootstrap', 'docs', 'validator.config.yaml', '.sops.yaml', 'Taskfile.yaml', '.taskfiles', '.github'];

const emptyKustomization = (dir: string, comment: string) => {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'kustomization.yaml'), `# yaml-language-server: $schema=https://json.schemastore.org/kustomization\n# ${comment}\napiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: []\n`);
};

const makeScratchBase = async (kind: ScratchKind): Promise<string> => {
  const dir = tempDir(`k8s-ops-base-${kind}-`);
  for (const entry of FULL_TREE) {
    if (existsSync(join(ROOT, entry))) copyPath(join(ROOT, entry), join(dir, entry));
  }
  if (kind === 'platform') {
    for (const c of listClusters(dir)) {
      rmSync(join(dir, 'clusters', c, 'apps'), { recursive: true, force: true });
      emptyKustomization(join(dir, 'clusters', c, 'apps'), `Built by cluster-local: the ${c} cluster's own apps.`);
    }
    for (const e of readdirSync(join(dir, 'kubernetes', 'apps'))) rmSync(join(dir, 'kubernetes', 'apps', e), { recursive: true, force: true });
    emptyKustomization(join(dir, 'kubernetes', 'apps'), 'Built by cluster-apps on every cluster.');
    for (const e of readdirSync(join(dir, 'infrastructure', 'base'))) if (e !== 'repositories') rmSync(join(dir, 'infrastructure', 'base', e), { recursive: true, force: true });
    emptyKustomization(join(dir, 'infrastructure', 'base'), 'Built by cluster-infrastructure on every cluster.');
  }
  // The config's schema folder is relative to the real checkout; the skeleton has none of the releases the budgets name.
  const config = parseDocument(readFileSync(join(ROOT, 'validator.config.yaml'), 'utf8').replace('../shared/schemas', SCHEMAS[0]));
  if (kind === 'platform') config.delete('budgets');
  writeFileSync(join(dir, 'validator.config.yaml'), config.toString());
  const { results } = await validateRepository({ repo: dir, schemaDirs: SCHEMAS, cacheDir: CACHE });
  const objects = results.flatMap((r) => r.resources.map((x) => x.obj));
  const has = (kind: string, name: string) => objects.some((o) => o.kind === kind && o.metadata?.name === name);
  const appsKustomization = join(dir, 'kubernetes', 'apps', 'kustomization.yaml');
  for (const stub of STUBS) {
    if (has('Kustomization', stub.kustomization) || stub.objects?.some(([kind, name]) => has(kind, name))) continue;
    const target = join(dir, 'kubernetes', 'apps', stub.folder);
    copyPath(join(FIXTURES, 'platform-stubs', 'kubernetes', 'apps', stub.folder), target);
    if (has('Namespace', stub.namespace)) {
      const k = join(target, 'kustomization.yaml');
      writeFileSync(k, readFileSync(k, 'utf8').replace('  - ./namespace.yaml\n', ''));
    }
    writeFileSync(appsKustomization, addResource(appsKustomization, readFileSync(appsKustomization, 'utf8'), `./${stub.folder}`));
  }
  await git(dir, 'init', '-q');
  await commitAll(dir, 'base');
  // One pack instead of an object file per file and folder: every scratchRepo() copies the base.
  await git(dir, 'repack', '-adq');
  return dir;
};

/** A scratch repository of its own (a git work tree, so tests can check `git status`): see the bases above. */
export const scratchRepo = async (kind: ScratchKind = 'platform'): Promise<string> => {
  if (!scratchBases.has(kind)) scratchBases.set(kind, makeScratchBase(kind));
  const base = await scratchBases.get(kind)!;
  const dir = tempDir('k8s-ops-repo-');
  copyPath(base, dir);
  return dir;
};

/**
 * git in a test's repository, its output; a failure throws with git's message. Started by the helper that
 * starts commands (src/lib/spawner.ts), not by this worker, whose fork would cost more than git.
 */
export const git = async (cwd: string, ...args: string[]): Promise<string> => {
  const r = await launch('git', args, { cwd }).result;
  if (r.code !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr || r.error}`);
  return r.stdout;
};

/** Commits everything in a scratch repository, as the operator would after a generator run. */
export const commitAll = async (dir: string, message = 'change'): Promise<void> => {
  await git(dir, 'add', '-A');
  await git(dir, '-c', 'user.name=test', '-c', 'user.email=test@example.com', 'commit', '-q', '--allow-empty', '-m', message);
};

/** `npx plop <generator> -- <args>` in `repo`, in this process: the generator plop calls, without plop. */
export const generate = (repo: string, generator: string, args: string[]): Promise<Run> => invoke(generatorMain(generator, repo), args);

export const gitStatus = (dir: string): Promise<string> => git(dir, 'status', '--porcelain');

const TSX_LOADER = join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs');

/**
 * The environment without NODE_OPTIONS: under `npm test`, .npmrc's node-options put `--import tsx`
 * there, which a child started in a scratch repository (no node_modules) cannot resolve.
 */
export const withoutNodeOptions = (): NodeJS.ProcessEnv => {
  const { NODE_OPTIONS: _, ...env } = process.env;
  return env;
};

/** `npx plop <generator> -- <args>` as the operator runs it, in `cwd` (the repository to change). */
export const plop = (cwd: string, generator: string, args: string[]): Promise<Run> =>
  runProcess(
    process.execPath,
    ['--import', TSX_LOADER, join(ROOT, 'node_modules', 'plop', 'bin', 'plop.js'), '--plopfile', join(ROOT, 'plopfile.ts'), generator, '--', ...args],
    { cwd, env: { ...withoutNodeOptions(), K8S_OPS_SCHEMA_DIR: SCHEMAS.join(delimiter) } },
  );

/**
 * A process started without blocking this one (a test whose stub tools this process answers needs that),
 * by the helper that starts commands: its output and exit code once it ends, `input` on its stdin.
 */
export const runProcess = async (command: string, args: string[], opts: { cwd?: string; env: NodeJS.ProcessEnv }, input = ''): Promise<Run> => {
  const r = await launch(command, args, { ...opts, input }).result;
  return { code: r.code ?? -1, stdout: r.stdout, stderr: r.stderr };
};

/** An async function's failure: its message must match `expected` (a pattern, or the whole message). */
export const rejects = async (fn: () => Promise<unknown>, expected: RegExp | string): Promise<void> => {
  try {
    await fn();
  } catch (e) {
    if (typeof expected === 'string') assert.is((e as Error).message, expected);
    else assert.match((e as Error).message, expected);
    return;
  }
  assert.unreachable(`no error: ${expected}`);
};

/** An answers file: a value as YAML, or a string as it is (for answers that are not valid YAML). */
export const writeAnswers = (answers: unknown): string => {
  const file = join(tempDir('k8s-ops-answers-'), 'answers.yaml');
  writeFileSync(file, typeof answers === 'string' ? answers : stringify(answers));
  return file;
};

/**
 * Runs each bad-answers case in a fresh repository, three at a time, and returns what went wrong: every case
 * must exit non-zero, print `error: <message>` and leave `git status` clean.
 */
export const refusalFailures = async (
  cases: [string, unknown, string][],
  fresh: () => string,
  run: (root: string, args: string[]) => Promise<Run>,
): Promise<string[]> => {
  const queue = [...cases];
  const failures: string[] = [];
  const worker = async () => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      const [what, answers, message] = next;
      const root = fresh();
      const r = await run(root, ['--answers', writeAnswers(answers)]);
      if (r.code === 0) failures.push(`${what}: exit 0\n${r.stdout}\n${r.stderr}`);
      else if (!r.stderr.includes(`error: ${message}`)) failures.push(`${what}: expected "error: ${message}" in\n${r.stderr}`);
      const left = await gitStatus(root);
      if (left !== '') failures.push(`${what}: left ${left}`);
    }
  };
  await Promise.all([worker(), worker(), worker()]);
  return failures;
};

/** A generator's schema and example, and `valid(answers)`: a copy with the defaults filled in, asserted valid. */
export const generatorSchema = (name: string) => {
  const schema = JSON.parse(readFileSync(join(ROOT, 'schemas', `${name}.schema.json`), 'utf8'));
  // The schema on its own, with ajv configured as the machinery configures it.
  const validate = new (Ajv as any)({ strict: false, allErrors: true, useDefaults: true, allowUnionTypes: true }).compile(schema);
  const valid = (answers: unknown) => {
    const copy = structuredClone(answers);
    assert.ok(validate(copy), JSON.stringify(validate.errors));
    return copy as any;
  };
  return { schema, example: schema.examples[0], valid };
};
