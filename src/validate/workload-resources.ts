import { parseQuantity } from './quantity.ts';
import type { PathPart } from './locate.ts';
import type { KObject } from './types.ts';

/** The resources a budget counts: cpu in cores, memory in bytes. */
export const RESOURCES = ['cpu', 'memory'] as const;
export type ResourceName = (typeof RESOURCES)[number];
export type Amounts = Record<ResourceName, number>;

/** How many nodes a DaemonSet runs on, and where that number comes from. */
export interface NodeCount {
  count: number;
  /** e.g. `clusters/infra/talos/talconfig.yaml`; absent when the count is unknown and 1 is assumed. */
  source?: string;
}

/** A place that sets no limit for a resource (a container, or an operator CR's `spec.resources`). */
export interface Unlimited {
  what: string;
  path: PathPart[];
}

/** What one rendered object asks of the cluster: per copy, and how many copies run. */
export interface Demand {
  requests: Amounts;
  limits: Amounts;
  unlimited: Record<ResourceName, Unlimited[]>;
  /** Quantities that do not parse, with where they are. */
  invalid: { value: unknown; path: PathPart[] }[];
  copies: number;
  /** How the copies were counted, for messages: `2 replicas`, `6 nodes (clusters/infra/talos/talconfig.yaml)`. */
  copiesNote: string;
  /** Where its resources are set, for the line of a finding. */
  path: PathPart[];
}

const zero = (): Amounts => ({ cpu: 0, memory: 0 });

interface Reader {
  invalid: Demand['invalid'];
}

/** One resources block (`{requests, limits}`): the request defaults to the limit, as Kubernetes does. */
const readBlock = (block: KObject | undefined, path: PathPart[], reader: Reader) => {
  const value = (kind: 'requests' | 'limits', r: ResourceName): number | undefined => {
    const raw = block?.[kind]?.[r];
    if (raw === undefined || raw === null) return undefined;
    const parsed = parseQuantity(raw);
    if (parsed === undefined) reader.invalid.push({ value: raw, path: [...path, kind, r] });
    return parsed;
  };
  const limits: Partial<Amounts> = {};
  const requests = zero();
  for (const r of RESOURCES) {
    const limit = value('limits', r);
    if (limit !== undefined) limits[r] = limit;
    requests[r] = value('requests', r) ?? limit ?? 0;
  }
  return { requests, limits };
};

/**
 * A pod's effective requests and limits as the scheduler counts them: the regular containers plus the
 * sidecars (init containers with restartPolicy Always) run together; each other init container runs alone
 * beside the sidecars started before it; the pod needs the larger of the two. Pod-level resources win.
 */
const podDemand = (pod: KObject, podPath: PathPart[], reader: Reader) => {
  const requests = zero();
  const limits = zero();
  const unlimited: Record<ResourceName, Unlimited[]> = { cpu: [], memory: [] };
  const regular = (pod.containers ?? []).map((c: KObject, i: number) => ({ c, path: [...podPath, 'containers', i], what: `container ${c.name}` }));
  const inits = (pod.initContainers ?? []).map((c: KObject, i: number) => ({ c, path: [...podPath, 'initContainers', i], what: `init container ${c.name}` }));
  const blocks = new Map([...regular, ...inits].map((x) => [x, readBlock(x.c.resources, [...x.path, 'resources'], reader)]));
  for (const x of [...regular, ...inits]) for (const r of RESOURCES) if (blocks.get(x)!.limits[r] === undefined) unlimited[r].push({ what: x.what, path: x.path });

  for (const kind of ['requests', 'limits'] as const) {
    for (const r of RESOURCES) {
      const of = (x: (typeof regular)[number]) => blocks.get(x)![kind][r] ?? 0;
      let sidecars = 0;
      let initPeak = 0;
      for (const x of inits) {
        if (x.c.restartPolicy === 'Always') sidecars += of(x);
        else initPeak = Math.max(initPeak, of(x) + sidecars);
      }
      const running = regular.reduce((sum: number, x: (typeof regular)[number]) => sum + of(x), 0) + sidecars;
      (kind === 'requests' ? requests : limits)[r] = Math.max(running, initPeak);
    }
  }
  const podLevel = readBlock(pod.resources, [...podPath, 'resources'], reader);
  for (const r of RESOURCES) {
    if (pod.resources?.requests?.[r] !== undefined || podLevel.limits[r] !== undefined) requests[r] = podLevel.requests[r];
    if (podLevel.limits[r] !== undefined) {
      limits[r] = podLevel.limits[r]!;
      unlimited[r] = [];
    }
  }
  return { requests, limits, unlimited };
};

