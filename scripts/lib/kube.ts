import { existsSync } from 'node:fs';
import { relative } from 'node:path';
import { stringify } from 'yaml';
import { UsageError, UserError } from '../../src/lib/errors.ts';
import { query, run } from '../../src/lib/exec.ts';
import { clusterPaths } from './cluster.ts';
import { waitFor } from './poll.ts';
import { checkKubeContext, requireClis } from './preflight.ts';

/** A Kubernetes object as kubectl prints it with --output json. */
export type KubeObject = Record<string, any> & { metadata: { name: string; namespace?: string; [k: string]: any } };

/** The resources the DR scripts read and change, by the names kubectl knows them under. */
export const R = {
  replicationSource: 'replicationsources.volsync.backube',
  replicationDestination: 'replicationdestinations.volsync.backube',
  deployment: 'deployments.apps',
  statefulSet: 'statefulsets.apps',
  job: 'jobs.batch',
  pod: 'pods',
  namespace: 'namespaces',
  kustomization: 'kustomizations.kustomize.toolkit.fluxcd.io',
  helmRelease: 'helmreleases.helm.toolkit.fluxcd.io',
  cnpgCluster: 'clusters.postgresql.cnpg.io',
  backup: 'backups.postgresql.cnpg.io',
  scheduledBackup: 'scheduledbackups.postgresql.cnpg.io',
  objectStore: 'objectstores.barmancloud.cnpg.io',
  externalSecret: 'externalsecrets.external-secrets.io',
  ciliumNetworkPolicy: 'ciliumnetworkpolicies.cilium.io',
} as const;

/** The field manager of everything these scripts apply, so a later `kubectl get --show-managed-fields` names them. */
const FIELD_MANAGER = 'k8s-ops-dr';

/**
 * kubectl against one cluster: every call names its context and kubeconfig, and reads JSON, so that
 * the scripts never depend on the operator's current context or on jsonpath quirks.
 */
export const kube = (cluster: string, env: NodeJS.ProcessEnv) => {
  const ctx = ['--context', cluster];
  const kubectl = (args: string[], input?: string) => run('kubectl', [...ctx, ...args], { env, input });
  const where = (namespace?: string) => (namespace ? ['--namespace', namespace] : ['--all-namespaces']);

  /** One object, or undefined when it does not exist. */
  const get = async (resource: string, name: string, namespace?: string): Promise<KubeObject | undefined> => {
    const out = await kubectl(['get', resource, name, ...(namespace ? ['--namespace', namespace] : []), '--ignore-not-found', '--output', 'json']);
    return out.trim() ? JSON.parse(out) : undefined;
  };

  /** Every object of a resource in a namespace (all namespaces without one), optionally by label selector. */
  const list = async (resource: string, namespace?: string, selector?: string): Promise<KubeObject[]> => {
    const out = await kubectl(['get', resource, ...where(namespace), ...(selector ? ['--selector', selector] : []), '--output', 'json']);
    return (JSON.parse(out).items ?? []) as KubeObject[];
  };

  /** Server-side apply of objects, piped as YAML on stdin (nothing is written to disk). */
  const apply = (objects: object[]) =>
    kubectl(['apply', '--server-side', '--field-manager', FIELD_MANAGER, '--filename', '-'], objects.map((o) => `---\n${stringify(o)}`).join(''));

  /** A JSON merge patch: `null` removes a field. */
  const patch = (resource: string, name: string, namespace: string, body: object) =>
    kubectl(['patch', resource, name, '--namespace', namespace, '--type', 'merge', '--patch', JSON.stringify(body)]);

  const remove = (resource: string, name: string, namespace?: string) =>
    kubectl(['delete', resource, name, ...(namespace ? ['--namespace', namespace] : []), '--ignore-not-found', '--wait=false']);

  const exec = (namespace: string, pod: string, container: string, command: string[]) =>
    kubectl(['exec', '--namespace', namespace, pod, '--container', container, '--', ...command]);

  /** Waits until `check` finds the object in the state it wants; `what` names that state in the timeout message. */
  const waitUntil = (what: string, resource: string, name: string, namespace: string, check: (o: KubeObject) => boolean, timeoutMs: number) =>
    waitFor(
      what,
      async () => {
        const o = await get(resource, name, namespace);
        return o !== undefined && check(o);
      },
      timeoutMs,
    );

  return { cluster, env, ctx, kubectl, get, list, apply, patch, remove, exec, waitUntil };
};

export type Kube = ReturnType<typeof kube>;

/** A condition of an object's status, by type. */
export const condition = (o: KubeObject | undefined, type: string): { status?: string; reason?: string; message?: string } | undefined =>
  (o?.status?.conditions ?? []).find((c: any) => c?.type === type);

/** A name that is unique per run and valid as a Kubernetes name: `<prefix>-20260310-093000`. */
export const stamped = (prefix: string, at: number): string => {
  const iso = new Date(at).toISOString();
  return `${prefix}-${iso.slice(0, 10).replaceAll('-', '')}-${iso.slice(11, 19).replaceAll(':', '')}`;
};

/** Refuses a Kubernetes name that kubectl would refuse, before anything runs. */
export const requireName = (flag: string, value: string | undefined): string => {
  if (!value) throw new UsageError(`--${flag} is required (see --help)`);
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(value) || value.length > 63) {
    throw new UsageError(`--${flag} must be a Kubernetes name (lower-case letters, digits and -, at most 63), not "${value}"`);
  }
  return value;
};

/**
 * The cluster's kubectl after the checks every run makes first: the CLIs are there, the kubeconfig has
 * the cluster's context and, before anything that changes the cluster, the current context is that
 * cluster's (a shell pointed at the other cluster is refused before any change).
 */
export const connect = async (cluster: string, opts: { changes: boolean; clis?: string[] }): Promise<Kube> => {
  requireClis(opts.clis ?? ['kubectl']);
  const paths = clusterPaths(cluster);
  const env = { KUBECONFIG: paths.kubeconfig };
  const rel = relative(paths.root, paths.kubeconfig) || paths.kubeconfig;
  if (!existsSync(paths.kubeconfig)) throw new UserError(`${rel} is missing: run \`task op:pull CLUSTER=${cluster}\` first`);
  const known = opts.changes ? await checkKubeContext(cluster, env) : (await query('kubectl', ['config', 'get-contexts', cluster], { env })).ok;
  if (!known) throw new UserError(`${rel} has no context ${cluster}: run \`task op:pull CLUSTER=${cluster}\` first`);
  return kube(cluster, env);
};
