import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { cacheArea } from '../lib/cache.ts';
import { isDir, toPosix } from '../lib/fsutil.ts';
import { sha256 } from '../lib/hash.ts';
import { defaultCacheDir } from '../lib/cache-dir.ts';
import { kustomizationFile } from './inputs.ts';
import { readYaml } from '../lib/yaml-safe.ts';
import { unchangedFiles } from './schema-registry.ts';
import { uniqueFindings } from './report.ts';
import { addSampleApp, sampleAppDir, type SampleApp } from './sample-app.ts';
import { validateScratch, type ScratchOptions } from './scratch.ts';
import { id, type BuiltKustomization, type ClusterResult, type Finding, type Resource } from './types.ts';
import { LAYOUT } from '../lib/layout.ts';

export const LIBRARY = LAYOUT.components;

/** Bump when what is checked or kept changes. */

/** Every kustomize Component in the library, as its folder relative to it (`volsync/r2`). */
export const listComponents = (repoRoot: string): string[] => {
  const out: string[] = [];
  const visit = (dir: string) => {
    const file = kustomizationFile(dir);
    if (file) {
      let kind: unknown;
      try {
        kind = readYaml(file)?.kind;
      } catch {
        kind = 'Component'; // broken YAML: the check reports it with its line
      }
      if (kind === 'Component') out.push(toPosix(relative(join(repoRoot, LIBRARY), dir)));
      return;
    }
    for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) visit(join(dir, e.name));
  };
  if (isDir(join(repoRoot, LIBRARY))) visit(join(repoRoot, LIBRARY));
  return out.sort();
};

const VARIABLE = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/**
 * The variables a component uses without a default that neither APP nor the clusters' cluster-vars give:
 * every app that uses it must set them, so the sample app does, with the value the component generator uses.
 */
const requiredVariables = (dir: string, provided: Set<string>): Record<string, string> => {
  const names = new Set<string>();
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (!e.isFile() || !/\.ya?ml$/.test(e.name)) continue;
    for (const m of readFileSync(join(dir, e.name), 'utf8').matchAll(VARIABLE)) names.add(m[1]);
  }
  return Object.fromEntries([...names].filter((n) => n !== 'APP' && !provided.has(n)).sort().map((n) => [n, 'sample']));
};

/** The variables the clusters' cluster-vars set, from the simulation of the real tree. */
const clusterVariables = (results: ClusterResult[]): Set<string> =>
  new Set(
    results.flatMap((r) =>
      r.resources
        .filter((x) => x.obj.kind === 'ConfigMap' && x.obj.metadata?.name === 'cluster-vars')
        .flatMap((x) => Object.keys(x.obj.data ?? {})),
    ),
  );

interface Sample {
  component: string;
  /** The component's kustomization file, repository-relative. */
  file: string;
  app: SampleApp;
}

