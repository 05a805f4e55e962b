import { escapeRegExp } from '../lib/regexp.ts';
import type { ValidatorConfig } from './config.ts';
import { chartCandidates, declaredPresent, helmNamespaces, nameReleases } from './presence.ts';
import { ksId } from './simulate.ts';
import { ROOT_NAME } from './types.ts';
import { findSource } from './substitute-from.ts';
import { apiGroup, describe, finding, id, isFluxKustomization, isHelmRelease, type BuiltKustomization, type Finding, type KObject, type Resource } from './types.ts';

interface Index {
  byId: Map<string, Resource>;
  find: (group: string, kind: string, namespace: string, name: string) => Resource | undefined;
  namespaces: Set<string>;
  storageClasses: Set<string>;
}

const buildIndex = (resources: Resource[], config: ValidatorConfig, clusterScoped: Set<string>): { index: Index; findings: Finding[] } => {
  const byId = new Map<string, Resource>();
  const findings: Finding[] = [];
  // kustomize's namespace transformer also stamps cluster-scoped custom kinds; the API server ignores it.
  const keyOf = (o: KObject) => (clusterScoped.has(o.kind) ? id({ ...o, metadata: { ...o.metadata, namespace: undefined } }) : id(o));
  for (const r of resources) {
    const key = keyOf(r.obj);
    const first = byId.get(key);
    if (first) {
      findings.push(finding(r, 'duplicate-id', `${describe(r.obj)} is also defined in ${first.origin?.file ?? first.appliedBy} (applied by ${first.appliedBy}); here applied by ${r.appliedBy}`));
      continue;
    }
    byId.set(key, r);
  }
  const namespaces = new Set([
    ...config.builtinNamespaces,
    ...resources.filter((r) => r.obj.kind === 'Namespace').map((r) => r.obj.metadata?.name),
    ...helmNamespaces(resources),
  ]);
  const storageClasses = new Set([...config.storageClasses, ...resources.filter((r) => r.obj.kind === 'StorageClass').map((r) => r.obj.metadata?.name)]);
  const find = (group: string, kind: string, namespace: string, name: string) =>
    byId.get(`${group}/${kind}/${clusterScoped.has(kind) ? '' : namespace}/${name}`);
  return { index: { byId, find, namespaces, storageClasses }, findings };
};

const ns = (o: KObject): string => o.metadata?.namespace ?? 'default';
const FLUX_SOURCE = 'source.toolkit.fluxcd.io';

const fluxKustomizationObject = (ks: { name: string; namespace: string }): KObject => ({
  apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
  kind: 'Kustomization',
  metadata: { name: ks.name, namespace: ks.namespace },
});

/**
 * Stage 5: everything one resource names must exist in the same cluster, or be declared in
 * validator.config.yaml as made outside Git. What a chart might create (a storage class, a namespace, a
 * Secret) cannot be seen offline: without a declaration it is a warning naming the releases that might.
 */
