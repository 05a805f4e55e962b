import { query, run } from './exec.ts';

/** One git command in `cwd`, its output trimmed; a failure is a CommandError naming git. */
export const git = async (cwd: string, ...args: string[]): Promise<string> => (await run('git', args, { cwd })).trim();

/** A git question whose "no" is a non-zero exit (is-ancestor, a ref that may not exist). */
export const gitAsk = async (cwd: string, ...args: string[]): Promise<{ ok: boolean; stdout: string }> => {
  const r = await query('git', args, { cwd });
  return { ok: r.ok, stdout: r.stdout.trim() };
};

/** The full commit id `ref` names, or undefined when it names no commit. */
export const commitOf = async (cwd: string, ref: string): Promise<string | undefined> => {
  // A ref starting with "-" would be read as an option.
  if (!ref || ref.startsWith('-')) return undefined;
  const r = await gitAsk(cwd, 'rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`);
  return r.ok && r.stdout ? r.stdout : undefined;
};

export interface CommitLine {
  sha: string;
  short: string;
  subject: string;
  /** Committer date, seconds since the epoch. */
  committed: number;
}

/** `git log` of a range as data, newest first. */
export const logOf = async (cwd: string, ...args: string[]): Promise<CommitLine[]> => {
  const out = await git(cwd, 'log', '--format=%H%x09%h%x09%ct%x09%s', ...args);
  return out
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [sha, short, committed, ...subject] = line.split('\t');
      return { sha, short, committed: Number(committed), subject: subject.join('\t') };
    });
};
