// scripts/volsync.ts (behind .taskfiles/volsync) against recording fakes of kubectl and flux that answer
// like a cluster running VolSync (tests/fakes/cluster-state.ts).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseSnapshot, restoredSnapshotId } from '../scripts/volsync.ts';
import { createStubs, show, type Call } from './cli-stubs.ts';
import { readCluster, seedCluster, snapshotAt, type Obj } from './fakes/cluster-state.ts';
import { ROOT } from './helpers.ts';

const test = suite('volsync tasks script');
const SCRIPT = 'scripts/volsync.ts';
const NS = 'observability';
const IMAGE = 'quay.io/backube/volsync:0.14.0';
const HOUR = 3_600_000;

let stubs: ReturnType<typeof createStubs>;
test.before.each(() => {
  stubs = createStubs();
});
test.after.each(() => stubs.cleanup());

const ago = (ms: number) => new Date(Date.now() - ms).toISOString();
/** Three backups, 2 h, 10 h and 18 h old: newest first. */
const SNAPSHOTS = [snapshotAt(ago(2 * HOUR)), snapshotAt(ago(10 * HOUR)), snapshotAt(ago(18 * HOUR))];

const restic = {
  repository: 'gatus-volsync-secret',
  copyMethod: 'Snapshot',
  volumeSnapshotClassName: 'csi-ceph-blockpool',
  storageClassName: 'ceph-block',
  accessModes: ['ReadWriteOnce'],
  cacheCapacity: '1Gi',
  cacheStorageClassName: 'openebs-hostpath',
  cacheAccessModes: ['ReadWriteOnce'],
  moverPodLabels: { 'app.kubernetes.io/instance': 'gatus', 'app.kubernetes.io/component': 'volsync' },
  moverSecurityContext: { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000 },
};

/** gatus as the volsync/r2 component and the app generator leave it on a running cluster. */
const gatus = (): Obj[] => [
  { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } },
  { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'gatus', namespace: NS } },
  {
    apiVersion: 'volsync.backube/v1alpha1',
    kind: 'ReplicationSource',
    metadata: { name: 'gatus', namespace: NS },
    spec: { sourcePVC: 'gatus', trigger: { schedule: '0 */8 * * *' }, restic: { ...restic, pruneIntervalDays: 7, retain: { hourly: 24, daily: 7 } } },
    status: { lastSyncTime: ago(2 * HOUR), lastSyncDuration: '41s', nextSyncTime: ago(-6 * HOUR), latestMoverStatus: { result: 'Successful', logs: 'Restic completed in 41s' } },
  },
  {
    apiVersion: 'volsync.backube/v1alpha1',
    kind: 'ReplicationDestination',
    metadata: { name: 'gatus-dst', namespace: NS },
    spec: { trigger: { manual: 'restore-once' }, restic: { ...restic, capacity: '5Gi', cleanupCachePVC: true, cleanupTempPVC: true, enableFileDeletion: true } },
    status: { lastManualSync: 'restore-once', latestImage: { kind: 'VolumeSnapshot', name: 'volsync-gatus-dst-dest-20260101' } },
  },
  {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'gatus', namespace: NS },
    spec: { replicas: 1, template: { spec: { volumes: [{ name: 'config', persistentVolumeClaim: { claimName: 'gatus' } }] } } },
    status: { replicas: 1, readyReplicas: 1 },
  },
  // A workload that does not mount the claim is left alone.
  { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'other', namespace: NS }, spec: { replicas: 2, template: { spec: {} } }, status: { replicas: 2, readyReplicas: 2 } },
  { apiVersion: 'kustomize.toolkit.fluxcd.io/v1', kind: 'Kustomization', metadata: { name: 'gatus', namespace: 'flux-system' }, spec: {} },
  { apiVersion: 'helm.toolkit.fluxcd.io/v2', kind: 'HelmRelease', metadata: { name: 'gatus', namespace: NS }, spec: {} },
  {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'volsync', namespace: 'volsync-system', labels: { 'app.kubernetes.io/name': 'volsync' } },
    spec: { replicas: 1, template: { spec: { containers: [{ name: 'manager', image: IMAGE }] } } },
  },
];

/** A running infra cluster, the operator's shell pointed at `context`. */
const running = (objects: Obj[] = gatus(), snapshots = SNAPSHOTS, context = 'infra') => {
  writeFileSync(stubs.kubeconfig, 'apiVersion: v1\nkind: Config\n');
  seedCluster(stubs.state, { objects, repos: { [`${NS}/gatus-volsync-secret`]: { snapshots: [...snapshots] } } });
  return { STUB_CONTEXTS: 'infra,apps', STUB_CONTEXT: context };
};

