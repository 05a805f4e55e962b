// Disaster-recovery checks behind .taskfiles/dr, run against a live cluster:
//   verify-backups        every VolSync backup on schedule and its restic repository reachable, the
//                         CloudNativePG object store archiving and its newest base backup on schedule,
//                         `restic check` of one repository (a different one each day)
//   test-cnpg-restore     a point-in-time restore of the shared cluster into a throwaway namespace from
//                         the documented recovery manifest: rows written before and after a target
//                         time, only the rows before it come back, recovery time measured
//   test-secret-rotation  a test 1Password item changed through op, its ExternalSecret forced to sync, a
//                         pod that mounts the Secret sees the new value within the limit
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { entryPoint, parseCommand } from '../src/lib/cli.ts';
import { UsageError, UserError } from '../src/lib/errors.ts';
import { query } from '../src/lib/exec.ts';
import { io, say } from '../src/lib/io.ts';
import { clusterFlag, repoRoot } from './lib/cluster.ts';
import { condition, connect, R, requireName, stamped, type Kube, type KubeObject } from './lib/kube.ts';
import { waitFor } from './lib/poll.ts';
import { editItem, getItem, withFieldValue } from './lib/op-item.ts';
import { listSnapshots, moverImage, repositoryFrom, runRestic } from './lib/restic-job.ts';
import { age, freshness, timeOf } from './lib/schedule.ts';
import { createRunner, formatDuration } from './lib/steps.ts';
import { table } from './lib/table.ts';

const COMMANDS = ['verify-backups', 'test-cnpg-restore', 'test-secret-rotation'] as const;

/** The recovery Cluster the CloudNativePG runbook documents; test-cnpg-restore instantiates it. */
export const RECOVERY_MANIFEST = 'kubernetes/apps/databases/cloudnative-pg/recovery/cluster.yaml';
const BARMAN_PLUGIN = 'barman-cloud.cloudnative-pg.io';
// renovate: datasource=docker depName=docker.io/library/alpine
const READER_IMAGE = 'docker.io/library/alpine:3.22';

const USAGE = `Usage: node --import tsx scripts/dr.ts <command> --cluster infra|apps [flags]

Commands:
  verify-backups        every ReplicationSource's last backup against its schedule, every restic repository
                        listed (restic snapshots, in a Job) with its newest snapshot, each CloudNativePG
                        cluster's WAL archiving, recovery window and newest base backup against its
                        ScheduledBackup, and restic check of one repository (--sample NS/APP, or the next
                        one in turn each day). Exit 1 when any check fails.
  test-cnpg-restore     write marker rows into the source cluster (--source, --namespace) before and after a
                        target time, restore the recovery manifest (--manifest, default ${RECOVERY_MANIFEST})
                        to that time in a throwaway namespace, compare the rows, measure the recovery time
                        against --rto minutes, delete the namespace (--keep leaves it)
  test-secret-rotation  give the 1Password item --item (field --field, vault --vault) a new random value
                        (--value-stdin reads it instead) with op item edit and a JSON template, force its
                        ExternalSecret in a throwaway namespace to sync, and wait until a pod that mounts the
                        Secret reads the new value (--within minutes)

--dry-run prints the plan and runs nothing.`;

const MINUTE = 60_000;

export { withFieldValue };

