// scripts/release-promote.ts against real git: a bare remote and a clone in a temporary folder, commits dated
// in the past and the present with GIT_COMMITTER_DATE. The script runs in-process; only git runs as a process.
import { appendFileSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { invoke } from '../src/lib/cli.ts';
import { launch } from '../src/lib/spawner.ts';
import { main, parseSoak } from '../scripts/release-promote.ts';
import { tempDir } from './helpers.ts';

const test = suite('release-promote');

const NOW = Date.parse('2026-03-10T12:00:00Z');
const HOUR = 3_600_000;

const gitEnv = (): NodeJS.ProcessEnv => {
  const { PROMOTION_HOLD: _h, GITHUB_STEP_SUMMARY: _s, GITHUB_OUTPUT: _o, ...env } = process.env;
  return { ...env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', GIT_AUTHOR_NAME: 'test', GIT_AUTHOR_EMAIL: 'test@example.com', GIT_COMMITTER_NAME: 'test', GIT_COMMITTER_EMAIL: 'test@example.com' };
};

let dir: string;
let remote: string;
let work: string;

const git = async (cwd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> => {
  const r = await launch('git', args, { cwd, env: { ...gitEnv(), ...env } }).result;
  if (r.code !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
};

/** The commit the checked-out branch points at, read from .git (a fresh clone's refs are loose files). */
const head = (): string => {
  const ref = readFileSync(join(work, '.git', 'HEAD'), 'utf8').trim();
  return ref.startsWith('ref: ') ? readFileSync(join(work, '.git', ref.slice(5)), 'utf8').trim() : ref;
};

/**
 * A commit on the checked-out branch, made `hoursAgo` before NOW; returns its id. Without a file it is an
 * empty commit (promotion reads commits, not trees): one git process, where a test makes dozens of commits.
 */
const commit = async (subject: string, hoursAgo: number, file?: string, content = `${subject}\n`): Promise<string> => {
  const date = `@${Math.round((NOW - hoursAgo * HOUR) / 1000)} +0000`;
  if (file) {
    writeFileSync(join(work, file), content);
    await git(work, ['add', '--', file]);
  }
  await git(work, ['commit', '-q', '--allow-empty', '-m', subject], { GIT_COMMITTER_DATE: date, GIT_AUTHOR_DATE: date });
  return head();
};

const remoteHead = (branch: string): Promise<string> => git(remote, ['rev-parse', `refs/heads/${branch}`]);
const pushBranches = async (release: string) => {
  await git(work, ['push', '-q', 'origin', 'HEAD:refs/heads/main']);
  await git(work, ['push', '-q', '--force', 'origin', `${release}:refs/heads/release`]);
};

const promote = (args: string[] = [], env: Record<string, string> = {}) =>
  invoke(main, args, { env: { ...gitEnv(), K8S_OPS_ROOT: work, ...env }, now: () => NOW }, 'release-promote: ');

test.before.each(async () => {
  dir = tempDir('k8s-ops-promote-');
  remote = join(dir, 'remote.git');
  work = join(dir, 'work');
  await git(dir, ['init', '-q', '--bare', '--initial-branch=main', remote]);
  // The remote's receive-pack reads only its own config: no `gc --auto` after every push.
  appendFileSync(join(remote, 'config'), '[receive]\n\tautogc = false\n');
  await git(dir, ['clone', '-q', remote, work]);
  await git(work, ['checkout', '-q', '-b', 'main']);
});
test.after.each(() => rmSync(dir, { recursive: true, force: true }));

test('fast-forwards release to the newest commit of main that has soaked, and says what it promoted', async () => {
  const base = await commit('chore: first', 48);
  const soaked1 = await commit('feat: odoo', 30);
  const soaked2 = await commit('fix: odoo values', 25);
  const fresh = await commit('feat: n8n', 2);
  await pushBranches(base);
  const summaryFile = join(dir, 'summary.md');
  const r = await promote([], { GITHUB_STEP_SUMMARY: summaryFile });
  assert.is(r.code, 0, r.stderr);
  assert.is(await remoteHead('release'), soaked2);
  assert.is(await remoteHead('main'), fresh, 'main is left as it was');
  assert.match(r.stdout, `promoted release ${base.slice(0, 7)} -> ${soaked2.slice(0, 7)}`);
  assert.match(r.stdout, `2 commit(s) reach the apps cluster:\n  ${soaked2.slice(0, 7)} fix: odoo values\n  ${soaked1.slice(0, 7)} feat: odoo`);
  assert.match(r.stdout, '1 newer commit(s) of main keep soaking.');
  assert.not.match(r.stdout, 'feat: n8n');
  const summary = readFileSync(summaryFile, 'utf8');
  assert.match(summary, '### Promoted to release');
  assert.match(summary, `- ${soaked1.slice(0, 7)} feat: odoo`);
  assert.match(summary, `- ${soaked2.slice(0, 7)} fix: odoo values`);
});

test('--soak takes a Go-like duration; a malformed one is a usage error', async () => {
  const base = await commit('chore: first', 48);
  const recent = await commit('feat: n8n', 2);
  await pushBranches(base);
  assert.is(parseSoak('90m'), 90 * 60_000);
  assert.is(parseSoak('1h30m'), 90 * 60_000);
  const bad = await promote(['--soak', '24']);
  assert.is(bad.code, 2);
  assert.is(bad.stderr.trim(), 'release-promote: --soak "24": expected a duration such as 24h, 90m or 1h30m');
  assert.is(await remoteHead('release'), base);
  const r = await promote(['--soak', '90m']);
  assert.is(r.code, 0, r.stderr);
  assert.is(await remoteHead('release'), recent);
});

test('nothing old enough: exit 0, saying when the oldest commit may go, and nothing pushed', async () => {
  const base = await commit('chore: first', 48);
  await commit('feat: n8n', 3);
  await pushBranches(base);
  const summaryFile = join(dir, 'summary.md');
  const r = await promote([], { GITHUB_STEP_SUMMARY: summaryFile });
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /nothing has soaked yet: the oldest commit of main not on release, [0-9a-f]{7} feat: n8n, is 3h old \(soak 24h\); it may be promoted in 21h/);
  assert.is(await remoteHead('release'), base);
  assert.match(readFileSync(summaryFile, 'utf8'), '### Nothing to promote');
});

test('release already at main: exit 0, nothing to do', async () => {
  const head = await commit('chore: first', 48);
  await pushBranches(head);
  const r = await promote(['--now']);
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout.trim(), `release is already at main (${head.slice(0, 7)}): nothing to promote`);
});

test('only commits on the first-parent line of main count: a merged old commit waits for its merge to soak', async () => {
  const base = await commit('chore: first', 48);
  await pushBranches(base);
  await git(work, ['checkout', '-q', '-b', 'feature']);
  await commit('feat: written long ago', 40);
  await git(work, ['checkout', '-q', 'main']);
  const date = `@${Math.round((NOW - 1 * HOUR) / 1000)} +0000`;
  await git(work, ['merge', '-q', '--no-ff', '-m', 'Merge pull request #7', 'feature'], { GIT_COMMITTER_DATE: date, GIT_AUTHOR_DATE: date });
  await git(work, ['push', '-q', 'origin', 'HEAD:refs/heads/main']);
  const r = await promote();
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, 'nothing has soaked yet');
  assert.match(r.stdout, 'Merge pull request #7, is 1h old');
  assert.is(await remoteHead('release'), base);
});

test('a release with commits main lacks: exit 1, the commits named, the repair given, nothing pushed', async () => {
  const base = await commit('chore: first', 48);
  await commit('feat: odoo', 30);
  const mainHead = await commit('feat: n8n', 26);
  await git(work, ['push', '-q', 'origin', 'HEAD:refs/heads/main']);
  await git(work, ['checkout', '-q', '-b', 'hotfix', base]);
  const stray = await commit('fix: straight to release', 5);
  await git(work, ['push', '-q', 'origin', 'HEAD:refs/heads/release']);
  await git(work, ['checkout', '-q', 'main']);
  const summaryFile = join(dir, 'summary.md');
  const r = await promote(['--now'], { GITHUB_STEP_SUMMARY: summaryFile });
  assert.is(r.code, 1);
  const lines = r.stderr.trimEnd().split('\n');
  assert.is(lines[0], "release-promote: release has 1 commit(s) that main lacks, so it cannot be fast-forwarded:");
  assert.is(lines[1], `  ${stray.slice(0, 7)} fix: straight to release`);
  assert.match(r.stderr, `git push --force-with-lease=release:${stray} origin ${base}:refs/heads/release`);
  assert.match(r.stderr, 'Nothing was pushed.');
  assert.is(await remoteHead('release'), stray);
  assert.is(await remoteHead('main'), mainHead);
  assert.match(readFileSync(summaryFile, 'utf8'), `- ${stray.slice(0, 7)} fix: straight to release`);
});

test('a hold file on main stops promotion, even with --now, and prints its reason', async () => {
  const base = await commit('chore: first', 48);
  await commit('feat: odoo', 30);
  await commit('chore: hold promotion', 29, 'hold', 'odoo migration pending, ask before promoting\n');
  await pushBranches(base);
  const r = await promote(['--now']);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, 'promotion is held, nothing pushed:\n  main has a hold file: odoo migration pending, ask before promoting\n');
  assert.is(await remoteHead('release'), base);
  // Lifted: the next run promotes, the hold and its removal included.
  await git(work, ['rm', '-q', 'hold']);
  const lifted = await (async () => {
    const date = `@${Math.round((NOW - 28 * HOUR) / 1000)} +0000`;
    await git(work, ['commit', '-q', '-m', 'chore: lift the hold'], { GIT_COMMITTER_DATE: date, GIT_AUTHOR_DATE: date });
    return await git(work, ['rev-parse', 'HEAD']);
  })();
  await git(work, ['push', '-q', 'origin', 'HEAD:refs/heads/main']);
  const again = await promote();
  assert.is(again.code, 0, again.stderr);
  assert.is(await remoteHead('release'), lifted);
});