export const checkReferences = (resources: Resource[], config: ValidatorConfig, kustomizations: BuiltKustomization[] = []): Finding[] => {
  const clusterScoped = new Set(config.clusterScopedKinds);
  const { index, findings } = buildIndex(resources, config, clusterScoped);
  // The entry point's own source exists before anything in Git is applied.
  const rootSource = `${FLUX_SOURCE}/GitRepository/${ROOT_NAME}/${ROOT_NAME}`;
  const exists = (group: string, kind: string, namespace: string, name: string) =>
    Boolean(index.find(group, kind, namespace, name)) || Boolean(declaredPresent(config, resources, kind, clusterScoped.has(kind) ? undefined : namespace, name));
  const hasSource = (group: string, kind: string, namespace: string, name: string) =>
    exists(group, kind, namespace, name) || `${group}/${kind}/${namespace}/${name}` === rootSource;

  /** An error, or a warning when a chart might create what is missing. */
  const missing = (at: Finding, namespace: string | undefined, name: string, opts: { exclude?: KObject; byName?: boolean } = {}): Finding => {
    const candidates = chartCandidates(resources, namespace, name, opts);
    if (!candidates.length) return at;
    return {
      ...at,
      severity: 'warning',
      message: `${at.message}; ${nameReleases(candidates)} might create it: if so, declare it in validator.config.yaml (releases.<name>.provides, or external)`,
    };
  };

  // A wrong targetNamespace is one mistake, reported on the Kustomization that sets it.
  const kustomizationByKey = new Map(kustomizations.map((k) => [ksId(k.ks), k.ks]));
  const fluxKustomizationResource = (key: string) =>
    resources.find((r) => isFluxKustomization(r.obj) && `${ns(r.obj)}/${r.obj.metadata?.name}` === key);
  const badTargets = new Map<string, number>();
  const namespacePresent = (name: string) => index.namespaces.has(name) || Boolean(declaredPresent(config, resources, 'Namespace', undefined, name));

  for (const r of resources) {
    const o = r.obj;
    const group = apiGroup(String(o.apiVersion ?? ''));
    const report = (rule: string, message: string, path?: (string | number)[]) => findings.push(finding(r, rule, message, path));

    if (!clusterScoped.has(o.kind)) {
      if (!o.metadata?.namespace) {
        findings.push({ ...finding(r, 'namespace', `${describe(o)} has no namespace (it would land in "default"): set one or a targetNamespace`), severity: 'warning' });
      } else if (!namespacePresent(o.metadata.namespace)) {
        const target = kustomizationByKey.get(r.appliedBy)?.spec.targetNamespace;
        if (target === o.metadata.namespace) badTargets.set(r.appliedBy, (badTargets.get(r.appliedBy) ?? 0) + 1);
        else findings.push(missing(finding(r, 'namespace-missing', `${describe(o)}: namespace ${o.metadata.namespace} is not created in this cluster`, ['metadata', 'namespace']), undefined, o.metadata.namespace));
      }
    }

    if (group === 'kustomize.toolkit.fluxcd.io' && o.kind === 'Kustomization') {
      const src = o.spec?.sourceRef ?? {};
      if (src.kind && !hasSource(FLUX_SOURCE, src.kind, src.namespace ?? ns(o), src.name)) {
        report('source-ref', `${describe(o)}: sourceRef ${src.kind} ${src.namespace ?? ns(o)}/${src.name} does not exist`, ['spec', 'sourceRef']);
      }
    }
    if ((group === 'kustomize.toolkit.fluxcd.io' && o.kind === 'Kustomization') || (group === 'helm.toolkit.fluxcd.io' && o.kind === 'HelmRelease')) {
      (o.spec?.dependsOn ?? []).forEach((d: KObject, i: number) => {
        if (!index.find(group, o.kind, d?.namespace ?? ns(o), d?.name)) {
          report('depends-on', `${describe(o)}: dependsOn ${d?.namespace ?? ns(o)}/${d?.name} is not a ${o.kind} in this cluster`, ['spec', 'dependsOn', i]);
        }
      });
    }
    if (isHelmRelease(o)) {
      const chartRef = o.spec?.chartRef;
      if (chartRef) {
        const g = chartRef.kind === 'ExternalArtifact' ? 'source.extensions.fluxcd.io' : FLUX_SOURCE;
        if (!exists(g, chartRef.kind, chartRef.namespace ?? ns(o), chartRef.name)) {
          report('chart-source', `${describe(o)}: chartRef ${chartRef.kind} ${chartRef.namespace ?? ns(o)}/${chartRef.name} does not exist`, ['spec', 'chartRef']);
        }
      }
      const src = o.spec?.chart?.spec?.sourceRef;
      if (src && !exists(FLUX_SOURCE, src.kind, src.namespace ?? ns(o), src.name)) {
        report('chart-source', `${describe(o)}: chart sourceRef ${src.kind} ${src.namespace ?? ns(o)}/${src.name} does not exist`, ['spec', 'chart', 'spec', 'sourceRef']);
      }
      (Array.isArray(o.spec?.valuesFrom) ? o.spec.valuesFrom : []).forEach((v: KObject, i: number) => {
        if (v?.optional || !v?.name || !['ConfigMap', 'Secret'].includes(v?.kind)) return;
        if (findSource(v, ns(o), resources.map((x) => x.obj), config)) return;
        findings.push(missing(finding(r, 'values-from', `${describe(o)}: valuesFrom ${v.kind} ${ns(o)}/${v.name} is created nowhere in this cluster`, ['spec', 'valuesFrom', i]), ns(o), v.name, { exclude: o }));
      });
    }
    if (group === 'external-secrets.io' && (o.kind === 'ExternalSecret' || o.kind === 'ClusterExternalSecret')) {
      const spec = o.kind === 'ExternalSecret' ? o.spec : o.spec?.externalSecretSpec;
      const base = o.kind === 'ExternalSecret' ? ['spec'] : ['spec', 'externalSecretSpec'];
      const refs: [KObject | undefined, (string | number)[]][] = [[spec?.secretStoreRef, [...base, 'secretStoreRef']]];
      (spec?.data ?? []).forEach((d: KObject, i: number) => refs.push([d?.sourceRef?.storeRef, [...base, 'data', i]]));
      (spec?.dataFrom ?? []).forEach((d: KObject, i: number) => refs.push([d?.sourceRef?.storeRef, [...base, 'dataFrom', i]]));
      for (const [ref, path] of refs) {
        if (!ref?.name) continue;
        const kind = ref.kind ?? 'SecretStore';
        if (!exists('external-secrets.io', kind, ns(o), ref.name)) {
          report('secret-store', `${describe(o)}: ${kind} ${ref.name} does not exist in this cluster`, path);
        }
      }
    }
    if (group === 'gateway.networking.k8s.io' && /Route$/.test(o.kind)) {
      (o.spec?.parentRefs ?? []).forEach((p: KObject, i: number) => {
        const kind = p?.kind ?? 'Gateway';
        if (kind !== 'Gateway' || (p?.group ?? 'gateway.networking.k8s.io') !== 'gateway.networking.k8s.io') return;
        if (!exists('gateway.networking.k8s.io', 'Gateway', p?.namespace ?? ns(o), p?.name)) {
          report('gateway-ref', `${describe(o)}: parentRef Gateway ${p?.namespace ?? ns(o)}/${p?.name} does not exist`, ['spec', 'parentRefs', i]);
        }
      });
    }
    for (const [path, value] of storageClassFields(o)) {
      if (index.storageClasses.has(value) || declaredPresent(config, resources, 'StorageClass', undefined, value)) continue;
      findings.push(missing(finding(r, 'storage-class', `${describe(o)}: storage class ${value} is created nowhere in this cluster`, path), undefined, value, { exclude: o, byName: true }));
    }
  }

  for (const [key, count] of badTargets) {
    const ks = kustomizationByKey.get(key)!;
    const declared = fluxKustomizationResource(key);
    const at: Finding = {
      file: declared?.origin?.file ?? ks.origin?.file ?? '',
      rule: 'namespace-missing',
      message: `Kustomization ${key}: targetNamespace ${ks.spec.targetNamespace} is not created in this cluster (${count} object${count > 1 ? 's' : ''} it applies would fail)`,
      severity: 'error',
      at: { obj: declared?.obj ?? fluxKustomizationObject(ks), path: ['spec', 'targetNamespace'] },
    };
    findings.push(missing(at, undefined, ks.spec.targetNamespace));
  }

  for (const { ks } of kustomizations) {
    (ks.spec.postBuild?.substituteFrom ?? []).forEach((ref: KObject, i: number) => {
      if (ref?.optional || findSource(ref, ks.namespace, resources.map((x) => x.obj), config)) return;
      const declared = fluxKustomizationResource(ksId(ks));
      const hashed = resources.find((x) => x.obj.kind === ref?.kind && ns(x.obj) === ks.namespace && new RegExp(`^${escapeRegExp(String(ref?.name))}-[a-z0-9]{10}$`).test(String(x.obj.metadata?.name)));
      const hint = hashed ? `: kustomize's generator names it ${hashed.obj.metadata?.name} (set generatorOptions.disableNameSuffixHash)` : '';
      const at: Finding = {
        file: declared?.origin?.file ?? ks.origin?.file ?? '',
        rule: 'substitute-from',
        message: `Kustomization ${ksId(ks)}: substituteFrom ${ref?.kind} ${ks.namespace}/${ref?.name} is created nowhere in this cluster${hint}`,
        severity: 'error',
        at: { obj: declared?.obj ?? fluxKustomizationObject(ks), path: ['spec', 'postBuild', 'substituteFrom', i] },
      };
      findings.push(hashed ? at : missing(at, ks.namespace, String(ref?.name)));
    });
  }

  findings.push(...dependencyCycles(resources));
  return findings;
};