export const main = async (argv: string[]): Promise<void> => {
  const parsed = parseCommand(argv, COMMANDS, USAGE, {
    cluster: clusterFlag('the cluster to check'),
    sample: { type: 'string', description: 'verify-backups: the repository to restic check, as NAMESPACE/APP' },
    grace: { type: 'string', description: 'verify-backups: minutes a scheduled backup may take before it is late (60)' },
    image: { type: 'string', description: "verify-backups: image of the restic Jobs (default: the VolSync operator's); test-secret-rotation: the reader pod's" },
    manifest: { type: 'string', description: `test-cnpg-restore: the recovery Cluster manifest (${RECOVERY_MANIFEST})` },
    source: { type: 'string', description: 'test-cnpg-restore: the CloudNativePG cluster to write marker rows to (postgres)' },
    namespace: { type: 'string', description: "test-cnpg-restore: the source cluster's namespace (databases)" },
    rto: { type: 'string', description: 'test-cnpg-restore: the recovery time allowed, in minutes (30)' },
    item: { type: 'string', description: 'test-secret-rotation: the 1Password test item (onepassword-smoke-test)' },
    field: { type: 'string', description: 'test-secret-rotation: its field (message)' },
    vault: { type: 'string', description: 'test-secret-rotation: its vault (k8s-ops)' },
    'value-stdin': { type: 'boolean', description: 'test-secret-rotation: read the new value from stdin' },
    within: { type: 'string', description: 'test-secret-rotation: minutes the pod has to see the value (10)' },
    keep: { type: 'boolean', description: 'keep the throwaway namespace for inspection' },
    'dry-run': { type: 'boolean', description: 'print the plan and run nothing' },
  });
  if (!parsed) return;
  const { command, flags } = parsed;
  const cluster = flags.cluster!;
  const minutes = (name: 'grace' | 'rto' | 'within', fallback: number): number => {
    const v = flags[name] === undefined ? fallback : Number(flags[name]);
    if (!(v > 0)) throw new UsageError(`--${name} must be a number of minutes, not "${flags[name]}"`);
    return v * MINUTE;
  };
  if (command === 'verify-backups') return verifyBackups(cluster, { dryRun: flags['dry-run'], sample: flags.sample, graceMs: minutes('grace', 60), image: flags.image });
  if (command === 'test-cnpg-restore') {
    return testCnpgRestore(cluster, {
      dryRun: flags['dry-run'],
      manifest: resolve(repoRoot(), flags.manifest ?? RECOVERY_MANIFEST),
      source: requireName('source', flags.source ?? 'postgres'),
      namespace: requireName('namespace', flags.namespace ?? 'databases'),
      rtoMs: minutes('rto', 30),
      keep: flags.keep,
    });
  }
  return testSecretRotation(cluster, {
    dryRun: flags['dry-run'],
    item: flags.item ?? 'onepassword-smoke-test',
    field: flags.field ?? 'message',
    vault: flags.vault ?? 'k8s-ops',
    valueFromStdin: flags['value-stdin'],
    withinMs: minutes('within', 10),
    image: flags.image ?? READER_IMAGE,
    keep: flags.keep,
  });
};

// ---------------------------------------------------------------- verify-backups

interface Finding {
  check: string;
  target: string;
  ok: boolean;
  detail: string;
}