const state = () => readCluster(stubs.state);
const object = (kind: string, name: string) => state().objects.find((o) => o.kind === kind && o.metadata.name === name);
const lastLine = (text: string) => text.trimEnd().split('\n').pop() ?? '';
const CHANGES = ['patch', 'scale', 'apply', 'delete', 'annotate'];
const changes = (calls: Call[]) => calls.filter((c) => c.tool === 'flux' || (c.tool === 'kubectl' && c.args.some((a) => CHANGES.includes(a)))).map(show);
/** The objects a kubectl apply piped in. */
const applied = (calls: Call[]) => calls.filter((c) => c.stdin).flatMap((c) => parseAllDocuments(c.stdin!).map((d) => d.toJS()));

test('snapshot triggers the ReplicationSource, waits for the backup and hands it back to its schedule', async () => {
  const r = await stubs.runScript(SCRIPT, ['snapshot', '--cluster', 'infra', '--app', 'gatus', '--namespace', NS], running());
  assert.is(r.code, 0, r.stderr + r.stdout);
  const calls = stubs.calls().map(show);
  const trigger = /"manual":"(snapshot-\d{8}-\d{6})"/.exec(calls.join('\n'))?.[1];
  assert.ok(trigger, calls.join('\n'));
  assert.equal(calls, [
    'kubectl config get-contexts --output name',
    'kubectl config current-context',
    `kubectl --context infra get replicationsources.volsync.backube gatus --namespace ${NS} --ignore-not-found --output json`,
    `kubectl --context infra patch replicationsources.volsync.backube gatus --namespace ${NS} --type merge --patch {"spec":{"trigger":{"manual":"${trigger}"}}}`,
    `kubectl --context infra get replicationsources.volsync.backube gatus --namespace ${NS} --ignore-not-found --output json`,
    `kubectl --context infra patch replicationsources.volsync.backube gatus --namespace ${NS} --type merge --patch {"spec":{"trigger":{"manual":null}}}`,
    `kubectl --context infra get replicationsources.volsync.backube gatus --namespace ${NS} --ignore-not-found --output json`,
  ]);
  const rs = object('ReplicationSource', 'gatus')!;
  assert.equal(rs.spec.trigger, { schedule: '0 */8 * * *' });
  assert.is(rs.status.lastManualSync, trigger);
  assert.is(state().repos[`${NS}/gatus-volsync-secret`].snapshots.length, 4);
  assert.match(lastLine(r.stdout), /^backed up observability\/gatus in 42s; the schedule applies again$/);
});

test('snapshot that VolSync never finishes times out by the virtual clock, and still gives the schedule back', async () => {
  const r = await stubs.runScript(SCRIPT, ['snapshot', '--cluster', 'infra', '--app', 'gatus', '--namespace', NS], { ...running(), STUB_VOLSYNC_STALLED: '1' });
  assert.is(r.code, 1, r.stderr);
  assert.match(lastLine(r.stderr), /^volsync: step wait failed: timed out after 5\.0s waiting for replicationsource observability\/gatus to finish the manual sync snapshot-\d{8}-\d{6}$/);
  assert.equal(object('ReplicationSource', 'gatus')!.spec.trigger, { schedule: '0 */8 * * *' });
});

