import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { cacheArea } from '../lib/cache.ts';
import { contain, escapeText } from '../lib/contain.ts';
import { isDir, isFile, toPosix, walkFiles } from '../lib/fsutil.ts';
import { fluxEntry, listClusters } from '../lib/layout.ts';
import { mergePatch } from '../lib/merge-patch.ts';
import { sha256 } from '../lib/hash.ts';
import { escapeRegExp } from '../lib/regexp.ts';
import { parseYamlAll, parseYamlDocuments, readYamlText } from '../lib/yaml-safe.ts';
import { readCached, render, type BuiltDoc, type Rendered, type RenderContext } from './batch.ts';
import { collectInputs, generatedResources, isRemoteRef, isYamlFile, kustomizationFile, yamlRefusals, type Inputs, type Refusal } from './inputs.ts';
import { buildsFromRoot, isFluxKustomization, ROOT_NAME, type Finding, type KObject } from './types.ts';

export type { BuiltDoc, Rendered } from './batch.ts';

export interface BuildContext extends RenderContext {
  /** Renders under way or done in this run, by cache file: clusters that share an app build it once. */
  renders: Map<string, Promise<Rendered>>;
}

export interface BuildOutput {
  docs: BuiltDoc[];
  /** Repository-relative kustomization files read. */
  kustomizations: string[];
  findings: Finding[];
  cached: boolean;
}

/**
 * One run's reads: the prewarm and the simulation, and every cluster, ask for the same folders' inputs
 * and the same files' digests. Files do not change during a run.
 */
const runReads = new WeakMap<BuildContext, { inputs: Map<string, Inputs>; digests: Map<string, string> }>();
const readsOf = (ctx: BuildContext) => {
  let reads = runReads.get(ctx);
  if (!reads) runReads.set(ctx, (reads = { inputs: new Map(), digests: new Map() }));
  return reads;
};
const inputsOf = (ctx: BuildContext, dir: string): Inputs => {
  const { inputs } = readsOf(ctx);
  if (!inputs.has(dir)) inputs.set(dir, collectInputs(dir, ctx.repoRoot));
  return inputs.get(dir)!;
};
const digestOf = (ctx: BuildContext, file: string): string => {
  const { digests } = readsOf(ctx);
  if (!digests.has(file)) digests.set(file, sha256(readFileSync(file)));
  return digests.get(file)!;
};

/**
 * The overlay Flux's kustomize-controller lays over `spec.path` before it builds. `commonMetadata` is not
 * part of it: the controller sets it on each object after substitution (simulate.ts).
 */
const overlayFor = (spec: KObject, resources: string[], components: string[]) => {
  const k: KObject & { resources: string[]; components?: string[] } = { resources };
  if (components.length) k.components = components;
  if (spec.targetNamespace) k.namespace = spec.targetNamespace;
  if (spec.namePrefix) k.namePrefix = spec.namePrefix;
  if (spec.nameSuffix) k.nameSuffix = spec.nameSuffix;
  if (Array.isArray(spec.patches) && spec.patches.length) k.patches = spec.patches;
  if (Array.isArray(spec.images) && spec.images.length) k.images = spec.images;
  return k;
};

/**
 * Whether the overlay's own fields let its build share a kustomize process: a name prefix or suffix renames,
 * and so may a JSON6902 patch (Flux's `patches` take both kinds; a strategic merge cannot rename).
 */
const overlayShareable = (spec: KObject): boolean =>
  !spec.namePrefix && !spec.nameSuffix && !(Array.isArray(spec.patches) ? spec.patches : []).some((p: KObject) => isJson6902(p?.patch));