const verifyBackups = async (cluster: string, opts: { dryRun: boolean; sample?: string; graceMs: number; image?: string }): Promise<void> => {
  if (opts.sample !== undefined && !/^[a-z0-9-]+\/[a-z0-9-]+$/.test(opts.sample)) throw new UsageError(`--sample must be NAMESPACE/APP, not "${opts.sample}"`);
  const runner = createRunner({ title: `dr verify-backups ${cluster}`, dryRun: opts.dryRun, budgetMs: 60 * MINUTE });
  const findings: Finding[] = [];
  const note = (check: string, target: string, ok: boolean, detail: string) => findings.push({ check, target, ok, detail });
  let k: Kube | undefined;
  let sources: KubeObject[] = [];
  let image = opts.image ?? '';
  const now = () => io().now();
  const jobTimeout = 15 * MINUTE;

  runner.step(
    'schedules',
    async () => {
      sources = (await k!.list(R.replicationSource)).sort((a, b) => `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`));
      if (!sources.length) note('volsync backup', cluster, false, 'no ReplicationSource on the cluster: no volume is backed up');
      for (const rs of sources) {
        const target = `${rs.metadata.namespace}/${rs.metadata.name}`;
        const schedule = rs.spec?.trigger?.schedule;
        if (!schedule) {
          note('volsync backup', target, false, `no schedule (trigger ${JSON.stringify(rs.spec?.trigger ?? {})}): it is backed up only by hand`);
          continue;
        }
        if (rs.spec?.trigger?.manual) {
          note('volsync backup', target, false, `a manual trigger (${rs.spec.trigger.manual}) is set, so VolSync ignores the schedule: remove it`);
          continue;
        }
        const result = rs.status?.latestMoverStatus?.result;
        const f = freshness({ schedule, last: timeOf(rs.status?.lastSyncTime), created: timeOf(rs.metadata.creationTimestamp), now: now(), graceMs: opts.graceMs });
        note('volsync backup', target, f.ok && result !== 'Failed', result === 'Failed' ? `the last mover run failed; ${f.detail}` : f.detail);
      }
    },
    { describe: "every ReplicationSource: the last successful backup is not older than its schedule's latest run (plus the grace), the mover did not fail" },
  );
  runner.step(
    'repositories',
    async () => {
      if (sources.length && !image) image = await moverImage(k!);
      for (const rs of sources) {
        const target = `${rs.metadata.namespace}/${rs.metadata.name}`;
        const repo = repositoryFrom(String(rs.metadata.namespace), rs.metadata.name, rs.spec?.restic ?? {});
        try {
          const snapshots = await listSnapshots(k!, repo, { image, timeoutMs: jobTimeout, now: now() });
          const newest = snapshots[0] ? Date.parse(snapshots[0].time) : undefined;
          const schedule = rs.spec?.trigger?.schedule;
          const f = schedule ? freshness({ schedule, last: newest, created: timeOf(rs.metadata.creationTimestamp), now: now(), graceMs: opts.graceMs }) : undefined;
          note('restic repository', target, f ? f.ok : snapshots.length > 0, `${snapshots.length} snapshots; ${f ? f.detail : newest ? `newest ${age(now() - newest)} old` : 'none'}`);
        } catch (e) {
          if (!(e instanceof UserError)) throw e;
          note('restic repository', target, false, `not reachable: ${e.message}`);
        }
      }
    },
    { describe: 'every restic repository: restic snapshots in a Job with the app\'s Secret answers, and its newest snapshot is on schedule' },
  );
  runner.step(
    'cnpg',
    async () => {
      const clusters = (await k!.list(R.cnpgCluster)).filter((c) => (c.spec?.plugins ?? []).some((p: any) => p?.name === BARMAN_PLUGIN));
      if (!clusters.length) note('cnpg archiving', cluster, false, `no CloudNativePG Cluster archives through ${BARMAN_PLUGIN}`);
      for (const c of clusters) await verifyCnpg(k!, c, now(), opts.graceMs, note);
    },
    { describe: 'every CloudNativePG cluster with the Barman Cloud plugin: WAL archiving works, the ObjectStore has a recovery window, the newest base backup is on the ScheduledBackup\'s schedule' },
  );
  runner.step(
    'restic-check',
    async () => {
      if (!sources.length) return;
      const day = Math.floor(now() / (24 * 60 * MINUTE));
      const chosen = opts.sample
        ? sources.find((rs) => `${rs.metadata.namespace}/${rs.metadata.name}` === opts.sample)
        : sources[day % sources.length];
      if (!chosen) throw new UserError(`--sample ${opts.sample}: no such ReplicationSource on ${cluster}`);
      const target = `${chosen.metadata.namespace}/${chosen.metadata.name}`;
      try {
        const out = await runRestic(k!, repositoryFrom(String(chosen.metadata.namespace), chosen.metadata.name, chosen.spec?.restic ?? {}), ['check'], { image, timeoutMs: 60 * MINUTE, now: now() });
        note('restic check', target, /no errors were found/.test(out), out.trim().split('\n').pop() ?? '');
      } catch (e) {
        if (!(e instanceof UserError)) throw e;
        note('restic check', target, false, e.message);
      }
    },
    { describe: `restic check of one repository: --sample, or each day the next ReplicationSource in turn` },
  );

  if (opts.dryRun) return runner.run();
  k = await connect(cluster, { changes: true });
  await runner.run();
  say('', table([['CHECK', 'TARGET', 'RESULT', 'DETAIL'], ...findings.map((f) => [f.check, f.target, f.ok ? 'ok' : 'FAILED', f.detail])]));
  const failed = findings.filter((f) => !f.ok);
  if (failed.length) throw new UserError(`${failed.length} of ${findings.length} backup checks failed on ${cluster}`);
  say(`all ${findings.length} backup checks passed on ${cluster}`);
};

