import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { cacheArea } from '../lib/cache.ts';
import { toPosix, writeAtomically } from '../lib/fsutil.ts';
import { sha256 } from '../lib/hash.ts';
import { escapeRegExp } from '../lib/regexp.ts';
import { parseYaml, parseYamlDocuments, toJSCapped } from '../lib/yaml-safe.ts';
import { DEFAULT_LIMITS, runKustomize, type BuildLimits, type KustomizeBin } from './kustomize.ts';
import type { KObject } from './types.ts';

// kustomize runs, one process per build or several builds per process. kubectl spends about 180 ms of CPU
// starting before it reads a file, and a build of an app folder about 20 ms more, so builds that are
// ready at the same time share a process: each is an overlay folder of its own below one parent
// kustomization, which lists them in order between boundary ConfigMaps and keeps that order (fifo), so
// the output splits back into builds. Only builds that cannot see each other share (inputs.ts
// `shareable`): kustomize fixes name references and resolves vars once per process, over everything in
// it. Two builds of one process may not hold the same object (kind, namespace, name): home-ops style
// components name theirs `${APP}`, substituted only later. So a build's target namespace is a name of its
// own in the shared process, put back in its output afterwards (only kustomize's namespace transformer
// writes it, after every other transformer of the overlay); builds without one that read the same file go
// to different processes. A shared run that fails anyway is split in two until the failing build runs
// alone, as it would have. The queue is the process's, not a run's: validations under way at once (the
// tests' fixture repositories) share processes too, and a build two of them ask for (the same files, the
// same cache) runs once. Builds of different repositories that read a file of the same relative path
// count as reading the same file, since copies of one tree render the same objects.

export interface BuiltDoc {
  obj: KObject;
  /** Repository-relative file the object came from. */
  file?: string;
}

export type Rendered =
  | { ok: true; docs: BuiltDoc[] }
  | { ok: false; error: string; limit?: 'timeout' | 'memory' | 'output' };

/** One build: the overlay Flux would lay over `spec.path`, with absolute paths. */
export interface RenderJob {
  cacheFile: string;
  overlay: KObject & { resources: string[]; components?: string[]; namespace?: string };
  shareable: boolean;
  /** The files kustomize reads for it (to keep builds that would render the same objects apart). */
  reads: string[];
}

export interface RenderContext {
  repoRoot: string;
  cacheDir: string;
  kustomize: KustomizeBin;
  /** Limits how many kustomize processes run at once. */
  schedule: <T>(task: () => Promise<T>) => Promise<T>;
  /** How many processes the schedule runs at once (to share builds out between them). */
  parallelism?: number;
  limits?: BuildLimits;
  /** Counts, for tests and the bench: kustomize processes started, and builds rendered by them. */
  stats?: { processes: number; builds: number };
}

/** The most builds one process takes: a failure costs a few more processes to find the build that failed. */
const MAX_SHARED = 32;
/**
 * The fewest builds a process takes before a second one starts beside it. A second kubectl costs 180 ms of
 * CPU to start, and splitting eight app folders (20 ms each) between two cores saves about 80 ms of wall
 * time on an idle machine: less than that CPU, which a busy one (CI, the tests) pays in wall time.
 */
const MIN_SHARED = 8;
const ORIGIN = 'config.kubernetes.io/origin';
const BOUNDARY = 'k8s-ops-build-boundary-';

interface Pending {
  ctx: RenderContext;
  job: RenderJob;
  done: (r: Rendered) => void;
}

const queue = { pending: [] as Pending[], flushing: false };
/** Builds under way, by cache file and limits: a second run that asks for one waits for the first's. */
const underWay = new Map<string, { repoRoot: string; rendering: Promise<Rendered> }>();

/** Renders a build, in a process of its own or shared with other builds that are ready at the same time. */
export const render = (ctx: RenderContext, job: RenderJob): Promise<Rendered> => {
  // A build over a limit fails for that run's limits only.
  const key = JSON.stringify([job.cacheFile, ctx.limits ?? DEFAULT_LIMITS]);
  const running = underWay.get(key);
  if (!running) return start(ctx, job, key);
  if (running.repoRoot === ctx.repoRoot) return running.rendering;
  // Another copy's objects are this one's (their files are repository-relative), but its error names its own
  // paths: a failure is rendered again, once for this copy (another run of it that asks joins that one).
  return running.rendering.then((r) => {
    if (r.ok || r.limit) return r;
    const now = underWay.get(key);
    return now?.repoRoot === ctx.repoRoot ? now.rendering : start(ctx, job, key);
  });
};

