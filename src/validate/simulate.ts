import { basename } from 'node:path';
import { buildFluxKustomization, type BuildContext, type BuildOutput } from './build.ts';
import { isSopsEncrypted, simulateDecryption } from './decrypt.ts';
import { substituteObject, VAR_NAME } from './substitute.ts';
import { findSource, type SourceConfig } from './substitute-from.ts';
import { buildsFromRoot, isFluxKustomization, ROOT_NAME, type BuiltKustomization, type ClusterTarget, type Finding, type FluxKustomization, type KObject, type Resource } from './types.ts';

export const ksId = (ks: { namespace: string; name: string }): string => `${ks.namespace}/${ks.name}`;

/** The Kustomization `flux bootstrap` (or the Flux Operator) creates for the entry folder. */
export const rootKustomization = (cluster: ClusterTarget): FluxKustomization => ({
  name: ROOT_NAME,
  namespace: ROOT_NAME,
  spec: {
    interval: '10m',
    path: `./${cluster.entry}`,
    prune: true,
    sourceRef: { kind: 'GitRepository', name: ROOT_NAME },
    decryption: { provider: 'sops', secretRef: { name: 'sops-age' } },
  },
  origin: { file: cluster.entry },
});

interface Pending {
  ks: FluxKustomization;
  build: Promise<BuildOutput>;
}

export interface Simulation {
  kustomizations: BuiltKustomization[];
  resources: Resource[];
  findings: Finding[];
}

/**
 * Stages 2 and 3 for one cluster: from the entry folder, build each Flux Kustomization, decrypt and
 * substitute what it renders, and follow the Kustomizations found there, as the controllers would.
 * A Kustomization whose substituteFrom source is rendered by another one waits for it.
 */
export const simulateCluster = async (
  ctx: BuildContext,
  cluster: ClusterTarget,
  onBuilt: (done: number, known: number) => void = () => {},
  sources: SourceConfig = { external: [], releases: {} },
  /** Each freshly built Kustomization's final objects as soon as they are known (the schema stage starts compiling). */
  onObjects: (objects: KObject[]) => void = () => {},
): Promise<Simulation> => {
  const root = rootKustomization(cluster);
  const resources: Resource[] = [];
  const kustomizations: BuiltKustomization[] = [];
  const findings: Finding[] = [];
  const seen = new Set<string>([ksId(root)]);
  const start = (ks: FluxKustomization): Pending => {
    const build = buildFluxKustomization(ctx, ks.spec, { file: ks.origin?.file ?? cluster.entry, ks: `Kustomization ${ksId(ks)}`, obj: ksObject(ks) });
    build.then(() => onBuilt(kustomizations.length + 1, seen.size));
    return { ks, build };
  };

  const rendered = () => resources.map((r) => r.obj);
  const ready = (ks: FluxKustomization): boolean =>
    (ks.spec.postBuild?.substituteFrom ?? []).every((ref: KObject) => ref?.optional || findSource(ref, ks.namespace, rendered(), sources));

  /**
   * The values in force once the cluster has converged: a source the Kustomization renders itself counts.
   * A source nothing provides is reported by the references stage, which sees the whole cluster.
   */
  const variables = (ks: FluxKustomization, own: KObject[]): { vars: Record<string, string>; unknown: string[] | 'all' } => {
    const vars: Record<string, string> = {};
    let unknown: string[] | 'all' = [];
    for (const ref of ks.spec.postBuild?.substituteFrom ?? []) {
      const found = findSource(ref, ks.namespace, [...rendered(), ...own], sources);
      // A required source nothing provides fails the Kustomization: that one finding says it all.
      if (!found && !ref?.optional) unknown = 'all';
      if (!found) continue;
      Object.assign(vars, found.data);
      unknown = unknown === 'all' || found.unknown === 'all' ? 'all' : [...unknown, ...found.unknown];
    }
    for (const [k, v] of Object.entries(ks.spec.postBuild?.substitute ?? {})) vars[k] = String(v).replace(/\n/g, '');
    for (const name of Object.keys(vars)) {
      if (!VAR_NAME.test(name)) {
        findings.push({
          file: ks.origin?.file ?? cluster.entry,
          rule: 'substitute',
          message: `Kustomization ${ksId(ks)}: variable name "${name}" is invalid (must match ${VAR_NAME.source})`,
          severity: 'error',
        });
      }
    }
    return { vars, unknown };
  };

  const process = async (p: Pending, queue: Pending[]) => {
    const out = await p.build;
    findings.push(...out.findings.map((f) => (f.at || f.line ? f : { ...f, at: { obj: ksObject(p.ks), path: ['spec', 'path'] } })));
    const substitution = p.ks.spec.postBuild ? variables(p.ks, out.docs.map((d) => d.obj)) : undefined;
    const built: BuiltKustomization = { ks: p.ks, resources: [], inputs: out.kustomizations };
    for (const doc of out.docs) {
      let obj = doc.obj;
      const file = doc.file ?? p.ks.origin?.file ?? cluster.entry;
      const sops = isSopsEncrypted(obj);
      if (sops) {
        if (!p.ks.spec.decryption) {
          findings.push({
            file,
            rule: 'sops-decryption',
            message: `${obj.kind} ${obj.metadata?.name} is SOPS-encrypted but Kustomization ${ksId(p.ks)} has no spec.decryption`,
            severity: 'error',
            at: { obj },
          });
        }
        obj = simulateDecryption(obj);
      }
      if (substitution) {
        const result = substituteObject(obj, substitution.vars, substitution.unknown);
        for (const name of result.missing) {
          findings.push({
            file,
            rule: 'unresolved-variable',
            message: `\${${name}} in ${obj.kind} ${obj.metadata?.name} has no value in Kustomization ${ksId(p.ks)} postBuild (Flux would substitute an empty string)`,
            severity: 'error',
            at: { obj, pattern: `\\$\\{${name}(?![_a-zA-Z0-9]|:?[=-])` },
          });
        }
        if (result.error) findings.push({ file, rule: 'substitute', message: `${obj.kind} ${obj.metadata?.name}: ${result.error}`, severity: 'error', at: { obj, pattern: result.errorAt } });
        obj = result.obj;
      }
      setCommonMetadata(obj, p.ks.spec.commonMetadata);
      const resource: Resource = { obj, appliedBy: ksId(p.ks), origin: { file }, sops };
      resources.push(resource);
      built.resources.push(resource);
      if (isFluxKustomization(obj)) follow(obj, file, queue);
    }
    kustomizations.push(built);
    // A render from the cache holds objects already checked: their verdicts are kept, no schema is needed.
    if (!out.cached) onObjects(built.resources.map((r) => r.obj));
  };

  const follow = (obj: KObject, file: string, queue: Pending[]) => {
    const ks: FluxKustomization = {
      name: String(obj.metadata?.name),
      namespace: String(obj.metadata?.namespace ?? 'default'),
      spec: obj.spec ?? {},
      origin: { file },
    };
    if (seen.has(ksId(ks))) return;
    const src = ks.spec.sourceRef ?? {};
    const srcNamespace = src.namespace ?? ks.namespace;
    if (!buildsFromRoot(src, ks.namespace, { kind: root.spec.sourceRef?.kind, name: root.spec.sourceRef?.name, namespace: root.namespace })) {
      findings.push({
        file,
        rule: 'source-not-followed',
        message: `Kustomization ${ksId(ks)} builds from ${src.kind} ${srcNamespace}/${src.name}, not this repository: not followed`,
        severity: 'warning',
        at: { obj, path: ['spec', 'sourceRef'] },
      });
      return;
    }
    seen.add(ksId(ks));
    queue.push(start(ks));
  };

  let queue: Pending[] = [await adoptDeclaredRoot(root, start(root), start)];
  let blocked: Pending[] = [];
  while (queue.length || blocked.length) {
    let waiting = [...blocked, ...queue];
    const next: Pending[] = [];
    await Promise.all(waiting.map((p) => p.build));
    let progressed = true;
    while (waiting.length && progressed) {
      progressed = false;
      const still: Pending[] = [];
      for (const p of waiting) {
        if (ready(p.ks)) {
          await process(p, next);
          progressed = true;
        } else still.push(p);
      }
      waiting = still;
    }
    blocked = [];
    if (waiting.length && next.length) blocked = waiting;
    else for (const p of waiting) await process(p, next);
    queue = next;
  }
  return { kustomizations, resources, findings };
};