const verifyCnpg = async (k: Kube, c: KubeObject, now: number, graceMs: number, note: (check: string, target: string, ok: boolean, detail: string) => void): Promise<void> => {
  const ns = String(c.metadata.namespace);
  const target = `${ns}/${c.metadata.name}`;
  const plugin = (c.spec.plugins as any[]).find((p) => p?.name === BARMAN_PLUGIN);
  const storeName = plugin?.parameters?.barmanObjectName;
  const serverName = plugin?.parameters?.serverName ?? c.metadata.name;
  const archiving = condition(c, 'ContinuousArchiving');
  note('cnpg archiving', target, archiving?.status === 'True', archiving ? `${archiving.reason ?? archiving.status}${archiving.message ? `: ${archiving.message}` : ''}` : 'no ContinuousArchiving condition yet');
  const store = storeName ? await k.get(R.objectStore, storeName, ns) : undefined;
  // The plugin spells the field lastSuccussfulBackupTime; the right spelling is read too, should it be fixed.
  const window = store?.status?.serverRecoveryWindow?.[serverName];
  const lastInStore = window?.lastSuccussfulBackupTime ?? window?.lastSuccessfulBackupTime;
  note(
    'cnpg object store',
    `${ns}/${storeName ?? '(none)'}`,
    Boolean(window?.firstRecoverabilityPoint),
    !store ? `no ObjectStore ${storeName ?? '(barmanObjectName unset)'} in ${ns}` : window ? `server ${serverName}: recoverable from ${window.firstRecoverabilityPoint ?? '(unknown)'}, last backup ${lastInStore ?? '(unknown)'}` : `no recovery window for server ${serverName}: the plugin has not seen a backup in the store`,
  );
  const schedules = (await k.list(R.scheduledBackup, ns)).filter((s) => s.spec?.cluster?.name === c.metadata.name && !s.spec?.suspend);
  const backups = (await k.list(R.backup, ns)).filter((b) => b.spec?.cluster?.name === c.metadata.name && b.status?.phase === 'completed');
  const newest = Math.max(...backups.map((b) => timeOf(b.status?.stoppedAt) ?? 0), 0) || undefined;
  if (!schedules.length) {
    note('cnpg base backup', target, false, 'no active ScheduledBackup: base backups are taken only by hand');
    return;
  }
  for (const s of schedules) {
    const f = freshness({ schedule: String(s.spec.schedule), last: newest, created: timeOf(s.metadata.creationTimestamp), now, graceMs });
    note('cnpg base backup', `${target} (${s.metadata.name})`, f.ok, `${backups.length} completed; ${f.detail}`);
  }
};

// ---------------------------------------------------------------- test-cnpg-restore

const MARKER_TABLE = 'dr_restore_check';
const ROWS_BEFORE = 100;
const ROWS_AFTER = 50;

/** The recovery Cluster manifest with its namespace and target time set, and what it recovers from. */
export const recoveryPlan = (file: string, root: string, namespace: string, targetTime: string) => {
  const rel = relative(root, file) || file;
  if (!existsSync(file)) throw new UserError(`${rel} is missing: the recovery Cluster manifest of the CloudNativePG runbook (or pass --manifest)`);
  let docs: any[];
  try {
    docs = parseAllDocuments(readFileSync(file, 'utf8')).map((d) => {
      if (d.errors.length) throw d.errors[0];
      return d.toJS();
    });
  } catch (e) {
    throw new UserError(`${rel}: not YAML: ${(e as Error).message.split('\n')[0]}`);
  }
  docs = docs.filter((d) => d && typeof d === 'object');
  const clusters = docs.filter((d) => d.kind === 'Cluster' && String(d.apiVersion).startsWith('postgresql.cnpg.io/') && d.spec?.bootstrap?.recovery);
  if (clusters.length !== 1) throw new UserError(`${rel}: needs exactly one postgresql.cnpg.io Cluster with spec.bootstrap.recovery, found ${clusters.length}`);
  const cluster = clusters[0];
  if ((cluster.spec.plugins ?? []).some((p: any) => p?.isWALArchiver)) {
    throw new UserError(`${rel}: the recovery Cluster ${cluster.metadata?.name} archives WAL (spec.plugins isWALArchiver): a test restore must not write to the store`);
  }
  const sourceName = cluster.spec.bootstrap.recovery.source;
  const origin = (cluster.spec.externalClusters ?? []).find((e: any) => e?.name === sourceName);
  const params = origin?.plugin?.name === BARMAN_PLUGIN ? origin.plugin.parameters : undefined;
  if (!params?.barmanObjectName) throw new UserError(`${rel}: spec.bootstrap.recovery.source "${sourceName}" is not an externalClusters entry that recovers through ${BARMAN_PLUGIN} with a barmanObjectName`);
  for (const d of docs) d.metadata = { ...(d.metadata ?? {}), namespace };
  cluster.spec.bootstrap.recovery.recoveryTarget = { ...(cluster.spec.bootstrap.recovery.recoveryTarget ?? {}), targetTime };
  return { objects: docs, name: String(cluster.metadata.name), instances: Number(cluster.spec.instances ?? 1), objectStore: String(params.barmanObjectName), serverName: String(params.serverName ?? '') };
};

