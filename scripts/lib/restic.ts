// restic as VolSync's mover runs it, from this machine, with the mover's settings read from the volsync
// component: the local drill (npm run dr-drill) runs it against its S3 stand-in, and volsync:unlock
// takes its unlock arguments from here (restic-job.ts runs them in the cluster).
import { join } from 'node:path';
import { CronExpressionParser } from 'cron-parser';
import { UserError } from '../../src/lib/errors.ts';
import { query, run } from '../../src/lib/exec.ts';
import { repoRoot } from './cluster.ts';
import { substitutedResource } from './flux-vars.ts';

/** The component every app's volume is backed up with. */
export const VOLSYNC_R2_COMPONENT = 'kubernetes/components/volsync/r2';

/** VolSync's mover tags every snapshot with this host, and forgets and restores only its own. */
export const MOVER_HOST = 'volsync';

/** How to reach one restic repository directly, from this machine (restic-job.ts reaches it from inside the cluster). */
export interface ResticAccess {
  /** The app's restic Secret as the mover gets it: RESTIC_REPOSITORY, RESTIC_PASSWORD, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY. */
  env: Record<string, string>;
  /** A CA bundle to trust (VolSync's customCA), passed as --cacert. */
  cacert?: string;
  /** Where restic keeps its cache (the mover's cache volume); none means restic's default. */
  cacheDir?: string;
}

/** `spec.restic.retain` of a ReplicationSource. */
export interface ResticRetain {
  hourly?: number;
  daily?: number;
  weekly?: number;
  monthly?: number;
  yearly?: number;
  within?: string;
  last?: number | string;
}

/** What the drill and the tasks need from the component's manifests, after Flux's substitution. */
export interface VolsyncPolicy {
  schedule: string;
  retain: ResticRetain | undefined;
  pruneIntervalDays: number;
  /** RESTIC_REPOSITORY as the ExternalSecret templates it (R2's endpoint still a template). */
  repositoryTemplate: string;
}

const RETAIN_KEYS = ['hourly', 'daily', 'weekly', 'monthly', 'yearly', 'within', 'last'] as const;

/** Reads the ReplicationSource and the restic Secret template of a volsync component for one app. */
export const readVolsyncPolicy = (vars: Record<string, string>, componentDir = join(repoRoot(), VOLSYNC_R2_COMPONENT)): VolsyncPolicy => {
  const sourceFile = join(componentDir, 'replicationsource.yaml');
  const source = substitutedResource(sourceFile, 'ReplicationSource', vars) as any;
  const restic = source.spec?.restic;
  if (!restic) throw new UserError(`${sourceFile}: spec.restic is missing`);
  const retain = restic.retain;
  if (retain !== undefined) {
    if (!retain || typeof retain !== 'object') throw new UserError(`${sourceFile}: spec.restic.retain must be a map`);
    for (const [k, v] of Object.entries(retain)) {
      if (!(RETAIN_KEYS as readonly string[]).includes(k)) throw new UserError(`${sourceFile}: spec.restic.retain.${k} is not a VolSync retention field`);
      if (k !== 'within' && k !== 'last' && !(Number.isInteger(v) && (v as number) >= 0)) {
        throw new UserError(`${sourceFile}: spec.restic.retain.${k} must be a whole number, not ${JSON.stringify(v)}`);
      }
    }
  }
  const secretFile = join(componentDir, 'externalsecret.yaml');
  const secret = substitutedResource(secretFile, 'ExternalSecret', vars) as any;
  const repositoryTemplate = secret.spec?.target?.template?.data?.RESTIC_REPOSITORY;
  if (typeof repositoryTemplate !== 'string') throw new UserError(`${secretFile}: spec.target.template.data.RESTIC_REPOSITORY is missing`);
  return {
    schedule: String(source.spec?.trigger?.schedule ?? ''),
    retain,
    // VolSync prunes weekly unless told otherwise.
    pruneIntervalDays: Number(restic.pruneIntervalDays ?? 7),
    repositoryTemplate,
  };
};

/**
 * The longest wait between two runs of a cron schedule (UTC, as the controllers run it): how much a
 * lost volume can lose at most, and how far apart the drill puts its two backups.
 */
export const scheduleGapMs = (schedule: string): number => {
  let runs;
  try {
    runs = CronExpressionParser.parse(schedule, { currentDate: new Date(Date.UTC(2026, 0, 1)), tz: 'UTC' });
  } catch (e) {
    throw new UserError(`schedule "${schedule}" is not a cron expression: ${(e as Error).message}`);
  }
  let previous = runs.next().getTime();
  let gap = 0;
  // Two months of runs cover any daily, weekly or monthly pattern's longest gap.
  for (let i = 0; i < 500 && previous < Date.UTC(2026, 2, 1); i++) {
    const next = runs.next().getTime();
    gap = Math.max(gap, next - previous);
    previous = next;
  }
  return gap;
};

/**
 * The `restic forget` flags VolSync's mover derives from `spec.restic.retain`, in its order; without a
 * policy (or with an empty one) it keeps the last snapshot only.
 */
export const forgetArgs = (retain: ResticRetain | undefined): string[] => {
  const args: string[] = [];
  for (const k of ['hourly', 'daily', 'weekly', 'monthly', 'yearly'] as const) {
    if (retain?.[k] !== undefined) args.push(`--keep-${k}`, String(retain[k]));
  }
  if (retain?.within !== undefined) args.push('--keep-within', String(retain.within));
  if (retain?.last !== undefined) args.push('--keep-last', String(retain.last));
  return args.length ? args : ['--keep-last', '1'];
};

