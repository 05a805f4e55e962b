import type { ValidatorConfig } from './config.ts';
import { declaredBy } from './substitute-from.ts';
import { isHelmRelease, podNamespace, type KObject, type Resource } from './types.ts';

// What exists at apply time besides what Flux applies from Git: objects the config declares as made outside
// Git, namespaces Helm creates for a release, and what a chart may create, which offline can only be guessed.

/** Keys under which chart values name an object they use, not one they create. */
const CONSUMER_KEYS = new Set([
  'storageClassName', 'storageClass', 'existingSecret', 'existingSecretName', 'existingClaim', 'secretRef', 'secretKeyRef',
  'configMapRef', 'configMapKeyRef', 'envFrom', 'valueFrom', 'credentialsSecret', 'namespaceSelector',
]);

/** Name parts too common to tie an object to a release. */
const GENERIC = new Set(['app', 'apps', 'cluster', 'clusters', 'config', 'configs', 'data', 'default', 'env', 'secret', 'secrets', 'settings', 'system', 'values', 'vars', 'operator', 'controller', 'credentials', 'token', 'tokens', 'internal', 'external']);

const tokens = (name: string): string[] => name.toLowerCase().split(/[^a-z0-9]+/).filter((t) => t.length >= 3 && !GENERIC.has(t));

/** The strings of chart values outside the keys under which charts name what they use, once per values object. */
const namedInValues = new WeakMap<object, Set<string>>();
const valueStrings = (values: object): Set<string> => {
  let found = namedInValues.get(values);
  if (!found) {
    const strings = new Set<string>();
    const visit = (node: unknown) => {
      if (typeof node === 'string') strings.add(node);
      else if (Array.isArray(node)) node.forEach(visit);
      else if (node && typeof node === 'object') for (const [k, v] of Object.entries(node)) if (!CONSUMER_KEYS.has(k)) visit(v);
    };
    visit(values);
    namedInValues.set(values, (found = strings));
  }
  return found;
};

/** Whether `values` hold `name` as a value, outside the keys under which charts name what they use. */
export const valuesName = (values: unknown, name: string): boolean =>
  typeof values === 'string' ? values === name : Boolean(values) && typeof values === 'object' && valueStrings(values as object).has(name);

const chartName = (o: KObject): string => String(o.spec?.chart?.spec?.chart ?? o.spec?.chartRef?.name ?? '');

/**
 * The HelmReleases whose chart might create `name` (in `namespace`, for a namespaced kind): those deploying
 * there whose values name it, and for a storage class also those whose name or chart shares a distinctive
 * part of its name (`rook-ceph-cluster` for `ceph-block`: storage charts make classes from their defaults).
 * A Secret or a namespace usually shares its app's name, so there only the values count. `exclude` is the
 * release that refers to it.
 */
export const chartCandidates = (resources: Resource[], namespace: string | undefined, name: string, opts: { exclude?: KObject; byName?: boolean } = {}): Resource[] => {
  const parts = new Set(tokens(name));
  return resources.filter((r) => {
    const o = r.obj;
    if (!isHelmRelease(o) || o === opts.exclude) return false;
    if (namespace !== undefined && podNamespace(o) !== namespace) return false;
    if (valuesName(o.spec?.values, name)) return true;
    return Boolean(opts.byName) && [...tokens(String(o.metadata?.name ?? '')), ...tokens(chartName(o))].some((t) => parts.has(t));
  });
};

export type PresenceConfig = Pick<ValidatorConfig, 'external' | 'releases'>;

/** How an object Git does not render is present anyway: declared external, or created by a declared release. */
export const declaredPresent = (config: PresenceConfig, resources: Resource[], kind: string, namespace: string | undefined, name: string): string | undefined => {
  const external = config.external.find((e) => e.kind === kind && e.name === name && (namespace === undefined || e.namespace === undefined || e.namespace === namespace));
  if (external) return `external: ${external.reason}`;
  const release = declaredBy(config, kind, namespace, name, resources.map((r) => r.obj));
  return release ? `created by HelmRelease ${release}` : undefined;
};

/** Namespaces Helm creates: a release's namespace with `install.createNamespace`. */
export const helmNamespaces = (resources: Resource[]): string[] =>
  resources.filter((r) => isHelmRelease(r.obj) && r.obj.spec?.install?.createNamespace === true).map((r) => podNamespace(r.obj)!).filter(Boolean);

/** `HelmRelease storage/rook-ceph-cluster, HelmRelease ...`: up to five, then how many more. */
export const nameReleases = (releases: Resource[]): string => {
  const names = releases.map((r) => `${r.obj.metadata?.namespace ?? 'default'}/${r.obj.metadata?.name}`);
  const shown = names.slice(0, 5).join(', ');
  return `HelmRelease${names.length > 1 ? 's' : ''} ${shown}${names.length > 5 ? ` and ${names.length - 5} more` : ''}`;
};