/** A copy of an object for another namespace: its name, labels and spec, nothing the server wrote. */
const copyInto = (o: KubeObject, namespace: string, name = o.metadata.name): KubeObject => {
  const { status, metadata, ...body } = o;
  return { ...body, metadata: { name, namespace, ...(metadata.labels ? { labels: metadata.labels } : {}) } };
};

/** The Secret names an ObjectStore reads: every secret key selector (name and key) in its configuration and sidecar. */
const secretsOf = (store: KubeObject): string[] => {
  const names = new Set<string>();
  const walk = (v: any) => {
    if (!v || typeof v !== 'object') return;
    if (typeof v.name === 'string' && typeof v.key === 'string') names.add(v.name);
    for (const child of Object.values(v)) walk(child);
  };
  walk(store.spec?.configuration);
  walk(store.spec?.instanceSidecarConfiguration);
  return [...names].sort();
};

/** The source cluster's network policy, for the restored one: its own label values and namespace. */
const policyFor = (policy: KubeObject, source: { name: string; namespace: string }, restored: { name: string; namespace: string }): KubeObject => {
  const rewrite = (v: any): any => {
    if (Array.isArray(v)) return v.map(rewrite);
    if (!v || typeof v !== 'object') return v;
    const out: any = Object.fromEntries(Object.entries(v).map(([key, child]) => [key, rewrite(child)]));
    if (out['cnpg.io/cluster'] === source.name) {
      out['cnpg.io/cluster'] = restored.name;
      if (out['io.kubernetes.pod.namespace'] === source.namespace) out['io.kubernetes.pod.namespace'] = restored.namespace;
    }
    return out;
  };
  return copyInto({ ...policy, spec: rewrite(policy.spec) }, restored.namespace, policy.metadata.name.replace(source.name, restored.name));
};

const healthy = (c: KubeObject | undefined, instances: number) => c?.status?.phase === 'Cluster in healthy state' && Number(c?.status?.readyInstances ?? 0) >= instances;

