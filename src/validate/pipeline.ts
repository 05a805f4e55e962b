import { cacheArea } from '../lib/cache.ts';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { defaultCacheDir, TOOLKIT_ROOT } from '../lib/cache-dir.ts';
import { UsageError } from '../lib/errors.ts';
import { isDir, isFile, walkFiles } from '../lib/fsutil.ts';
import { createPool } from '../lib/pool.ts';
import { prewarmBuilds, prewarmTree, type BuildContext } from './build.ts';
import { loadConfig, type ValidatorConfig } from './config.ts';
import { discover, type DiscoverOptions } from './discover.ts';
import { findKustomize, type BuildLimits } from './kustomize.ts';
import { Locator } from './locate.ts';
import { checkPolicy } from './policy.ts';
import { checkReferences } from './references.ts';
import { findingLine, resolveLines } from './report.ts';
import { applyRules, type RuleOptions } from './rules.ts';
import { CrdCatalog, readCrdDirs } from './schema-crds.ts';
import { SchemaValidator } from './schema.ts';
import { checkSchemas } from './schema-stage.ts';
import { simulateCluster, type Simulation } from './simulate.ts';
import { saveSnapshot, treeKey } from './snapshot.ts';
import type { ClusterResult, ClusterTarget, Finding, KObject } from './types.ts';

export { TOOLKIT_ROOT };

export interface RunOptions extends DiscoverOptions {
  /** Schema folders; empty means K8S_OPS_SCHEMA_DIR, else kubeconform's public locations. */
  schemaDirs?: string[];
  cacheDir?: string;
  /** Ignore cached renders and schema results (a throwaway cache). */
  noCache?: boolean;
  progress?: (message: string) => void;
  /** Repository-relative files of Flux Kustomizations to start building at once (see prewarmBuilds). */
  prewarm?: string[];
  /**
   * Also check the files that are not Kubernetes objects (Taskfiles, workflows, talconfig, SOPS files):
   * all of them, or only these repository-relative paths (what a generator writes).
   */
  repoFiles?: boolean | string[];
  /** Folders of CustomResourceDefinition files whose schemas check their custom resources. */
  crdDirs?: string[];
  /** Overrides kubernetesVersion of validator.config.yaml. */
  kubernetesVersion?: string;
  /** Run the house rules too; the default unless `path` is given. */
  house?: boolean;
  /** A kind without a schema is an error; the default unless `path` is given. */
  strict?: boolean;
  /** What each kustomize process may take (time, memory, output): the defaults unless a test or the bench asks. */
  limits?: BuildLimits;
}

/** --schema-dir, else K8S_OPS_SCHEMA_DIR, else the config's folders that exist; empty means the public locations. */
export const schemaDirsFrom = (given: string[] = [], configured: string[] = [], repoRoot = '.'): string[] => {
  const fromEnv = (process.env.K8S_OPS_SCHEMA_DIR ?? '').split(delimiter).filter(Boolean);
  const [dirs, origin] = given.length ? [given, '--schema-dir'] : [fromEnv, 'K8S_OPS_SCHEMA_DIR'];
  if (!dirs.length) return configured.map((d) => resolve(repoRoot, d)).filter(isDir);
  for (const d of dirs) if (!isDir(d)) throw new UsageError(`schema folder ${d} does not exist (from ${origin})`);
  return dirs.map((d) => resolve(d));
};

const cacheDirFrom = (opts: RunOptions): string => {
  if (opts.noCache) return mkdtempSync(join(tmpdir(), 'k8s-ops-'));
  return opts.cacheDir ? resolve(opts.cacheDir) : defaultCacheDir();
};

export interface Prepared {
  repoRoot: string;
  clusters: ClusterTarget[];
  config: ValidatorConfig;
  ctx: BuildContext;
}