test('restore: suspend, scale down what mounts the claim, restore the latest through its own ReplicationDestination, scale back, resume', async () => {
  const r = await stubs.runScript(SCRIPT, ['restore', '--cluster', 'infra', '--app', 'gatus', '--namespace', NS, '--yes'], running());
  assert.is(r.code, 0, r.stderr + r.stdout);
  const calls = stubs.calls();
  const trigger = /"manual":"?(restore-\d{8}-\d{6})/.exec(JSON.stringify(applied(calls)))?.[1];
  assert.equal(changes(calls), [
    'flux --context infra suspend kustomization gatus --namespace flux-system',
    `flux --context infra suspend helmrelease gatus --namespace ${NS}`,
    `kubectl --context infra patch deployments.apps gatus --namespace ${NS} --type merge --patch {"metadata":{"annotations":{"monosense.dev/volsync-restore-replicas":"1"}}}`,
    `kubectl --context infra scale deployments/gatus --replicas 0 --namespace ${NS}`,
    'kubectl --context infra apply --server-side --field-manager k8s-ops-dr --filename -',
    `kubectl --context infra delete replicationdestinations.volsync.backube gatus-restore --namespace ${NS} --ignore-not-found --wait=false`,
    `kubectl --context infra scale deployments/gatus --replicas 1 --namespace ${NS}`,
    `kubectl --context infra patch deployments.apps gatus --namespace ${NS} --type merge --patch {"metadata":{"annotations":{"monosense.dev/volsync-restore-replicas":null}}}`,
    `flux --context infra resume helmrelease gatus --namespace ${NS}`,
    'flux --context infra resume kustomization gatus --namespace flux-system',
  ]);
  const [rd] = applied(calls);
  assert.equal(rd.metadata, { name: 'gatus-restore', namespace: NS, labels: { 'monosense.dev/volsync-restore': 'gatus-dst' } });
  assert.equal(rd.spec, {
    trigger: { manual: trigger },
    restic: {
      repository: 'gatus-volsync-secret',
      cacheCapacity: '1Gi',
      cacheStorageClassName: 'openebs-hostpath',
      cacheAccessModes: ['ReadWriteOnce'],
      moverPodLabels: restic.moverPodLabels,
      moverSecurityContext: restic.moverSecurityContext,
      cleanupCachePVC: true,
      enableFileDeletion: true,
      destinationPVC: 'gatus',
      copyMethod: 'Direct',
    },
  });
  const s = state();
  assert.is(s.restored[`${NS}/gatus`], SNAPSHOTS[0].id);
  assert.not.ok(object('ReplicationDestination', 'gatus-restore'), 'the restore ReplicationDestination is deleted');
  assert.equal(object('ReplicationDestination', 'gatus-dst')!.spec.trigger, { manual: 'restore-once' });
  const deployment = object('Deployment', 'gatus')!;
  assert.is(deployment.spec.replicas, 1);
  assert.equal(deployment.metadata.annotations ?? {}, {});
  assert.is(object('Deployment', 'other')!.spec.replicas, 2);
  assert.is(object('HelmRelease', 'gatus')!.spec.suspend, false);
  assert.is(object('Kustomization', 'gatus')!.spec.suspend, false);
  assert.match(r.stdout, new RegExp(`restored snapshot ${SNAPSHOTS[0].id} into observability/gatus`));
});

test('restore SNAPSHOT=<id> resolves the ID with restic snapshots and restores as of its time', async () => {
  const wanted = SNAPSHOTS[1];
  const r = await stubs.runScript(SCRIPT, ['restore', '--cluster', 'infra', '--app', 'gatus', '--namespace', NS, '--snapshot', wanted.short_id, '--yes'], running());
  assert.is(r.code, 0, r.stderr + r.stdout);
  const [job, rd] = applied(stubs.calls());
  assert.is(job.kind, 'Job');
  assert.equal(job.spec.template.spec.containers[0].command, ['restic', 'snapshots', '--json']);
  assert.is(job.spec.template.spec.containers[0].image, IMAGE);
  assert.is(rd.spec.restic.restoreAsOf, wanted.time);
  assert.is(rd.spec.restic.previous, undefined);
  assert.is(state().restored[`${NS}/gatus`], wanted.id);
});

test('restore SNAPSHOT=<n> takes the nth snapshot before the latest; SNAPSHOT=<time> the newest at or before it', async () => {
  const back = await stubs.runScript(SCRIPT, ['restore', '--cluster', 'infra', '--app', 'gatus', '--namespace', NS, '--snapshot', '2', '--yes'], running());
  assert.is(back.code, 0, back.stderr);
  assert.is(applied(stubs.calls())[0].spec.restic.previous, 2);
  assert.is(state().restored[`${NS}/gatus`], SNAPSHOTS[2].id);

  const at = new Date(Date.now() - 5 * HOUR).toISOString();
  const asOf = await stubs.runScript(SCRIPT, ['restore', '--cluster', 'infra', '--app', 'gatus', '--namespace', NS, '--snapshot', at, '--yes'], running());
  assert.is(asOf.code, 0, asOf.stderr);
  assert.is(applied(stubs.calls()).pop()!.spec.restic.restoreAsOf, at);
  assert.is(state().restored[`${NS}/gatus`], SNAPSHOTS[1].id);
});