const start = (ctx: RenderContext, job: RenderJob, key: string): Promise<Rendered> => {
  const rendering = job.shareable ? enqueue(ctx, job) : ctx.schedule(() => renderAlone(ctx, job)).catch(failed);
  underWay.set(key, { repoRoot: ctx.repoRoot, rendering });
  const forget = () => {
    if (underWay.get(key)?.rendering === rendering) underWay.delete(key);
  };
  rendering.then(forget, forget);
  return rendering;
};

const enqueue = (ctx: RenderContext, job: RenderJob): Promise<Rendered> =>
  new Promise((done) => {
    queue.pending.push({ ctx, job, done });
    if (queue.flushing) return;
    queue.flushing = true;
    // Builds asked for in the same turn of the event loop (a Kustomization's children) go out together.
    setImmediate(() => {
      queue.flushing = false;
      const all = queue.pending.splice(0);
      // Only builds made alike share a process: the same kustomize, the same limits.
      const kinds = new Map<string, Pending[]>();
      for (const p of all) {
        const kind = JSON.stringify([p.ctx.kustomize, p.ctx.limits ?? DEFAULT_LIMITS]);
        kinds.set(kind, [...(kinds.get(kind) ?? []), p]);
      }
      for (const alike of kinds.values()) {
        const per = Math.min(MAX_SHARED, Math.max(MIN_SHARED, Math.ceil(alike.length / (alike[0].ctx.parallelism ?? availableParallelism()))));
        for (const group of groups(alike, per)) runShared(group);
      }
    });
  });

/** At most `per` builds a group; builds without a target namespace that read a file in common stay apart. */
const groups = (all: Pending[], per: number): Pending[][] => {
  const out: { members: Pending[]; reads: Set<string> }[] = [];
  for (const p of all) {
    const free = p.job.overlay.namespace !== undefined;
    const reads = p.job.reads.map((f) => toPosix(relative(p.ctx.repoRoot, f)));
    const group = out.find((g) => g.members.length < per && (free || !reads.some((f) => g.reads.has(f))));
    if (group) {
      group.members.push(p);
      if (!free) reads.forEach((f) => group.reads.add(f));
    } else out.push({ members: [p], reads: new Set(free ? [] : reads) });
  }
  return out.map((g) => g.members);
};

const runShared = (group: Pending[]): void => {
  const { ctx } = group[0];
  const fail = (e: unknown) => group.forEach((p) => p.done(failed(e)));
  if (group.length === 1) {
    ctx.schedule(() => renderAlone(ctx, group[0].job)).then(group[0].done).catch(fail);
    return;
  }
  ctx.schedule(() => renderTogether(group)).then((results) => {
    if (Array.isArray(results)) return group.forEach((p, i) => p.done(results[i]));
    // Over a limit, any of them may be the cause: each runs alone, with limits of its own.
    if (results === 'limit') return group.forEach((p) => runShared([p]));
    // kustomize names the build it was reading when it failed: that one runs alone, the others together.
    if (typeof results === 'number' && results < group.length) {
      runShared([group[results]]);
      runShared(group.filter((_, i) => i !== results));
      return;
    }
    const half = Math.ceil(group.length / 2);
    runShared(group.slice(0, half));
    runShared(group.slice(half));
  }).catch(fail);
};

/** A failure outside kustomize (the overlay folder cannot be written) fails the build like one of kustomize's. */
const failed = (e: unknown): Rendered => ({ ok: false, error: (e as Error)?.message ?? String(e) });

/**
 * A fresh folder for one kustomize run. Two runs may build the same thing at once (the component library's
 * sample apps on both clusters, each in a context of its own, over one cache): each gets its own folder, or the
 * first to finish would remove the other's.
 */
let overlays = 0;
const overlayDir = (ctx: RenderContext, id: string): string => cacheArea(ctx.cacheDir, 'overlays').file(`${id}-${process.pid}-${++overlays}`, '');

