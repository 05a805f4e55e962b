import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { UserError } from '../../src/lib/errors.ts';
import { io } from '../../src/lib/io.ts';
import { listClusters as clustersIn } from '../../src/lib/layout.ts';

/** The repository to act on: K8S_OPS_ROOT, or the checkout these scripts belong to. */
export const repoRoot = (): string => (io().env.K8S_OPS_ROOT ? resolve(io().env.K8S_OPS_ROOT!) : resolve(dirname(fileURLToPath(import.meta.url)), '..', '..'));

/** The repository's clusters: every clusters/<name>/ with a flux/ entry point (npx plop cluster adds one). */
export const listClusters = (root = repoRoot()): string[] => clustersIn(root);

/** The `--cluster NAME` flag every script takes: one of the repository's clusters. */
export const clusterFlag = (description: string) => ({ type: 'string', values: listClusters(), required: true, description }) as const;

export type ClusterName = string;

export interface TalosNode {
  hostname: string;
  ip: string;
  controlPlane: boolean;
}

export interface TalosCluster {
  name: string;
  talosVersion: string;
  kubernetesVersion: string;
  endpoint: string;
  nodes: TalosNode[];
  /** Control planes first, in talconfig order, then workers. */
  controlPlanes: TalosNode[];
  workers: TalosNode[];
}

/** Where one cluster's files live; KUBECONFIG (its first path) overrides the repository's kubeconfig. */
export const clusterPaths = (cluster: ClusterName, root = repoRoot(), env = io().env) => {
  const talosDir = join(root, 'clusters', cluster, 'talos');
  const configDir = join(talosDir, 'clusterconfig');
  return {
    root,
    talosDir,
    talconfig: join(talosDir, 'talconfig.yaml'),
    talsecret: join(talosDir, 'talsecret.sops.yaml'),
    configDir,
    talosconfig: join(configDir, 'talosconfig'),
    /** talhelper's file name for a node's machine config: <clusterName>-<hostname>.yaml */
    machineConfig: (clusterName: string, hostname: string) => join(configDir, `${clusterName}-${hostname}.yaml`),
    kubeconfig: env.KUBECONFIG ? resolve(env.KUBECONFIG.split(':')[0]) : join(root, 'kubeconfig'),
    bootstrapDir: join(root, 'bootstrap', cluster),
    crdsHelmfile: join(root, 'bootstrap', cluster, 'helmfile.d', '00-crds.yaml'),
    appsHelmfile: join(root, 'bootstrap', cluster, 'helmfile.d', '01-apps.yaml'),
    secretsTemplate: join(root, 'bootstrap', cluster, 'secrets.yaml.tpl'),
    fluxSystem: join(root, 'clusters', cluster, 'flux', 'config', 'flux-system.yaml'),
  };
};

export type ClusterPaths = ReturnType<typeof clusterPaths>;

/** The nodes and versions of a cluster, read from its talconfig.yaml. */
export const readTalconfig = (file: string): TalosCluster => {
  let doc: any;
  try {
    doc = parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UserError(`cannot read ${file}: ${(e as Error).message.split('\n')[0]}`);
  }
  const nodes: TalosNode[] = (doc?.nodes ?? []).map((n: any) => ({ hostname: String(n.hostname), ip: String(n.ipAddress), controlPlane: n.controlPlane === true }));
  const controlPlanes = nodes.filter((n) => n.controlPlane);
  if (!controlPlanes.length) throw new UserError(`${file} lists no control-plane node`);
  return {
    name: String(doc.clusterName),
    talosVersion: String(doc.talosVersion),
    kubernetesVersion: String(doc.kubernetesVersion),
    endpoint: String(doc.endpoint),
    nodes,
    controlPlanes,
    workers: nodes.filter((n) => !n.controlPlane),
  };
};
