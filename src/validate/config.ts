import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultCacheDir } from '../lib/cache-dir.ts';
import { compileCached } from '../lib/compiled-schemas.ts';
import { contain, escapeText } from '../lib/contain.ts';
import { UsageError } from '../lib/errors.ts';
import { isFile } from '../lib/fsutil.ts';
import { MAX_CONFIG_BYTES, parseYaml, readYamlText, YamlLimitError } from '../lib/yaml-safe.ts';
import type { RuleSetting } from './rules.ts';

export const CONFIG_FILE = 'validator.config.yaml';

export interface SchemaSkip {
  apiVersion?: string;
  kind: string;
  reason: string;
}

/** An object made outside Git (at bootstrap, by hand, by a chart): it counts as present. */
export interface ExternalObject {
  kind: string;
  /** Absent for a cluster-scoped kind. */
  namespace?: string;
  name: string;
  reason: string;
}

/** What a HelmRelease's chart creates, which cannot be seen offline. */
export interface ReleaseDeclaration {
  provides: { kind: string; namespace?: string; name: string }[];
}

/** A resource budget: what the workloads of a group of namespaces may ask for, on one cluster or all. */
export interface Budget {
  name: string;
  /** The cluster it applies to; every cluster when absent. */
  cluster?: string;
  namespaces: string[];
  /** Caps as Kubernetes quantities (`4Gi`, `2`, `1500m`); a resource without one is not capped. */
  memory?: string;
  cpu?: string;
  /** Which sums the caps apply to; both when absent. */
  counts?: ('requests' | 'limits')[];
  /** HelmReleases of the group known not to be counted (charts are not rendered offline), each with the reason. */
  uncounted?: { name: string; reason: string }[];
}

export interface ValidatorConfig {
  kubernetesVersion: string;
  /** Repository-relative schema folders, for when neither --schema-dir nor K8S_OPS_SCHEMA_DIR is given. */
  schemaDirs: string[];
  /** Kinds that may lack a schema, each with the reason. */
  schemaSkips: SchemaSkip[];
  /** `Kind.group` -> the one version to write (docs/stack.md). */
  apiVersions: Record<string, string>;
  /** `Kind.group` -> why the kind must not be written at all. */
  forbiddenKinds: Record<string, string>;
  /** Fields that are deprecated for a kind: `Kind.group` -> dotted path -> advice. */
  deprecatedFields: Record<string, Record<string, string>>;
  /** Namespaces that exist without being declared in Git. */
  builtinNamespaces: string[];
  /** Namespaces outside tier 2 (tier 0 system, tier 1 platform); every other one needs network policies. */
  trustedNamespaces: string[];
  /** Storage classes provided outside Git. */
  storageClasses: string[];
  clusterScopedKinds: string[];
  /** The prefix every custom label and annotation must carry. */
  labelPrefix: string;
  /** Label and annotation domains owned by tools (suffix match), not custom. */
  toolLabelDomains: string[];
  /** Label and annotation keys without a domain that tools own. */
  toolLabelKeys: string[];
  /** The longest ExternalSecret refreshInterval allowed (1Password changes reach Secrets within 5 minutes). */
  secretRefreshMax: string;
  /** Resource budgets per group of namespaces (the resource-budget rule). */
  budgets: Budget[];
  /** Rule name to off, warning or error (see rules.ts). */
  rules: Record<string, RuleSetting>;
  /** Objects made outside Git, each with the reason. */
  external: ExternalObject[];
  /** HelmRelease name (or namespace/name) to what its chart creates. */
  releases: Record<string, ReleaseDeclaration>;
}

