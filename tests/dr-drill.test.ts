// The DR drill's pure parts: what it reads from the clusters' manifests (restic retention and repository
// layout, the Barman Cloud command lines), its data sets and its report; and restic unlock's bookkeeping
// against a stub restic. The drill itself (npm run dr-drill) runs the real tools in CI.
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { backupArgs, readBarmanStore, recoveryWindow, restoreArgs, retentionArgs, shellLine, walArchiveArgs, walRestoreArgs } from '../scripts/lib/barman.ts';
import { changeTree, diffChecksums, formatBytes, formatMarkdownTable, formatTable, generateTree, parseSizes, sizeLabel, treeBytes, treeChecksums, verdict, type DrillResult } from '../scripts/lib/drill.ts';
import { UserError } from '../src/lib/errors.ts';
import { copyPath, tempDir } from './helpers.ts';
import { withIo } from '../src/lib/io.ts';
import { clusterVars } from '../scripts/lib/flux-vars.ts';
import { forgetArgs, readVolsyncPolicy, repositoryAt, repositoryLayout, resticTime, resticUnlock, scheduleGapMs, unlockArgs, VOLSYNC_R2_COMPONENT } from '../scripts/lib/restic.ts';

const test = suite('dr-drill');
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const INFRA = { ...clusterVars('infra', ROOT), APP: 'gatus' };

const userError = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    assert.instance(e, UserError);
    return (e as Error).message;
  }
  assert.unreachable('expected a UserError');
  return '';
};

/** A copy of the volsync/r2 component whose ReplicationSource is edited by `edit`. */
const componentWith = (edit: (source: string) => string): string => {
  const dir = join(tempDir('k8s-ops-volsync-'), 'r2');
  copyPath(join(ROOT, VOLSYNC_R2_COMPONENT), dir);
  const file = join(dir, 'replicationsource.yaml');
  writeFileSync(file, edit(readFileSync(file, 'utf8')));
  return dir;
};

test("the component's ReplicationSource gives the mover's forget flags, prune interval and schedule", () => {
  const policy = readVolsyncPolicy(INFRA);
  assert.equal(forgetArgs(policy.retain), ['--keep-hourly', '24', '--keep-daily', '7']);
  assert.is(policy.pruneIntervalDays, 7);
  assert.is(policy.schedule, '0 */8 * * *');
  assert.is(policy.repositoryTemplate, 's3:https://{{ .R2_ACCOUNT_ID }}.r2.cloudflarestorage.com/k8s-ops-volsync-infra/gatus');
});

test('a retention changed in the component is what the drill uses', () => {
  const dir = componentWith((s) => s.replace('      daily: 7\n', '      daily: 7\n      weekly: ${VOLSYNC_KEEP_WEEKLY:=4}\n      within: 3d\n'));
  assert.equal(forgetArgs(readVolsyncPolicy(INFRA, dir).retain), ['--keep-hourly', '24', '--keep-daily', '7', '--keep-weekly', '4', '--keep-within', '3d']);
  assert.equal(forgetArgs(readVolsyncPolicy({ ...INFRA, VOLSYNC_KEEP_WEEKLY: '8' }, dir).retain).slice(4, 6), ['--keep-weekly', '8']);
});

test('forget flags follow VolSync: its order, and keep-last 1 without a policy', () => {
  assert.equal(forgetArgs({ last: 3, yearly: 1, within: '2w', hourly: 6 }), ['--keep-hourly', '6', '--keep-yearly', '1', '--keep-within', '2w', '--keep-last', '3']);
  assert.equal(forgetArgs(undefined), ['--keep-last', '1']);
  assert.equal(forgetArgs({}), ['--keep-last', '1']);
});

test('a retention the mover would not understand is refused, naming the file and field', () => {
  const typo = componentWith((s) => s.replace('      daily: 7', '      dayly: 7'));
  assert.match(userError(() => readVolsyncPolicy(INFRA, typo)), /replicationsource\.yaml: spec\.restic\.retain\.dayly is not a VolSync retention field$/);
  const text = componentWith((s) => s.replace('      daily: 7', '      daily: seven'));
  assert.match(userError(() => readVolsyncPolicy(INFRA, text)), /spec\.restic\.retain\.daily must be a whole number, not "seven"$/);
});

test('the repository keeps its bucket and path on another endpoint', () => {
  const { repositoryTemplate } = readVolsyncPolicy({ ...INFRA, CLUSTER_NAME: 'apps', APP: 'n8n' });
  assert.equal(repositoryLayout(repositoryTemplate), { bucket: 'k8s-ops-volsync-apps', path: 'n8n' });
  assert.is(repositoryAt(repositoryTemplate, 'https://127.0.0.1:9000/'), 's3:https://127.0.0.1:9000/k8s-ops-volsync-apps/n8n');
  assert.is(userError(() => repositoryAt('/srv/restic/n8n', 'https://x')), 'RESTIC_REPOSITORY "/srv/restic/n8n" is not s3:<endpoint>/<bucket>/<path>');
});

