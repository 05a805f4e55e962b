import { readdirSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { parse } from 'yaml';
import { isDir, isFile, walkFiles } from '../lib/fsutil.ts';

export const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];

export const kustomizationFile = (dir: string): string | undefined =>
  KUSTOMIZATION_FILES.map((f) => join(dir, f)).find(isFile);

const isRemote = (ref: string): boolean => /^[a-z]+:\/\//i.test(ref) || /^(github\.com|gitlab\.com)\//.test(ref);

const fileRefs = (k: any): string[] => {
  const refs: string[] = [];
  const add = (v: unknown) => typeof v === 'string' && refs.push(v);
  const list = (v: unknown) => (Array.isArray(v) ? v : []);
  for (const field of ['resources', 'components', 'bases', 'crds', 'generators', 'transformers', 'validators', 'patchesStrategicMerge']) {
    list(k?.[field]).forEach(add);
  }
  for (const p of [...list(k?.patches), ...list(k?.patchesJson6902), ...list(k?.replacements)]) add(p?.path);
  for (const g of [...list(k?.configMapGenerator), ...list(k?.secretGenerator)]) {
    list(g?.files).forEach((f: unknown) => typeof f === 'string' && add(f.includes('=') ? f.slice(f.indexOf('=') + 1) : f));
    list(g?.envs).forEach(add);
    add(g?.env);
  }
  add(k?.openapi?.path);
  return refs.filter((r) => !r.includes('\n'));
};

export interface Inputs {
  /** Every file a build reads, absolute and sorted. */
  files: string[];
  /** The kustomization files among them. */
  kustomizations: string[];
}

/** Kustomization files by content: every cluster and every build that walks the same tree reads them again. */
const parsed = new Map<string, unknown>();
const parsedKustomization = (text: string): any => {
  if (!parsed.has(text)) {
    let k: unknown;
    try {
      k = parse(text);
    } catch {
      k = undefined;
    }
    parsed.set(text, k);
  }
  return parsed.get(text);
};

/**
 * The files a kustomize build of `dir` reads: each kustomization file, the files it names, and every
 * file beside it (cheap insurance for fields this walk does not know). Used as the render cache key.
 */
export const collectInputs = (dir: string): Inputs => {
  const files = new Set<string>();
  const kustomizations = new Set<string>();
  const seenDirs = new Set<string>();
  const visitDir = (d: string) => {
    if (seenDirs.has(d)) return;
    seenDirs.add(d);
    const kfile = kustomizationFile(d);
    if (!kfile) {
      walkFiles(d).forEach((f) => files.add(f));
      return;
    }
    kustomizations.add(kfile);
    for (const e of readdirSync(d, { withFileTypes: true })) if (e.isFile()) files.add(join(d, e.name));
    const k = parsedKustomization(readFileSync(kfile, 'utf8'));
    if (k === undefined) return;
    for (const ref of fileRefs(k)) {
      if (isRemote(ref)) continue;
      const target = resolve(d, ref);
      if (isDir(target)) visitDir(target);
      else if (isFile(target)) files.add(target);
    }
  };
  visitDir(dir);
  return { files: [...files].sort(), kustomizations: [...kustomizations].sort() };
};

export const isYamlFile = (f: string): boolean => /\.ya?ml$/.test(f) || basename(f) === 'Kustomization';
