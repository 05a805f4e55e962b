// scripts/dr.ts (behind .taskfiles/dr) against recording fakes of kubectl and op that answer like a cluster
// running VolSync, CloudNativePG with the Barman Cloud plugin and External Secrets (tests/fakes/cluster-state.ts).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { RECOVERY_MANIFEST, withFieldValue } from '../scripts/dr.ts';
import { dueSince, freshness } from '../scripts/lib/schedule.ts';
import { createStubs, show, type Call } from './cli-stubs.ts';
import { opItem, readCluster, seedCluster, snapshotAt, type ClusterState, type Obj } from './fakes/cluster-state.ts';
import { ROOT } from './helpers.ts';

const test = suite('dr tasks script');
const SCRIPT = 'scripts/dr.ts';
const HOUR = 3_600_000;
const IMAGE = 'quay.io/backube/volsync:0.14.0';

let stubs: ReturnType<typeof createStubs>;
test.before.each(() => {
  stubs = createStubs();
});
test.after.each(() => stubs.cleanup());

const ago = (ms: number) => new Date(Date.now() - ms).toISOString();
const lastLine = (text: string) => text.trimEnd().split('\n').pop() ?? '';
const state = () => readCluster(stubs.state);
const applied = (calls: Call[]) => calls.filter((c) => c.stdin).flatMap((c) => parseAllDocuments(c.stdin!).map((d) => d.toJS()));
const CHANGES = ['patch', 'scale', 'apply', 'delete', 'annotate', 'exec'];
const changes = (calls: Call[]) => calls.filter((c) => (c.tool === 'op' && c.args.includes('edit')) || (c.tool === 'kubectl' && c.args.some((a) => CHANGES.includes(a)))).map(show);

/** A running infra cluster, the operator's shell pointed at `context`. */
const running = (seed: Partial<ClusterState>, context = 'infra') => {
  writeFileSync(stubs.kubeconfig, 'apiVersion: v1\nkind: Config\n');
  seedCluster(stubs.state, seed);
  return { STUB_CONTEXTS: 'infra,apps', STUB_CONTEXT: context };
};

// ---------------------------------------------------------------- what the clusters run

const volsyncOperator: Obj = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'volsync', namespace: 'volsync-system', labels: { 'app.kubernetes.io/name': 'volsync' } },
  spec: { template: { spec: { containers: [{ name: 'manager', image: IMAGE }] } } },
};

const source = (app: string, namespace: string, lastSync: string, result = 'Successful'): Obj => ({
  apiVersion: 'volsync.backube/v1alpha1',
  kind: 'ReplicationSource',
  metadata: { name: app, namespace },
  spec: {
    sourcePVC: app,
    trigger: { schedule: '0 */8 * * *' },
    restic: { repository: `${app}-volsync-secret`, moverPodLabels: { 'app.kubernetes.io/instance': app, 'app.kubernetes.io/component': 'volsync' }, moverSecurityContext: { runAsUser: 1000 } },
  },
  status: { lastSyncTime: lastSync, latestMoverStatus: { result } },
});

/** The shared cluster's manifests from this repository, in databases, as the API server holds them. */
const repoManifests = (file: string): Obj[] =>
  parseAllDocuments(readFileSync(join(ROOT, 'kubernetes/apps/databases/cloudnative-pg/cluster', file), 'utf8'))
    .map((d) => d.toJS())
    .map((o) => ({ ...o, metadata: { ...o.metadata, namespace: 'databases' } }));

