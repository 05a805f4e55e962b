/**
 * Names the generators rely on, owned by the platform in kubernetes/apps: an app that needs one of them
 * is refused when the target cluster does not have it.
 */
export const PLATFORM = {
  gateways: { namespace: 'networking', names: ['internal', 'external'] as const, listener: 'https' },
  secretStore: { kind: 'ClusterSecretStore', name: 'onepassword', kustomization: 'onepassword-store' },
  database: { kustomization: 'cloudnative-pg-cluster', cluster: 'postgres', namespace: 'databases', port: 5432 },
  volsync: { kustomization: 'volsync' },
  /** Where the shared chart sources live (infrastructure/base/repositories, applied by flux-system). */
  sourcesNamespace: 'flux-system',
} as const;
