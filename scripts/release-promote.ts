// The staged rollout: the apps cluster follows `release`, which is `main` a soak period later. This moves
// `release` forward to the newest commit of `main` that has soaked, by a plain fast-forward push.
import { appendFileSync } from 'node:fs';
import parseDuration from 'parse-duration';
import { entryPoint, parseFlags } from '../src/lib/cli.ts';
import { CommandError, UsageError, UserError } from '../src/lib/errors.ts';
import { commitOf, git, gitAsk, logOf, type CommitLine } from '../src/lib/git.ts';
import { io } from '../src/lib/io.ts';
import { repoRoot } from './lib/cluster.ts';

const USAGE = `usage: node --import tsx scripts/release-promote.ts [--remote NAME] [--soak DURATION] [--now] [--to COMMIT] [--dry-run]
       task flux:override-staged-rollout      (the same with --now, after a confirmation)

Fast-forwards the branch release to the newest commit of main whose committer date is at least
--soak old (a plain push, never a force). Nothing to promote, or release already there: exit 0.
release holding commits that main lacks: exit 1, nothing pushed. Promotion is held while main has a
file named hold at its root (its content is the reason) or PROMOTION_HOLD is set (the repository
variable the workflow passes). A summary goes to stdout and to $GITHUB_STEP_SUMMARY when set; the
chosen commit goes to $GITHUB_OUTPUT (target=...) when set, so a workflow can preview it and then
promote exactly that commit with --to.`;

export const MAIN = 'main';
export const RELEASE = 'release';
export const HOLD_FILE = 'hold';

/** Go's duration syntax (24h, 90m, 1h30m), as Flux and the workflow's inputs write durations. */
const GO_DURATION = /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/;

export const parseSoak = (text: string): number => {
  const ms = GO_DURATION.test(text) ? parseDuration(text) : null;
  if (ms === null || ms === undefined) throw new UsageError(`--soak ${JSON.stringify(text)}: expected a duration such as 24h, 90m or 1h30m`);
  return ms;
};

export const formatAge = (ms: number): string => {
  const minutes = Math.max(0, Math.floor(ms / 60_000));
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return h && m ? `${h}h${m}m` : h ? `${h}h` : `${m}m`;
};

const commitList = (commits: CommitLine[], bullet: string): string[] => commits.map((c) => `${bullet}${c.short} ${c.subject}`);

/** Appends to a file the workflow gave through the environment ($GITHUB_STEP_SUMMARY, $GITHUB_OUTPUT). */
const appendTo = (variable: string, text: string): void => {
  const file = io().env[variable];
  if (file) appendFileSync(file, text);
};

const summary = (title: string, lines: string[]): void => appendTo('GITHUB_STEP_SUMMARY', `### ${title}\n\n${lines.join('\n')}\n\n`);

/** Why promotion is held, one reason per source, or none. */
const holds = async (root: string, mainRef: string): Promise<string[]> => {
  const reasons: string[] = [];
  const variable = io().env.PROMOTION_HOLD?.trim();
  if (variable) reasons.push(`the repository variable PROMOTION_HOLD is set: ${variable}`);
  const file = await gitAsk(root, 'show', `${mainRef}:${HOLD_FILE}`);
  if (file.ok) reasons.push(`main has a ${HOLD_FILE} file: ${file.stdout || '(no reason written in it)'}`);
  return reasons;
};

/** git talking to the remote: a refusal (a ruleset, a key without write access, no network) in git's own words. */
const remoteGit = async (root: string, what: string, ...args: string[]): Promise<string> => {
  try {
    return await git(root, ...args);
  } catch (e) {
    if (!(e instanceof CommandError)) throw e;
    // What the server said (a ruleset's GH013) comes as remote: lines; git's own reason as fatal: or error:.
    const lines = e.stderr.split('\n').map((l) => l.trim());
    const pick = (prefix: RegExp) => lines.filter((l) => prefix.test(l)).map((l) => l.replace(prefix, '').trim()).filter(Boolean);
    const said = pick(/^remote:/).length ? pick(/^remote:/) : pick(/^(fatal|error):/);
    throw new UserError(`${what} failed: ${said.join('; ') || e.message}`);
  }
};