test('the PROMOTION_HOLD variable holds promotion too, and says why', async () => {
  const base = await commit('chore: first', 48);
  await commit('feat: odoo', 30);
  await pushBranches(base);
  const summaryFile = join(dir, 'summary.md');
  const r = await promote([], { PROMOTION_HOLD: 'waiting for the vendor', GITHUB_STEP_SUMMARY: summaryFile });
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, 'the repository variable PROMOTION_HOLD is set: waiting for the vendor');
  assert.is(await remoteHead('release'), base);
  assert.match(readFileSync(summaryFile, 'utf8'), '### Promotion to release is held');
  // An empty variable (the workflow passes it whether set or not) holds nothing.
  const r2 = await promote([], { PROMOTION_HOLD: ' ' });
  assert.is(r2.code, 0, r2.stderr);
  assert.is.not(await remoteHead('release'), base);
});

test('--now promotes the head of main at once', async () => {
  const base = await commit('chore: first', 48);
  const head = await commit('fix: urgent', 0.1);
  await pushBranches(base);
  const r = await promote(['--now']);
  assert.is(r.code, 0, r.stderr);
  assert.is(await remoteHead('release'), head);
  assert.match(r.stdout, 'soak none (--now)');
});

test('--dry-run prints the plan and pushes nothing; the target is given to the workflow', async () => {
  const base = await commit('chore: first', 48);
  const soaked = await commit('feat: odoo', 30);
  await pushBranches(base);
  const summaryFile = join(dir, 'summary.md');
  const outputFile = join(dir, 'output');
  const r = await promote(['--dry-run'], { GITHUB_STEP_SUMMARY: summaryFile, GITHUB_OUTPUT: outputFile });
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, 'release-promote: plan (dry run, nothing is pushed)');
  assert.match(r.stdout, `  1 commit(s) reach the apps cluster:\n    ${soaked.slice(0, 7)} feat: odoo`);
  assert.is(await remoteHead('release'), base);
  assert.not.ok(existsSync(summaryFile), 'a dry run writes no summary');
  assert.is(readFileSync(outputFile, 'utf8'), `target=${soaked}\n`);
});