/** The overlay written into `dir`, its paths relative to it. */
const writeOverlay = (dir: string, overlay: RenderJob['overlay'], extra: KObject = {}): void => {
  const rel = (p: string) => toPosix(relative(dir, p));
  const k: KObject = { apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', ...extra, ...overlay, resources: overlay.resources.map(rel) };
  if (overlay.components) k.components = overlay.components.map(rel);
  mkdirSync(dir, { recursive: true });
  // JSON is YAML: kustomize reads it, and writing it costs nothing next to the yaml library's stringify.
  writeFileSync(join(dir, 'kustomization.yaml'), JSON.stringify(k, null, 2));
};

/** One kustomize process, counted once in each run that has a build in it. */
const run = (ctxs: RenderContext[], dir: string) => {
  for (const ctx of new Set(ctxs)) if (ctx.stats) ctx.stats.processes++;
  return runKustomize(ctxs[0].kustomize, dir, ctxs[0].limits ?? DEFAULT_LIMITS);
};

const rendered = (ctx: RenderContext, builds: number) => {
  if (ctx.stats) ctx.stats.builds += builds;
};

const keep = (cacheFile: string, docs: BuiltDoc[]): void => {
  mkdirSync(dirname(cacheFile), { recursive: true });
  writeAtomically(cacheFile, JSON.stringify(docs));
};

const renderAlone = async (ctx: RenderContext, job: RenderJob): Promise<Rendered> => {
  const dir = overlayDir(ctx, sha256(job.cacheFile).slice(0, 20));
  writeOverlay(dir, job.overlay, { buildMetadata: ['originAnnotations'] });
  const result = await run([ctx], dir);
  rmSync(dir, { recursive: true, force: true });
  rendered(ctx, 1);
  if (!result.ok) return { ...result, error: namedFromRoot(result.error, dir, ctx.repoRoot) };
  const parsed = docsOf(result.stdout, dir);
  if (!parsed.ok) return parsed;
  const docs = fromRoot(parsed.docs, ctx.repoRoot);
  keep(job.cacheFile, docs);
  return { ok: true, docs };
};

/**
 * Several builds in one process; when it failed, whether over a limit, or the build kustomize named in its
 * error, or otherwise (the caller splits them).
 */
const renderTogether = async (group: Pending[]): Promise<Rendered[] | 'limit' | number | 'failed'> => {
  const jobs = group.map((p) => p.job);
  const id = sha256(...jobs.map((j) => j.cacheFile)).slice(0, 20);
  const dir = overlayDir(group[0].ctx, `shared-${id}`);
  const resources: string[] = [];
  const stand = (i: number) => `k8s-ops-${id.slice(0, 8)}-${i}`;
  jobs.forEach((job, i) => {
    const { namespace } = job.overlay;
    writeOverlay(join(dir, `b${i}`), namespace === undefined ? job.overlay : { ...job.overlay, namespace: stand(i) });
    writeFileSync(join(dir, `boundary-${i}.yaml`), JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `${BOUNDARY}${i}` } }));
    resources.push(`boundary-${i}.yaml`, `b${i}`);
  });
  writeFileSync(
    join(dir, 'kustomization.yaml'),
    JSON.stringify({ apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', buildMetadata: ['originAnnotations'], sortOptions: { order: 'fifo' }, resources }),
  );
  const result = await run(group.map((p) => p.ctx), dir);
  rmSync(dir, { recursive: true, force: true });
  if (!result.ok) {
    if (result.limit) return 'limit';
    const named = /accumulating resources from '\.?\/?b(\d+)'/.exec(result.error);
    return named ? Number(named[1]) : 'failed';
  }
  const parsed = docsOf(result.stdout, dir);
  if (!parsed.ok) return 'failed';
  const split: BuiltDoc[][] = [];
  for (const doc of parsed.docs) {
    const o = doc.obj;
    if (o.kind === 'ConfigMap' && o.apiVersion === 'v1' && String(o.metadata?.name).startsWith(BOUNDARY)) {
      if (o.metadata.name !== `${BOUNDARY}${split.length}`) return 'failed';
      split.push([]);
    } else if (!split.length) return 'failed';
    else split[split.length - 1].push(doc);
  }
  if (split.length !== jobs.length) return 'failed';
  group.forEach((p) => rendered(p.ctx, 1));
  return group.map(({ ctx, job }, i) => {
    const { namespace } = job.overlay;
    const own = fromRoot(split[i], ctx.repoRoot);
    const docs = legacyOrder(namespace === undefined ? own : own.map((d) => ({ ...d, obj: replaceString(d.obj, stand(i), namespace) })));
    keep(job.cacheFile, docs);
    return { ok: true, docs };
  });
};

/**
 * kustomize's error with the files named from the repository's root (the root itself as `.`): it names them
 * as the overlay lists them, relative to the overlay's folder, or by absolute path.
 */
const namedFromRoot = (error: string, dir: string, repoRoot: string): string => {
  const rel = toPosix(relative(dir, repoRoot));
  return error
    .split(`${rel}/`)
    .join('')
    .split(`'${rel}'`)
    .join("'.'")
    .replace(new RegExp(`${escapeRegExp(repoRoot)}(/|(?![\\w.-]))`, 'g'), (_, slash) => (slash ? '' : '.'))
    .replace(/(\.\.\/)+/g, '');
};

/** Each object's source file relative to the repository it was built from. */
const fromRoot = (docs: BuiltDoc[], repoRoot: string): BuiltDoc[] =>
  docs.map((d) => (d.file === undefined ? d : { ...d, file: toPosix(relative(repoRoot, d.file)) }));

/** `value` with `from` replaced by `to` in every string, keys included. */
const replaceString = (value: any, from: string, to: string): any => {
  if (typeof value === 'string') return value.includes(from) ? value.replaceAll(from, to) : value;
  if (Array.isArray(value)) return value.map((v) => replaceString(v, from, to));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [replaceString(k, from, to), replaceString(v, from, to)]));
  return value;
};