/** Every `storageClassName` (and CloudNativePG's `storageClass`) set to a real name. */
const storageClassFields = (obj: KObject): [(string | number)[], string][] => {
  const out: [(string | number)[], string][] = [];
  const visit = (node: unknown, path: (string | number)[]) => {
    if (Array.isArray(node)) return node.forEach((v, i) => visit(v, [...path, i]));
    if (!node || typeof node !== 'object') return;
    for (const [k, v] of Object.entries(node)) {
      if ((k === 'storageClassName' || k === 'storageClass') && typeof v === 'string' && v !== '' && v !== '-') out.push([[...path, k], v]);
      else visit(v, [...path, k]);
    }
  };
  if (obj.kind !== 'StorageClass') visit(obj.spec, ['spec']);
  return out;
};

/** dependsOn cycles among Kustomizations and among HelmReleases, each printed once. */
const dependencyCycles = (resources: Resource[]): Finding[] => {
  const findings: Finding[] = [];
  for (const kind of ['Kustomization', 'HelmRelease']) {
    const nodes = resources.filter((r) => r.obj.kind === kind && /fluxcd\.io\//.test(r.obj.apiVersion));
    const key = (o: KObject) => `${ns(o)}/${o.metadata?.name}`;
    const byKey = new Map(nodes.map((r) => [key(r.obj), r]));
    const edges = new Map(nodes.map((r) => [key(r.obj), (r.obj.spec?.dependsOn ?? []).map((d: KObject) => `${d?.namespace ?? ns(r.obj)}/${d?.name}`)]));
    const state = new Map<string, 'active' | 'done'>();
    const reported = new Set<string>();
    const visit = (n: string, stack: string[]) => {
      if (state.get(n) === 'done') return;
      if (state.get(n) === 'active') {
        const cycle = [...stack.slice(stack.indexOf(n)), n];
        const signature = [...new Set(cycle)].sort().join(',');
        if (!reported.has(signature)) {
          reported.add(signature);
          const r = byKey.get(n)!;
          findings.push(finding(r, 'depends-on-cycle', `dependsOn cycle: ${cycle.join(' -> ')}`, ['spec', 'dependsOn']));
        }
        return;
      }
      state.set(n, 'active');
      for (const next of edges.get(n) ?? []) if (byKey.has(next)) visit(next, [...stack, n]);
      state.set(n, 'done');
    };
    for (const n of byKey.keys()) visit(n, []);
  }
  return findings;
};