const postgres = (archiving = 'True'): Obj[] => {
  const [cluster] = repoManifests('cluster.yaml');
  const [store] = repoManifests('objectstore.yaml');
  const [schedule] = repoManifests('scheduledbackup.yaml');
  return [
    {
      ...cluster,
      status: {
        phase: 'Cluster in healthy state',
        instances: 3,
        readyInstances: 3,
        currentPrimary: 'postgres-1',
        conditions: [{ type: 'ContinuousArchiving', status: archiving, reason: archiving === 'True' ? 'ContinuousArchivingSuccess' : 'ContinuousArchivingFailing', message: archiving === 'True' ? '' : 'unexpected failure invoking barman-cloud-wal-archive: exit status 4' }],
      },
    },
    { ...store, status: { serverRecoveryWindow: { postgres: { firstRecoverabilityPoint: ago(29 * 24 * HOUR), lastSuccussfulBackupTime: ago(HOUR) } } } },
    schedule,
    ...repoManifests('externalsecret.yaml'),
    ...repoManifests('ciliumnetworkpolicy.yaml'),
    { apiVersion: 'postgresql.cnpg.io/v1', kind: 'Backup', metadata: { name: 'postgres-daily-1', namespace: 'databases' }, spec: { cluster: { name: 'postgres' }, method: 'plugin' }, status: { phase: 'completed', stoppedAt: ago(HOUR) } },
  ];
};

const repos = (...keys: string[]) => Object.fromEntries(keys.map((k) => [k, { snapshots: [snapshotAt(ago(HOUR)), snapshotAt(ago(9 * HOUR))] }]));

/** The findings table's rows: check, target, result. */
const findings = (stdout: string) =>
  stdout
    .split('\n')
    .filter((l) => / (ok|FAILED) /.test(l))
    .map((l) => l.split(/\s{2,}/).slice(0, 3).join(' | '));

// ---------------------------------------------------------------- verify-backups

test('a backup is due from the newest scheduled time that is the grace period in the past, five or six cron fields', () => {
  const at = Date.parse('2026-03-10T09:30:00Z');
  assert.is(new Date(dueSince('0 */8 * * *', at, HOUR)).toISOString(), '2026-03-10T08:00:00.000Z');
  assert.is(new Date(dueSince('0 */8 * * *', Date.parse('2026-03-10T08:45:00Z'), HOUR)).toISOString(), '2026-03-10T00:00:00.000Z');
  assert.is(new Date(dueSince('0 0 3 * * *', at, HOUR)).toISOString(), '2026-03-10T03:00:00.000Z');
  assert.is(freshness({ schedule: '0 */8 * * *', last: Date.parse('2026-03-10T08:01:00Z'), now: at, graceMs: HOUR }).ok, true);
  assert.equal(freshness({ schedule: '0 */8 * * *', last: Date.parse('2026-03-10T07:59:00Z'), now: at, graceMs: HOUR }), {
    ok: false,
    detail: 'newest 1h31m old, older than the run due since 2026-03-10T08:00:00.000Z (0 */8 * * *)',
  });
  assert.is(freshness({ schedule: '0 */8 * * *', last: undefined, created: Date.parse('2026-03-10T08:10:00Z'), now: at, graceMs: HOUR }).ok, true);
  assert.throws(() => dueSince('every day', at), /schedule "every day" is not a cron expression/);
});

test('verify-backups: every backup on schedule, every repository listed, archiving and base backups fine, one repository checked', async () => {
  const env = running({
    objects: [volsyncOperator, source('gatus', 'observability', ago(HOUR / 2)), source('n8n', 'business', ago(HOUR / 2)), ...postgres()],
    repos: repos('observability/gatus-volsync-secret', 'business/n8n-volsync-secret'),
  });
  const r = await stubs.runScript(SCRIPT, ['verify-backups', '--cluster', 'infra', '--sample', 'observability/gatus'], env);
  assert.is(r.code, 0, r.stderr + r.stdout);
  assert.equal(findings(r.stdout), [
    'volsync backup | business/n8n | ok',
    'volsync backup | observability/gatus | ok',
    'restic repository | business/n8n | ok',
    'restic repository | observability/gatus | ok',
    'cnpg archiving | databases/postgres | ok',
    'cnpg object store | databases/postgres-r2 | ok',
    'cnpg base backup | databases/postgres (postgres-daily) | ok',
    'restic check | observability/gatus | ok',
  ]);
  assert.match(r.stdout, /restic repository +observability\/gatus +ok +2 snapshots; newest 1h00m old/);
  assert.match(lastLine(r.stdout), /^all 8 backup checks passed on infra$/);
  const jobs = applied(stubs.calls()).filter((o) => o.kind === 'Job');
  assert.equal(
    jobs.map((j) => `${j.metadata.namespace} ${j.spec.template.spec.containers[0].command.join(' ')} ${j.spec.template.spec.containers[0].image}`),
    [`business restic snapshots --json ${IMAGE}`, `observability restic snapshots --json ${IMAGE}`, `observability restic check ${IMAGE}`],
  );
  assert.not.ok(state().objects.some((o) => o.kind === 'Job'), 'every Job is deleted');
});

