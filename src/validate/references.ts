import type { ValidatorConfig } from './config.ts';
import { ROOT_NAME } from './simulate.ts';
import { apiGroup, describe, finding, id, type Finding, type KObject, type Resource } from './types.ts';

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
      findings.push(finding(r, 'duplicate-id', `${describe(r.obj)} is also defined in ${first.origin?.file ?? '?'} (applied by ${first.appliedBy}); here applied by ${r.appliedBy}`));
      continue;
    }
    byId.set(key, r);
  }
  const namespaces = new Set([...config.builtinNamespaces, ...resources.filter((r) => r.obj.kind === 'Namespace').map((r) => r.obj.metadata?.name)]);
  const storageClasses = new Set([...config.storageClasses, ...resources.filter((r) => r.obj.kind === 'StorageClass').map((r) => r.obj.metadata?.name)]);
  const find = (group: string, kind: string, namespace: string, name: string) =>
    byId.get(`${group}/${kind}/${clusterScoped.has(kind) ? '' : namespace}/${name}`);
  return { index: { byId, find, namespaces, storageClasses }, findings };
};

const ns = (o: KObject): string => o.metadata?.namespace ?? 'default';
const FLUX_SOURCE = 'source.toolkit.fluxcd.io';

/** Stage 5: everything one resource names must exist in the same cluster. */
export const checkReferences = (resources: Resource[], config: ValidatorConfig): Finding[] => {
  const clusterScoped = new Set(config.clusterScopedKinds);
  const { index, findings } = buildIndex(resources, config, clusterScoped);
  // The entry point's own source exists before anything in Git is applied.
  const rootSource = `${FLUX_SOURCE}/GitRepository/${ROOT_NAME}/${ROOT_NAME}`;
  const hasSource = (group: string, kind: string, namespace: string, name: string) =>
    Boolean(index.find(group, kind, namespace, name)) || `${group}/${kind}/${namespace}/${name}` === rootSource;

  for (const r of resources) {
    const o = r.obj;
    const group = apiGroup(String(o.apiVersion ?? ''));
    const report = (rule: string, message: string, path?: (string | number)[]) => findings.push(finding(r, rule, message, path));

    if (!clusterScoped.has(o.kind)) {
      if (!o.metadata?.namespace) {
        findings.push({ ...finding(r, 'namespace', `${describe(o)} has no namespace (it would land in "default"): set one or a targetNamespace`), severity: 'warning' });
      } else if (!index.namespaces.has(o.metadata.namespace)) {
        report('namespace-missing', `${describe(o)}: namespace ${o.metadata.namespace} is not created in this cluster`, ['metadata', 'namespace']);
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
    if (group === 'helm.toolkit.fluxcd.io' && o.kind === 'HelmRelease') {
      const chartRef = o.spec?.chartRef;
      if (chartRef) {
        const g = chartRef.kind === 'ExternalArtifact' ? 'source.extensions.fluxcd.io' : FLUX_SOURCE;
        if (!index.find(g, chartRef.kind, chartRef.namespace ?? ns(o), chartRef.name)) {
          report('chart-source', `${describe(o)}: chartRef ${chartRef.kind} ${chartRef.namespace ?? ns(o)}/${chartRef.name} does not exist`, ['spec', 'chartRef']);
        }
      }
      const src = o.spec?.chart?.spec?.sourceRef;
      if (src && !index.find(FLUX_SOURCE, src.kind, src.namespace ?? ns(o), src.name)) {
        report('chart-source', `${describe(o)}: chart sourceRef ${src.kind} ${src.namespace ?? ns(o)}/${src.name} does not exist`, ['spec', 'chart', 'spec', 'sourceRef']);
      }
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
        if (!index.find('external-secrets.io', kind, ns(o), ref.name)) {
          report('secret-store', `${describe(o)}: ${kind} ${ref.name} does not exist in this cluster`, path);
        }
      }
    }
    if (group === 'gateway.networking.k8s.io' && /Route$/.test(o.kind)) {
      (o.spec?.parentRefs ?? []).forEach((p: KObject, i: number) => {
        const kind = p?.kind ?? 'Gateway';
        if (kind !== 'Gateway' || (p?.group ?? 'gateway.networking.k8s.io') !== 'gateway.networking.k8s.io') return;
        if (!index.find('gateway.networking.k8s.io', 'Gateway', p?.namespace ?? ns(o), p?.name)) {
          report('gateway-ref', `${describe(o)}: parentRef Gateway ${p?.namespace ?? ns(o)}/${p?.name} does not exist`, ['spec', 'parentRefs', i]);
        }
      });
    }
    for (const [path, value] of storageClassFields(o)) {
      if (!index.storageClasses.has(value)) report('storage-class', `${describe(o)}: storage class ${value} is not known in this cluster`, path);
    }
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