/** One sample app per component, each in a namespace of its own: some components name objects per namespace. */
export const sampleApps = (repoRoot: string, components: string[], provided: Set<string>): Sample[] =>
  components.map((component) => {
    const slug = component.replace(/\//g, '-');
    const file = kustomizationFile(join(repoRoot, LIBRARY, component))!;
    return {
      component,
      file: `${LIBRARY}/${component}/${file.split('/').pop()}`,
      app: {
        namespace: `sample-${slug}`,
        name: `${slug}-sample`,
        components: [component],
        substitute: requiredVariables(join(repoRoot, LIBRARY, component), provided),
      },
    };
  });

/**
 * Findings about the library only. Those on the sample app's own files (a build failure, a variable left
 * unset) are the component's, reported on its kustomization.yaml; those elsewhere the main run reports.
 */
const libraryFindings = (results: ClusterResult[], samples: Sample[]): Finding[] => {
  const componentOf = (file: string) =>
    samples.find(({ app }) => file === `kubernetes/apps/${app.namespace}` || file.startsWith(`kubernetes/apps/${app.namespace}/`));
  const own = (f: Finding): Finding | undefined => {
    if (f.file.startsWith(`${LIBRARY}/`)) return { ...f, cluster: undefined };
    const sample = componentOf(f.file);
    if (!sample) return undefined;
    return { ...f, cluster: undefined, file: sample.file, line: undefined, message: `through a sample app (${sampleAppDir(sample.app)}): ${f.message}` };
  };
  const mapped = results.map((r) => ({ ...r, findings: r.findings.map(own).filter((f): f is Finding => f !== undefined) }));
  return uniqueFindings(mapped).map(({ clusters, ...finding }) =>
    clusters.length < results.length ? { ...finding, message: `${finding.message} (on ${clusters.join(', ')})` } : finding,
  );
};

const unique = <T>(items: T[], key: (t: T) => string): T[] => [...new Map(items.map((i) => [key(i), i])).values()];

export interface LibraryOptions extends ScratchOptions {
  /** The schema folders as the real tree's run resolved them (see Validation). */
  schemaDirs?: string[];
  /** The real tree's results: their cluster-vars say which variables an app need not set. */
  results: ClusterResult[];
  /** The real tree's key (see treeKey): an unchanged tree is not checked again. */
  treeKey?: string;
  progress?: (message: string) => void;
}

/**
 * The component library, checked as apps use it: each component built through a sample app of its own
 * on every cluster, in a scratch copy, and validated like the rest. A component no app uses yet is still
 * checked, and its kinds' schemas are compiled before the first app needs them. The result is kept by
 * the tree's content and holds while the schema files it used are unchanged, so an unchanged repository
 * costs nothing here.
 */
export const checkComponentLibrary = async (repoRoot: string, opts: LibraryOptions): Promise<ClusterResult | undefined> => {
  const started = performance.now();
  const { results, treeKey, progress, ...scratch } = opts;
  const cacheDir = scratch.cacheDir ?? defaultCacheDir();
  const area = cacheArea(cacheDir, 'components');
  const entry = treeKey && !scratch.noCache ? sha256(treeKey, JSON.stringify([scratch.cluster ?? '', scratch.schemaDirs ?? []])).slice(0, 32) : undefined;
  // Before the library is even listed: this is every unchanged run's path.
  const kept = entry ? area.readJson<{ result: ClusterResult; schemaFiles: string[] }>(entry) : undefined;
  if (kept && unchangedFiles(kept.schemaFiles)) return { ...kept.result, seconds: (performance.now() - started) / 1000 };
  const components = listComponents(repoRoot);
  if (!components.length) return undefined;
  const samples = sampleApps(repoRoot, components, clusterVariables(results));
  progress?.(`components: building ${components.length} through sample apps`);
  const { results: checked, schemaFiles } = await validateScratch(repoRoot, (root) => samples.forEach(({ app }) => addSampleApp(root, app)), scratch);
  const names = new Set(samples.map(({ app }) => app.name));
  const kustomizations: BuiltKustomization[] = unique(
    checked.flatMap((r) => r.kustomizations.filter((k) => names.has(k.ks.name))),
    (k) => k.ks.name,
  );
  const resources: Resource[] = unique(
    checked.flatMap((r) => r.resources.filter((x) => x.origin?.file.startsWith(`${LIBRARY}/`))),
    (x) => id(x.obj),
  );
  const result: ClusterResult = {
    cluster: { name: 'components', entry: LIBRARY },
    // Only what the summary needs: the rendered objects are in every cluster's own results once an app uses them.
    kustomizations: kustomizations.map((k) => ({ ks: { name: k.ks.name, namespace: k.ks.namespace, spec: {} }, resources: [], inputs: [] })),
    resources: resources.map((x) => ({ ...x, obj: { apiVersion: x.obj.apiVersion, kind: x.obj.kind, metadata: { name: x.obj.metadata?.name, namespace: x.obj.metadata?.namespace } } })),
    findings: libraryFindings(checked, samples),
    seconds: 0,
  };
  if (entry) {
    area.writeJson(entry, { result, schemaFiles });
    area.prune();
  }
  return { ...result, seconds: (performance.now() - started) / 1000 };
};