test('verify-backups fails on a late backup, an unreachable repository, a damaged one, failing WAL archiving', async () => {
  const seeded: ClusterState['repos'] = repos('observability/gatus-volsync-secret');
  seeded['observability/gatus-volsync-secret'].damaged = true;
  const env = running({
    objects: [volsyncOperator, source('gatus', 'observability', ago(3 * 24 * HOUR)), source('n8n', 'business', ago(HOUR / 2)), ...postgres('False')],
    repos: seeded,
  });
  const r = await stubs.runScript(SCRIPT, ['verify-backups', '--cluster', 'infra', '--sample', 'observability/gatus'], env);
  assert.is(r.code, 1, r.stdout);
  assert.equal(findings(r.stdout), [
    'volsync backup | business/n8n | ok',
    'volsync backup | observability/gatus | FAILED',
    'restic repository | business/n8n | FAILED',
    'restic repository | observability/gatus | ok',
    'cnpg archiving | databases/postgres | FAILED',
    'cnpg object store | databases/postgres-r2 | ok',
    'cnpg base backup | databases/postgres (postgres-daily) | ok',
    'restic check | observability/gatus | FAILED',
  ]);
  assert.match(r.stdout, /volsync backup +observability\/gatus +FAILED +newest 3d0h old, older than the run due since \S+ \(0 \*\/8 \* \* \*\)/);
  assert.match(r.stdout, /restic repository +business\/n8n +FAILED +not reachable: restic snapshots --json failed for business\/n8n: .*Is there a repository/);
  assert.match(r.stdout, /cnpg archiving +databases\/postgres +FAILED +ContinuousArchivingFailing: unexpected failure invoking barman-cloud-wal-archive/);
  assert.match(r.stdout, /restic check +observability\/gatus +FAILED +restic check failed for observability\/gatus: .*Fatal: repository contains errors/);
  assert.is(lastLine(r.stderr), 'dr: 4 of 8 backup checks failed on infra');
});

test('verify-backups with nothing backed up fails, and a missing base-backup schedule is a failure', async () => {
  const [cluster, store] = postgres();
  const r = await stubs.runScript(SCRIPT, ['verify-backups', '--cluster', 'infra'], running({ objects: [cluster, store] }));
  assert.is(r.code, 1);
  assert.match(r.stdout, /volsync backup +infra +FAILED +no ReplicationSource on the cluster: no volume is backed up/);
  assert.match(r.stdout, /cnpg base backup +databases\/postgres +FAILED +no active ScheduledBackup: base backups are taken only by hand/);
  assert.is(lastLine(r.stderr), 'dr: 2 of 4 backup checks failed on infra');
});

test('verify-backups checks a different repository each day when no sample is named', async () => {
  const env = running({
    objects: [volsyncOperator, source('a', 'apps-a', ago(HOUR / 2)), source('b', 'apps-b', ago(HOUR / 2)), source('c', 'apps-c', ago(HOUR / 2)), ...postgres()],
    repos: repos('apps-a/a-volsync-secret', 'apps-b/b-volsync-secret', 'apps-c/c-volsync-secret'),
  });
  const r = await stubs.runScript(SCRIPT, ['verify-backups', '--cluster', 'infra'], env);
  assert.is(r.code, 0, r.stderr + r.stdout);
  const checks = applied(stubs.calls()).filter((o) => o.kind === 'Job' && o.spec.template.spec.containers[0].command[1] === 'check');
  const day = Math.floor(Date.now() / (24 * HOUR));
  assert.equal(checks.map((j) => j.metadata.namespace), [['apps-a', 'apps-b', 'apps-c'][day % 3]]);
});

// ---------------------------------------------------------------- test-cnpg-restore