test('restore asks for the app name; any other answer changes nothing', async () => {
  const env = running();
  const before = state().objects;
  const r = await stubs.runScript(SCRIPT, ['restore', '--cluster', 'infra', '--app', 'gatus', '--namespace', NS], env, 'yes\n');
  assert.is(r.code, 1);
  assert.match(r.stderr, /This restores the volume observability\/gatus on infra from the latest snapshot; .* Scaled to 0 meanwhile: deployments\/gatus\./);
  assert.is(lastLine(r.stderr), 'volsync: not confirmed (typed "yes", expected "gatus"): nothing was changed');
  assert.equal(changes(stubs.calls()), []);
  assert.equal(state().objects, before);
});

test('restore refuses a kube-context that is not the cluster\'s before asking anything', async () => {
  const r = await stubs.runScript(SCRIPT, ['restore', '--cluster', 'infra', '--app', 'gatus', '--namespace', NS, '--yes'], running(gatus(), SNAPSHOTS, 'apps'));
  assert.is(r.code, 1);
  assert.is(r.stderr.trim(), 'volsync: kube-context is "apps", not "infra": run `kubectl config use-context infra` first');
  assert.equal(stubs.calls().map(show), ['kubectl config get-contexts --output name', 'kubectl config current-context']);
});

test('restore with no snapshot to restore stops with the app still suspended, and says how to go on', async () => {
  const r = await stubs.runScript(SCRIPT, ['restore', '--cluster', 'infra', '--app', 'gatus', '--namespace', NS, '--yes'], running(gatus(), []));
  assert.is(r.code, 1);
  assert.match(r.stderr, /The app may be left suspended and scaled down: fix the cause and run again with --from <step> \(the steps are suspend, scale-down, restore, scale-up, resume\)\./);
  assert.is(lastLine(r.stderr), 'volsync: step restore failed: VolSync found no snapshot that is the latest snapshot in the repository of observability/gatus: the volume was left as it was');
  assert.is(object('Deployment', 'gatus')!.spec.replicas, 0);
  assert.is(object('Deployment', 'gatus')!.metadata.annotations['monosense.dev/volsync-restore-replicas'], '1');

  // Resumed from scale-up, the kept replica count brings the app back.
  const resumed = await stubs.runScript(SCRIPT, ['restore', '--cluster', 'infra', '--app', 'gatus', '--namespace', NS, '--yes', '--from', 'scale-up'], {
    STUB_CONTEXTS: 'infra,apps',
    STUB_CONTEXT: 'infra',
  });
  assert.is(resumed.code, 0, resumed.stderr);
  assert.is(object('Deployment', 'gatus')!.spec.replicas, 1);
  assert.is(object('HelmRelease', 'gatus')!.spec.suspend, false);
});

test('an unknown snapshot ID is refused before anything changes', async () => {
  const r = await stubs.runScript(SCRIPT, ['restore', '--cluster', 'infra', '--app', 'gatus', '--namespace', NS, '--snapshot', 'deadbeef', '--yes'], running());
  assert.is(r.code, 1);
  assert.is(r.stderr.trim(), 'volsync: no snapshot with ID deadbeef in the repository of observability/gatus (task volsync:list CLUSTER=infra APP=gatus lists them)');
  assert.equal(changes(stubs.calls()).filter((c) => !/ (apply|delete) .*(--filename -|jobs\.batch)/.test(c)), []);
  assert.not.ok(state().objects.some((o) => o.kind === 'Job'), 'the restic Job is deleted');
});

