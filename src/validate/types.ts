export type Severity = 'error' | 'warning';

export interface Finding {
  cluster?: string;
  /** Repository-relative path, or the name of the cluster when no file applies. */
  file: string;
  line?: number;
  rule: string;
  message: string;
  severity: Severity;
  /** Where to look for the line when it is not known yet (resolved by the report stage). */
  at?: { obj?: KObject; path?: (string | number)[]; pattern?: string };
}

/** A Kubernetes object as plain data. */
export type KObject = Record<string, any>;

export interface Origin {
  /** Repository-relative source file. */
  file: string;
  line?: number;
}

export interface Resource {
  obj: KObject;
  /** The Flux Kustomization that applies it, as namespace/name. */
  appliedBy: string;
  origin?: Origin;
  /** Came from a SOPS-encrypted file (after simulated decryption). */
  sops: boolean;
}

export interface FluxKustomization {
  name: string;
  namespace: string;
  spec: KObject;
  origin?: Origin;
}

export interface BuiltKustomization {
  ks: FluxKustomization;
  resources: Resource[];
  /** Kustomization files kustomize read for this build (repository-relative). */
  inputs: string[];
}

export interface ClusterTarget {
  name: string;
  /** Repository-relative entry folder (what the root Flux Kustomization builds). */
  entry: string;
}

export interface ClusterResult {
  cluster: ClusterTarget;
  kustomizations: BuiltKustomization[];
  resources: Resource[];
  findings: Finding[];
  seconds: number;
}

export const id = (o: KObject): string => {
  const group = String(o.apiVersion ?? '').includes('/') ? String(o.apiVersion).split('/')[0] : '';
  return `${group}/${o.kind}/${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
};

export const apiGroup = (apiVersion: string): string =>
  apiVersion.includes('/') ? apiVersion.split('/')[0] : '';

export const isFluxKustomization = (o: KObject): boolean =>
  o.kind === 'Kustomization' && String(o.apiVersion ?? '').startsWith('kustomize.toolkit.fluxcd.io/');

export const isHelmRelease = (o: KObject): boolean => o.kind === 'HelmRelease' && String(o.apiVersion ?? '').startsWith('helm.toolkit.fluxcd.io/');

/** Where an object's pods run: a HelmRelease's release namespace (targetNamespace), else its own. */
export const podNamespace = (o: KObject): string | undefined =>
  o.kind === 'HelmRelease' ? (o.spec?.targetNamespace ?? o.metadata?.namespace) : o.metadata?.namespace;

export const describe = (o: KObject): string =>
  `${o.kind} ${o.metadata?.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata?.name ?? '?'}`;

/** An error about a resource, found where the resource came from (the report stage finds the line). */
export const finding = (r: Resource, rule: string, message: string, path?: (string | number)[]): Finding => ({
  file: r.origin?.file ?? '',
  rule,
  message,
  severity: 'error',
  at: { obj: r.obj, path },
});

/** The root Kustomization and its GitRepository, as `flux bootstrap` names them. */
export const ROOT_NAME = 'flux-system';

/** The root Kustomization's source, as `flux bootstrap` writes it: the one source the simulation follows. */
export const ROOT_SOURCE = { kind: 'GitRepository', name: ROOT_NAME, namespace: ROOT_NAME };

/** Whether a Kustomization in `namespace` builds from the root's source (a sourceRef without a namespace is in the Kustomization's). */
export const buildsFromRoot = (sourceRef: KObject | undefined, namespace: string, root = ROOT_SOURCE): boolean =>
  sourceRef?.kind === root.kind && sourceRef?.name === root.name && (sourceRef?.namespace ?? namespace) === root.namespace;