const testCnpgRestore = async (cluster: string, opts: { dryRun: boolean; manifest: string; source: string; namespace: string; rtoMs: number; keep: boolean }): Promise<void> => {
  const root = repoRoot();
  const now = () => io().now();
  const run_ = stamped('pitr', now()).replace('pitr-', 'r');
  const testNs = stamped('dr-pitr', now());
  const manifestRel = relative(root, opts.manifest) || opts.manifest;
  const runner = createRunner({ title: `dr test-cnpg-restore ${cluster}`, dryRun: opts.dryRun, budgetMs: 60 * MINUTE });
  let k: Kube | undefined;
  let primary = '';
  let target = '';
  let plan: ReturnType<typeof recoveryPlan> | undefined;
  let marked = false;
  let created = false;
  let recoveryStarted = 0;
  let rto = 0;
  const counts = { sourceBefore: 0, sourceAfter: 0, restored: 0 };
  const psql = async (namespace: string, pod: string, sql: string): Promise<string> =>
    (await k!.exec(namespace, pod, 'postgres', ['psql', '-X', '-v', 'ON_ERROR_STOP=1', '--no-align', '--tuples-only', '--dbname', 'postgres', '--command', sql])).trim();
  const count = async (namespace: string, pod: string, phase?: string) =>
    Number((await psql(namespace, pod, `SELECT count(*) FROM ${MARKER_TABLE} WHERE run = '${run_}'${phase ? ` AND phase = '${phase}'` : ''}`)).split('\n').pop());

  runner.step(
    'preflight',
    async () => {
      const source = await k!.get(R.cnpgCluster, opts.source, opts.namespace);
      if (!source) throw new UserError(`no CloudNativePG Cluster ${opts.namespace}/${opts.source} on ${cluster}`);
      if (!healthy(source, 1)) throw new UserError(`${opts.namespace}/${opts.source} is not healthy (${source.status?.phase ?? 'no phase'})`);
      const archiving = condition(source, 'ContinuousArchiving');
      if (archiving?.status !== 'True') throw new UserError(`${opts.namespace}/${opts.source} does not archive WAL (${archiving?.message ?? archiving?.reason ?? 'no ContinuousArchiving condition'})`);
      primary = String(source.status.currentPrimary);
      const backups = (await k!.list(R.backup, opts.namespace)).filter((b) => b.spec?.cluster?.name === opts.source && b.status?.phase === 'completed');
      if (!backups.length) throw new UserError(`${opts.namespace}/${opts.source} has no completed base backup to restore from: take one (kubectl cnpg backup ${opts.source} --method plugin --plugin-name ${BARMAN_PLUGIN})`);
      plan = recoveryPlan(opts.manifest, root, testNs, 'pending');
    },
    { describe: `${opts.namespace}/${opts.source} is healthy, archives WAL and has a completed base backup; ${manifestRel} holds one recovery Cluster that archives nothing` },
  );
  runner.step(
    'write-markers',
    async () => {
      await psql(opts.namespace, primary, `CREATE TABLE IF NOT EXISTS ${MARKER_TABLE} (run text NOT NULL, phase text NOT NULL, written_at timestamptz NOT NULL DEFAULT clock_timestamp())`);
      marked = true;
      await psql(opts.namespace, primary, `INSERT INTO ${MARKER_TABLE} (run, phase) SELECT '${run_}', 'before' FROM generate_series(1, ${ROWS_BEFORE})`);
      target = (await psql(opts.namespace, primary, `SET TIME ZONE 'UTC'; SELECT clock_timestamp()`)).split('\n').pop()!;
      await psql(opts.namespace, primary, `INSERT INTO ${MARKER_TABLE} (run, phase) SELECT '${run_}', 'after' FROM generate_series(1, ${ROWS_AFTER})`);
      // The segment holding the rows after the target must reach the store, or recovery cannot pass the target.
      const segment = (await psql(opts.namespace, primary, 'SELECT pg_walfile_name(pg_switch_wal())')).split('\n').pop()!;
      await waitFor(
        `WAL segment ${segment} of ${opts.namespace}/${opts.source} to be archived`,
        async () => (await psql(opts.namespace, primary, 'SELECT last_archived_wal FROM pg_stat_archiver')).split('\n').pop()! >= segment,
        10 * MINUTE,
      );
      counts.sourceBefore = await count(opts.namespace, primary, 'before');
      counts.sourceAfter = await count(opts.namespace, primary, 'after');
      say(`target time ${target}: ${counts.sourceBefore} rows before it, ${counts.sourceAfter} after it (run ${run_})`);
    },
    { describe: `in the primary of ${opts.namespace}/${opts.source}: ${ROWS_BEFORE} rows into ${MARKER_TABLE}, the target time, ${ROWS_AFTER} rows more, switch WAL and wait until it is archived` },
  );
  runner.step(
    'namespace',
    async () => {
      const store = await k!.get(R.objectStore, plan!.objectStore, opts.namespace);
      if (!store) throw new UserError(`no ObjectStore ${plan!.objectStore} in ${opts.namespace}, which ${manifestRel} recovers from`);
      const externalSecrets = await k!.list(R.externalSecret, opts.namespace);
      const copies: KubeObject[] = [];
      for (const secret of secretsOf(store)) {
        const es = externalSecrets.find((e) => (e.spec?.target?.name ?? e.metadata.name) === secret);
        if (!es) throw new UserError(`the Secret ${opts.namespace}/${secret} of ObjectStore ${plan!.objectStore} comes from no ExternalSecret: copy it into the test namespace by hand`);
        copies.push(copyInto(es, testNs));
      }
      const policies = (await k!.list(R.ciliumNetworkPolicy, opts.namespace)).filter((p) => p.spec?.endpointSelector?.matchLabels?.['cnpg.io/cluster'] === opts.source);
      const { retentionPolicy, ...storeSpec } = store.spec ?? {};
      // Tier 1: the instance manager talks to the API server (the cluster-wide allow-kube-apiserver).
      await k!.apply([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: testNs, labels: { 'monosense.dev/tier': '1', 'monosense.dev/dr-test': 'cnpg-restore' } } }]);
      created = true;
      await k!.apply([
        ...copies,
        // No retention in the copy: nothing in the test namespace may delete backups.
        { ...copyInto(store, testNs), spec: storeSpec },
        ...policies.map((p) => policyFor(p, { name: opts.source, namespace: opts.namespace }, { name: plan!.name, namespace: testNs })),
      ]);
      for (const es of copies) {
        await k!.waitUntil(`ExternalSecret ${testNs}/${es.metadata.name} to sync`, R.externalSecret, es.metadata.name, testNs, (o) => condition(o, 'Ready')?.status === 'True', 5 * MINUTE);
      }
    },
    { describe: `namespace ${testNs} (tier 1) with copies of the ObjectStore (without retention), the ExternalSecrets of its credentials and the source's network policy, relabelled` },
  );
  runner.step(
    'recover',
    async () => {
      const restore = recoveryPlan(opts.manifest, root, testNs, target);
      recoveryStarted = now();
      await k!.apply(restore.objects);
      let last: KubeObject | undefined;
      try {
        await waitFor(`the recovery Cluster ${testNs}/${restore.name} to be healthy`, async () => healthy((last = await k!.get(R.cnpgCluster, restore.name, testNs)), restore.instances), opts.rtoMs);
      } catch (e) {
        throw new UserError(`${(e as Error).message} (last phase: ${last?.status?.phase ?? 'none'}; kubectl --context ${cluster} -n ${testNs} get pods,jobs)`);
      }
    },
    { describe: `apply ${manifestRel} into ${testNs} with recoveryTarget.targetTime set to the target, and wait until the Cluster is healthy (at most the RTO)` },
  );
  runner.step(
    'compare',
    async () => {
      const restored = await k!.get(R.cnpgCluster, plan!.name, testNs);
      const pod = String(restored?.status?.currentPrimary ?? `${plan!.name}-1`);
      counts.restored = await count(testNs, pod);
      rto = now() - recoveryStarted;
      if (counts.restored !== counts.sourceBefore) {
        throw new UserError(`the restore holds ${counts.restored} marker rows, expected the ${counts.sourceBefore} written before ${target} (${counts.sourceAfter} were written after it)`);
      }
    },
    { describe: `count the run's marker rows in the restored primary: exactly those written before the target; the recovery time is measured from the apply to here` },
  );

  if (opts.dryRun) {
    await runner.run();
    return say(`Afterwards: the marker rows are deleted from ${opts.namespace}/${opts.source} and ${testNs} is deleted${opts.keep ? ' (kept: --keep)' : ''}.`);
  }
  k = await connect(cluster, { changes: true });
  try {
    await runner.run();
  } finally {
    if (marked && primary) await psql(opts.namespace, primary, `DELETE FROM ${MARKER_TABLE} WHERE run = '${run_}'`).catch(() => io().err(`could not delete the marker rows of run ${run_} from ${opts.namespace}/${opts.source}\n`));
    if (created && !opts.keep) await k.remove(R.namespace, testNs);
    if (created && opts.keep) io().err(`kept namespace ${testNs}: kubectl --context ${cluster} delete namespace ${testNs} when done\n`);
  }
  say(
    '',
    table([
      ['TARGET TIME', 'ROWS BEFORE', 'ROWS AFTER', 'RESTORED', 'RTO', 'BUDGET'],
      [target, String(counts.sourceBefore), String(counts.sourceAfter), String(counts.restored), formatDuration(rto), formatDuration(opts.rtoMs)],
    ]),
  );
  if (rto > opts.rtoMs) throw new UserError(`the restore took ${formatDuration(rto)}, over the ${formatDuration(opts.rtoMs)} recovery time objective`);
  say(`point-in-time restore of ${opts.namespace}/${opts.source} verified in ${formatDuration(rto)}`);
};

