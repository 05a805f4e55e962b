import { readdirSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { contain, escapeText } from '../lib/contain.ts';
import { isDir, isFile, toPosix } from '../lib/fsutil.ts';
import { isScalar, visit } from 'yaml';
import { parseYamlDocuments, readYamlText, toJSCapped, yamlHazard, YamlLimitError } from '../lib/yaml-safe.ts';

export const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];

export const kustomizationFile = (dir: string): string | undefined =>
  KUSTOMIZATION_FILES.map((f) => join(dir, f)).find(isFile);

export const isYamlFile = (f: string): boolean => /\.ya?ml$/.test(f) || basename(f) === 'Kustomization';

/**
 * What kustomize would fetch instead of read: a URL, a git reference (kustomize's own prefixes, which Flux
 * copies for components), or `file://`, which clones a repository from anywhere on the disk.
 */
export const isRemoteRef = (ref: string): boolean =>
  /^[a-z][a-z0-9+.-]*:\/\//i.test(ref) || /^(git::|gh:|git@|github\.com[:/]|gitlab\.com[:/]|bitbucket\.org[:/])/i.test(ref);

/** A reference in a kustomization file that is not read: it leaves the repository, or is remote. */
export interface Refusal {
  /** The kustomization (or plugin configuration) file that names it, absolute. */
  file: string;
  field: string;
  ref: string;
  kind: 'outside' | 'remote' | 'yaml' | 'unreadable' | 'plugin-folder';
  /** Why, in words: where it leads, or what is wrong with the file. */
  reason: string;
}

export interface Inputs {
  /** Every file a build may read (each kustomization's folder whole, and what it names), absolute and sorted: the cache key. */
  files: string[];
  /** The kustomization files among them. */
  kustomizations: string[];
  /** The YAML files kustomize parses: checked for alias bombs and size before it runs (yamlRefusals). */
  parsed: string[];
  refused: Refusal[];
  /**
   * Whether the build may share a kustomize process with others (build.ts): nothing in it renames a
   * resource (a prefix, a hashed generator, a patch allowed to), which kustomize would let every build of the
   * process see, and nothing changes the process's global state (CRD or OpenAPI schemas) or its output order.
   */
  shareable: boolean;
}

/** Kustomization fields that rename resources, change kustomize's global state or its output order. */
const UNSHAREABLE = ['namePrefix', 'nameSuffix', 'generators', 'transformers', 'validators', 'replacements', 'vars', 'helmCharts', 'helmChartInflationGenerator', 'helmGlobals', 'crds', 'openapi', 'sortOptions'];

type Ref = { field: string; ref: string; plugin?: boolean };
/** A generator, transformer or validator written out in the kustomization itself rather than named by path. */
type Inline = { field: string; configs: unknown[] };

const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): v is string => typeof v === 'string' && v !== '' && !v.includes('\n');

/** Every path a kustomization names, by field (kustomize v5's fields; inline patches and plugin configs excluded). */
const fileRefs = (k: any): Ref[] => {
  const refs: Ref[] = [];
  const add = (field: string, v: unknown, plugin = false) => str(v) && refs.push({ field, ref: v, plugin });
  for (const field of ['resources', 'components', 'bases', 'crds', 'configurations', 'patchesStrategicMerge']) list(k?.[field]).forEach((v) => add(field, v));
  for (const field of ['generators', 'transformers', 'validators']) list(k?.[field]).forEach((v) => inlinePlugin(v) === undefined && add(field, v, true));
  for (const field of ['patches', 'patchesJson6902', 'replacements']) list(k?.[field]).forEach((p: any) => add(`${field}.path`, p?.path));
  for (const field of ['configMapGenerator', 'secretGenerator']) {
    for (const g of list(k?.[field]) as any[]) {
      list(g?.files).forEach((f) => typeof f === 'string' && add(`${field}.files`, f.includes('=') ? f.slice(f.indexOf('=') + 1) : f));
      list(g?.envs).forEach((f) => add(`${field}.envs`, f));
      add(`${field}.env`, g?.env);
    }
  }
  for (const c of list(k?.helmCharts) as any[]) {
    add('helmCharts.valuesFile', c?.valuesFile);
    list(c?.additionalValuesFiles).forEach((f) => add('helmCharts.additionalValuesFiles', f));
  }
  add('helmGlobals.chartHome', k?.helmGlobals?.chartHome);
  add('helmGlobals.configHome', k?.helmGlobals?.configHome);
  add('openapi.path', k?.openapi?.path);
  return refs;
};