/** The bucket and path of an S3 RESTIC_REPOSITORY (`s3:https://<account>.r2.cloudflarestorage.com/<bucket>/<app>`). */
export const repositoryLayout = (repository: string): { bucket: string; path: string } => {
  const m = /^s3:https?:\/\/[^/]+\/([^/]+)\/(.+)$/.exec(repository);
  if (!m) throw new UserError(`RESTIC_REPOSITORY "${repository}" is not s3:<endpoint>/<bucket>/<path>`);
  return { bucket: m[1], path: m[2] };
};

/** The same bucket and path on another S3 endpoint. */
export const repositoryAt = (repository: string, endpoint: string): string => {
  const { bucket, path } = repositoryLayout(repository);
  return `s3:${endpoint.replace(/\/$/, '')}/${bucket}/${path}`;
};

/** restic's arguments for one command against the repository (its CA and cache first). */
export const resticArgs = (repo: ResticAccess, args: string[]): string[] => [
  ...(repo.cacert ? ['--cacert', repo.cacert] : []),
  ...(repo.cacheDir ? ['--cache-dir', repo.cacheDir] : []),
  ...args,
];

/** Runs restic against the repository and returns its stdout; a non-zero exit is a CommandError. */
export const restic = (repo: ResticAccess, args: string[], opts: { cwd?: string; input?: string } = {}): Promise<string> =>
  run('restic', resticArgs(repo, args), { env: repo.env, ...opts });

/** Asks restic something; a non-zero exit is an answer (ok: false), not an error. */
export const resticQuery = (repo: ResticAccess, args: string[]) => query('restic', resticArgs(repo, args), { env: repo.env });

/** The IDs of the locks in the repository, read without taking one. */
export const resticLocks = async (repo: ResticAccess): Promise<string[]> =>
  (await restic(repo, ['list', 'locks', '--no-lock'])).split('\n').map((l) => l.trim()).filter(Boolean);

/**
 * The restic command that unlocks a repository, as VolSync's mover runs it for `spec.restic.unlock`:
 * stale locks only, unless `removeAll`. volsync:unlock runs these arguments in a Job; the drill runs
 * them here against the stand-in, through resticUnlock.
 */
export const unlockArgs = (opts: { removeAll?: boolean } = {}): string[] => ['unlock', ...(opts.removeAll ? ['--remove-all'] : [])];

export interface UnlockResult {
  removed: number;
  /** Locks still held: a restic process that is alive (a running backup) keeps its lock. */
  remaining: number;
}

/**
 * Removes stale locks, as VolSync's mover does for `spec.restic.unlock`: locks whose process is gone
 * (same host) or that have not been refreshed for 30 minutes. A live backup keeps its lock unless
 * `removeAll` is set, which removes every lock and must only be used when no mover runs.
 */
export const resticUnlock = async (repo: ResticAccess, opts: { removeAll?: boolean } = {}): Promise<UnlockResult> => {
  const before = await resticLocks(repo);
  if (before.length) await restic(repo, unlockArgs(opts));
  const after = before.length ? await resticLocks(repo) : [];
  return { removed: before.length - after.length, remaining: after.length };
};

export interface SnapshotSummary {
  id: string;
  time: string;
  host: string;
  paths: string[];
}

/** The repository's snapshots of one host, oldest first. */
export const resticSnapshots = async (repo: ResticAccess, host = MOVER_HOST): Promise<SnapshotSummary[]> =>
  (JSON.parse(await restic(repo, ['snapshots', '--host', host, '--json'])) as any[]).map((s) => ({
    id: String(s.id),
    time: String(s.time),
    host: String(s.hostname),
    paths: (s.paths ?? []).map(String),
  }));

/** restic's --time format, in local time as restic reads it. */
export const resticTime = (d: Date): string => {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
};

/** The repository exists, or is created now: the mover's first backup initialises it. */
export const ensureInitialized = async (repo: ResticAccess): Promise<'existed' | 'created'> => {
  if ((await resticQuery(repo, ['cat', 'config'])).ok) return 'existed';
  await restic(repo, ['init']);
  return 'created';
};

/**
 * One backup as VolSync's mover takes it, on a repository that exists (`ensureInitialized`, which the
 * mover runs first): the volume's root as `.`, host `volsync`, `lost+found` excluded, then forget with
 * the ReplicationSource's retention. `time` backdates the snapshot (the drill uses it to stand for an
 * earlier scheduled run). Returns the new snapshot's ID as restic prints it (possibly the short form).
 */
export const moverBackup = async (repo: ResticAccess, dataDir: string, retain: ResticRetain | undefined, time?: Date): Promise<string> => {
  const when = time ? ['--time', resticTime(time)] : [];
  const out = await restic(repo, ['backup', '--json', '--host', MOVER_HOST, '--exclude', 'lost+found', ...when, '.'], { cwd: dataDir });
  const summary = out
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l))
    .find((m) => m.message_type === 'summary');
  if (!summary?.snapshot_id) throw new UserError(`restic backup of ${dataDir} printed no snapshot ID`);
  await restic(repo, ['forget', '--host', MOVER_HOST, ...forgetArgs(retain)]);
  return String(summary.snapshot_id);
};

/** The mover's prune, run every `pruneIntervalDays`. */
export const moverPrune = (repo: ResticAccess): Promise<string> => restic(repo, ['prune']);

/** A restore as the ReplicationDestination's mover does it: one snapshot (`latest` or an ID) into the volume's root. */
export const moverRestore = (repo: ResticAccess, snapshot: string, dataDir: string): Promise<string> =>
  restic(repo, ['restore', snapshot, '--target', '.', '--host', MOVER_HOST], { cwd: dataDir });
