import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { isDir } from './fsutil.ts';

/**
 * The repository's layout, for everything that reads or writes it (the validator, the network-policy
 * audit, the generators and the scripts): where clusters, apps, components and shared sources live, and
 * which tier a namespace is in.
 */
export const LAYOUT = {
  /** `clusters/<cluster>/`: one folder per cluster, with its Flux entry point in `flux/`. */
  clusters: 'clusters',
  /** Apps every cluster runs. */
  sharedApps: 'kubernetes/apps',
  /** The platform every cluster gets first (cluster-infrastructure). */
  infrastructure: 'infrastructure/base',
  /** Shared chart sources, applied by each cluster's flux-system. */
  sources: 'infrastructure/base/repositories',
  /** Reusable kustomize Components. */
  components: 'kubernetes/components',
} as const;

export const clusterDir = (cluster: string): string => `${LAYOUT.clusters}/${cluster}`;
/** What the root Kustomization flux-system of a cluster builds. */
export const fluxEntry = (cluster: string): string => `${clusterDir(cluster)}/flux`;
export const clusterVarsFile = (cluster: string): string => `${fluxEntry(cluster)}/cluster-vars.yaml`;
/** Apps that run on one cluster only. */
export const clusterAppsDir = (cluster: string): string => `${clusterDir(cluster)}/apps`;

/** The three roots an app can live in, for a cluster: the platform, the shared apps and its own. */
export const appRoots = (cluster: string): string[] => [LAYOUT.infrastructure, LAYOUT.sharedApps, clusterAppsDir(cluster)];

/** The repository's clusters: every `clusters/<name>/` with a `flux/` entry point, sorted. */
export const listClusters = (root: string): string[] => {
  const dir = join(root, LAYOUT.clusters);
  return isDir(dir) ? readdirSync(dir).filter((c) => isDir(join(dir, c, 'flux'))).sort() : [];
};

/** What Flux and the validator read of a repository: everything else (docs, node_modules, .git) is not. */
export const FLUX_TREE = [LAYOUT.clusters, 'kubernetes', 'infrastructure', 'bootstrap', 'validator.config.yaml'];

export type Tier = 0 | 1 | 2;

export interface TierSettings {
  /** The prefix of the tier label (`monosense.dev/` gives `monosense.dev/tier`). */
  labelPrefix: string;
  /** Namespaces Kubernetes and the bootstrap create, never declared in Git: tier 0. */
  builtinNamespaces: string[];
  /** Platform namespaces trusted outside the per-app policies: tier 1. */
  trustedNamespaces: string[];
}

/**
 * A namespace's tier: its tier label when it has one; else 0 for the namespaces that exist before Flux, 1
 * for the trusted platform ones, 2 for the rest. Tier 2 namespaces that run workloads need their own
 * CiliumNetworkPolicies under the cluster-wide default deny; tier 0 is outside it.
 */
export const namespaceTier = (name: string, labels: Record<string, string> | undefined, settings: TierSettings): Tier => {
  const label = labels?.[`${settings.labelPrefix}tier`];
  if (label === '0' || label === '1' || label === '2') return Number(label) as Tier;
  if (settings.builtinNamespaces.includes(name)) return 0;
  return settings.trustedNamespaces.includes(name) ? 1 : 2;
};