test('--dry-run prints the plan and calls nothing, for every command', async () => {
  for (const cmd of ['snapshot', 'restore', 'unlock', 'list', 'status']) {
    const r = await stubs.runScript(SCRIPT, [cmd, '--cluster', 'apps', '--app', 'odoo', '--dry-run']);
    assert.is(r.code, 0, `${cmd}: ${r.stderr}`);
    assert.match(r.stdout, /plan \(dry run, nothing is executed\)/, cmd);
  }
  assert.equal(stubs.calls(), []);
  const r = await stubs.runScript(SCRIPT, ['restore', '--cluster', 'apps', '--app', 'odoo', '--snapshot', '1', '--dry-run']);
  assert.match(r.stdout, /1\. suspend .*\n.*2\. scale-down .*\n.*3\. restore .*the snapshot 1 before the latest.*\n.*4\. scale-up .*\n.*5\. resume /);
  assert.match(r.stdout, /ReplicationDestination <namespace>\/odoo-restore from odoo-dst's restic settings/);
  assert.match(r.stdout, /^Budget: 120m00s\.$/m);
});

test('unlock runs restic unlock in a Job labelled like the mover, with the app\'s Secret, and deletes the Job', async () => {
  const env = running();
  const s = state();
  s.repos[`${NS}/gatus-volsync-secret`].locked = true;
  seedCluster(stubs.state, s);
  const r = await stubs.runScript(SCRIPT, ['unlock', '--cluster', 'infra', '--app', 'gatus', '--namespace', NS], env);
  assert.is(r.code, 0, r.stderr);
  const [job] = applied(stubs.calls());
  assert.match(job.metadata.name, /^restic-unlock-gatus-\d{8}-\d{6}$/);
  assert.is(job.metadata.namespace, NS);
  const pod = job.spec.template;
  assert.equal(pod.metadata.labels, { ...restic.moverPodLabels, 'monosense.dev/restic-job': 'unlock' });
  assert.equal(pod.spec.containers[0].command, ['restic', 'unlock']);
  assert.equal(pod.spec.containers[0].envFrom, [{ secretRef: { name: 'gatus-volsync-secret' } }]);
  assert.equal(pod.spec.securityContext, { ...restic.moverSecurityContext, seccompProfile: { type: 'RuntimeDefault' } });
  assert.is(state().repos[`${NS}/gatus-volsync-secret`].locked, false);
  assert.not.ok(state().objects.some((o) => o.kind === 'Job'));
  assert.match(r.stdout, /successfully removed 1 locks\nunlocked the restic repository of observability\/gatus \(Secret gatus-volsync-secret\)/);
});

test('list prints the snapshots newest first; a repository that does not answer is an error with restic\'s words', async () => {
  const r = await stubs.runScript(SCRIPT, ['list', '--cluster', 'infra', '--app', 'gatus'], running());
  assert.is(r.code, 0, r.stderr);
  const rows = r.stdout.split('\n').filter((l) => /^[0-9a-f]{8} /.test(l));
  assert.equal(rows.map((l) => l.split(/\s+/)[0]), SNAPSHOTS.map((s) => s.short_id));
  assert.match(r.stdout, /3 snapshots, newest first\. Restore one: task volsync:restore CLUSTER=infra APP=gatus SNAPSHOT=<ID>/);

  writeFileSync(stubs.kubeconfig, 'apiVersion: v1\nkind: Config\n');
  seedCluster(stubs.state, { objects: gatus() });
  const missing = await stubs.runScript(SCRIPT, ['list', '--cluster', 'infra', '--app', 'gatus', '--namespace', NS], { STUB_CONTEXTS: 'infra,apps', STUB_CONTEXT: 'infra' });
  assert.is(missing.code, 1);
  assert.match(missing.stderr.trim(), /^volsync: restic snapshots --json failed for observability\/gatus: .*Is there a repository at the following location\?$/);
  assert.not.ok(state().objects.some((o) => o.kind === 'Job'), 'the failed Job is deleted too');
});

test('the namespace is found from the app\'s VolSync objects, and must be one', async () => {
  const r = await stubs.runScript(SCRIPT, ['snapshot', '--cluster', 'infra', '--app', 'gatus'], running());
  assert.is(r.code, 0, r.stderr);
  const twice = gatus().concat({ ...gatus()[2], metadata: { name: 'gatus', namespace: 'default' } });
  const ambiguous = await stubs.runScript(SCRIPT, ['list', '--cluster', 'infra', '--app', 'gatus'], running(twice));
  assert.is(ambiguous.code, 1);
  assert.is(ambiguous.stderr.trim(), 'volsync: gatus has VolSync objects in several namespaces (default, observability): pass --namespace');
  const none = await stubs.runScript(SCRIPT, ['list', '--cluster', 'infra', '--app', 'odoo'], running());
  assert.is(none.stderr.trim(), 'volsync: no ReplicationSource odoo or ReplicationDestination odoo-dst on infra: does the app use a volsync component?');
});

test('status shows every backup and restore, and fails when a backup failed', async () => {
  const r = await stubs.runScript(SCRIPT, ['status', '--cluster', 'infra'], running());
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /^ReplicationSources \(backups\) on infra:\nNAMESPACE +NAME +TRIGGER +LAST SYNC +DURATION +RESULT +NEXT SYNC\n/);
  assert.match(r.stdout, /observability +gatus +0 \*\/8 \* \* \* +\S+ \(2h00m ago\) +41s +Successful +\S+ \(in (5h59m|6h00m)\)/);
  assert.match(r.stdout, /observability +gatus-dst +manual restore-once +- +- +- +-/);
  const failed = gatus();
  failed[2].status.latestMoverStatus = { result: 'Failed', logs: 'Fatal: unable to open repository' };
  const bad = await stubs.runScript(SCRIPT, ['status', '--cluster', 'infra'], running(failed));
  assert.is(bad.code, 1);
  assert.is(lastLine(bad.stderr), 'volsync: the last backup failed for observability/gatus');
});

