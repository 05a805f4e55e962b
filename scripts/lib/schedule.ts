import { CronExpressionParser } from 'cron-parser';
import { UserError } from '../../src/lib/errors.ts';
import { formatDuration } from './steps.ts';

/** How long after a scheduled time its backup may still be running before it counts as late. */
export const DEFAULT_GRACE_MS = 60 * 60_000;

/**
 * The newest scheduled time whose backup must have finished by `now`: the latest time the cron
 * expression fires at or before `now - grace`. VolSync takes five fields, CloudNativePG six (seconds
 * first); both run on the controllers' clock, UTC.
 */
export const dueSince = (schedule: string, now: number, graceMs = DEFAULT_GRACE_MS): number => {
  try {
    return CronExpressionParser.parse(schedule, { currentDate: new Date(now - graceMs), tz: 'UTC' }).prev().toDate().getTime();
  } catch (e) {
    throw new UserError(`schedule "${schedule}" is not a cron expression: ${(e as Error).message}`);
  }
};

export interface Freshness {
  ok: boolean;
  /** One line: what was found against what was due. */
  detail: string;
}

/**
 * Whether the newest backup (`last`, epoch ms, undefined when there is none) covers the schedule: it
 * must not be older than the newest scheduled time that is `grace` in the past. Something created after
 * that time has not missed a backup yet.
 */
export const freshness = (opts: { schedule: string; last: number | undefined; created?: number; now: number; graceMs?: number }): Freshness => {
  const due = dueSince(opts.schedule, opts.now, opts.graceMs);
  const dueText = `due since ${new Date(due).toISOString()} (${opts.schedule})`;
  if (opts.last !== undefined && opts.last >= due) return { ok: true, detail: `newest ${age(opts.now - opts.last)} old, ${dueText}` };
  if (opts.created !== undefined && opts.created > due) return { ok: true, detail: `none yet, created after the last scheduled time (${opts.schedule})` };
  if (opts.last === undefined) return { ok: false, detail: `none at all, ${dueText}` };
  return { ok: false, detail: `newest ${age(opts.now - opts.last)} old, older than the run ${dueText}` };
};

/** A duration as an age: seconds and minutes below an hour, then hours and minutes, then days and hours. */
export const age = (ms: number): string => {
  if (ms < 0) return 'in the future';
  if (ms < 3_600_000) return formatDuration(ms);
  const minutes = Math.floor(ms / 60_000);
  const hours = Math.floor(minutes / 60);
  return hours < 48 ? `${hours}h${String(minutes % 60).padStart(2, '0')}m` : `${Math.floor(hours / 24)}d${hours % 24}h`;
};

/** Epoch ms of an RFC 3339 time stamp, or undefined. */
export const timeOf = (stamp: unknown): number | undefined => {
  if (typeof stamp !== 'string' || !stamp) return undefined;
  const t = Date.parse(stamp);
  return Number.isNaN(t) ? undefined : t;
};