test('--to promotes exactly the commit a workflow previewed, and refuses one that has not soaked or is not ahead of release', async () => {
  const base = await commit('chore: first', 48);
  const older = await commit('feat: odoo', 30);
  await commit('fix: odoo values', 25);
  const fresh = await commit('feat: n8n', 2);
  await pushBranches(base);
  const young = await promote(['--to', fresh]);
  assert.is(young.code, 1);
  assert.is(young.stderr.trim(), `release-promote: --to ${fresh}: ${fresh.slice(0, 7)} is 2h old, less than the soak (24h); nothing was pushed`);
  const r = await promote(['--to', older]);
  assert.is(r.code, 0, r.stderr);
  assert.is(await remoteHead('release'), older);
  const behind = await promote(['--to', base]);
  assert.is(behind.code, 1);
  assert.match(behind.stderr, `--to ${base}: not a commit of main after release`);
  assert.is(await remoteHead('release'), older);
  const unknown = await promote(['--to', 'no-such-ref']);
  assert.is(unknown.code, 2);
});

test('a remote without release is refused with the command that creates it', async () => {
  await commit('chore: first', 48);
  await git(work, ['push', '-q', 'origin', 'HEAD:refs/heads/main']);
  const r = await promote();
  assert.is(r.code, 1);
  assert.is(r.stderr.trim(), 'release-promote: origin has no branch release: create it once from main with `git push origin origin/main:refs/heads/release`');
});

test('a checkout without the remote is refused in one line that says how to add it', async () => {
  await commit('chore: first', 48);
  await git(work, ['remote', 'remove', 'origin']);
  const r = await promote();
  assert.is(r.code, 1);
  assert.is(r.stderr.trim(), 'release-promote: this checkout has no git remote named origin: add the GitHub repository with `git remote add origin <url>`, or name another with --remote');
  const other = await promote(['--remote', 'upstream']);
  assert.match(other.stderr, 'no git remote named upstream');
});

test('a push the remote refuses (a ruleset, a read-only key) fails in one line with the remote\'s reason', async () => {
  const base = await commit('chore: base', 72);
  await commit('feat: soaked', 30);
  await pushBranches(base);
  const hook = join(remote, 'hooks', 'pre-receive');
  writeFileSync(hook, '#!/bin/sh\necho "GH013: Repository rule violations found for refs/heads/release." >&2\nexit 1\n', { mode: 0o755 });
  const r = await promote();
  assert.is(r.code, 1);
  assert.is(r.stderr.split('\n').filter(Boolean).length, 1);
  assert.match(r.stderr, /^release-promote: pushing [0-9a-f]{7} to origin release \(nothing was promoted\) failed: GH013: Repository rule violations found for refs\/heads\/release\./);
  assert.is(await remoteHead('release'), base);
});

test.run();
