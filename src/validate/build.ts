import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { cacheArea } from '../lib/cache.ts';
import { isDir, isFile, toPosix } from '../lib/fsutil.ts';
import { sha256 } from '../lib/hash.ts';
import { collectInputs, isYamlFile, kustomizationFile, type Inputs } from './inputs.ts';
import { runKustomize, type KustomizeBin } from './kustomize.ts';
import type { Finding, KObject } from './types.ts';

export interface BuildContext {
  repoRoot: string;
  cacheDir: string;
  kustomize: KustomizeBin;
  /** Limits how many kustomize processes run at once. */
  schedule: <T>(task: () => Promise<T>) => Promise<T>;
  /** Renders under way or done in this run, by cache file: clusters that share an app build it once. */
  renders: Map<string, Promise<Rendered>>;
}

export interface BuiltDoc {
  obj: KObject;
  /** Repository-relative file the object came from. */
  file?: string;
}

export interface BuildOutput {
  docs: BuiltDoc[];
  /** Repository-relative kustomization files read. */
  kustomizations: string[];
  findings: Finding[];
  cached: boolean;
}

const ORIGIN = 'config.kubernetes.io/origin';

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
  if (!inputs.has(dir)) inputs.set(dir, collectInputs(dir));
  return inputs.get(dir)!;
};
const digestOf = (ctx: BuildContext, file: string): string => {
  const { digests } = readsOf(ctx);
  if (!digests.has(file)) digests.set(file, sha256(readFileSync(file)));
  return digests.get(file)!;
};

/** The overlay Flux's kustomize-controller lays over `spec.path` before it builds. */
const overlayFor = (spec: KObject, resources: string[], components: string[]): KObject => {
  const k: KObject = {
    apiVersion: 'kustomize.config.k8s.io/v1beta1',
    kind: 'Kustomization',
    buildMetadata: ['originAnnotations'],
    resources,
  };
  if (components.length) k.components = components;
  if (spec.targetNamespace) k.namespace = spec.targetNamespace;
  if (spec.namePrefix) k.namePrefix = spec.namePrefix;
  if (spec.nameSuffix) k.nameSuffix = spec.nameSuffix;
  if (Array.isArray(spec.patches) && spec.patches.length) k.patches = spec.patches;
  if (Array.isArray(spec.images) && spec.images.length) k.images = spec.images;
  const labels = spec.commonMetadata?.labels;
  if (labels && Object.keys(labels).length) k.labels = [{ pairs: labels, includeSelectors: false }];
  const annotations = spec.commonMetadata?.annotations;
  if (annotations && Object.keys(annotations).length) k.commonAnnotations = annotations;
  return k;
};

