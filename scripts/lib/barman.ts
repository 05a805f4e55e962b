// The Barman Cloud command lines the CloudNativePG plugin builds from an ObjectStore, for the drill and
// the dr tasks that reach the store from outside the cluster.
import { join } from 'node:path';
import { repoRoot } from './cluster.ts';
import { UserError } from '../../src/lib/errors.ts';
import { substitutedResource } from './flux-vars.ts';

/** The shared PostgreSQL cluster's manifests: its Cluster and the ObjectStore it archives to. */
export const CNPG_CLUSTER_DIR = 'kubernetes/apps/databases/cloudnative-pg/cluster';
export const BARMAN_PLUGIN = 'barman-cloud.cloudnative-pg.io';

export interface BarmanStore {
  /** The ObjectStore's name, as the Cluster's plugin parameters name it. */
  name: string;
  /** s3://<bucket>/[path] */
  destinationPath: string;
  bucket: string;
  /** The folder under destinationPath: the plugin's serverName, else the Cluster's name. */
  serverName: string;
  endpointURL?: string;
  walCompression?: string;
  dataCompression?: string;
  jobs?: number;
  immediateCheckpoint: boolean;
  /** As the ObjectStore writes it, e.g. 30d. */
  retentionPolicy?: string;
  /** The sidecar's plain environment values (valueFrom entries are the cluster's Secrets, not known here). */
  sidecarEnv: Record<string, string>;
}

/** Reads the ObjectStore the Cluster's WAL archiver plugin names, with Flux's substitution of `vars`. */
export const readBarmanStore = (vars: Record<string, string>, dir = join(repoRoot(), CNPG_CLUSTER_DIR)): BarmanStore => {
  const clusterFile = join(dir, 'cluster.yaml');
  const storeFile = join(dir, 'objectstore.yaml');
  const cluster = substitutedResource(clusterFile, 'Cluster', vars) as any;
  const plugin = (cluster.spec?.plugins ?? []).find((p: any) => p?.name === BARMAN_PLUGIN && p?.isWALArchiver);
  if (!plugin) throw new UserError(`${clusterFile}: spec.plugins has no ${BARMAN_PLUGIN} with isWALArchiver: true`);
  const store = substitutedResource(storeFile, 'ObjectStore', vars) as any;
  const objectName = plugin.parameters?.barmanObjectName;
  if (objectName !== store.metadata?.name) {
    throw new UserError(`${clusterFile}: the plugin's barmanObjectName "${objectName}" is not the ObjectStore "${store.metadata?.name}" in ${storeFile}`);
  }
  const conf = store.spec?.configuration ?? {};
  const destinationPath = String(conf.destinationPath ?? '');
  const m = /^s3:\/\/([^/]+)(\/.*)?$/.exec(destinationPath);
  if (!m) throw new UserError(`${storeFile}: spec.configuration.destinationPath "${destinationPath}" is not s3://<bucket>/...`);
  const sidecarEnv: Record<string, string> = {};
  for (const e of store.spec?.instanceSidecarConfiguration?.env ?? []) if (e?.name && e.value !== undefined) sidecarEnv[e.name] = String(e.value);
  return {
    name: String(store.metadata.name),
    destinationPath,
    bucket: m[1],
    serverName: String(plugin.parameters?.serverName ?? cluster.metadata?.name),
    endpointURL: conf.endpointURL || undefined,
    walCompression: conf.wal?.compression,
    dataCompression: conf.data?.compression,
    jobs: conf.data?.jobs,
    immediateCheckpoint: conf.data?.immediateCheckpoint === true,
    retentionPolicy: store.spec?.retentionPolicy,
    sidecarEnv,
  };
};

/** The ObjectStore's retentionPolicy (`30d`, `4w`, `6m`) as barman-cloud-backup-delete takes it. */
export const recoveryWindow = (policy: string): string => {
  const m = /^([1-9][0-9]*)([dwm])$/.exec(policy);
  if (!m) throw new UserError(`retentionPolicy "${policy}" is not <number>d, <number>w or <number>m`);
  return `RECOVERY WINDOW OF ${m[1]} ${{ d: 'DAYS', w: 'WEEKS', m: 'MONTHS' }[m[2] as 'd' | 'w' | 'm']}`;
};

/** Where the store is reached and how: the endpoint (the ObjectStore's, or another such as the drill's) and the provider. */
const location = (store: BarmanStore, endpoint?: string): string[] => {
  const url = endpoint ?? store.endpointURL;
  return [...(url ? ['--endpoint-url', url] : []), '--cloud-provider', 'aws-s3'];
};

const compression = (c?: string): string[] => (c ? [`--${c}`] : []);

/** barman-cloud-wal-archive's arguments before the WAL path (`%p`), as the plugin's archiver builds them. */
export const walArchiveArgs = (store: BarmanStore, endpoint?: string): string[] => [...compression(store.walCompression), ...location(store, endpoint), store.destinationPath, store.serverName];

/** barman-cloud-wal-restore's arguments before the WAL name and destination (`%f %p`). */
export const walRestoreArgs = (store: BarmanStore, endpoint?: string): string[] => [...location(store, endpoint), store.destinationPath, store.serverName];

/** barman-cloud-backup's arguments for a backup called `name`, as the plugin builds them for a ScheduledBackup. */
export const backupArgs = (store: BarmanStore, name: string, endpoint?: string): string[] => [
  '-U',
  'postgres',
  '-n',
  name,
  ...compression(store.dataCompression),
  ...(store.immediateCheckpoint ? ['--immediate-checkpoint'] : []),
  ...(store.jobs !== undefined ? ['--jobs', String(store.jobs)] : []),
  ...location(store, endpoint),
  store.destinationPath,
  store.serverName,
];

/** barman-cloud-restore's arguments: one base backup into an empty data directory. */
export const restoreArgs = (store: BarmanStore, backupId: string, dataDir: string, endpoint?: string): string[] => [
  ...location(store, endpoint),
  store.destinationPath,
  store.serverName,
  backupId,
  dataDir,
];

/** barman-cloud-backup-list as JSON. */
export const backupListArgs = (store: BarmanStore, endpoint?: string): string[] => ['--format', 'json', ...location(store, endpoint), store.destinationPath, store.serverName];

/** barman-cloud-backup-delete of what the retention policy no longer needs, as the plugin runs it after a backup. */
export const retentionArgs = (store: BarmanStore, endpoint?: string): string[] => {
  if (!store.retentionPolicy) throw new UserError(`the ObjectStore ${store.name} sets no retentionPolicy`);
  return ['--retention-policy', recoveryWindow(store.retentionPolicy), ...location(store, endpoint), store.destinationPath, store.serverName];
};

/** A command line for postgresql.conf (archive_command, restore_command): each word single-quoted for the shell. */
export const shellLine = (words: string[]): string => words.map((w) => (/^[\w%./:=@+-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`)).join(' ');
