// What a running cluster answers the DR scripts (scripts/volsync.ts, scripts/dr.ts), for the fake kubectl,
// flux and op of cli-tools.ts: the API server's objects (get -o json, apply, patch, scale, annotate,
// delete, exec, logs) and the controllers the scripts wait for, reduced to what they do to those objects:
// VolSync's movers (a manual trigger runs one; a restore picks its snapshot as the restic mover does, by
// restoreAsOf and previous), restic in a Job (snapshots, unlock, check), CloudNativePG's recovery (a
// point-in-time restore brings back the rows committed before the target), External Secrets (an
// ExternalSecret copies its 1Password field; force-sync fetches it again), the kubelet (a mounted Secret
// follows its changes), 1Password's items (op item get / edit --template), and OpenBao's servers with a
// static key seal (bao status, operator init, the policy and token of the configuration job, a restarted
// server unsealing with the key its Secret holds).
// Tests seed it with `seedCluster`. Knobs, from the command's environment: STUB_VOLSYNC_STALLED=1 (no mover
// ever finishes), STUB_CNPG_STALLED=1 (a recovery never gets healthy), STUB_WAL_STUCK=1 (archiving stalls),
// STUB_ESO_STALLED=1 (force-sync is ignored), STUB_KUBELET_DELAY=n (a pod reads a changed Secret only from
// its nth read on), STUB_PITR_IGNORES_TARGET=1 (a recovery replays past its target time).
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { answerAlertmanager } from './alertmanager.ts';

export type Obj = Record<string, any> & { kind: string; metadata: { name: string; namespace?: string; [k: string]: any } };

export interface Snapshot {
  id: string;
  short_id: string;
  time: string;
  hostname: string;
  paths: string[];
}

export interface ClusterState {
  objects: Obj[];
  /** restic repositories by `<namespace>/<Secret name>`. */
  repos: Record<string, { snapshots: Snapshot[]; locked?: boolean; damaged?: boolean }>;
  /** Marker rows of each namespace's PostgreSQL: run -> phase -> count. */
  databases: Record<string, Record<string, Record<string, number>>>;
  /** The rows each namespace held when a target time was read (what a recovery to it brings back). */
  targets: Record<string, { namespace: string; rows: Record<string, Record<string, number>> }>;
  /** 1Password items by title, as op item get --format json prints them. */
  items: Record<string, any>;
  /** Secrets External Secrets wrote, by `<namespace>/<name>`, with what the kubelet has mounted so far. */
  secrets: Record<string, { data: Record<string, string>; previous: Record<string, string>; readsSinceChange: number }>;
  logs: Record<string, string>;
  /** What each restore put into a claim, by `<namespace>/<claim>`: the snapshot ID. */
  restored: Record<string, string>;
  /** OpenBao: initialised or not, the servers that are sealed, the key that unseals them, its tokens and policies. */
  bao?: BaoState;
}

export interface BaoState {
  initialized: boolean;
  sealed: string[];
  sealKey: string;
  rootToken?: string;
  /** token -> its policies */
  tokens: Record<string, string[]>;
  /** policy name -> its HCL */
  policies: Record<string, string>;
}

/** kubectl's resource names -> kinds, for the resources the scripts use. */
const KINDS: Record<string, string> = {
  'replicationsources.volsync.backube': 'ReplicationSource',
  'replicationdestinations.volsync.backube': 'ReplicationDestination',
  'deployments.apps': 'Deployment',
  deployments: 'Deployment',
  deployment: 'Deployment',
  'statefulsets.apps': 'StatefulSet',
  statefulsets: 'StatefulSet',
  statefulset: 'StatefulSet',
  'jobs.batch': 'Job',
  job: 'Job',
  pods: 'Pod',
  namespaces: 'Namespace',
  persistentvolumeclaims: 'PersistentVolumeClaim',
  'kustomizations.kustomize.toolkit.fluxcd.io': 'Kustomization',
  kustomization: 'Kustomization',
  'helmreleases.helm.toolkit.fluxcd.io': 'HelmRelease',
  helmrelease: 'HelmRelease',
  'clusters.postgresql.cnpg.io': 'Cluster',
  'backups.postgresql.cnpg.io': 'Backup',
  'scheduledbackups.postgresql.cnpg.io': 'ScheduledBackup',
  'objectstores.barmancloud.cnpg.io': 'ObjectStore',
  'externalsecrets.external-secrets.io': 'ExternalSecret',
  'ciliumnetworkpolicies.cilium.io': 'CiliumNetworkPolicy',
  'cronjobs.batch': 'CronJob',
};