export const prepare = async (opts: RunOptions): Promise<Prepared> => {
  const { repoRoot, clusters } = discover(opts);
  const config = await loadConfig(repoRoot);
  const ctx: BuildContext = { repoRoot, cacheDir: cacheDirFrom(opts), kustomize: findKustomize(), schedule: createPool(), renders: new Map(), limits: opts.limits };
  return { repoRoot, clusters, config, ctx };
};

export const simulateAll = (
  p: Prepared,
  progress?: (m: string) => void,
  onObjects?: (objects: KObject[]) => void,
): Promise<{ cluster: ClusterTarget; sim: Simulation; seconds: number }[]> =>
  Promise.all(
    p.clusters.map(async (cluster) => {
      const started = performance.now();
      const sim = await simulateCluster(p.ctx, cluster, (done, known) => progress?.(`${cluster.name}: built ${done}/${known} Kustomizations`), p.config, onObjects);
      return { cluster, sim, seconds: (performance.now() - started) / 1000 };
    }),
  );

/**
 * Compiles the schemas of the kinds a fresh build renders while kustomize is still building the rest:
 * compiling a large CRD's schema takes longer than building an app. One at a time, yielding in between,
 * so kustomize's output is read as it comes.
 */
const warmSchemas = (schemas: SchemaValidator) => {
  const seen = new Set<string>();
  const queue: [string, string][] = [];
  let running = false;
  const drain = async () => {
    running = true;
    for (let next = queue.shift(); next; next = queue.shift()) {
      await new Promise(setImmediate);
      await schemas.warm(...next).catch(() => undefined);
    }
    running = false;
  };
  return (objects: KObject[]) => {
    for (const o of objects) {
      const id = `${o.apiVersion}/${o.kind}`;
      if (typeof o.apiVersion !== 'string' || typeof o.kind !== 'string' || seen.has(id)) continue;
      seen.add(id);
      queue.push([o.apiVersion, o.kind]);
    }
    if (!running && queue.length) drain();
  };
};

/**
 * The repository's own files: one set of findings, reported with every cluster it belongs to. Their
 * checkers (SOPS, PromQL, JSON5) are loaded only for this: a run with --path never needs them.
 */
const repositoryFindings = async (repoRoot: string, schemaDirs: string[], cacheDir: string, only?: string[]): Promise<Finding[]> => {
  const files = only ? only.map((f) => join(repoRoot, f)).filter(isFile) : walkFiles(repoRoot);
  const [{ checkRepoFiles }, { checkSopsFiles }, { checkDashboards }] = await Promise.all([import('./repo-files.ts'), import('./sops-files.ts'), import('./dashboards.ts')]);
  return [
    ...(await checkRepoFiles(repoRoot, schemaDirs, cacheDir, files, { complete: !only })).findings,
    ...(await checkSopsFiles(repoRoot, files)),
    ...checkDashboards(repoRoot, files, { complete: !only }),
  ];
};

/** A finding without a file of its own is reported on the file of the Kustomization that applies its object. */
const withFiles = (findings: Finding[], sim: Simulation, cluster: ClusterTarget): Finding[] => {
  if (findings.every((f) => f.file)) return findings;
  const ksFile = new Map(sim.kustomizations.map((k) => [`${k.ks.namespace}/${k.ks.name}`, k.ks.origin?.file]));
  return findings.map((f) => {
    if (f.file) return f;
    const applied = sim.resources.find((r) => r.obj === f.at?.obj)?.appliedBy;
    return { ...f, file: (applied && ksFile.get(applied)) || cluster.entry };
  });
};

/** A finding reported twice (the same line) is one finding. */
const distinct = (findings: Finding[]): Finding[] => [...new Map(findings.map((f) => [findingLine(f), f])).values()];

/** The whole pipeline: discover, build, substitute, schema, references, policy; the caller reports. */
export interface Validation {
  repoRoot: string;
  results: ClusterResult[];
  /** The Flux tree's key (see treeKey), unless the run had --path. */
  treeKey?: string;
  /** The schema folders the run used (empty: kubeconform's public locations). */
  schemaDirs: string[];
  /** The schema files the run used, by fileIdentity: a result kept for the tree holds while they are unchanged. */
  schemaFiles: string[];
}