const RECOVERY = `# the runbook's recovery Cluster
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: postgres-pitr
spec:
  instances: 1
  imageName: ghcr.io/cloudnative-pg/postgresql:18.1-standard-trixie
  storage:
    size: 20Gi
    storageClass: openebs-hostpath
  bootstrap:
    recovery:
      source: origin
      recoveryTarget:
        targetTime: "2026-01-31 09:59:00+00"
  externalClusters:
    - name: origin
      plugin:
        name: barman-cloud.cloudnative-pg.io
        parameters:
          barmanObjectName: postgres-r2
          serverName: postgres
`;

const withManifest = (text = RECOVERY) => {
  const file = join(stubs.repo, RECOVERY_MANIFEST);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
};

const psqlCalls = (calls: Call[]) => calls.filter((c) => c.args.includes('psql')).map((c) => `${c.args[c.args.indexOf('--namespace') + 1]} ${c.args[c.args.length - 1]}`);

test('test-cnpg-restore: rows before and after a target, a restore to it in a throwaway namespace brings back exactly the rows before', async () => {
  withManifest();
  const r = await stubs.runScript(SCRIPT, ['test-cnpg-restore', '--cluster', 'infra'], running({ objects: postgres() }));
  assert.is(r.code, 0, r.stderr + r.stdout);
  const calls = stubs.calls();
  const objects = applied(calls);
  const [namespace] = objects;
  assert.equal(namespace.kind, 'Namespace');
  const ns = namespace.metadata.name as string;
  assert.match(ns, /^dr-pitr-\d{8}-\d{6}$/);
  assert.equal(namespace.metadata.labels, { 'monosense.dev/tier': '1', 'monosense.dev/dr-test': 'cnpg-restore' });
  const byKind = Object.fromEntries(objects.slice(1).map((o) => [`${o.kind}/${o.metadata.name}`, o]));
  assert.equal(Object.keys(byKind).sort(), ['CiliumNetworkPolicy/postgres-pitr', 'Cluster/postgres-pitr', 'ExternalSecret/postgres-r2-secret', 'ObjectStore/postgres-r2']);
  assert.is(byKind['ObjectStore/postgres-r2'].metadata.namespace, ns);
  assert.is(byKind['ObjectStore/postgres-r2'].spec.retentionPolicy, undefined, 'no retention in the copy');
  assert.is(byKind['ObjectStore/postgres-r2'].spec.configuration.destinationPath, 's3://k8s-ops-cnpg-${CLUSTER_NAME}/');
  const policy = byKind['CiliumNetworkPolicy/postgres-pitr'];
  assert.equal(policy.spec.endpointSelector.matchLabels, { 'cnpg.io/cluster': 'postgres-pitr' });
  assert.equal(policy.spec.ingress[2].fromEndpoints[0].matchLabels, { 'io.kubernetes.pod.namespace': ns, 'cnpg.io/cluster': 'postgres-pitr' });
  assert.equal(policy.spec.ingress[1].fromEndpoints[0].matchLabels, { 'io.kubernetes.pod.namespace': 'databases', 'app.kubernetes.io/name': 'cloudnative-pg' });
  const recovery = byKind['Cluster/postgres-pitr'];
  const target = recovery.spec.bootstrap.recovery.recoveryTarget.targetTime;
  assert.match(target, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{6}\+00$/);
  const sql = psqlCalls(calls);
  const run = /run = '(r\d{8}-\d{6})'/.exec(sql.join('\n'))![1];
  assert.equal(sql, [
    'databases CREATE TABLE IF NOT EXISTS dr_restore_check (run text NOT NULL, phase text NOT NULL, written_at timestamptz NOT NULL DEFAULT clock_timestamp())',
    `databases INSERT INTO dr_restore_check (run, phase) SELECT '${run}', 'before' FROM generate_series(1, 100)`,
    "databases SET TIME ZONE 'UTC'; SELECT clock_timestamp()",
    `databases INSERT INTO dr_restore_check (run, phase) SELECT '${run}', 'after' FROM generate_series(1, 50)`,
    'databases SELECT pg_walfile_name(pg_switch_wal())',
    'databases SELECT last_archived_wal FROM pg_stat_archiver',
    `databases SELECT count(*) FROM dr_restore_check WHERE run = '${run}' AND phase = 'before'`,
    `databases SELECT count(*) FROM dr_restore_check WHERE run = '${run}' AND phase = 'after'`,
    `${ns} SELECT count(*) FROM dr_restore_check WHERE run = '${run}'`,
    `databases DELETE FROM dr_restore_check WHERE run = '${run}'`,
  ]);
  assert.match(r.stdout, new RegExp(`${target.replace(/[.+]/g, '\\$&')} +100 +50 +100 +\\S+ +30m00s`));
  assert.match(lastLine(r.stdout), /^point-in-time restore of databases\/postgres verified in \S+$/);
  const s = state();
  assert.not.ok(s.objects.some((o) => o.metadata.namespace === ns || o.metadata.name === ns), 'the throwaway namespace is deleted');
  assert.equal(s.databases.databases, {}, 'the marker rows are deleted from the source');
});