const FILE = 'cluster.json';
const empty = (): ClusterState => ({ objects: [], repos: {}, databases: {}, targets: {}, items: {}, secrets: {}, logs: {}, restored: {} });

/** Lays down the state a test starts from (objects, repositories, 1Password items). */
export const seedCluster = (stateDir: string, seed: Partial<ClusterState>): void => writeFileSync(join(stateDir, FILE), JSON.stringify({ ...empty(), ...seed }));

export const readCluster = (stateDir: string): ClusterState => {
  const file = join(stateDir, FILE);
  return existsSync(file) ? { ...empty(), ...JSON.parse(readFileSync(file, 'utf8')) } : empty();
};

/** A fake restic snapshot taken at `time`. */
export const snapshotAt = (time: string, id = randomBytes(32).toString('hex')): Snapshot => ({ id, short_id: id.slice(0, 8), time, hostname: 'volsync', paths: ['/data'] });

/** A 1Password item as op item get --format json prints it. */
export const opItem = (title: string, fields: Record<string, string>) => ({
  id: randomBytes(13).toString('hex'),
  title,
  version: 1,
  vault: { id: 'vault', name: 'k8s-ops' },
  category: 'SECURE_NOTE',
  fields: Object.entries(fields).map(([label, value]) => ({ id: label, type: 'STRING', label, value })),
});

const VALUE_FLAGS = new Set(['--context', '--namespace', '-n', '--selector', '-l', '--output', '-o', '--type', '--patch', '-p', '--replicas', '--container', '-c', '--field-manager', '--filename', '-f', '--vault', '--format', '--template']);

/** The words of a command line that are not flags or flag values (up to `--`). */
const positionals = (args: string[]): string[] => {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--') break;
    if (VALUE_FLAGS.has(a)) i++;
    else if (!a.startsWith('-')) out.push(a);
  }
  return out;
};