// ---------------------------------------------------------------- test-secret-rotation

const READER = 'rotation-reader';
const TEST_SECRET = 'rotation-test';

const rotationFixture = (namespace: string, item: string, field: string, image: string): KubeObject[] => [
  {
    apiVersion: 'external-secrets.io/v1',
    kind: 'ExternalSecret',
    metadata: { name: TEST_SECRET, namespace },
    spec: {
      refreshInterval: '5m',
      secretStoreRef: { kind: 'ClusterSecretStore', name: 'onepassword' },
      target: { name: TEST_SECRET },
      data: [{ secretKey: field, remoteRef: { key: item, property: field } }],
    },
  },
  {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: READER, namespace, labels: { 'app.kubernetes.io/name': READER } },
    spec: {
      automountServiceAccountToken: false,
      activeDeadlineSeconds: 3600,
      securityContext: { runAsNonRoot: true, runAsUser: 65534, runAsGroup: 65534, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [
        {
          name: READER,
          image,
          command: ['sleep', '3600'],
          resources: { requests: { cpu: '5m', memory: '8Mi' }, limits: { memory: '32Mi' } },
          securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
          // A mounted Secret follows its changes (an environment variable would need a restart).
          volumeMounts: [{ name: 'secret', mountPath: '/secret', readOnly: true }],
        },
      ],
      volumes: [{ name: 'secret', secret: { secretName: TEST_SECRET } }],
    },
  },
];

