// The drill's CloudNativePG path: the Barman Cloud tools the plugin runs, around a scratch PostgreSQL.
import { chownSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { backupArgs, restoreArgs, retentionArgs, shellLine, walArchiveArgs, walRestoreArgs, type BarmanStore } from './barman.ts';
import { timed, type DrillResult, type Say } from './drill.ts';
import { waitFor } from './poll.ts';
import { formatDuration } from './steps.ts';
import { configure, initCluster, ownedFolder, runAs, scratchServer, type PostgresUser, type ScratchServer, type ScratchServerOptions } from './scratch-postgres.ts';

/** Rows written on each side of the recovery target, in this many transactions. */
const PITR_ROWS = 500;
const PITR_BATCHES = 5;
/** Names the socket only: each rehearsal has a socket folder of its own. */
const PORT = 5432;
/** Bytes a bulk row takes in the table and its index, about. */
const BULK_ROW_BYTES = 330;

export interface CnpgRehearsal {
  /** The ObjectStore's settings, with the drill's own destination. */
  store: BarmanStore;
  /** The S3 stand-in: endpoint and the environment barman-cloud needs to reach it. */
  endpoint: string;
  s3Env: Record<string, string>;
  /** A folder for this rehearsal; the PostgreSQL user will own it. */
  root: string;
  user: PostgresUser;
  bin: string;
  /** Bulk data to load, in bytes. */
  bytes: number;
  backupName: string;
  /** Stops a server that is still running when the drill ends early. */
  onCleanup: (fn: () => Promise<void>) => void;
  say: Say;
}

/**
 * A database of about `bytes` archiving its WAL to the store, a base backup (timed), rows committed on
 * both sides of a recorded target time, the server killed and its data folder deleted; then
 * barman-cloud-restore and recovery with barman-cloud-wal-restore to the target (timed: the RTO), and
 * the rows compared: all of those before the target, none of those after.
 */
export const rehearseCnpg = async (r: CnpgRehearsal): Promise<DrillResult> => {
  const { store, endpoint, user } = r;
  ownedFolder(r.root, user);
  // As in CloudNativePG's pods, the tools reach PostgreSQL on its Unix socket; nothing listens on TCP.
  const socketDir = ownedFolder(join(r.root, 'socket'), user);
  // barman-cloud's temporary files stay in the drill's folder (the plugin gives it a TMPDIR too).
  const tmp = ownedFolder(join(r.root, 'tmp'), user);
  const env: Record<string, string> = { ...store.sidecarEnv, ...r.s3Env, PGHOST: socketDir, PGPORT: String(PORT), PGUSER: 'postgres', TMPDIR: tmp };
  const asPostgres = (cmd: string, args: string[]) => runAs(user, cmd, args, env);
  const options = (dataDir: string, log: string): ScratchServerOptions => ({ dataDir, socketDir, port: PORT, user, bin: r.bin, env, log: join(r.root, log) });

  // Where the time goes, printed under the step.
  const phases: string[] = [];
  let mark = performance.now();
  const phase = (name: string) => {
    const now = performance.now();
    phases.push(`${name} ${formatDuration(now - mark)}`);
    mark = now;
  };

  // The bulk is loaded while WAL is thrown away ('true' archives nothing), then archiving to the store
  // starts: the drill measures backing up and recovering a database of this size, not the archiving of
  // its first load, which the base backup makes unnecessary.
  const sourceOptions = options(join(r.root, 'source'), 'source.log');
  r.onCleanup(() => scratchServer(sourceOptions).stop('immediate'));
  const source = await initCluster(sourceOptions, { wal_level: 'replica', archive_mode: 'on', archive_command: 'true' });
  await source.start();
  const rows = Math.max(1, Math.round(r.bytes / BULK_ROW_BYTES));
  const payload = Array.from({ length: 8 }, () => 'md5(random()::text)').join(' || ');
  await source.sql([
    'CREATE TABLE drill_bulk (id bigint PRIMARY KEY, payload text NOT NULL)',
    `INSERT INTO drill_bulk SELECT g, ${payload} FROM generate_series(1, ${rows}) g`,
    'CREATE TABLE drill_rows (id bigint PRIMARY KEY, phase text NOT NULL, written_at timestamptz NOT NULL DEFAULT clock_timestamp())',
  ]);
  configure(source.dataDir, { archive_command: `${shellLine(['barman-cloud-wal-archive', ...walArchiveArgs(store, endpoint)])} %p` });
  await source.sql('SELECT pg_reload_conf()');
  const bulkSum = `SELECT count(*) || ':' || sum(hashtext(payload)::bigint) FROM drill_bulk`;
  const expectedBulk = await source.sql(bulkSum);
  const bytes = Number(await source.sql(`SELECT pg_database_size('postgres')`));

  // The ObjectStore asks for no immediate checkpoint, so a backup first waits for a spread one, which
  // lasts as long as there are dirty buffers to pace out (up to 0.9 x checkpoint_timeout on a busy
  // server). The drill measures the copy: the database is at rest when it starts.
  await source.sql('CHECKPOINT');
  phase('load');
  const [, backupMs] = await timed(() => asPostgres('barman-cloud-backup', backupArgs(store, r.backupName, endpoint)));
  // What the plugin runs after each backup; restoring by name below proves the backup survived it.
  phase('base backup');
  await asPostgres('barman-cloud-backup-delete', retentionArgs(store, endpoint));
  phase('retention');

  const batch = (phase: string, from: number) =>
    Array.from({ length: PITR_BATCHES }, (_, b) => {
      const per = PITR_ROWS / PITR_BATCHES;
      return `INSERT INTO drill_rows (id, phase) SELECT g, '${phase}' FROM generate_series(${from + b * per}, ${from + (b + 1) * per - 1}) g`;
    });
  await source.sql(batch('before', 1));
  const target = await source.sql('SELECT clock_timestamp()');
  await source.sql(['SELECT pg_sleep(0.05)', ...batch('after', PITR_ROWS + 1)]);
  const rowsSum = `SELECT count(*) || ':' || coalesce(md5(string_agg(id::text, ',' ORDER BY id)), '') FROM drill_rows WHERE phase = 'before'`;
  const expectedRows = await source.sql(rowsSum);
  const segment = await source.sql('SELECT pg_walfile_name(pg_switch_wal())');
  await waitFor(`WAL ${segment} to be archived`, async () => (await source.sql(`SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver`)) >= segment, 120_000);

  phase('rows and WAL archived');
  // The disaster: the server dies and its volume is gone.
  await source.stop('immediate');
  rmSync(source.dataDir, { recursive: true, force: true });

  const restoredDir = join(r.root, 'restored');
  const restored: ScratchServer = scratchServer(options(restoredDir, 'restored.log'));
  r.onCleanup(() => restored.stop('immediate'));
  const [, restoreMs] = await timed(async () => {
    mark = performance.now();
    await asPostgres('barman-cloud-restore', restoreArgs(store, r.backupName, restoredDir, endpoint));
    phase('base backup restored');
    configure(restoredDir, {
      restore_command: `${shellLine(['barman-cloud-wal-restore', ...walRestoreArgs(store, endpoint)])} %f %p`,
      recovery_target_time: target,
      recovery_target_action: 'promote',
      // The recovered server must not archive over the history it recovers from.
      archive_mode: 'off',
    });
    writeFileSync(join(restoredDir, 'recovery.signal'), '');
    chownSync(join(restoredDir, 'recovery.signal'), user.uid, user.gid);
    await restored.start();
    await waitFor('the recovered server to promote', async () => (await restored.sql('SELECT pg_is_in_recovery()')) === 'f', 120_000);
    phase('WAL replayed and promoted');
  });

  const gotRows = await restored.sql(rowsSum);
  const after = Number(await restored.sql(`SELECT count(*) FROM drill_rows WHERE phase = 'after'`));
  const gotBulk = await restored.sql(bulkSum);
  await restored.stop();
  const problems: string[] = [];
  if (gotRows !== expectedRows) problems.push(`rows before the target: expected ${expectedRows}, got ${gotRows}`);
  if (after !== 0) problems.push(`${after} rows written after the target came back`);
  if (gotBulk !== expectedBulk) problems.push(`bulk table: expected ${expectedBulk} (rows:hash), got ${gotBulk}`);
  for (const p of problems) r.say(`MISMATCH ${p}`);
  r.say(phases.join(', '));
  r.say(`recovered to ${target}: ${gotRows.split(':')[0]} of ${PITR_ROWS} rows before it, ${after} of ${PITR_ROWS} after it`);
  const lost = PITR_ROWS - Number(gotRows.split(':')[0]);
  return { path: 'cnpg', bytes, backupMs, restoreMs, lost: `${lost} of ${PITR_ROWS} rows`, problems };
};