export const defaultConfig = (): ValidatorConfig => ({
  kubernetesVersion: '1.35.0',
  secretRefreshMax: '5m',
  budgets: [],
  rules: {},
  external: [],
  releases: {},
  schemaDirs: [],
  schemaSkips: [],
  apiVersions: {
    'Kustomization.kustomize.toolkit.fluxcd.io': 'v1',
    'HelmRelease.helm.toolkit.fluxcd.io': 'v2',
    'GitRepository.source.toolkit.fluxcd.io': 'v1',
    'HelmRepository.source.toolkit.fluxcd.io': 'v1',
    'OCIRepository.source.toolkit.fluxcd.io': 'v1',
    'HelmChart.source.toolkit.fluxcd.io': 'v1',
    'Bucket.source.toolkit.fluxcd.io': 'v1',
    'Alert.notification.toolkit.fluxcd.io': 'v1beta3',
    'Provider.notification.toolkit.fluxcd.io': 'v1beta3',
    'Receiver.notification.toolkit.fluxcd.io': 'v1',
    'ExternalSecret.external-secrets.io': 'v1',
    'ClusterExternalSecret.external-secrets.io': 'v1',
    'SecretStore.external-secrets.io': 'v1',
    'ClusterSecretStore.external-secrets.io': 'v1',
    'CiliumNetworkPolicy.cilium.io': 'v2',
    'CiliumClusterwideNetworkPolicy.cilium.io': 'v2',
    'CiliumLoadBalancerIPPool.cilium.io': 'v2',
    'CiliumBGPClusterConfig.cilium.io': 'v2',
    'CiliumBGPPeerConfig.cilium.io': 'v2',
    'CiliumBGPAdvertisement.cilium.io': 'v2',
    'CiliumL2AnnouncementPolicy.cilium.io': 'v2alpha1',
    'ClusterIssuer.cert-manager.io': 'v1',
    'Issuer.cert-manager.io': 'v1',
    'Certificate.cert-manager.io': 'v1',
    'GatewayClass.gateway.networking.k8s.io': 'v1',
    'Gateway.gateway.networking.k8s.io': 'v1',
    'HTTPRoute.gateway.networking.k8s.io': 'v1',
    'GRPCRoute.gateway.networking.k8s.io': 'v1',
    'ReferenceGrant.gateway.networking.k8s.io': 'v1beta1',
    'EnvoyProxy.gateway.envoyproxy.io': 'v1alpha1',
    'ClientTrafficPolicy.gateway.envoyproxy.io': 'v1alpha1',
    'BackendTrafficPolicy.gateway.envoyproxy.io': 'v1alpha1',
    'SecurityPolicy.gateway.envoyproxy.io': 'v1alpha1',
    'CephCluster.ceph.rook.io': 'v1',
    'CephBlockPool.ceph.rook.io': 'v1',
    'CephFilesystem.ceph.rook.io': 'v1',
    'Cluster.postgresql.cnpg.io': 'v1',
    'ScheduledBackup.postgresql.cnpg.io': 'v1',
    'Database.postgresql.cnpg.io': 'v1',
    'ObjectStore.barmancloud.cnpg.io': 'v1',
    'ReplicationSource.volsync.backube': 'v1alpha1',
    'ReplicationDestination.volsync.backube': 'v1alpha1',
    'VMSingle.operator.victoriametrics.com': 'v1beta1',
    'VMCluster.operator.victoriametrics.com': 'v1beta1',
    'VMAgent.operator.victoriametrics.com': 'v1beta1',
    'VMAlert.operator.victoriametrics.com': 'v1beta1',
    'VMAlertmanager.operator.victoriametrics.com': 'v1beta1',
    'VMRule.operator.victoriametrics.com': 'v1beta1',
    'VMServiceScrape.operator.victoriametrics.com': 'v1beta1',
    'VMPodScrape.operator.victoriametrics.com': 'v1beta1',
    'VLSingle.operator.victoriametrics.com': 'v1',
    'VLCluster.operator.victoriametrics.com': 'v1',
    'VLAgent.operator.victoriametrics.com': 'v1',
    'Kafka.kafka.strimzi.io': 'v1beta2',
    'KafkaNodePool.kafka.strimzi.io': 'v1beta2',
    'KafkaTopic.kafka.strimzi.io': 'v1beta2',
    'KafkaUser.kafka.strimzi.io': 'v1beta2',
    'Dragonfly.dragonflydb.io': 'v1alpha1',
    'Keycloak.k8s.keycloak.org': 'v2alpha1',
    'KeycloakRealmImport.k8s.keycloak.org': 'v2alpha1',
  },
  forbiddenKinds: {
    'CiliumBGPPeeringPolicy.cilium.io':
      'deprecated in Cilium 1.18 and removed in 1.19: use CiliumBGPClusterConfig, CiliumBGPPeerConfig and CiliumBGPAdvertisement (cilium.io/v2)',
    'VLogs.operator.victoriametrics.com': 'deprecated: use VLSingle (operator.victoriametrics.com/v1)',
  },
  deprecatedFields: {
    'Cluster.postgresql.cnpg.io': {
      'spec.backup.barmanObjectStore':
        'deprecated since CloudNativePG 1.26: use the Barman Cloud plugin (spec.plugins with an ObjectStore)',
    },
  },
  builtinNamespaces: ['default', 'kube-system', 'kube-public', 'kube-node-lease', 'flux-system'],
  trustedNamespaces: ['kube-system', 'kube-public', 'kube-node-lease', 'flux-system', 'default'],
  storageClasses: [],
  clusterScopedKinds: [
    'Namespace', 'Node', 'PersistentVolume', 'StorageClass', 'VolumeAttachment', 'CSIDriver', 'CSINode',
    'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition', 'PriorityClass', 'RuntimeClass',
    'IngressClass', 'APIService', 'MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration',
    'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding', 'MutatingAdmissionPolicy',
    'MutatingAdmissionPolicyBinding', 'CertificateSigningRequest', 'FlowSchema',
    'PriorityLevelConfiguration', 'VolumeAttributesClass', 'IPAddress', 'ServiceCIDR', 'DeviceClass',
    'ClusterIssuer', 'ClusterSecretStore', 'ClusterExternalSecret', 'ClusterGenerator', 'GatewayClass',
    'CiliumClusterwideNetworkPolicy', 'CiliumLoadBalancerIPPool', 'CiliumBGPClusterConfig',
    'CiliumBGPPeerConfig', 'CiliumBGPAdvertisement', 'CiliumBGPNodeConfigOverride',
    'CiliumL2AnnouncementPolicy', 'CiliumCIDRGroup', 'CiliumNode', 'CiliumIdentity',
    'CiliumExternalWorkload', 'CiliumPodIPPool', 'CiliumClusterwideEnvoyConfig', 'CiliumNodeConfig',
    'VolumeSnapshotClass', 'VolumeSnapshotContent', 'ObjectBucket', 'ClusterImageCatalog',
  ],
  labelPrefix: 'monosense.dev/',
  toolLabelDomains: [
    'kubernetes.io', 'k8s.io', 'fluxcd.io', 'cilium.io', 'cert-manager.io', 'external-secrets.io',
    'cnpg.io', 'volsync.backube', 'backube', 'rook.io', 'openebs.io', 'envoyproxy.io',
    'victoriametrics.com', 'strimzi.io', 'dragonflydb.io', 'stakater.com', 'kustomize.config.k8s.io',
    'config.kubernetes.io', 'helm.sh', 'gatus.io', 'home-operations.com', 'talos.dev',
    'snapshot.storage.k8s.io', 'pod-security.kubernetes.io', 'keycloak.org',
  ],
  toolLabelKeys: [],
});