const testSecretRotation = async (
  cluster: string,
  opts: { dryRun: boolean; item: string; field: string; vault: string; valueFromStdin: boolean; withinMs: number; image: string; keep: boolean },
): Promise<void> => {
  const now = () => io().now();
  const testNs = stamped('dr-secret-rotation', now());
  const runner = createRunner({ title: `dr test-secret-rotation ${cluster}`, dryRun: opts.dryRun, budgetMs: opts.withinMs + 10 * MINUTE });
  let k: Kube | undefined;
  let created = false;
  let value = '';
  let changedAt = 0;
  const read = async () => k!.exec(testNs, READER, READER, ['cat', `/secret/${opts.field}`]);

  runner.step(
    'fixture',
    async () => {
      await k!.apply([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: testNs, labels: { 'monosense.dev/dr-test': 'secret-rotation' } } }]);
      created = true;
      await k!.apply(rotationFixture(testNs, opts.item, opts.field, opts.image));
      await k!.waitUntil(`ExternalSecret ${testNs}/${TEST_SECRET} to sync`, R.externalSecret, TEST_SECRET, testNs, (o) => condition(o, 'Ready')?.status === 'True', 5 * MINUTE);
      await k!.waitUntil(`pod ${testNs}/${READER} to be ready`, R.pod, READER, testNs, (o) => condition(o, 'Ready')?.status === 'True', 5 * MINUTE);
      await read();
    },
    { describe: `namespace ${testNs}: ExternalSecret ${TEST_SECRET} from ${opts.vault}/${opts.item} field ${opts.field}, pod ${READER} mounting its Secret; both ready, the pod reads the field` },
  );
  runner.step(
    'rotate',
    async () => {
      const current = await getItem(opts.item, opts.vault);
      const edited = withFieldValue(current, opts.field, value, opts.item);
      changedAt = now();
      await editItem(opts.item, opts.vault, edited);
    },
    { describe: `op item edit ${opts.item} --vault ${opts.vault} --template <file>: field ${opts.field} gets ${opts.valueFromStdin ? 'the value read from stdin' : 'a new random value'}` },
  );
  runner.step(
    'force-sync',
    async () => {
      await k!.kubectl(['annotate', R.externalSecret, TEST_SECRET, '--namespace', testNs, `force-sync=${Math.floor(now() / 1000)}`, '--overwrite']);
    },
    { describe: `annotate the ExternalSecret with force-sync=<now>: External Secrets fetches the item again` },
  );
  runner.step(
    'observe',
    async () => {
      const left = Math.max(opts.withinMs - (now() - changedAt), 1);
      await waitFor(`pod ${testNs}/${READER} to read the new value of ${opts.item}/${opts.field} (limit ${formatDuration(opts.withinMs)} after the change)`, async () => (await read()) === value, left);
      say(`the pod read the new value ${formatDuration(now() - changedAt)} after the change in 1Password (limit ${formatDuration(opts.withinMs)})`);
    },
    { describe: `read /secret/${opts.field} in the pod until it is the new value, within ${formatDuration(opts.withinMs)} of the change` },
  );

  if (opts.dryRun) {
    await runner.run();
    return say(`Afterwards ${testNs} is deleted${opts.keep ? ' (kept: --keep)' : ''}.`);
  }
  const k8s = await connect(cluster, { changes: true, clis: ['kubectl', 'op'] });
  if (!(await query('op', ['whoami'])).ok) throw new UserError('sign in to 1Password first: eval $(op signin)');
  if (opts.valueFromStdin) {
    value = await io().readLine(`New value for ${opts.item}/${opts.field}: `);
    if (!value) throw new UserError('no value on stdin: nothing was changed');
  } else {
    value = `rotation-test-${randomBytes(12).toString('hex')}`;
  }
  k = k8s;
  try {
    await runner.run();
  } finally {
    if (created && !opts.keep) await k8s.remove(R.namespace, testNs);
    if (created && opts.keep) io().err(`kept namespace ${testNs}: kubectl --context ${cluster} delete namespace ${testNs} when done\n`);
  }
};

entryPoint(import.meta.url, main, 'dr: ');