/** Whether a Flux `patches` entry is a JSON6902 list of operations rather than a strategic merge. */
const isJson6902 = (patch: unknown): boolean => /^\s*(\[|-\s)/.test(String(patch ?? ''));

/** fluxcd/pkg's IsLocalRelativePath: a component must be neither remote nor absolute. */
const isLocalRelative = (p: string): boolean => !isRemoteRef(p) && !p.startsWith('/') && !/^file:\/\//i.test(p);

const BUILD_NOT_RUN = 'the Kustomization is not built';

/** Stage 2: `kustomize build` of one Flux Kustomization's path, as the controller would run it. */
export const buildFluxKustomization = async (
  ctx: BuildContext,
  spec: KObject,
  where: { file: string; ks: string; obj?: KObject },
  /** Only start the build (a prewarm): nothing is read back, and a cached build is left for the simulation. */
  startOnly = false,
): Promise<BuildOutput> => {
  const findings: Finding[] = [];
  const fromRoot = (p: string) => toPosix(relative(ctx.repoRoot, p));
  const fail = (rule: string, message: string, at?: Finding['at'], extra: Partial<BuildOutput> = {}): BuildOutput => ({
    docs: [],
    kustomizations: [],
    ...extra,
    findings: [...findings, { file: where.file, rule, message, severity: 'error', ...(at ? { at } : {}) }],
    cached: false,
  });
  const pathRel = String(spec.path ?? '.').replace(/^\.\//, '') || '.';
  const dir = resolve(ctx.repoRoot, pathRel);
  const inRoot = contain(ctx.repoRoot, dir);
  if (!inRoot.inside) {
    return fail('outside-repository', `${where.ks}: spec.path ${spec.path} ${escapeText(inRoot, ctx.repoRoot)}: not read (Flux confines it to the source)`, { obj: where.obj, path: ['spec', 'path'] });
  }
  if (!isDir(dir)) return fail('path-missing', `${where.ks}: spec.path ${spec.path ?? '.'} does not exist`);

  const componentDirs: string[] = [];
  for (const [i, c] of (Array.isArray(spec.components) ? spec.components : []).entries()) {
    const at = { obj: where.obj, path: ['spec', 'components', i] };
    if (!isLocalRelative(String(c))) {
      findings.push({ file: where.file, rule: 'component-missing', message: `${where.ks}: component ${c} must be local and relative (Flux refuses a remote or absolute one)`, severity: 'error', at });
      continue;
    }
    const cdir = resolve(dir, String(c));
    const inside = contain(ctx.repoRoot, cdir);
    if (!inside.inside) {
      findings.push({ file: where.file, rule: 'outside-repository', message: `${where.ks}: component ${c} ${escapeText(inside, ctx.repoRoot)}: not read`, severity: 'error', at });
      continue;
    }
    if (!isDir(cdir) || !kustomizationFile(cdir)) {
      if (!spec.ignoreMissingComponents) {
        findings.push({ file: where.file, rule: 'component-missing', message: `${where.ks}: component ${c} not found (resolved to ${fromRoot(cdir)})`, severity: 'error', at });
      }
      continue;
    }
    componentDirs.push(cdir);
  }

  const inputs = [dir, ...componentDirs].map((d) => inputsOf(ctx, d));
  const kustomizations = [...new Set(inputs.flatMap((i) => i.kustomizations))].map(fromRoot);
  const refuse = (refused: Refusal[]): BuildOutput => {
    for (const r of refused) {
      const file = fromRoot(r.file);
      const at = { pattern: escapeRegExp(r.ref) };
      if (r.kind === 'remote') {
        findings.push({ file, rule: 'remote-not-followed', message: `${where.ks}: ${r.field} ${r.ref} is remote: not fetched (validation reads no network), so ${BUILD_NOT_RUN}`, severity: 'warning', at });
      } else if (r.kind === 'outside') {
        findings.push({ file, rule: 'outside-repository', message: `${where.ks}: ${r.field} ${r.ref} ${r.reason}: not read, and ${BUILD_NOT_RUN}`, severity: 'error', at });
      } else if (r.kind === 'plugin-folder') {
        findings.push({ file, rule: 'plugin-not-followed', message: `${where.ks}: ${r.field} ${r.ref} ${r.reason}: not followed, so ${BUILD_NOT_RUN}`, severity: 'warning', at });
      } else if (r.kind === 'unreadable') {
        findings.push({ file, rule: 'yaml', message: `${where.ks}: ${r.reason}: refused, since kustomize may read it differently, and ${BUILD_NOT_RUN}`, severity: 'error' });
      } else {
        findings.push({ file, rule: 'yaml-limit', message: `${where.ks}: ${r.reason}, before kustomize reads it; ${BUILD_NOT_RUN}`, severity: 'error' });
      }
    }
    return { docs: [], kustomizations, findings, cached: false };
  };
  const refused = inputs.flatMap((i) => i.refused);
  if (refused.length) return refuse(refused);

  // Flux generates a kustomization.yaml listing the manifests when the folder has none.
  const resourcePaths = kustomizationFile(dir) ? [dir] : generatedResources(dir, ctx.repoRoot).entries;
  const overlay = overlayFor(spec, resourcePaths, componentDirs);
  const inputFiles = [...new Set(inputs.flatMap((i) => i.files))].sort();
  // The key names files relative to the repository root, so a copy of the tree elsewhere (the
  // generators validate one) reuses the renders of everything it did not change.
  const key = sha256(
    ctx.kustomize.identity,
    JSON.stringify({ ...overlay, resources: resourcePaths.map(fromRoot), components: componentDirs.map(fromRoot) }),
    ...inputFiles.flatMap((f) => [fromRoot(f), digestOf(ctx, f)]),
  );

  const cacheFile = cacheArea(ctx.cacheDir, 'builds').file(key);
  const cached = isFile(cacheFile);
  if (startOnly && (cached || ctx.renders.has(cacheFile))) return { docs: [], kustomizations, findings, cached };
  const hazards = cached || ctx.renders.has(cacheFile) ? [] : inputs.flatMap(yamlRefusals);
  if (hazards.length) return refuse(hazards);
  if (!ctx.renders.has(cacheFile)) {
    const shareable = overlayShareable(spec) && inputs.every((i) => i.shareable);
    ctx.renders.set(cacheFile, cached ? Promise.resolve(readCached(cacheFile)) : render(ctx, { cacheFile, overlay, shareable, reads: inputs.flatMap((i) => i.parsed) }));
  }
  if (startOnly) return { docs: [], kustomizations, findings, cached };
  const rendered = await ctx.renders.get(cacheFile)!;
  if (!rendered.ok) {
    if (rendered.limit) return fail('build-limit', `${where.ks}: kustomize build ${rendered.error}`, undefined, { kustomizations });
    const yamlErrors = syntaxErrors(ctx.repoRoot, inputFiles);
    if (yamlErrors.length) return { docs: [], kustomizations, findings: [...findings, ...yamlErrors], cached: false };
    return fail('build', `${where.ks}: kustomize build failed: ${rendered.error}`, undefined, { kustomizations });
  }
  // Each caller gets its own copy: later stages rewrite objects in place.
  return { docs: structuredClone(rendered.docs), kustomizations, findings, cached };
};

/**
 * The Flux Kustomizations a text declares, by the text: every validation reads the same ks.yaml files again
 * (a generator's scratch copy, each test's), and parsing them is most of the prewarm's cost.
 */
const declaredByText = new Map<string, KObject[]>();
const MAX_REMEMBERED_TEXTS = 4096;

/** The Flux Kustomizations a file declares (none when it is not readable YAML inside the repository). */
const fluxKustomizationsIn = (ctx: BuildContext, file: string): KObject[] => {
  const path = resolve(ctx.repoRoot, file);
  if (!isFile(path) || !contain(ctx.repoRoot, path).inside) return [];
  try {
    const text = readYamlText(path);
    // Most files a build reads declare none: their apiVersion is not in the text, and they are not parsed.
    if (!text.includes('kustomize.toolkit.fluxcd.io/')) return [];
    const key = sha256(text);
    let declared = declaredByText.get(key);
    if (!declared) {
      declared = (parseYamlAll(text, file) as KObject[]).filter((o) => o && isFluxKustomization(o));
      if (declaredByText.size >= MAX_REMEMBERED_TEXTS) declaredByText.clear();
      declaredByText.set(key, declared);
    }
    // Callers may change what they get: each gets its own copy.
    return structuredClone(declared);
  } catch {
    return [];
  }
};

/**
 * The clusters' own Flux Kustomizations (the files under each `clusters/<cluster>/flux/`), each with the folder
 * it applies and its Kustomization-targeted patches: what a parent writes into every Kustomization it applies
 * (cluster-apps adds the HelmRelease defaults, for one). Only strategic merges that target every Kustomization
 * are taken. Read once per run.
 */
const runParents = new WeakMap<BuildContext, { root: string; patches: KObject[] }[]>();
const fluxParents = (ctx: BuildContext): { root: string; patches: KObject[] }[] => {
  if (runParents.has(ctx)) return runParents.get(ctx)!;
  const parents: { root: string; patches: KObject[] }[] = [];
  for (const cluster of listClusters(ctx.repoRoot)) {
    for (const file of walkFiles(join(ctx.repoRoot, fluxEntry(cluster))).filter(isYamlFile)) {
      for (const parent of fluxKustomizationsIn(ctx, relative(ctx.repoRoot, file))) {
        const patches = (Array.isArray(parent.spec?.patches) ? parent.spec.patches : [])
          .filter((p: KObject) => {
            const t = p?.target ?? {};
            const others = Object.keys(t).filter((k) => !['group', 'version', 'kind'].includes(k));
            return t.kind === 'Kustomization' && others.length === 0 && typeof p.patch === 'string' && !isJson6902(p.patch);
          })
          .map((p: KObject) => {
            try {
              return parseYamlAll(p.patch, file)[0] as KObject;
            } catch {
              return undefined;
            }
          })
          .filter((p: KObject | undefined): p is KObject => !!p && typeof p === 'object');
        parents.push({ root: resolve(ctx.repoRoot, String(parent.spec?.path ?? '.')), patches });
      }
    }
  }
  runParents.set(ctx, parents);
  return parents;
};

/**
 * Starts, ahead of the simulation, the builds of the Flux Kustomizations in a file it will reach later (a
 * generator knows the ones it adds): the simulation then finds them under way instead of waiting for its
 * parent's build first. Each is started as its parents will apply it, their Kustomization patches merged in
 * (a guess that misses costs one build, never a wrong result: the simulation keys builds by the spec it
 * reads). A spec that still holds `${VAR}` is left alone, since substitution would change it.
 */
export const prewarmBuilds = (ctx: BuildContext, file: string, own = fluxKustomizationsIn(ctx, file)): void => {
  if (!own.length) return;
  const dir = dirname(resolve(ctx.repoRoot, file));
  const sets = fluxParents(ctx)
    .filter((p) => contain(p.root, dir).inside)
    .map((p) => p.patches);
  const started = new Set<string>();
  for (const obj of own) {
    for (const patches of sets.length ? sets : [[]]) {
      // With a target, kustomize ignores the patch's own name: it applies to every Kustomization.
      const applied = patches.reduce<KObject>((o, p) => (p.spec ? (mergePatch(o, { spec: p.spec }) as KObject) : o), obj);
      const { path, components, targetNamespace, namePrefix, nameSuffix, patches: specPatches, images } = applied.spec ?? {};
      const shape = JSON.stringify({ path, components, targetNamespace, namePrefix, nameSuffix, specPatches, images });
      if (shape.includes('${') || started.has(shape)) continue;
      started.add(shape);
      buildFluxKustomization(ctx, applied.spec, { file, ks: `Kustomization ${obj.metadata?.name}` }, true).catch(() => undefined);
    }
  }
};

/**
 * Starts, before the simulation asks, the builds of every Flux Kustomization the clusters' trees declare in
 * the files their builds read, following each one's spec.path down (prewarmBuilds for each file). A small
 * repository's tree is then built in one or two kustomize processes rather than one per level. It reads
 * what the builds will read anyway. Only Kustomizations of the repository's own source are taken, as the
 * simulation follows only those (a patch file has none); one whose path holds `${VAR}` is not followed.
 */
export const prewarmTree = (ctx: BuildContext, entries: string[]): void => {
  const dirs = new Set<string>();
  const checked = new Set<string>();
  const files = new Map<string, KObject[]>();
  const follow = (dir: string) => {
    if (dirs.has(dir) || !contain(ctx.repoRoot, dir).inside || !isDir(dir)) return;
    dirs.add(dir);
    const inputs = inputsOf(ctx, dir);
    if (inputs.refused.length) return;
    for (const file of inputs.parsed) {
      if (checked.has(file)) continue;
      checked.add(file);
      if (!isYamlFile(file)) continue;
      const own = fluxKustomizationsIn(ctx, toPosix(relative(ctx.repoRoot, file))).filter((ks) => buildsFromRoot(ks.spec?.sourceRef, ks.metadata?.namespace ?? ROOT_NAME));
      if (!own.length) continue;
      files.set(file, own);
      for (const ks of own) {
        const path = String(ks.spec?.path ?? '.');
        if (!path.includes('${')) follow(resolve(ctx.repoRoot, path));
      }
    }
  };
  for (const entry of entries) follow(resolve(ctx.repoRoot, entry));
  for (const [file, own] of files) prewarmBuilds(ctx, toPosix(relative(ctx.repoRoot, file)), own);
};

/** YAML syntax errors in a build's inputs, with file and line: better than kustomize's message. */
export const syntaxErrors = (repoRoot: string, files: string[]): Finding[] => {
  const out: Finding[] = [];
  for (const f of files.filter(isYamlFile)) {
    let text: string;
    try {
      text = readYamlText(f);
    } catch {
      continue;
    }
    for (const d of parseYamlDocuments(text, { prettyErrors: true })) {
      const e = d.errors[0];
      if (!e) continue;
      out.push({
        file: toPosix(relative(repoRoot, f)),
        line: e.linePos?.[0].line,
        rule: 'yaml',
        message: `invalid YAML: ${e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')}`,
        severity: 'error',
      });
      break;
    }
  }
  return out;
};