/**
 * The entry folder usually declares the root Kustomization itself (as `flux bootstrap` writes it): when it
 * does, the root is built with that spec (its postBuild, decryption, patches), as the cluster would.
 */
const adoptDeclaredRoot = async (root: FluxKustomization, first: Pending, start: (ks: FluxKustomization) => Pending): Promise<Pending> => {
  const out = await first.build;
  const normalize = (p: unknown) => String(p ?? '.').replace(/^\.\//, '').replace(/\/$/, '');
  const declared = out.docs.find(
    ({ obj }) =>
      isFluxKustomization(obj) &&
      obj.metadata?.name === root.name &&
      (obj.metadata?.namespace ?? root.namespace) === root.namespace &&
      normalize(obj.spec?.path) === normalize(root.spec.path),
  );
  if (!declared) return first;
  root.spec = declared.obj.spec ?? root.spec;
  root.origin = { file: declared.file ?? root.origin?.file ?? '' };
  return start(root);
};

/** The controller's commonMetadata, set on each object after substitution (fluxcd/pkg ssa SetCommonMetadata). */
const setCommonMetadata = (obj: KObject, common: KObject | undefined): void => {
  for (const field of ['labels', 'annotations'] as const) {
    const add = common?.[field];
    if (!add || typeof add !== 'object' || !Object.keys(add).length || !obj || typeof obj !== 'object') continue;
    obj.metadata ??= {};
    obj.metadata[field] = { ...(obj.metadata[field] ?? {}), ...Object.fromEntries(Object.entries(add).map(([k, v]) => [k, String(v)])) };
  }
};

const ksObject = (ks: FluxKustomization): KObject => ({
  apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
  kind: 'Kustomization',
  metadata: { name: ks.name, namespace: ks.namespace },
});

export const isKsFile = (file: string): boolean => basename(file) === 'ks.yaml';