test('test-cnpg-restore fails when the restore holds rows written after the target', async () => {
  withManifest();
  const r = await stubs.runScript(SCRIPT, ['test-cnpg-restore', '--cluster', 'infra'], { ...running({ objects: postgres() }), STUB_PITR_IGNORES_TARGET: '1' });
  assert.is(r.code, 1);
  assert.match(lastLine(r.stderr), /^dr: step compare failed: the restore holds 150 marker rows, expected the 100 written before \S+ \S+ \(50 were written after it\)$/);
  assert.not.ok(state().objects.some((o) => o.kind === 'Namespace' && o.metadata.name.startsWith('dr-pitr-')));
});

test('test-cnpg-restore times out by the RTO when the recovery never gets healthy, and still cleans up', async () => {
  withManifest();
  const r = await stubs.runScript(SCRIPT, ['test-cnpg-restore', '--cluster', 'infra'], { ...running({ objects: postgres() }), STUB_CNPG_STALLED: '1' });
  assert.is(r.code, 1);
  assert.match(lastLine(r.stderr), /^dr: step recover failed: timed out after 5\.0s waiting for the recovery Cluster dr-pitr-\d{8}-\d{6}\/postgres-pitr to be healthy \(last phase: Setting up primary; kubectl --context infra -n dr-pitr-\S+ get pods,jobs\)$/);
  const s = state();
  assert.not.ok(s.objects.some((o) => o.kind === 'Namespace' && o.metadata.name.startsWith('dr-pitr-')));
  assert.equal(s.databases.databases, {});
});

test('test-cnpg-restore waits for the WAL to be archived, and times out clearly when it is not', async () => {
  withManifest();
  const r = await stubs.runScript(SCRIPT, ['test-cnpg-restore', '--cluster', 'infra'], { ...running({ objects: postgres() }), STUB_WAL_STUCK: '1' });
  assert.is(r.code, 1);
  assert.is(lastLine(r.stderr), 'dr: step write-markers failed: timed out after 5.0s waiting for WAL segment 000000010000000000000007 of databases/postgres to be archived');
  assert.not.ok(applied(stubs.calls()).length, 'no namespace was created');
  assert.equal(state().databases.databases, {});
});

test('test-cnpg-restore refuses a missing manifest or one that would archive into the store, before writing anything', async () => {
  const missing = await stubs.runScript(SCRIPT, ['test-cnpg-restore', '--cluster', 'infra'], running({ objects: postgres() }));
  assert.is(missing.code, 1);
  assert.is(lastLine(missing.stderr), `dr: step preflight failed: ${RECOVERY_MANIFEST} is missing: the recovery Cluster manifest of the CloudNativePG runbook (or pass --manifest)`);
  withManifest(RECOVERY.replace('  externalClusters:', '  plugins:\n    - name: barman-cloud.cloudnative-pg.io\n      isWALArchiver: true\n  externalClusters:'));
  const archiving = await stubs.runScript(SCRIPT, ['test-cnpg-restore', '--cluster', 'infra'], running({ objects: postgres() }));
  assert.is(archiving.code, 1);
  assert.is(lastLine(archiving.stderr), `dr: step preflight failed: ${RECOVERY_MANIFEST}: the recovery Cluster postgres-pitr archives WAL (spec.plugins isWALArchiver): a test restore must not write to the store`);
  assert.equal(changes(stubs.calls()), []);
});