/** The paths a builtin plugin's configuration names (a file listed under generators, transformers or validators). */
const pluginRefs = (config: any): Ref[] => {
  const refs: Ref[] = [];
  const add = (field: string, v: unknown) => str(v) && refs.push({ field, ref: v });
  add('path', config?.path);
  list(config?.paths).forEach((p) => add('paths', p));
  list(config?.files).forEach((f) => typeof f === 'string' && add('files', f.includes('=') ? f.slice(f.indexOf('=') + 1) : f));
  list(config?.envs).forEach((f) => add('envs', f));
  add('env', config?.env);
  list(config?.replacements).forEach((r: any) => add('replacements.path', r?.path));
  add('valuesFile', config?.valuesFile);
  list(config?.additionalValuesFiles).forEach((f) => add('additionalValuesFiles', f));
  add('chartHome', config?.chartHome);
  return [...refs, ...fileRefs(config)];
};

/**
 * How kustomize tells an inline plugin configuration from a path (kusttarget's configureExternal*): an entry
 * that reads as YAML objects is a configuration, whatever its length; anything else is a path. Undefined for a path.
 */
const inlinePlugin = (v: unknown): unknown[] | undefined => {
  if (typeof v !== 'string' || !/[:{\n]/.test(v)) return undefined;
  let docs: unknown[];
  try {
    docs = readKustomizeYaml(v, 'an inline plugin configuration');
  } catch (e) {
    // A configuration too odd to read safely is refused as one; plain text is a path.
    return e instanceof YamlLimitError || e instanceof UnreadableYaml ? [e] : undefined;
  }
  const objects = docs.filter((d) => d !== null && d !== undefined);
  return objects.length && objects.every((d) => typeof d === 'object' && !Array.isArray(d)) ? objects : undefined;
};

const inlinePlugins = (k: any): Inline[] =>
  ['generators', 'transformers', 'validators'].flatMap((field) =>
    list(k?.[field]).flatMap((v) => {
      const configs = inlinePlugin(v);
      return configs ? [{ field, configs }] : [];
    }),
  );

/** A kustomize input whose reading could differ between kustomize's YAML parser (go-yaml) and ours: refused. */
export class UnreadableYaml extends Error {}

/**
 * A kustomization or plugin configuration, read so that kustomize cannot see a path this walk does not: with
 * the alias cap, merge keys expanded (go-yaml's), and refused (UnreadableYaml) where the two parsers could
 * disagree: a syntax error, a duplicate key (go-yaml takes the last, silently), a second document (kustomize
 * reads only the first of a kustomization file).
 */
const readKustomizeYaml = (text: string, file: string, { single = false } = {}): unknown[] => {
  const docs = parseYamlDocuments(text, { merge: true, uniqueKeys: false });
  const values: unknown[] = [];
  for (const doc of docs) {
    const error = doc.errors[0];
    if (error) throw new UnreadableYaml(`does not parse as YAML: ${error.message.split('\n')[0]}`);
    let duplicate: string | undefined;
    visit(doc, {
      Map(_, map) {
        const keys = map.items.map((p) => (isScalar(p.key) ? String(p.key.value) : JSON.stringify(p.key)));
        duplicate ??= keys.find((key, i) => keys.indexOf(key) !== i);
      },
    });
    if (duplicate !== undefined) throw new UnreadableYaml(`has the key ${duplicate} twice in one mapping, of which kustomize would silently take one`);
    values.push(toJSCapped(doc, file));
  }
  if (single && values.filter((v) => v !== null && v !== undefined).length > 1) throw new UnreadableYaml('has more than one YAML document, of which kustomize would read only the first');
  return values;
};

/** Kustomization files by content: every cluster and every build that walks the same tree reads them again. */
const parsed = new Map<string, { k: unknown } | { error: Error }>();
const parsedKustomization = (text: string, file: string): { k: unknown } | { error: Error } => {
  if (!parsed.has(text)) {
    let entry: { k: unknown } | { error: Error };
    try {
      entry = { k: readKustomizeYaml(text, file, { single: true }).find((v) => v !== null && v !== undefined) };
    } catch (e) {
      entry = { error: e as Error };
    }
    parsed.set(text, entry);
  }
  return parsed.get(text)!;
};

const shareable = (k: any): boolean => {
  if (UNSHAREABLE.some((f) => f in k)) return false;
  const generators = [...list(k?.configMapGenerator), ...list(k?.secretGenerator)] as any[];
  const globally = k?.generatorOptions?.disableNameSuffixHash === true;
  if (generators.some((g) => !(g?.options?.disableNameSuffixHash ?? globally))) return false;
  const patches = [...list(k?.patches), ...list(k?.patchesJson6902)] as any[];
  return !patches.some((p) => p?.options?.allowNameChange || p?.options?.allowKindChange);
};

/**
 * The files a kustomize build of `dir` reads: each kustomization file, the files it names, and every file
 * beside it (cheap insurance for fields this walk does not know, in the cache key). A reference that
 * leaves `root` (symlinks followed) or is remote is refused, and so is a YAML input that is too large or
 * an alias bomb: the build must not run.
 */
export const collectInputs = (dir: string, root: string): Inputs => {
  const files = new Set<string>();
  const read = new Set<string>();
  const kustomizations = new Set<string>();
  const refused: Refusal[] = [];
  let canShare = true;
  const seenDirs = new Set<string>();
  const refuse = (r: Refusal) => refused.push(r);

  /** A file kustomize reads: it must be inside the root. */
  const readFile = (file: string, from: string, field: string, ref: string): boolean => {
    const c = contain(root, file);
    if (!c.inside) {
      refuse({ file: from, field, ref, kind: 'outside', reason: escapeText(c, root) });
      return false;
    }
    files.add(file);
    if (isYamlFile(file) || field.startsWith('patches') || field === 'resources' || field === 'crds') read.add(file);
    return true;
  };

  const visitDir = (d: string, from: string, field: string, ref: string) => {
    const c = contain(root, d);
    if (!c.inside) {
      refuse({ file: from, field, ref, kind: 'outside', reason: escapeText(c, root) });
      return;
    }
    if (seenDirs.has(d)) return;
    seenDirs.add(d);
    const kfile = kustomizationFile(d);
    if (!kfile) {
      // Flux generates a kustomization listing the manifests (generatedResources): what it lists is read.
      const generated = generatedResources(d, root);
      for (const p of generated.outside) {
        refuse({ file: p.path, field: 'spec.path', ref: toPosix(relative(d, p.path)), kind: 'outside', reason: p.reason });
      }
      for (const f of generated.files) readFile(f, from, field, toPosix(relative(d, f)));
      for (const sub of generated.entries) if (isDir(sub)) visitDir(sub, from, field, toPosix(relative(d, sub)));
      return;
    }
    for (const e of readdirSync(d, { withFileTypes: true })) if (e.isFile()) files.add(join(d, e.name));
    if (!readFile(kfile, from, field, ref)) return;
    kustomizations.add(kfile);
    let text: string;
    try {
      text = readYamlText(kfile);
    } catch {
      return;
    }
    const entry = parsedKustomization(text, kfile);
    if ('error' in entry) {
      refuseUnreadable(kfile, field, ref, entry.error);
      return;
    }
    const k = entry.k;
    if (k === undefined || k === null || typeof k !== 'object') return;
    canShare &&= shareable(k);
    for (const r of fileRefs(k)) follow(d, kfile, r);
    for (const { field: f, configs } of inlinePlugins(k)) followConfigs(d, kfile, f, '(inline)', configs);
  };

  const refuseUnreadable = (file: string, field: string, ref: string, e: Error) => {
    if (e instanceof YamlLimitError) refuse({ file, field, ref, kind: 'yaml', reason: e.reason });
    else if (e instanceof UnreadableYaml) refuse({ file, field, ref, kind: 'unreadable', reason: e.message });
    else throw e;
  };

  /** A plugin's configurations name files of their own, relative to the kustomization that lists the plugin. */
  const followConfigs = (d: string, from: string, field: string, ref: string, configs: unknown[]) => {
    for (const config of configs) {
      if (config instanceof Error) refuseUnreadable(from, field, ref, config);
      else for (const r of pluginRefs(config)) follow(d, from, r);
    }
  };

  const follow = (d: string, from: string, { field, ref, plugin }: Ref) => {
    if (isRemoteRef(ref)) {
      refuse({ file: from, field, ref, kind: 'remote', reason: 'is remote' });
      return;
    }
    const c = contain(root, ref, d);
    if (!c.inside) {
      refuse({ file: from, field, ref, kind: 'outside', reason: escapeText(c, root) });
      return;
    }
    const target = join(d, ref);
    if (isDir(target) && plugin) {
      // The configurations a kustomization folder makes are known only once it is built (a patch may name any
      // file in them): not followed, as a remote resource is not.
      refuse({ file: from, field, ref, kind: 'plugin-folder', reason: 'is a kustomization folder: the plugin configurations it builds, and the files they name, are known only after a build' });
    } else if (isDir(target)) visitDir(target, from, field, ref);
    else if (isFile(target) && readFile(target, from, field, ref) && plugin) {
      let configs: unknown[] = [];
      try {
        configs = readKustomizeYaml(readYamlText(target), target);
      } catch (e) {
        refuseUnreadable(target, field, ref, e as Error);
      }
      followConfigs(d, target, field, ref, configs);
    }
  };

  visitDir(dir, dir, 'spec.path', '.');
  return {
    files: [...files].sort(),
    kustomizations: [...kustomizations].sort(),
    parsed: [...read].sort(),
    refused,
    shareable: canShare,
  };
};

/**
 * The manifests Flux lists for a folder without a kustomization file (fluxcd/pkg's generator): every
 * `.yaml`/`.yml` below it, a subfolder with a kustomization file as a whole; symlinked files are read
 * through Flux's secure file system, so one pointing outside the repository fails the build.
 */
export const generatedResources = (dir: string, root: string): { files: string[]; entries: string[]; outside: { path: string; reason: string }[] } => {
  const entries: string[] = [];
  const files: string[] = [];
  const outside: { path: string; reason: string }[] = [];
  const visit = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(d, e.name);
      if (e.isDirectory()) {
        if (kustomizationFile(p)) entries.push(p);
        else visit(p);
      } else if (/\.ya?ml$/.test(e.name) && (e.isFile() || e.isSymbolicLink())) {
        const c = e.isSymbolicLink() ? contain(root, p) : undefined;
        if (c && !c.inside) outside.push({ path: p, reason: escapeText(c, root) });
        else if (isFile(p)) {
          entries.push(p);
          files.push(p);
        }
      }
    }
  };
  visit(dir);
  return { files, entries, outside };
};

/**
 * The YAML files of a build that kustomize must not read: too large, or alias bombs it would expand
 * without limit. Checked only before kustomize runs; a cached render was made from files that passed.
 */
export const yamlRefusals = (inputs: Inputs): Refusal[] =>
  inputs.parsed.flatMap((file) => {
    const reason = yamlHazard(file);
    return reason ? [{ file, field: 'resources', ref: basename(file), kind: 'yaml' as const, reason }] : [];
  });