export const main = async (argv: string[]): Promise<void> => {
  const flags = parseFlags(argv, USAGE, {
    remote: { type: 'string', description: 'the remote holding main and release (default origin)' },
    soak: { type: 'string', description: 'how long a commit stays on main before it may reach release (default 24h)' },
    now: { type: 'boolean', description: 'skip the soak: promote the head of main (the override)' },
    to: { type: 'string', description: 'promote up to this commit of main instead of the newest that has soaked' },
    'dry-run': { type: 'boolean', description: 'print the plan; push nothing, write no summary' },
  });
  if (!flags) return;
  const soakMs = flags.now ? 0 : parseSoak(flags.soak ?? '24h');
  const soakText = flags.now ? 'none (--now)' : (flags.soak ?? '24h');
  const remote = flags.remote ?? 'origin';
  const root = repoRoot();
  const dryRun = flags['dry-run'];
  const say = (...lines: string[]) => io().out(`${lines.join('\n')}\n`);
  const planned = (target = '') => appendTo('GITHUB_OUTPUT', `target=${target}\n`);

  if (!(await gitAsk(root, 'remote', 'get-url', remote)).ok) {
    throw new UserError(`this checkout has no git remote named ${remote}: add the GitHub repository with \`git remote add ${remote} <url>\`, or name another with --remote`);
  }
  const heads = await remoteGit(root, `reading the branches of ${remote}`, 'ls-remote', '--heads', remote, MAIN, RELEASE);
  for (const branch of [MAIN, RELEASE]) {
    if (!heads.split('\n').some((l) => l.endsWith(`\trefs/heads/${branch}`))) {
      throw new UserError(`${remote} has no branch ${branch}${branch === RELEASE ? `: create it once from main with \`git push ${remote} ${remote}/${MAIN}:refs/heads/${RELEASE}\`` : ''}`);
    }
  }
  await remoteGit(root, `fetching ${MAIN} and ${RELEASE} from ${remote}`, 'fetch', '--quiet', '--no-tags', remote, `+refs/heads/${MAIN}:refs/remotes/${remote}/${MAIN}`, `+refs/heads/${RELEASE}:refs/remotes/${remote}/${RELEASE}`);
  const mainSha = (await commitOf(root, `refs/remotes/${remote}/${MAIN}`))!;
  const releaseSha = (await commitOf(root, `refs/remotes/${remote}/${RELEASE}`))!;

  if (!(await gitAsk(root, 'merge-base', '--is-ancestor', releaseSha, mainSha)).ok) {
    const extra = await logOf(root, `${mainSha}..${releaseSha}`);
    const base = await git(root, 'merge-base', mainSha, releaseSha);
    const repair = `git push --force-with-lease=${RELEASE}:${releaseSha} ${remote} ${base}:refs/heads/${RELEASE}`;
    if (!dryRun) summary('Promotion to release failed', [
      `\`${RELEASE}\` has ${extra.length} commit(s) that \`${MAIN}\` lacks, so it cannot be fast-forwarded:`,
      '',
      ...commitList(extra, '- '),
      '',
      `Bring what they change to \`${MAIN}\` through a pull request if it is still wanted, then have an administrator move \`${RELEASE}\` back to where it left \`${MAIN}\`: \`${repair}\`. Nothing was pushed.`,
    ]);
    planned();
    throw new UserError(
      [
        `${RELEASE} has ${extra.length} commit(s) that ${MAIN} lacks, so it cannot be fast-forwarded:`,
        ...commitList(extra, '  '),
        `  Repair: bring what they change to ${MAIN} through a pull request if it is still wanted, then have an administrator`,
        `  move ${RELEASE} back to where it left ${MAIN}: ${repair}`,
        '  Nothing was pushed.',
      ].join('\n'),
    );
  }

  const held = await holds(root, `refs/remotes/${remote}/${MAIN}`);
  if (held.length) {
    say(`promotion is held, nothing pushed:`, ...held.map((h) => `  ${h}`), `  Lift the hold (delete the ${HOLD_FILE} file on main, clear the variable) to promote again.`);
    if (!dryRun) summary('Promotion to release is held', [...held.map((h) => `- ${h}`), '', 'Nothing was pushed.']);
    planned();
    return;
  }

  if (releaseSha === mainSha) {
    say(`${RELEASE} is already at ${MAIN} (${mainSha.slice(0, 7)}): nothing to promote`);
    if (!dryRun) summary('Nothing to promote', [`\`${RELEASE}\` is already at \`${MAIN}\` (\`${mainSha.slice(0, 7)}\`).`]);
    planned();
    return;
  }

  const now = io().now();
  const chain = await logOf(root, '--first-parent', `${releaseSha}..${mainSha}`);
  const soaked = (c: CommitLine) => now - c.committed * 1000 >= soakMs;
  let target: CommitLine | undefined;
  if (flags.to !== undefined) {
    const wanted = await commitOf(root, flags.to);
    if (!wanted) throw new UsageError(`--to ${flags.to}: no such commit`);
    target = chain.find((c) => c.sha === wanted);
    if (target && !(await gitAsk(root, 'merge-base', '--is-ancestor', releaseSha, target.sha)).ok) target = undefined;
    if (!target) throw new UserError(`--to ${flags.to}: not a commit of ${MAIN} after ${RELEASE} (${RELEASE} is at ${releaseSha.slice(0, 7)}, ${MAIN} at ${mainSha.slice(0, 7)}); nothing was pushed`);
    if (!soaked(target)) throw new UserError(`--to ${flags.to}: ${target.short} is ${formatAge(now - target.committed * 1000)} old, less than the soak (${soakText}); nothing was pushed`);
  } else {
    for (const c of chain) {
      if (!soaked(c)) continue;
      if ((await gitAsk(root, 'merge-base', '--is-ancestor', releaseSha, c.sha)).ok) {
        target = c;
        break;
      }
    }
  }
  if (!target) {
    const oldest = chain[chain.length - 1];
    const age = now - oldest.committed * 1000;
    const message = `nothing has soaked yet: the oldest commit of ${MAIN} not on ${RELEASE}, ${oldest.short} ${oldest.subject}, is ${formatAge(age)} old (soak ${soakText}); it may be promoted in ${formatAge(soakMs - age)}`;
    say(message);
    if (!dryRun) summary('Nothing to promote', [message]);
    planned();
    return;
  }

  const commits = await logOf(root, `${releaseSha}..${target.sha}`);
  const waiting = chain.slice(0, chain.indexOf(target));
  const head = `${RELEASE} ${releaseSha.slice(0, 7)} -> ${target.short} (${MAIN} at ${mainSha.slice(0, 7)}; ${target.short} is ${formatAge(now - target.committed * 1000)} old, soak ${soakText})`;
  const listed = [`${commits.length} commit(s) reach the apps cluster:`, ...commitList(commits, '  ')];
  const still = waiting.length ? [`${waiting.length} newer commit(s) of ${MAIN} keep soaking.`] : [];
  planned(target.sha);
  if (dryRun) {
    say(`release-promote: plan (dry run, nothing is pushed)`, `  ${head}`, ...listed.map((l) => `  ${l}`), ...still.map((l) => `  ${l}`));
    return;
  }
  await remoteGit(root, `pushing ${target.short} to ${remote} ${RELEASE} (nothing was promoted)`, 'push', '--quiet', remote, `${target.sha}:refs/heads/${RELEASE}`);
  say(`promoted ${head}`, ...listed, ...still);
  summary('Promoted to release', [
    `\`${RELEASE}\` fast-forwarded from \`${releaseSha.slice(0, 7)}\` to \`${target.short}\` (soak ${soakText}), ${commits.length} commit(s):`,
    '',
    ...commitList(commits, '- '),
    ...(still.length ? ['', ...still] : []),
  ]);
};

entryPoint(import.meta.url, main, 'release-promote: ');