const KUBERNETES_VERSION = /^\d+\.\d+\.\d+$/;

export const validateRepository = async (opts: RunOptions): Promise<Validation> => {
  if (opts.kubernetesVersion !== undefined && !KUBERNETES_VERSION.test(opts.kubernetesVersion)) {
    throw new UsageError(`--kubernetes-version must be X.Y.Z, not "${opts.kubernetesVersion}"`);
  }
  const prepared = await prepare(opts);
  const schemaDirs = schemaDirsFrom(opts.schemaDirs, prepared.config.schemaDirs, prepared.repoRoot);
  const kubernetesVersion = opts.kubernetesVersion ?? prepared.config.kubernetesVersion;
  const schemas = new SchemaValidator({
    dirs: schemaDirs,
    cacheDir: prepared.ctx.cacheDir,
    kubernetesVersion,
    crds: new CrdCatalog(readCrdDirs(opts.crdDirs ?? [], prepared.repoRoot)),
  });
  const versions = schemas.missingKubernetesVersion();
  if (versions) {
    throw new UsageError(
      `no built-in schemas of Kubernetes ${kubernetesVersion} in the schema folders (${versions.length ? `they have ${versions.join(', ')}` : 'they have no k8s/ folder'}): pick --kubernetes-version among them`,
    );
  }
  const rules: RuleOptions = { house: opts.house ?? !opts.path, settings: prepared.config.rules };
  const strict = opts.strict ?? !opts.path;
  const locator = new Locator(prepared.repoRoot, prepared.ctx.cacheDir);
  for (const file of opts.prewarm ?? []) prewarmBuilds(prepared.ctx, file);
  prewarmTree(prepared.ctx, prepared.clusters.map((c) => c.entry));
  const simulation = simulateAll(prepared, opts.progress, warmSchemas(schemas));
  // Hashing the tree overlaps with the kustomize processes the simulation has just started.
  const key = opts.path ? undefined : treeKey(prepared.repoRoot, prepared.ctx.kustomize);
  const repoFindings = opts.repoFiles
    ? await repositoryFindings(prepared.repoRoot, schemaDirs, prepared.ctx.cacheDir, Array.isArray(opts.repoFiles) ? opts.repoFiles : undefined)
    : [];
  const simulated = await simulation;
  if (key && !opts.noCache) {
    for (const { cluster, sim } of simulated) saveSnapshot(prepared.ctx.cacheDir, key, cluster.name, sim.resources.map((r) => r.obj));
  }
  const results: ClusterResult[] = [];
  for (const { cluster, sim, seconds } of simulated) {
    const started = performance.now();
    const crds = new CrdCatalog(sim.resources.map((r) => ({ obj: r.obj, source: r.origin?.file ?? cluster.entry })));
    const findings = [
      ...repoFindings,
      ...sim.findings,
      ...(await checkSchemas(sim.resources, schemas, prepared.config, { crds, strict }, cluster.entry)),
      ...checkReferences(sim.resources, prepared.config, sim.kustomizations),
      ...checkPolicy(sim.resources, sim.kustomizations, prepared.config, prepared.repoRoot, cluster.name),
    ];
    results.push({
      cluster,
      kustomizations: sim.kustomizations,
      resources: sim.resources,
      findings: distinct(resolveLines(withFiles(applyRules(findings, rules), sim, cluster), locator)).map((f) => ({ ...f, cluster: cluster.name })),
      seconds: seconds + (performance.now() - started) / 1000,
    });
    opts.progress?.(`${cluster.name}: checked ${sim.resources.length} resources`);
  }
  schemas.save();
  locator.save();
  cacheArea(prepared.ctx.cacheDir, 'builds').prune();
  return { repoRoot: prepared.repoRoot, results, treeKey: key, schemaDirs, schemaFiles: schemas.schemaFiles() };
};
