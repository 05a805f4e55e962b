import type { KObject } from '../validate/types.ts';

/** The label Cilium gives every pod for its namespace, and the prefix under which it copies the namespace's labels. */
export const NAMESPACE_KEY = 'io.kubernetes.pod.namespace';
export const NAMESPACE_LABELS = 'io.cilium.k8s.namespace.labels.';

/**
 * Whether a selector takes the pods of one namespace: all of them, some (it depends on the pods' own
 * labels, which Git does not say for every pod), or none.
 */
export type Match = 'all' | 'some' | 'none';

/** Cilium accepts a source before a key (`k8s:app`, `any:app`); both mean the Kubernetes label here. */
const bareKey = (key: string): string => key.replace(/^(k8s|any):/, '');

/** The labels every pod of a namespace carries as far as Cilium is concerned: its namespace and the namespace's labels. */
export const namespaceLabels = (name: string, labels: Record<string, string> = {}): Record<string, string> => {
  const out: Record<string, string> = { [NAMESPACE_KEY]: name };
  // The API server adds this one to every namespace.
  for (const [k, v] of Object.entries({ 'kubernetes.io/metadata.name': name, ...labels })) out[`${NAMESPACE_LABELS}${k}`] = String(v);
  return out;
};

const isNamespaceKey = (key: string): boolean => key === NAMESPACE_KEY || key.startsWith(NAMESPACE_LABELS);

interface Requirement {
  key: string;
  operator: string;
  values: string[];
}

const requirements = (selector: KObject | undefined): Requirement[] => [
  ...Object.entries<unknown>(selector?.matchLabels ?? {}).map(([key, v]) => ({ key: bareKey(key), operator: 'In', values: [String(v)] })),
  ...((selector?.matchExpressions ?? []) as KObject[]).map((e) => ({ key: bareKey(String(e.key)), operator: String(e.operator), values: (e.values ?? []).map(String) })),
];

const holds = (r: Requirement, labels: Record<string, string>): boolean => {
  const has = Object.hasOwn(labels, r.key);
  switch (r.operator) {
    case 'In':
      return has && r.values.includes(labels[r.key]);
    case 'NotIn':
      return !has || !r.values.includes(labels[r.key]);
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
    default:
      return false;
  }
};

/**
 * Evaluates a Cilium endpoint selector against the pods of a namespace. Keys about the namespace are
 * decided; a requirement on a pod label leaves the answer at `some`, since pods differ.
 */
export const matchNamespace = (selector: KObject | undefined, labels: Record<string, string>): Match => {
  let result: Match = 'all';
  for (const r of requirements(selector)) {
    if (isNamespaceKey(r.key)) {
      if (!holds(r, labels)) return 'none';
    } else result = 'some';
  }
  return result;
};

/** `namespace=kube-system, k8s-app=kube-dns`: a selector as one short line; `{}` takes everything. */
export const describeSelector = (selector: KObject | undefined): string => {
  const short = (key: string) => (key === NAMESPACE_KEY ? 'namespace' : key.startsWith(NAMESPACE_LABELS) ? `namespace-label:${key.slice(NAMESPACE_LABELS.length)}` : key);
  const parts = requirements(selector).map((r) => {
    const k = short(r.key);
    if (r.operator === 'In') return r.values.length === 1 ? `${k}=${r.values[0]}` : `${k} in (${r.values.join(', ')})`;
    if (r.operator === 'NotIn') return `${k} notin (${r.values.join(', ')})`;
    if (r.operator === 'Exists') return `${k} exists`;
    if (r.operator === 'DoesNotExist') return `no ${k}`;
    return `${k} ${r.operator} (${r.values.join(', ')})`;
  });
  return parts.length ? parts.join(', ') : '{}';
};