test('the longest gap of a schedule: how far apart the drill puts two backups, and what a lost volume can lose', () => {
  const HOUR = 3600_000;
  assert.is(scheduleGapMs(readVolsyncPolicy(INFRA).schedule), 8 * HOUR);
  assert.is(scheduleGapMs('30 2,14 * * *'), 12 * HOUR);
  assert.is(scheduleGapMs('0 1,2 * * *'), 23 * HOUR);
  assert.is(scheduleGapMs('0 3 * * 1'), 7 * 24 * HOUR);
  assert.match(userError(() => scheduleGapMs('every 8 hours')), /^schedule "every 8 hours" is not a cron expression: /);
});

test("restic's --time is local time", () => {
  const d = new Date(2026, 0, 31, 9, 5, 7);
  assert.is(resticTime(d), '2026-01-31 09:05:07');
});

test("the shared cluster's ObjectStore and Cluster give the plugin's barman-cloud command lines", () => {
  const store = readBarmanStore(clusterVars('infra', ROOT));
  assert.equal(
    { name: store.name, destinationPath: store.destinationPath, bucket: store.bucket, serverName: store.serverName, retention: store.retentionPolicy, env: store.sidecarEnv },
    { name: 'postgres-r2', destinationPath: 's3://k8s-ops-cnpg-infra/', bucket: 'k8s-ops-cnpg-infra', serverName: 'postgres', retention: '30d', env: { AWS_DEFAULT_REGION: 'auto' } },
  );
  const at = 'https://127.0.0.1:9000';
  assert.equal(walArchiveArgs(store, at), ['--bzip2', '--endpoint-url', at, '--cloud-provider', 'aws-s3', 's3://k8s-ops-cnpg-infra/', 'postgres']);
  assert.equal(backupArgs(store, 'daily', at), ['-U', 'postgres', '-n', 'daily', '--bzip2', '--jobs', '2', '--endpoint-url', at, '--cloud-provider', 'aws-s3', 's3://k8s-ops-cnpg-infra/', 'postgres']);
  assert.equal(walRestoreArgs(store), ['--cloud-provider', 'aws-s3', 's3://k8s-ops-cnpg-infra/', 'postgres']);
  assert.equal(restoreArgs(store, '20260131T090000', '/data', at), ['--endpoint-url', at, '--cloud-provider', 'aws-s3', 's3://k8s-ops-cnpg-infra/', 'postgres', '20260131T090000', '/data']);
  assert.equal(retentionArgs(store).slice(0, 2), ['--retention-policy', 'RECOVERY WINDOW OF 30 DAYS']);
});