const mergePatch = (target: any, patch: any): any => {
  if (!patch || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out = target && typeof target === 'object' && !Array.isArray(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
};

const pgNow = () => new Date().toISOString().replace('T', ' ').replace('Z', '000+00');

export interface Answering {
  args: string[];
  env: NodeJS.ProcessEnv;
  input: string;
  /** Prints a line (a newline is added when missing). */
  out: (text: string) => void;
  /** Prints text exactly as given. */
  raw: (text: string) => void;
  fail: (message: string, code?: number) => never;
}

/**
 * Answers a kubectl, flux or op call that concerns the cluster's objects or 1Password's items; returns
 * false for anything else, which the caller answers as before.
 */
export const answerCluster = (tool: string, a: Answering): boolean => {
  const stateDir = a.env.STUB_STATE_DIR!;
  const { args, env, out, fail } = a;
  /** Answers the call: prints the text, and the call is handled. */
  const done = (text: string): true => {
    out(text);
    return true;
  };
  const has = (...words: string[]) => words.every((w) => args.includes(w));
  const flag = (...names: string[]): string | undefined => {
    for (const n of names) {
      const i = args.indexOf(n);
      if (i >= 0) return args[i + 1];
      const eq = args.find((x) => x.startsWith(`${n}=`));
      if (eq) return eq.slice(n.length + 1);
    }
    return undefined;
  };
  const words = positionals(args);
  const s = readCluster(stateDir);
  const save = () => writeFileSync(join(stateDir, FILE), JSON.stringify(s));
  const ns = flag('--namespace', '-n');
  const find = (kind: string, name: string, namespace?: string) =>
    s.objects.find((o) => o.kind === kind && o.metadata.name === name && (namespace === undefined || kind === 'Namespace' || o.metadata.namespace === namespace));
  const kindOf = (resource: string) => KINDS[resource] ?? fail(`error: the server doesn't have a resource type "${resource}"`);
  const notFound = (resource: string, name: string): never => fail(`Error from server (NotFound): ${resource} "${name}" not found`);
  const now = () => new Date().toISOString();

  // ------------------------------------------------------------ the controllers
  const repoOf = (namespace: string, secret: string) => (s.repos[`${namespace}/${secret}`] ??= { snapshots: [] });

  const syncSecret = (es: Obj) => {
    const namespace = es.metadata.namespace!;
    const target = es.spec?.target?.name ?? es.metadata.name;
    const data: Record<string, string> = {};
    for (const d of es.spec?.data ?? []) {
      const item = s.items[d.remoteRef?.key];
      const field = item?.fields?.find((f: any) => f.label === d.remoteRef?.property);
      if (!field) {
        es.status = { conditions: [{ type: 'Ready', status: 'False', reason: 'SecretSyncedError', message: `could not get secret data from provider: ${d.remoteRef?.key}` }] };
        return;
      }
      data[d.secretKey] = String(field.value);
    }
    const key = `${namespace}/${target}`;
    const before = s.secrets[key];
    s.secrets[key] = before ? { data, previous: before.data, readsSinceChange: JSON.stringify(before.data) === JSON.stringify(data) ? before.readsSinceChange : 0 } : { data, previous: data, readsSinceChange: 0 };
    es.status = { refreshTime: now(), conditions: [{ type: 'Ready', status: 'True', reason: 'SecretSynced', message: 'secret synced' }] };
  };

  const moverRun = (o: Obj) => {
    const manual = o.spec?.trigger?.manual;
    if (!manual || manual === o.status?.lastManualSync || env.STUB_VOLSYNC_STALLED === '1') return;
    const namespace = o.metadata.namespace!;
    const repo = repoOf(namespace, o.spec.restic.repository);
    let logs: string;
    if (o.kind === 'ReplicationSource') {
      repo.snapshots.push(snapshotAt(now()));
      logs = '=== Starting backup ===\nRestic completed in 42s\n=== Done ===';
    } else {
      // As mover-restic/entry.sh selects: newest first, skip those after restoreAsOf, then `previous` more.
      const sorted = [...repo.snapshots].sort((x, y) => Date.parse(y.time) - Date.parse(x.time));
      let at = 0;
      const asOf = o.spec.restic.restoreAsOf ? Math.floor(Date.parse(o.spec.restic.restoreAsOf) / 1000) : undefined;
      if (asOf !== undefined) while (at < sorted.length && Math.floor(Date.parse(sorted[at].time) / 1000) > asOf) at++;
      at += Number(o.spec.restic.previous ?? 0);
      const chosen = sorted[at];
      if (chosen && o.spec.restic.destinationPVC) s.restored[`${namespace}/${o.spec.restic.destinationPVC}`] = chosen.id;
      logs = chosen ? `=== Starting restore ===\nSelected restic snapshot with id: ${chosen.id}\nRestic completed in 9s\n=== Done ===` : 'No eligible snapshots found\n=== No data will be restored ===\n=== Done ===';
    }
    o.status = { ...(o.status ?? {}), lastManualSync: manual, lastSyncTime: now(), lastSyncDuration: '42s', latestMoverStatus: { result: 'Successful', logs } };
  };

  const resticJob = (job: Obj) => {
    const container = job.spec.template.spec.containers[0];
    const [, verb] = container.command as string[];
    const secret = container.envFrom?.[0]?.secretRef?.name;
    const repo = s.repos[`${job.metadata.namespace}/${secret}`];
    let logs = '';
    let ok = true;
    if (!repo) {
      ok = false;
      logs = 'Fatal: repository does not exist: unable to open config file: Stat: The specified key does not exist.\nIs there a repository at the following location?';
    } else if (verb === 'snapshots') logs = JSON.stringify(repo.snapshots);
    else if (verb === 'unlock') {
      logs = repo.locked ? 'successfully removed 1 locks' : '';
      repo.locked = false;
    } else if (verb === 'check') {
      ok = !repo.damaged;
      logs = ok ? 'using temporary cache in /tmp/cache\nload indexes\ncheck all packs\ncheck snapshots, trees and blobs\nno errors were found' : 'check snapshots, trees and blobs\nerror: tree 3a9f0c1e: file "data/db.sqlite": blob 1d2e not found in index\nFatal: repository contains errors';
    }
    s.logs[`${job.metadata.namespace}/${job.metadata.name}`] = logs;
    job.status = ok ? { succeeded: 1 } : { failed: 1 };
  };

  const recover = (c: Obj) => {
    if (env.STUB_CNPG_STALLED === '1') {
      c.status = { phase: 'Setting up primary', readyInstances: 0 };
      return;
    }
    const target = s.targets[c.spec.bootstrap.recovery.recoveryTarget?.targetTime];
    // STUB_PITR_IGNORES_TARGET=1: a recovery that replays to the end of the WAL, as if no target were set.
    const rows = env.STUB_PITR_IGNORES_TARGET === '1' && target ? s.databases[target.namespace] : target?.rows;
    s.databases[c.metadata.namespace!] = JSON.parse(JSON.stringify(rows ?? {}));
    c.status = { phase: 'Cluster in healthy state', instances: c.spec.instances ?? 1, readyInstances: c.spec.instances ?? 1, currentPrimary: `${c.metadata.name}-1` };
  };

  /** The CronJob openbao-config's script, reduced to its outcome: it needs an initialised OpenBao and its token. */
  const baoConfigJob = (job: Obj) => {
    const token = s.secrets[`${job.metadata.namespace}/openbao-config-secret`]?.data.BAO_TOKEN;
    const ok = Boolean(s.bao?.initialized && token && s.bao.tokens[token]?.includes('openbao-config'));
    s.logs[`${job.metadata.namespace}/${job.metadata.name}`] = ok ? 'openbao configured: auth kubernetes, kv-v2 arsipq/, policies 3' : 'Error making API request.\nCode: 403. Errors:\n* permission denied';
    job.status = ok ? { succeeded: 1 } : { failed: 3 };
  };

  /** The StatefulSet brings a deleted OpenBao server back; it unseals when its Secret holds the seal key. */
  const restartServer = (pod: Obj) => {
    const namespace = pod.metadata.namespace!;
    s.objects.push({ ...pod, metadata: { ...pod.metadata, creationTimestamp: now() } });
    if (!s.bao) return;
    const key = s.secrets[`${namespace}/openbao-seal-secret`]?.data.STATIC_SEAL_KEY;
    s.bao.sealed = s.bao.sealed.filter((p) => p !== pod.metadata.name);
    if (key !== s.bao.sealKey) s.bao.sealed.push(pod.metadata.name);
  };

  const react = (o: Obj) => {
    if (o.kind === 'Job' && o.metadata.labels?.['app.kubernetes.io/name'] === 'openbao-config') baoConfigJob(o);
    else if (o.kind === 'Job') resticJob(o);
    if (o.kind === 'ReplicationSource' || o.kind === 'ReplicationDestination') moverRun(o);
    if (o.kind === 'Cluster' && o.spec?.bootstrap?.recovery) recover(o);
    if (o.kind === 'ExternalSecret') syncSecret(o);
    if (o.kind === 'Pod') o.status = { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] };
  };

  const psql = (namespace: string, sql: string): string => {
    const db = (s.databases[namespace] ??= {});
    let m: RegExpExecArray | null;
    if (/^CREATE TABLE/.test(sql)) return 'CREATE TABLE';
    if ((m = /^INSERT INTO \w+ \(run, phase\) SELECT '([^']+)', '(\w+)' FROM generate_series\(1, (\d+)\)$/.exec(sql))) {
      const run = (db[m[1]] ??= {});
      run[m[2]] = (run[m[2]] ?? 0) + Number(m[3]);
      return `INSERT 0 ${m[3]}`;
    }
    if (/SELECT clock_timestamp\(\)$/.test(sql)) {
      const ts = pgNow();
      s.targets[ts] = { namespace, rows: JSON.parse(JSON.stringify(db)) };
      return `SET\n${ts}`;
    }
    if (/pg_switch_wal/.test(sql)) return '000000010000000000000007';
    if (/last_archived_wal/.test(sql)) return env.STUB_WAL_STUCK === '1' ? '000000010000000000000006' : '000000010000000000000007';
    if ((m = /^SELECT count\(\*\) FROM \w+ WHERE run = '([^']+)'(?: AND phase = '(\w+)')?$/.exec(sql))) {
      const run = db[m[1]] ?? {};
      return String(m[2] ? (run[m[2]] ?? 0) : Object.values(run).reduce((x, y) => x + y, 0));
    }
    if ((m = /^DELETE FROM \w+ WHERE run = '([^']+)'$/.exec(sql))) {
      const n = Object.values(db[m[1]] ?? {}).reduce((x, y) => x + y, 0);
      delete db[m[1]];
      return `DELETE ${n}`;
    }
    return fail(`ERROR:  syntax error at or near "${sql.split(' ')[0]}"`);
  };

  /** The bao CLI in an OpenBao server (`kubectl exec`), with stdin where the script pipes it. */
  const baoIn = (pod: string, command: string[]): true => {
    const b = s.bao ?? fail(`OCI runtime exec failed: exec: "bao": executable file not found in $PATH`);
    const token = (text: string) => `s.${text}${randomBytes(8).toString('hex')}`;
    if (command[0] === 'bao' && command[1] === 'status') {
      out(JSON.stringify({ type: 'static', initialized: b.initialized, sealed: b.sealed.includes(pod), recovery_seal: true, version: '2.4.4' }));
      if (b.sealed.includes(pod)) fail('', 2);
      return true;
    }
    if (command[0] === 'bao' && command[1] === 'operator' && command[2] === 'init') {
      if (b.initialized) fail('Error initializing: Vault is already initialized', 2);
      const shares = Number(command.find((c) => c.startsWith('-recovery-shares='))?.split('=')[1] ?? 5);
      b.initialized = true;
      b.sealed = [];
      b.rootToken = token('root');
      b.tokens[b.rootToken] = ['root'];
      save();
      const keys = Array.from({ length: shares }, () => randomBytes(32).toString('base64'));
      out(JSON.stringify({ unseal_keys_b64: [], unseal_keys_hex: [], recovery_keys_b64: keys, recovery_keys_shares: shares, recovery_keys_threshold: 3, root_token: b.rootToken }));
      return true;
    }
    if (command[0] === 'sh' && command[1] === '-c' && /bao token create/.test(command[2] ?? '')) {
      const [given, ...policy] = a.input.split('\n');
      if (!b.initialized || b.sealed.includes(pod)) fail('Error writing policy: Vault is sealed', 2);
      if (!b.tokens[given]?.includes('root')) fail('Error writing policy: permission denied', 2);
      const name = /bao policy write (\S+)/.exec(command[2])![1];
      b.policies[name] = policy.join('\n');
      const created = token('config');
      b.tokens[created] = [name];
      save();
      out(JSON.stringify({ auth: { client_token: created, policies: ['default', name], token_policies: ['default', name], renewable: true } }));
      return true;
    }
    return fail(`bao: unknown command ${command.join(' ')}`, 127);
  };

  // ------------------------------------------------------------ the tools
  if (tool === 'op') {
    if (has('item', 'get')) {
      const item = s.items[words[2]];
      return item ? done(JSON.stringify(item)) : fail(`[ERROR] "${words[2]}" isn't an item in the "${flag('--vault')}" vault. Specify the item with its UUID, name, or domain.`);
    }
    if (has('item', 'edit')) {
      const item = s.items[words[2]] ?? fail(`[ERROR] "${words[2]}" isn't an item in the "${flag('--vault')}" vault.`);
      const template = JSON.parse(readFileSync(flag('--template')!, 'utf8'));
      s.items[words[2]] = { ...item, fields: template.fields, version: item.version + 1 };
      save();
      return done(`ID: ${item.id}\nTitle: ${item.title}\nVault: ${flag('--vault')}`);
    }
    if (has('whoami')) return done('URL: https://stub.1password.com\nUser Type: HUMAN');
    return false;
  }

  if (tool === 'flux') {
    const verb = words[0];
    if (verb !== 'suspend' && verb !== 'resume') return false;
    const kind = KINDS[words[1]] ?? fail(`✗ unknown kind ${words[1]}`);
    const o = find(kind, words[2], ns) ?? fail(`✗ ${words[1]}s "${words[2]}" not found in ${ns}`);
    o.spec = { ...(o.spec ?? {}), suspend: verb === 'suspend' };
    save();
    return done(`► ${verb === 'suspend' ? 'suspending' : 'resuming'} ${words[1]} ${words[2]} in ${ns} namespace\n✔ ${words[1]} ${verb}ed`);
  }

  if (tool !== 'kubectl') return false;
  const verb = words[0];

  if (verb === 'get' && (flag('--output', '-o') === 'json')) {
    const kind = kindOf(words[1]);
    const all = has('--all-namespaces') || has('-A');
    if (words[2]) {
      const o = find(kind, words[2], ns);
      if (!o) return has('--ignore-not-found') ? done('') : notFound(words[1], words[2]);
      return done(JSON.stringify(o));
    }
    const selector = (flag('--selector', '-l') ?? '').split(',').filter(Boolean).map((kv) => kv.split('='));
    const items = s.objects.filter(
      (o) => o.kind === kind && (all || o.metadata.namespace === ns) && selector.every(([k, v]) => o.metadata.labels?.[k] === v),
    );
    return done(JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
  }

  if (verb === 'apply' && flag('--filename', '-f') === '-') {
    for (const doc of parseAllDocuments(a.input).map((d) => d.toJS()).filter((d) => d?.kind && d?.metadata?.name)) {
      const existing = find(doc.kind, doc.metadata.name, doc.metadata.namespace);
      const o: Obj = existing ? { ...existing, ...doc, metadata: { ...existing.metadata, ...doc.metadata }, status: existing.status } : { ...doc, metadata: { creationTimestamp: now(), ...doc.metadata } };
      s.objects = [...s.objects.filter((x) => x !== existing), o];
      react(o);
    }
    save();
    return false; // the bootstrap's answers for apply (markers, "applied") still follow
  }

  if (verb === 'patch') {
    const kind = kindOf(words[1]);
    const o = find(kind, words[2], ns) ?? notFound(words[1], words[2]);
    Object.assign(o, mergePatch(o, JSON.parse(flag('--patch', '-p')!)));
    react(o);
    save();
    return done(`${words[1]}/${words[2]} patched`);
  }

  if (verb === 'scale') {
    const [resource, name] = words[1].split('/');
    const o = find(kindOf(resource), name, ns) ?? notFound(resource, name);
    const replicas = Number(flag('--replicas'));
    o.spec = { ...o.spec, replicas };
    o.status = { ...o.status, replicas, readyReplicas: replicas, availableReplicas: replicas };
    save();
    return done(`${words[1]} scaled`);
  }

  if (verb === 'annotate') {
    const kind = kindOf(words[1]);
    const o = find(kind, words[2], ns) ?? notFound(words[1], words[2]);
    for (const kv of words.slice(3)) {
      const [k, v] = kv.split('=');
      o.metadata.annotations = { ...(o.metadata.annotations ?? {}), [k]: v };
      if (kind === 'ExternalSecret' && k === 'force-sync' && env.STUB_ESO_STALLED !== '1') syncSecret(o);
    }
    save();
    return done(`${words[1]}/${words[2]} annotated`);
  }

  if (verb === 'delete') {
    const kind = kindOf(words[1]);
    const o = find(kind, words[2], ns);
    if (!o) return has('--ignore-not-found') ? done('') : notFound(words[1], words[2]);
    s.objects = s.objects.filter((x) => x !== o && !(kind === 'Namespace' && x.metadata.namespace === words[2]));
    if (kind === 'Pod' && o.metadata.labels?.component === 'server' && o.metadata.labels?.['app.kubernetes.io/name'] === 'openbao') restartServer(o);
    save();
    return done(`${words[1]} "${words[2]}" deleted`);
  }

  if (verb === 'create' && words[1] === 'job') {
    const from = flag('--from') ?? fail('error: a job needs --from=cronjob/<name> here');
    const [, cronName] = from.split('/');
    const cron = find('CronJob', cronName, ns) ?? notFound('cronjobs.batch', cronName);
    const job: Obj = {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: words[2], namespace: ns, labels: cron.spec.jobTemplate.spec.template.metadata?.labels, creationTimestamp: now() },
      spec: cron.spec.jobTemplate.spec,
    };
    s.objects.push(job);
    react(job);
    save();
    return done(`job.batch/${words[2]} created`);
  }

  if (verb === 'logs') {
    const [, name] = words[1].split('/');
    const logs = s.logs[`${ns}/${name}`];
    return logs === undefined ? fail(`error: error from server (NotFound): jobs.batch "${name}" not found`) : done(logs);
  }

  if (verb === 'exec') {
    const pod = words[1];
    const command = args.slice(args.indexOf('--') + 1);
    if (command[0] === 'bao' || (command[0] === 'sh' && (command[2] ?? '').includes('bao '))) {
      if (!find('Pod', pod, ns)) fail(`Error from server (NotFound): pods "${pod}" not found`);
      return baoIn(pod, command);
    }
    if (command[0] === 'psql') {
      const result = psql(ns!, command[command.indexOf('--command') + 1]);
      save();
      return done(result);
    }
    if (command[0] === 'cat') {
      const p = find('Pod', pod, ns) ?? fail(`Error from server (NotFound): pods "${pod}" not found`);
      const key = command[1].replace(/^\/secret\//, '');
      const secretName = p.spec.volumes.find((v: any) => v.secret)?.secret.secretName;
      const mounted = s.secrets[`${ns}/${secretName}`] ?? fail(`cat: can't open '${command[1]}': No such file or directory`);
      const delay = Number(env.STUB_KUBELET_DELAY ?? 0);
      const value = mounted.readsSinceChange < delay ? mounted.previous[key] : mounted.data[key];
      mounted.readsSinceChange++;
      save();
      if (value === undefined) fail(`cat: can't open '${command[1]}': No such file or directory`);
      a.raw(value);
      return true;
    }
    if (command[0] === 'amtool' || command[0] === 'wget') {
      if (!find('Pod', pod, ns)) fail(`Error from server (NotFound): pods "${pod}" not found`);
      return done(answerAlertmanager(command, stateDir, env, fail));
    }
    return fail(`OCI runtime exec failed: exec: "${command[0]}": executable file not found in $PATH`);
  }

  return false;
};