const POD_TEMPLATE: Record<string, PathPart[]> = {
  Deployment: ['spec', 'template', 'spec'],
  StatefulSet: ['spec', 'template', 'spec'],
  ReplicaSet: ['spec', 'template', 'spec'],
  DaemonSet: ['spec', 'template', 'spec'],
  Job: ['spec', 'template', 'spec'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
  Pod: ['spec'],
};

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
const nodesNote = (nodes: NodeCount) => (nodes.source ? `${plural(nodes.count, 'node')} (${nodes.source})` : 'once per node (node count unknown)');
const countOf = (value: unknown, fallback = 1): number => (typeof value === 'number' && value >= 0 ? value : fallback);

interface Copies {
  copies: number;
  copiesNote: string;
}

const replicas = (value: unknown, word = 'replica'): Copies => {
  const n = countOf(value);
  return { copies: n, copiesNote: plural(n, word) };
};

/** Operator CRs whose spec sets the resources of the pods the operator runs (`spec.resources` each), and how many. */
const OPERATOR_CRS: Record<string, (spec: KObject, nodes: NodeCount) => Copies> = {
  'VMSingle.operator.victoriametrics.com': (s) => replicas(s.replicaCount),
  'VMAgent.operator.victoriametrics.com': (s, nodes) => {
    if (s.daemonSetMode === true) return { copies: nodes.count, copiesNote: nodesNote(nodes) };
    const shards = countOf(s.shardCount);
    const n = countOf(s.replicaCount);
    return shards === 1 ? replicas(n) : { copies: n * shards, copiesNote: `${plural(shards, 'shard')} of ${plural(n, 'replica')}` };
  },
  'VMAlert.operator.victoriametrics.com': (s) => replicas(s.replicaCount),
  'VMAlertmanager.operator.victoriametrics.com': (s) => replicas(s.replicaCount),
  'VLSingle.operator.victoriametrics.com': (s) => replicas(s.replicaCount),
  'Cluster.postgresql.cnpg.io': (s) => replicas(s.instances, 'instance'),
  'Dragonfly.dragonflydb.io': (s) => replicas(s.replicas),
  'KafkaNodePool.kafka.strimzi.io': (s) => replicas(s.replicas),
  'Keycloak.k8s.keycloak.org': (s) => replicas(s.instances, 'instance'),
};

/** Kinds this module counts, as `Kind.group` for operator CRs and `Kind` for workloads. */
export const countedKinds = (): string[] => [...Object.keys(POD_TEMPLATE), ...Object.keys(OPERATOR_CRS)];

const groupOf = (apiVersion: unknown): string => (String(apiVersion ?? '').includes('/') ? String(apiVersion).split('/')[0] : '');

/** What a rendered object asks for, or undefined when it runs nothing this module knows of. */
export const demandOf = (obj: KObject, nodes: NodeCount): Demand | undefined => {
  const reader: Reader = { invalid: [] };
  const group = groupOf(obj.apiVersion);
  const templatePath = ['', 'apps', 'batch'].includes(group) ? POD_TEMPLATE[obj.kind] : undefined;
  if (templatePath) {
    const pod = templatePath.reduce<any>((node, part) => node?.[part], obj) ?? {};
    const copies: Copies =
      obj.kind === 'DaemonSet'
        ? { copies: nodes.count, copiesNote: nodesNote(nodes) }
        : ['Deployment', 'StatefulSet', 'ReplicaSet'].includes(obj.kind)
          ? replicas(obj.spec?.replicas)
          : { copies: 1, copiesNote: obj.kind === 'Pod' ? 'one pod' : 'one pod per run' };
    return { ...podDemand(pod, templatePath, reader), invalid: reader.invalid, ...copies, path: templatePath };
  }
  const copiesOf = OPERATOR_CRS[`${obj.kind}.${group}`];
  if (!copiesOf) return undefined;
  const path = ['spec', 'resources'];
  const block = readBlock(obj.spec?.resources, path, reader);
  const limits = zero();
  const unlimited: Record<ResourceName, Unlimited[]> = { cpu: [], memory: [] };
  for (const r of RESOURCES) {
    if (block.limits[r] === undefined) unlimited[r].push({ what: 'spec.resources', path: obj.spec?.resources ? path : ['spec'] });
    else limits[r] = block.limits[r]!;
  }
  return { requests: block.requests, limits, unlimited, invalid: reader.invalid, ...copiesOf(obj.spec ?? {}, nodes), path };
};