test('SNAPSHOT reads as latest, a count back, a time or a restic ID; the mover\'s log names what it restored', () => {
  assert.equal(parseSnapshot(undefined), { kind: 'latest' });
  assert.equal(parseSnapshot('0'), { kind: 'latest' });
  assert.equal(parseSnapshot('3'), { kind: 'previous', n: 3 });
  assert.equal(parseSnapshot('4b3c2a1f'), { kind: 'id', id: '4b3c2a1f' });
  assert.equal(parseSnapshot('2026-03-10T08:00:00+07:00'), { kind: 'asOf', time: '2026-03-10T01:00:00.000Z' });
  assert.throws(() => parseSnapshot('2026-13-45T99:00'), /--snapshot must be latest/);
  assert.is(restoredSnapshotId('=== Starting restore ===\nSelected restic snapshot with id: 4b3c2a1fdeadbeef\n'), '4b3c2a1fdeadbeef');
  assert.is(restoredSnapshotId('No eligible snapshots found\n=== No data will be restored ==='), undefined);
});

test('bad input is refused with one line and exit 2', async () => {
  const cases: [string[], string][] = [
    [['restore', '--cluster', 'infra'], 'volsync: --app is required (see --help)'],
    [['restore', '--cluster', 'infra', '--app', 'Gatus'], 'volsync: --app must be a Kubernetes name (lower-case letters, digits and -, at most 63), not "Gatus"'],
    [['restore', '--cluster', 'infra', '--app', 'gatus', '--snapshot', 'yesterday'], 'volsync: --snapshot must be latest, a number, an RFC 3339 time or a restic snapshot ID (8 to 64 hex digits), not "yesterday"'],
    [['list', '--cluster', 'infra', '--app', 'gatus', '--snapshot', '1'], 'volsync: --snapshot is for restore only'],
    [['backup', '--cluster', 'infra'], 'volsync: unknown command "backup": one of snapshot, restore, unlock, list, status (see --help)'],
  ];
  for (const [args, message] of cases) {
    const r = await stubs.runScript(SCRIPT, args);
    assert.is(r.code, 2, args.join(' '));
    assert.is(r.stderr.trim(), message);
  }
  assert.equal(stubs.calls(), []);
});

test('the Taskfile calls the script with the task variables, and is included as volsync', () => {
  const tasks = parse(readFileSync(join(ROOT, '.taskfiles', 'volsync', 'Taskfile.yaml'), 'utf8')).tasks;
  assert.equal(Object.keys(tasks), ['snapshot', 'restore', 'unlock', 'list', 'status']);
  for (const [name, task] of Object.entries<any>(tasks)) {
    assert.ok(task.cmd.startsWith(`{{.VOLSYNC_SCRIPT}} ${name} --cluster {{.CLUSTER}}`), `volsync:${name}: ${task.cmd}`);
    assert.ok(task.cmd.includes('{{if .NAMESPACE}} --namespace {{.NAMESPACE}}{{end}}'), `volsync:${name} passes NAMESPACE`);
  }
  assert.ok(tasks.restore.cmd.includes('{{if .SNAPSHOT}} --snapshot {{.SNAPSHOT}}{{end}}'));
  assert.is(tasks.restore.interactive, true);
  assert.equal(tasks.restore.requires.vars, ['CLUSTER', 'APP']);
  assert.is(parse(readFileSync(join(ROOT, 'Taskfile.yaml'), 'utf8')).includes.volsync, '.taskfiles/volsync');
});

test('end to end, as the operator runs it: a real stdin, the stub executables on PATH', async () => {
  const refused = await stubs.runScriptProcess(SCRIPT, ['restore', '--cluster', 'infra', '--app', 'gatus', '--namespace', NS], running(), 'odoo\n');
  assert.is(refused.code, 1, refused.stderr);
  assert.is(lastLine(refused.stderr), 'volsync: not confirmed (typed "odoo", expected "gatus"): nothing was changed');
  assert.equal(changes(stubs.calls()), []);
});

test.run();