/** Stage 2: `kustomize build` of one Flux Kustomization's path, as the controller would run it. */
export const buildFluxKustomization = async (
  ctx: BuildContext,
  spec: KObject,
  where: { file: string; ks: string; obj?: KObject },
): Promise<BuildOutput> => {
  const findings: Finding[] = [];
  const fail = (rule: string, message: string, file = where.file): BuildOutput => ({
    docs: [],
    kustomizations: [],
    findings: [...findings, { file, rule, message, severity: 'error' }],
    cached: false,
  });
  const pathRel = String(spec.path ?? '.').replace(/^\.\//, '') || '.';
  const dir = resolve(ctx.repoRoot, pathRel);
  if (!isDir(dir)) return fail('path-missing', `${where.ks}: spec.path ${spec.path ?? '.'} does not exist`);

  const overlayDir = cacheArea(ctx.cacheDir, 'overlays').file(sha256(dir, JSON.stringify(spec)).slice(0, 20), '');
  const fromOverlay = (p: string) => toPosix(relative(overlayDir, p));
  const fromRoot = (p: string) => toPosix(relative(ctx.repoRoot, p));

  const componentDirs: string[] = [];
  for (const [i, c] of (Array.isArray(spec.components) ? spec.components : []).entries()) {
    const cdir = resolve(dir, String(c));
    if (!isDir(cdir) || !kustomizationFile(cdir)) {
      if (!spec.ignoreMissingComponents) {
        findings.push({
          file: where.file,
          rule: 'component-missing',
          message: `${where.ks}: component ${c} not found (resolved to ${fromRoot(cdir)})`,
          severity: 'error',
          at: { obj: where.obj, path: ['spec', 'components', i] },
        });
      }
      continue;
    }
    componentDirs.push(cdir);
  }

  // Flux generates a kustomization.yaml listing the manifests when the folder has none.
  const resourcePaths = kustomizationFile(dir) ? [dir] : generatedResources(dir);
  // JSON is YAML: kustomize reads it, and writing it costs nothing next to the yaml library's stringify.
  const overlay = JSON.stringify(overlayFor(spec, resourcePaths.map(fromOverlay), componentDirs.map(fromOverlay)), null, 2);

  const inputs = [dir, ...componentDirs].map((d) => inputsOf(ctx, d));
  const inputFiles = [...new Set(inputs.flatMap((i) => i.files))].sort();
  const kustomizations = [...new Set(inputs.flatMap((i) => i.kustomizations))].map(fromRoot);
  // The key names files relative to the repository root, so a copy of the tree elsewhere (the
  // generators validate one) reuses the renders of everything it did not change.
  const key = sha256(
    ctx.kustomize.identity,
    JSON.stringify(overlayFor(spec, resourcePaths.map(fromRoot), componentDirs.map(fromRoot))),
    ...inputFiles.flatMap((f) => [fromRoot(f), digestOf(ctx, f)]),
  );

  const cacheFile = cacheArea(ctx.cacheDir, 'builds').file(key);
  const cached = isFile(cacheFile);
  if (!ctx.renders.has(cacheFile)) {
    ctx.renders.set(cacheFile, cached ? readCached(cacheFile) : render(ctx, overlayDir, overlay, cacheFile));
  }
  const rendered = await ctx.renders.get(cacheFile)!;
  if (!rendered.ok) {
    const yamlErrors = syntaxErrors(ctx.repoRoot, inputFiles);
    if (yamlErrors.length) return { docs: [], kustomizations, findings: [...findings, ...yamlErrors], cached: false };
    const message = rendered.error.split(`${ctx.repoRoot}/`).join('').replace(/(\.\.\/)+/g, '');
    return { ...fail('build', `${where.ks}: kustomize build failed: ${message}`), kustomizations };
  }
  // Each caller gets its own copy: later stages rewrite objects in place.
  return { docs: structuredClone(rendered.docs), kustomizations, findings, cached };
};

/**
 * Starts, ahead of the simulation, the builds of the Flux Kustomizations in a file it will reach later (a
 * generator knows the ones it adds): the simulation then finds them under way instead of waiting for its
 * parent's build first. A spec that still holds `${VAR}` is left alone, since substitution would change it.
 */
export const prewarmBuilds = (ctx: BuildContext, file: string): void => {
  const path = resolve(ctx.repoRoot, file);
  if (!isFile(path)) return;
  for (const doc of parseAllDocuments(readFileSync(path, 'utf8'))) {
    const obj = doc.toJS?.();
    if (!obj || obj.kind !== 'Kustomization' || !String(obj.apiVersion ?? '').startsWith('kustomize.toolkit.fluxcd.io/')) continue;
    const { path: p, components, targetNamespace, namePrefix, nameSuffix, patches, images, commonMetadata } = obj.spec ?? {};
    if (JSON.stringify({ p, components, targetNamespace, namePrefix, nameSuffix, patches, images, commonMetadata }).includes('${')) continue;
    buildFluxKustomization(ctx, obj.spec, { file, ks: `Kustomization ${obj.metadata?.name}` }).catch(() => undefined);
  }
};

export type Rendered = { ok: true; docs: BuiltDoc[] } | { ok: false; error: string };

const readCached = async (file: string): Promise<Rendered> => ({ ok: true, docs: JSON.parse(readFileSync(file, 'utf8')) });

const render = async (ctx: BuildContext, overlayDir: string, overlay: string, cacheFile: string): Promise<Rendered> => {
  mkdirSync(overlayDir, { recursive: true });
  writeFileSync(join(overlayDir, 'kustomization.yaml'), overlay);
  const result = await ctx.schedule(() => runKustomize(ctx.kustomize, overlayDir));
  rmSync(overlayDir, { recursive: true, force: true });
  if (!result.ok) return result;
  const docs = parseAllDocuments(result.stdout)
    .map((d) => d.toJS())
    .filter((o) => o && typeof o === 'object')
    .map((obj) => ({ obj, file: takeOrigin(obj, overlayDir, ctx.repoRoot) }));
  mkdirSync(dirname(cacheFile), { recursive: true });
  writeFileSync(cacheFile, JSON.stringify(docs));
  return { ok: true, docs };
};

/** The manifests Flux would list for a folder without a kustomization file. */
const generatedResources = (dir: string): string[] => {
  const out: string[] = [];
  const visit = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(d, e.name);
      if (e.isDirectory()) {
        if (kustomizationFile(p)) out.push(p);
        else visit(p);
      } else if (/\.ya?ml$/.test(e.name)) out.push(p);
    }
  };
  visit(dir);
  return out;
};

/** Removes kustomize's origin annotation and returns the repository-relative source file. */
const takeOrigin = (obj: KObject, overlayDir: string, repoRoot: string): string | undefined => {
  const annotations = obj.metadata?.annotations;
  const origin = annotations?.[ORIGIN];
  if (!origin) return undefined;
  delete annotations[ORIGIN];
  if (Object.keys(annotations).length === 0) delete obj.metadata.annotations;
  try {
    const o = parse(origin);
    const path = o?.path ?? o?.configuredIn;
    return path ? toPosix(relative(repoRoot, resolve(overlayDir, path))) : undefined;
  } catch {
    return undefined;
  }
};

/** YAML syntax errors in a build's inputs, with file and line: better than kustomize's message. */
export const syntaxErrors = (repoRoot: string, files: string[]): Finding[] => {
  const out: Finding[] = [];
  for (const f of files.filter(isYamlFile)) {
    const docs = parseAllDocuments(readFileSync(f, 'utf8'), { prettyErrors: true });
    const list = Array.isArray(docs) ? docs : [docs];
    for (const d of list) {
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