test('a Cluster that archives to another ObjectStore is refused', () => {
  const dir = tempDir('k8s-ops-cnpg-');
  copyPath(join(ROOT, 'kubernetes/apps/databases/cloudnative-pg/cluster'), dir);
  const file = join(dir, 'cluster.yaml');
  writeFileSync(file, readFileSync(file, 'utf8').replace('barmanObjectName: postgres-r2', 'barmanObjectName: postgres-b2'));
  assert.match(userError(() => readBarmanStore(clusterVars('infra', ROOT), dir)), /cluster\.yaml: the plugin's barmanObjectName "postgres-b2" is not the ObjectStore "postgres-r2"/);
});

test('retention policies become recovery windows', () => {
  assert.is(recoveryWindow('30d'), 'RECOVERY WINDOW OF 30 DAYS');
  assert.is(recoveryWindow('4w'), 'RECOVERY WINDOW OF 4 WEEKS');
  assert.is(recoveryWindow('6m'), 'RECOVERY WINDOW OF 6 MONTHS');
  assert.is(userError(() => recoveryWindow('30 days')), 'retentionPolicy "30 days" is not <number>d, <number>w or <number>m');
});

test('command lines for postgresql.conf quote what the shell would split', () => {
  assert.is(shellLine(['barman-cloud-wal-archive', '--bzip2', 's3://b/', 'postgres']), 'barman-cloud-wal-archive --bzip2 s3://b/ postgres');
  assert.is(shellLine(['echo', 'a b', "it's"]), `echo 'a b' 'it'\\''s'`);
});

test('sizes', () => {
  assert.equal(parseSizes('64M, 16m,1G,16MiB'), [16 * 1024 ** 2, 64 * 1024 ** 2, 1024 ** 3]);
  assert.is(userError(() => parseSizes('16M,lots')), '"lots" is not a size such as 16M, 512K or 1G');
  assert.is(userError(() => parseSizes('0M')), '"0M" is not a size such as 16M, 512K or 1G');
  assert.is(formatBytes(512), '512 B');
  assert.is(formatBytes(10.64 * 1024 ** 2), '10.6 MiB');
  assert.is(formatBytes(256 * 1024 ** 2), '256 MiB');
  assert.is(sizeLabel(16 * 1024 ** 2), '16mib');
});

test('a generated tree, changed and compared file by file', () => {
  const dir = join(tempDir('k8s-ops-tree-'), 'data');
  try {
    const first = generateTree(dir, 5 * 1024 ** 2);
    assert.is(treeBytes(dir), 5 * 1024 ** 2);
    assert.ok(first.size >= 4);
    const second = changeTree(dir);
    const diff = diffChecksums(first, second);
    assert.ok(diff.includes(`missing ${[...first.keys()][0]}`));
    assert.ok(diff.includes('unexpected d00/added-after-first-backup.bin'));
    assert.ok(diff.some((d) => d.startsWith('changed ')));
    assert.equal(diffChecksums(second, treeChecksums(dir)), []);
  } finally {
    rmSync(dirname(dir), { recursive: true, force: true });
  }
});

test('the table aligns its columns and says which recovery did not match', () => {
  const results: DrillResult[] = [
    { path: 'volsync', bytes: 16 * 1024 ** 2, backupMs: 4200, restoreMs: 1500, lost: '0 of 21 files', problems: [] },
    { path: 'cnpg', bytes: 150 * 1024 ** 2, backupMs: 61_000, restoreMs: 23_400, lost: '2 of 500 rows', problems: ['rows before the target'] },
  ];
  assert.equal(formatTable(results), [
    'path     data size  backup  restore (RTO)  data lost (RPO)  result',
    '-------  ---------  ------  -------------  ---------------  --------',
    'volsync  16 MiB     4.2s    1.5s           0 of 21 files    ok',
    'cnpg     150 MiB    1m01s   23.4s          2 of 500 rows    MISMATCH',
  ]);
  assert.is(verdict(results), '1 of 2 recoveries did not bring back exactly what was backed up (cnpg 150 MiB)');
  assert.is(verdict(results.slice(0, 1)), undefined);
  assert.is(verdict([]), 'no recovery was rehearsed');
  assert.equal(formatMarkdownTable(results)[0], '| path | data size | backup | restore (RTO) | data lost (RPO) |');
  assert.equal(formatMarkdownTable(results).slice(2), ['| volsync | 16 MiB | 4.2s | 1.5s | 0 of 21 files |', '| cnpg | 150 MiB | 1m01s | 23.4s | 2 of 500 rows |']);
});

test('unlock runs what the mover runs: restic unlock, all locks only when asked', () => {
  assert.equal(unlockArgs(), ['unlock']);
  assert.equal(unlockArgs({ removeAll: true }), ['unlock', '--remove-all']);
});

test('unlock removes stale locks only, and reports a live one it kept (stub restic)', async () => {
  const dir = tempDir('k8s-ops-restic-stub-');
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  const locks = join(dir, 'locks');
  // One lock per line, "<id> stale|live": unlock drops the stale ones, --remove-all every one.
  writeFileSync(
    join(bin, 'restic'),
    `#!/bin/sh
echo "$*" >> "${dir}/calls"
case "$*" in
  *"list locks --no-lock"*) cut -d' ' -f1 "${locks}" ;;
  *"unlock --remove-all"*) : > "${locks}" ;;
  *unlock*) grep -v ' stale$' "${locks}" > "${locks}.new"; mv "${locks}.new" "${locks}" ;;
  *) exit 1 ;;
esac
`,
  );
  chmodSync(join(bin, 'restic'), 0o755);
  const repo = { env: { RESTIC_REPOSITORY: 's3:https://x/b/app', RESTIC_PASSWORD: 'p' }, cacert: '/ca.crt' };
  try {
    await withIo({ env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } }, async () => {
      writeFileSync(locks, 'aaa stale\nbbb live\nccc stale\n');
      assert.equal(await resticUnlock(repo), { removed: 2, remaining: 1 });
      assert.equal(await resticUnlock(repo, { removeAll: true }), { removed: 1, remaining: 0 });
      writeFileSync(join(dir, 'calls'), '');
      assert.equal(await resticUnlock(repo), { removed: 0, remaining: 0 });
      // Nothing to unlock: restic is asked for the locks, and unlock is not run.
      assert.equal(readFileSync(join(dir, 'calls'), 'utf8'), '--cacert /ca.crt list locks --no-lock\n');
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