// ---------------------------------------------------------------- test-secret-rotation

test('the item template changes one field and keeps the rest; an unknown field is named', () => {
  const item = opItem('onepassword-smoke-test', { message: 'old', other: 'kept' });
  const edited = JSON.parse(withFieldValue(JSON.stringify(item), 'message', 'new', 'onepassword-smoke-test'));
  assert.equal(edited.fields.map((f: any) => [f.label, f.value]), [['message', 'new'], ['other', 'kept']]);
  assert.is(edited.id, item.id);
  assert.throws(() => withFieldValue(JSON.stringify(item), 'nope', 'x', 'onepassword-smoke-test'), /1Password item onepassword-smoke-test has no field nope \(it has message, other\)/);
});

const smokeItem = () => ({ 'onepassword-smoke-test': opItem('onepassword-smoke-test', { message: 'hello from 1Password' }) });

test('test-secret-rotation: op item edit from a template file, force-sync, the pod reads the new value', async () => {
  const r = await stubs.runScript(SCRIPT, ['test-secret-rotation', '--cluster', 'infra'], { ...running({ items: smokeItem() }), STUB_KUBELET_DELAY: '2', K8S_OPS_TIMEOUT_SECONDS: '600' });
  assert.is(r.code, 0, r.stderr + r.stdout);
  const calls = stubs.calls();
  const value = state().items['onepassword-smoke-test'].fields[0].value as string;
  assert.match(value, /^rotation-test-[0-9a-f]{24}$/);
  assert.not.ok(calls.some((c) => JSON.stringify(c).includes(value)), 'the new value is on no command line and in no stdin');
  const [namespace, es, pod] = applied(calls);
  const ns = namespace.metadata.name as string;
  assert.match(ns, /^dr-secret-rotation-\d{8}-\d{6}$/);
  assert.equal(es.spec.data, [{ secretKey: 'message', remoteRef: { key: 'onepassword-smoke-test', property: 'message' } }]);
  assert.equal(pod.spec.volumes, [{ name: 'secret', secret: { secretName: 'rotation-test' } }]);
  const story = calls.filter((c) => c.tool === 'op' || c.args.includes('annotate') || c.args.includes('cat')).map((c) => (c.tool === 'op' ? `op ${c.args.slice(0, 2).join(' ')}` : c.args.includes('annotate') ? 'force-sync' : 'read'));
  assert.equal(story, ['op whoami', 'read', 'op item get', 'op item edit', 'force-sync', 'read', 'read', 'read']);
  const edit = calls.find((c) => c.args.includes('edit'))!;
  assert.match(show(edit), /^op item edit onepassword-smoke-test --vault k8s-ops --template \/\S+\/item\.json$/);
  assert.match(r.stdout, /the pod read the new value \S+ after the change in 1Password \(limit 10m00s\)/);
  assert.not.ok(state().objects.some((o) => o.metadata.namespace === ns || o.metadata.name === ns), 'the throwaway namespace is deleted');
});

test('test-secret-rotation takes the value from stdin, never from the command line', async () => {
  const r = await stubs.runScript(SCRIPT, ['test-secret-rotation', '--cluster', 'infra', '--value-stdin'], running({ items: smokeItem() }), 's3cr3t-typed-value\n');
  assert.is(r.code, 0, r.stderr + r.stdout);
  assert.is(state().items['onepassword-smoke-test'].fields[0].value, 's3cr3t-typed-value');
  assert.not.ok(stubs.calls().some((c) => JSON.stringify(c).includes('s3cr3t')));
  assert.not.ok(r.stdout.includes('s3cr3t') || r.stderr.includes('s3cr3t'), 'the value is not printed');
});

test('test-secret-rotation times out by the virtual clock when the ExternalSecret never syncs, and deletes its namespace', async () => {
  const r = await stubs.runScript(SCRIPT, ['test-secret-rotation', '--cluster', 'infra'], { ...running({ items: smokeItem() }), STUB_ESO_STALLED: '1' });
  assert.is(r.code, 1);
  assert.match(lastLine(r.stderr), /^dr: step observe failed: timed out after 5\.0s waiting for pod dr-secret-rotation-\S+\/rotation-reader to read the new value of onepassword-smoke-test\/message \(limit 10m00s after the change\)$/);
  assert.not.ok(state().objects.some((o) => o.kind === 'Namespace'));
});

