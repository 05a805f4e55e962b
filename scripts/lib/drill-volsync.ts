// The drill's VolSync path: restic as the mover runs it, against the S3 stand-in.
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { changeTree, diffChecksums, generateTree, timed, treeBytes, treeChecksums, type DrillResult, type Say } from './drill.ts';
import { UserError } from '../../src/lib/errors.ts';
import { io } from '../../src/lib/io.ts';
import { waitFor } from './poll.ts';
import { age } from './schedule.ts';
import {
  MOVER_HOST,
  ensureInitialized,
  forgetArgs,
  moverBackup,
  moverPrune,
  moverRestore,
  restic,
  resticArgs,
  resticLocks,
  resticQuery,
  resticSnapshots,
  resticUnlock,
  type ResticAccess,
  type ResticRetain,
} from './restic.ts';

/**
 * `bytes` of files in `data`, backed up by two scheduled runs (the first `gapMs` earlier, then
 * some files changed), forgotten with the ReplicationSource's retention, pruned and checked; the folder
 * is destroyed and restored from the latest snapshot (timed: the RTO) and from the earlier one by ID,
 * each compared file by file with what was backed up.
 */
export const rehearseVolsync = async (repo: ResticAccess, data: string, bytes: number, retain: ResticRetain | undefined, gapMs: number, say: Say): Promise<DrillResult> => {
  const earlier = generateTree(data, bytes);
  await ensureInitialized(repo);
  const [first, backupMs] = await timed(() => moverBackup(repo, data, retain, new Date(Date.now() - gapMs)));
  const latest = changeTree(data);
  await moverBackup(repo, data, retain);
  const problems: string[] = [];
  if (!(await resticSnapshots(repo)).some((s) => s.id.startsWith(first))) {
    problems.push(`retention (${forgetArgs(retain).join(' ')}) removed the snapshot taken ${age(gapMs)} before the latest`);
  }
  await moverPrune(repo);
  await restic(repo, ['check']);

  const destroy = () => {
    rmSync(data, { recursive: true, force: true });
    mkdirSync(data);
  };
  destroy();
  const [, restoreMs] = await timed(() => moverRestore(repo, 'latest', data));
  const latestDiff = diffChecksums(latest, treeChecksums(data));
  const restoredBytes = treeBytes(data);
  destroy();
  await moverRestore(repo, first, data);
  const earlierDiff = diffChecksums(earlier, treeChecksums(data));
  rmSync(data, { recursive: true, force: true });

  problems.push(...latestDiff.map((d) => `latest: ${d}`), ...earlierDiff.map((d) => `snapshot ${first.slice(0, 8)}: ${d}`));
  for (const p of problems) say(`MISMATCH ${p}`);
  say(`snapshot ${first.slice(0, 8)} (${age(gapMs)} earlier) and latest restored; ${latest.size} and ${earlier.size} files compared`);
  const lost = latestDiff.filter((d) => !d.startsWith('unexpected')).length;
  return { path: 'volsync', bytes: restoredBytes, backupMs, restoreMs, lost: `${lost} of ${latest.size} files`, problems };
};

/**
 * A backup that hangs holds its lock: `resticUnlock` must keep it. Killed, the backup leaves its lock
 * behind, as a crashed mover does, and the repository refuses forget until `resticUnlock` removes it.
 */
export const rehearseUnlock = async (repo: ResticAccess, retain: ResticRetain | undefined, say: Say): Promise<void> => {
  // Started directly, not through exec: it must run in the background until it is killed.
  const holder = spawn('restic', resticArgs(repo, ['backup', '--stdin', '--stdin-filename', 'held', '--host', 'dr-drill-lock']), {
    env: { ...io().env, ...repo.env },
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  const exited = new Promise((resolve) => holder.once('exit', resolve));
  try {
    await waitFor('the hanging backup to take its lock', async () => (await resticLocks(repo)).length > 0, 60_000);
    const live = await resticUnlock(repo);
    if (live.removed !== 0 || live.remaining !== 1) throw new UserError(`unlock removed ${live.removed} lock(s) while a backup held one`);
  } finally {
    holder.kill('SIGKILL');
    await exited;
  }
  const forget = ['forget', '--host', MOVER_HOST, ...forgetArgs(retain)];
  if ((await resticQuery(repo, forget)).ok) throw new UserError('forget ran although a stale lock was left: the repository was not locked');
  const stale = await resticUnlock(repo);
  if (stale.removed !== 1 || stale.remaining !== 0) throw new UserError(`unlock removed ${stale.removed} stale lock(s) and left ${stale.remaining}`);
  await restic(repo, forget);
  await restic(repo, ['check']);
  say('the live lock was kept and the stale one removed; forget and check pass again');
};