const TOOLKIT_SCHEMAS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'schemas');

/** The defaults, with the repository's `validator.config.yaml` laid over them key by key. */
export const loadConfig = async (repoRoot: string): Promise<ValidatorConfig> => {
  const config = defaultConfig();
  const file = join(repoRoot, CONFIG_FILE);
  if (!isFile(file)) return config;
  const inside = contain(repoRoot, file);
  if (!inside.inside) throw new UsageError(`${CONFIG_FILE} ${escapeText(inside, repoRoot)}: not read`);
  let doc: any;
  try {
    doc = parseYaml(readYamlText(file, MAX_CONFIG_BYTES), CONFIG_FILE);
  } catch (e: any) {
    throw new UsageError(`${CONFIG_FILE}: ${e instanceof YamlLimitError ? e.reason : String(e.message).split('\n')[0]}`);
  }
  if (doc == null) return config;
  const text = readFileSync(join(TOOLKIT_SCHEMAS, 'validator-config.schema.json'), 'utf8');
  const validate: any = await compileCached({ key: text, schema: () => JSON.parse(text), options: { strict: false, allErrors: true }, cacheDir: defaultCacheDir() });
  if (!validate(doc)) {
    const e = validate.errors[0];
    const where = `${e.instancePath.slice(1).replace(/\//g, '.')}${e.params?.additionalProperty ? ` ${e.params.additionalProperty}` : ''}`;
    throw new UsageError(`${CONFIG_FILE}: ${where || '(root)'}: ${e.message}`);
  }
  for (const [key, value] of Object.entries(doc)) {
    const current = (config as any)[key];
    (config as any)[key] =
      current && typeof current === 'object' && !Array.isArray(current) ? { ...current, ...(value as object) } : value;
  }
  return config;
};
