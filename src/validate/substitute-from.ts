import type { ValidatorConfig } from './config.ts';
import { podNamespace, type KObject } from './types.ts';

// Where a Kustomization's `postBuild.substituteFrom` ConfigMaps and Secrets come from at apply time: a
// manifest rendered in the cluster (a generator's output included), an ExternalSecret's target, an object
// the config declares as made outside Git, or one a HelmRelease's chart is declared to create.

export type SourceConfig = Pick<ValidatorConfig, 'external' | 'releases'>;

export interface VariableSource {
  /** The values known offline (a ConfigMap's or Secret's data). */
  data: Record<string, string>;
  /** Variables it gives whose values are not known offline; `all` when even their names are not. */
  unknown: string[] | 'all';
  /** What provides it, for messages: `ExternalSecret network/tunnel`. */
  what: string;
}

const ns = (o: KObject, fallback: string): string => o.metadata?.namespace ?? fallback;
const isExternalSecret = (o: KObject) => String(o.apiVersion ?? '').startsWith('external-secrets.io/') && o.kind === 'ExternalSecret';
const isClusterExternalSecret = (o: KObject) => String(o.apiVersion ?? '').startsWith('external-secrets.io/') && o.kind === 'ClusterExternalSecret';

/** The name of the Secret an ExternalSecret (or a ClusterExternalSecret's) spec makes. */
const targetName = (spec: KObject | undefined, fallback: string): string => spec?.target?.name ?? fallback;

/**
 * The keys of the Secret an ExternalSecret makes: a template's data keys (with the default Replace merge
 * policy and no templateFrom), else the `data` entries' secretKey (when there is no dataFrom); `all` when
 * they depend on what the store holds.
 */
export const externalSecretKeys = (spec: KObject | undefined): string[] | 'all' => {
  const template = spec?.target?.template;
  if (template) {
    const templated = Object.keys(template.data ?? {});
    if ((template.mergePolicy ?? 'Replace') === 'Replace') return template.templateFrom?.length ? 'all' : templated;
    const own = externalSecretKeys({ ...spec, target: { ...spec?.target, template: undefined } });
    return own === 'all' || template.templateFrom?.length ? 'all' : [...new Set([...templated, ...own])];
  }
  if (Array.isArray(spec?.dataFrom) && spec!.dataFrom.length) return 'all';
  return (Array.isArray(spec?.data) ? spec!.data : []).map((d: KObject) => d?.secretKey).filter((k: unknown): k is string => typeof k === 'string');
};

const secretData = (obj: KObject): Record<string, string> => {
  const data: Record<string, string> = { ...(obj.data ?? {}) };
  if (obj.kind === 'Secret') {
    for (const [k, v] of Object.entries(data)) data[k] = Buffer.from(String(v), 'base64').toString('utf8');
    Object.assign(data, obj.stringData ?? {});
  }
  return data;
};

/** Whether a ClusterExternalSecret makes its Secret in `namespace` (selectors are taken to match). */
const clusterExternalSecretReaches = (o: KObject, namespace: string): boolean => {
  const spec = o.spec ?? {};
  if (Array.isArray(spec.namespaces) && spec.namespaces.includes(namespace)) return true;
  return Boolean(spec.namespaceSelector || (Array.isArray(spec.namespaceSelectors) && spec.namespaceSelectors.length));
};

/**
 * The source of one substituteFrom entry in the Kustomization's namespace, among `objects` (what the
 * cluster renders) and the config's declarations; undefined when nothing provides it.
 */
export const findSource = (ref: KObject, namespace: string, objects: KObject[], config: SourceConfig): VariableSource | undefined => {
  const kind = ref?.kind;
  const name = ref?.name;
  const rendered = objects.find((o) => o.kind === kind && o.apiVersion === 'v1' && o.metadata?.name === name && ns(o, namespace) === namespace);
  if (rendered) return { data: secretData(rendered), unknown: [], what: `${kind} ${namespace}/${name}` };
  if (kind === 'Secret') {
    const es = objects.find((o) => isExternalSecret(o) && ns(o, namespace) === namespace && targetName(o.spec, o.metadata?.name) === name);
    if (es) return { data: {}, unknown: externalSecretKeys(es.spec), what: `ExternalSecret ${namespace}/${es.metadata?.name}` };
    const ces = objects.find(
      (o) => isClusterExternalSecret(o) && clusterExternalSecretReaches(o, namespace) && targetName(o.spec?.externalSecretSpec, o.spec?.externalSecretName ?? o.metadata?.name) === name,
    );
    if (ces) return { data: {}, unknown: externalSecretKeys(ces.spec?.externalSecretSpec), what: `ClusterExternalSecret ${ces.metadata?.name}` };
  }
  const external = config.external.find((e) => e.kind === kind && e.name === name && (e.namespace ?? namespace) === namespace);
  if (external) return { data: {}, unknown: 'all', what: `${kind} ${namespace}/${name} (external: ${external.reason})` };
  const release = declaredBy(config, kind, namespace, name, objects);
  if (release) return { data: {}, unknown: 'all', what: `${kind} ${namespace}/${name} (created by HelmRelease ${release})` };
  return undefined;
};

/**
 * The HelmRelease (`namespace/name`), rendered among `objects`, that validator.config.yaml says creates the
 * object; a declaration without a namespace means the release's namespace for a namespaced object.
 */
export const declaredBy = (config: SourceConfig, kind: string, namespace: string | undefined, name: string, objects: KObject[]): string | undefined => {
  for (const [key, declaration] of Object.entries(config.releases)) {
    const [relNamespace, relName] = key.includes('/') ? key.split('/', 2) : [undefined, key];
    for (const release of objects.filter((o) => o.kind === 'HelmRelease' && o.metadata?.name === relName && (!relNamespace || o.metadata?.namespace === relNamespace))) {
      const hit = declaration.provides.some((p) => p.kind === kind && p.name === name && (namespace === undefined || (p.namespace ?? podNamespace(release)) === namespace));
      if (hit) return `${release.metadata?.namespace}/${relName}`;
    }
  }
  return undefined;
};

/** A stand-in for a value unknown offline, of a shape most fields accept: `SECRET_DOMAIN` stands as `secret-domain`. */
export const standIn = (name: string): string => name.toLowerCase().replace(/_/g, '-').replace(/^-+|-+$/g, '') || 'value';