/** kustomize's output as objects, each with the file it came from (absolute; its origin annotation removed). */
const docsOf = (stdout: string, dir: string): Rendered => {
  try {
    const docs = parseYamlDocuments(stdout)
      .map((d) => toJSCapped(d, 'kustomize output'))
      .filter((o) => o && typeof o === 'object')
      .map((obj) => ({ obj, file: takeOrigin(obj, dir) }));
    return { ok: true, docs };
  } catch (e) {
    return { ok: false, error: (e as Error).message.split('\n')[0] };
  }
};

/** Removes kustomize's origin annotation and returns the absolute source file. */
const takeOrigin = (obj: KObject, dir: string): string | undefined => {
  const annotations = obj.metadata?.annotations;
  const origin = annotations?.[ORIGIN];
  if (!origin) return undefined;
  delete annotations[ORIGIN];
  if (Object.keys(annotations).length === 0) delete obj.metadata.annotations;
  try {
    const o = parseYaml(origin, ORIGIN);
    const path = o?.path ?? o?.configuredIn;
    return path ? resolve(dir, path) : undefined;
  } catch {
    return undefined;
  }
};

// kustomize's default ("legacy") output order, which a build alone gets at the top of its process:
// api/internal/builtins/SortOrderTransformer.go (a total order, so the result is the same).
const ORDER_FIRST = [
  'Namespace', 'ResourceQuota', 'StorageClass', 'CustomResourceDefinition', 'ServiceAccount', 'PodSecurityPolicy', 'Role',
  'ClusterRole', 'RoleBinding', 'ClusterRoleBinding', 'ConfigMap', 'Secret', 'Endpoints', 'Service', 'LimitRange',
  'PriorityClass', 'PersistentVolume', 'PersistentVolumeClaim', 'Deployment', 'StatefulSet', 'CronJob', 'PodDisruptionBudget',
];
const ORDER_LAST = ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration'];
const rank = new Map<string, number>([...ORDER_FIRST.map((k, i) => [k, i - ORDER_FIRST.length] as const), ...ORDER_LAST.map((k, i) => [k, i + 1] as const)]);

const gvkString = (o: KObject): string => {
  const apiVersion = String(o.apiVersion ?? '');
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  return [group || '~G', version || '~V', o.kind || '~K'].join('_');
};
const idString = (o: KObject): string => [gvkString(o), o.metadata?.namespace || '~X', o.metadata?.name || '~N'].join('|');
const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export const legacyOrder = (docs: BuiltDoc[]): BuiltDoc[] =>
  [...docs].sort((x, y) => {
    const [a, b] = [x.obj, y.obj];
    const [ga, gb] = [gvkString(a), gvkString(b)];
    if (ga !== gb) {
      const [ra, rb] = [rank.get(a.kind) ?? 0, rank.get(b.kind) ?? 0];
      return ra !== rb ? ra - rb : compare(ga, gb);
    }
    return compare(idString(a), idString(b));
  });

export const readCached = (file: string): Rendered => ({ ok: true, docs: JSON.parse(readFileSync(file, 'utf8')) });