test('test-secret-rotation names a field the item does not have, before changing anything in 1Password', async () => {
  const r = await stubs.runScript(SCRIPT, ['test-secret-rotation', '--cluster', 'infra', '--field', 'nope'], running({ items: smokeItem() }));
  assert.is(r.code, 1);
  // The ExternalSecret cannot sync a field the item lacks: the fixture step says so.
  assert.match(lastLine(r.stderr), /^dr: step fixture failed: timed out after 5\.0s waiting for ExternalSecret dr-secret-rotation-\S+\/rotation-test to sync$/);
  assert.not.ok(stubs.calls().some((c) => c.tool === 'op' && c.args.includes('edit')));
});

// ---------------------------------------------------------------- every command

test('a kube-context that is not the cluster\'s is refused before anything, for every command', async () => {
  withManifest();
  for (const cmd of ['verify-backups', 'test-cnpg-restore', 'test-secret-rotation']) {
    const r = await stubs.runScript(SCRIPT, [cmd, '--cluster', 'infra'], running({ objects: postgres(), items: smokeItem() }, 'apps'));
    assert.is(r.code, 1, cmd);
    assert.is(r.stderr.trim(), 'dr: kube-context is "apps", not "infra": run `kubectl config use-context infra` first', cmd);
  }
  assert.ok(stubs.calls().every((c) => show(c).startsWith('kubectl config ')), stubs.calls().map(show).join('\n'));
});

test('--dry-run prints the plan and calls nothing, for every command', async () => {
  for (const cmd of ['verify-backups', 'test-cnpg-restore', 'test-secret-rotation']) {
    const r = await stubs.runScript(SCRIPT, [cmd, '--cluster', 'apps', '--dry-run']);
    assert.is(r.code, 0, `${cmd}: ${r.stderr}`);
    assert.match(r.stdout, /plan \(dry run, nothing is executed\)/, cmd);
  }
  assert.equal(stubs.calls(), []);
});

test('bad input is refused with one line and exit 2', async () => {
  const cases: [string[], string][] = [
    [['verify-backups', '--cluster', 'infra', '--sample', 'gatus'], 'dr: --sample must be NAMESPACE/APP, not "gatus"'],
    [['test-cnpg-restore', '--cluster', 'infra', '--rto', 'soon'], 'dr: --rto must be a number of minutes, not "soon"'],
    [['test-cnpg-restore', '--cluster', 'lab'], 'dr: --cluster must be one of apps, infra, not "lab"'],
    [['restore', '--cluster', 'infra'], 'dr: unknown command "restore": one of verify-backups, test-cnpg-restore, test-secret-rotation (see --help)'],
  ];
  for (const [args, message] of cases) {
    const r = await stubs.runScript(SCRIPT, args);
    assert.is(r.code, 2, args.join(' '));
    assert.is(r.stderr.trim(), message);
  }
  assert.equal(stubs.calls(), []);
});

test('the Taskfile calls the script with the task variables, and is included as dr', () => {
  const tasks = parse(readFileSync(join(ROOT, '.taskfiles', 'dr', 'Taskfile.yaml'), 'utf8')).tasks;
  assert.equal(Object.keys(tasks), ['verify-backups', 'test-cnpg-restore', 'test-secret-rotation']);
  for (const [name, task] of Object.entries<any>(tasks)) {
    assert.ok(task.cmd.startsWith(`{{.DR_SCRIPT}} ${name} --cluster {{.CLUSTER}}`), `dr:${name}: ${task.cmd}`);
    assert.equal(task.requires.vars, ['CLUSTER'], `dr:${name}`);
  }
  assert.ok(tasks['verify-backups'].cmd.includes('{{if .SAMPLE}} --sample {{.SAMPLE}}{{end}}'));
  assert.is(parse(readFileSync(join(ROOT, 'Taskfile.yaml'), 'utf8')).includes.dr, '.taskfiles/dr');
});

test.run();
