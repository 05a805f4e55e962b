// Branch protection as code: the repository rulesets in .github/rulesets/*.json, applied with `gh api`.
// A ruleset is matched by name: updated in place (PUT) when the repository has one of that name, else created.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { entryPoint, parseFlags } from '../src/lib/cli.ts';
import { UsageError, UserError } from '../src/lib/errors.ts';
import { io } from '../src/lib/io.ts';
import { repoRoot } from './lib/cluster.ts';
import { requireClis } from './lib/preflight.ts';
import { workflowChecks } from './lib/workflow-checks.ts';

const USAGE = `usage: node --import tsx scripts/github-rulesets.ts [--repo OWNER/NAME] [--dry-run]
       task github:rulesets [-- --dry-run]

Applies every ruleset in .github/rulesets/ to the GitHub repository (by default the one gh finds from
this checkout's remote): a ruleset of the same name is updated, a new one is created. Needs gh signed in
as a repository administrator. Refuses a ruleset that requires a status check no workflow reports.`;

export const RULESETS_DIR = '.github/rulesets';

export interface Ruleset {
  name: string;
  target: string;
  enforcement: string;
  rules: { type: string; parameters?: Record<string, any> }[];
  [key: string]: unknown;
}

/** The rulesets in the repository, by file, checked enough that GitHub's answer is not the first word. */
export const readRulesets = (root: string): { file: string; ruleset: Ruleset }[] => {
  const dir = join(root, RULESETS_DIR);
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
  } catch {
    files = [];
  }
  if (!files.length) throw new UserError(`${RULESETS_DIR}/ holds no *.json ruleset`);
  return files.map((f) => {
    const file = `${RULESETS_DIR}/${f}`;
    let ruleset: Ruleset;
    try {
      ruleset = JSON.parse(readFileSync(join(dir, f), 'utf8'));
    } catch (e) {
      throw new UserError(`${file}: not valid JSON: ${(e as Error).message}`);
    }
    for (const key of ['name', 'target', 'enforcement'] as const) {
      if (typeof ruleset?.[key] !== 'string' || !ruleset[key]) throw new UserError(`${file}: ${key} must be a non-empty string`);
    }
    if (!Array.isArray(ruleset.rules) || !ruleset.rules.length) throw new UserError(`${file}: rules must be a non-empty list`);
    return { file, ruleset };
  });
};

/** The status checks a ruleset requires. */
export const requiredChecks = (ruleset: Ruleset): string[] =>
  ruleset.rules.filter((r) => r.type === 'required_status_checks').flatMap((r) => (r.parameters?.required_status_checks ?? []).map((c: { context: string }) => c.context));

/** A required check that no workflow reports for a pull request into main would block every merge. */
export const checkRequiredChecks = (root: string, rulesets: { file: string; ruleset: Ruleset }[]): void => {
  const reported = new Set(workflowChecks(root).filter((c) => c.onPullRequestToMain).map((c) => c.name));
  for (const { file, ruleset } of rulesets) {
    for (const check of requiredChecks(ruleset)) {
      if (!reported.has(check)) throw new UserError(`${file}: required status check "${check}" is not a job of any workflow that runs on pull requests into main (known: ${[...reported].sort().join(', ')})`);
    }
  }
};

export const main = async (argv: string[]): Promise<void> => {
  const flags = parseFlags(argv, USAGE, {
    repo: { type: 'string', description: 'the GitHub repository (default: the one gh finds from the git remote)' },
    'dry-run': { type: 'boolean', description: 'print the plan (asks GitHub which rulesets exist when gh is there); change nothing' },
  });
  if (!flags) return;
  if (flags.repo !== undefined && !/^[\w.-]+\/[\w.-]+$/.test(flags.repo)) throw new UsageError(`--repo ${flags.repo}: expected OWNER/NAME`);
  const root = repoRoot();
  const rulesets = readRulesets(root);
  checkRequiredChecks(root, rulesets);
  const base = `repos/${flags.repo ?? '{owner}/{repo}'}/rulesets`;
  /** gh api, its refusal said in one line: gh's own message and the API's reasons. */
  const gh = async (args: string[], body?: unknown): Promise<string> => {
    const full = ['api', ...args, ...(body === undefined ? [] : ['--input', '-'])];
    const r = await io().exec({ cmd: 'gh', args: full, cwd: root, env: io().env, input: body === undefined ? undefined : `${JSON.stringify(body)}\n` });
    if (r.code === 0) return r.stdout;
    let reasons: string[] = [];
    try {
      reasons = (JSON.parse(r.stdout).errors ?? []).map((e: unknown) => (typeof e === 'string' ? e : JSON.stringify(e)));
    } catch {
      // not a JSON answer: gh's message is all there is
    }
    const said = r.stderr.trim().split('\n')[0].replace(/^gh: /, '') || `exited with code ${r.code}`;
    throw new UserError(`gh api ${args.join(' ')}: ${[said, ...reasons].join(': ')}`, r.code || 1);
  };

  const dryRun = flags['dry-run'];
  if (!dryRun) requireClis(['gh']);
  const canAsk = !dryRun || io().which('gh') !== undefined;
  let existing: { id: number; name: string }[] | undefined;
  if (canAsk) {
    const text = await gh([`${base}?per_page=100`]);
    try {
      existing = JSON.parse(text);
    } catch {
      throw new UserError(`gh api ${base}: the answer is not JSON`);
    }
  }
  const plan = rulesets.map(({ file, ruleset }) => {
    const found = existing?.find((r) => r.name === ruleset.name);
    const action = !existing ? `create or update (gh is not on PATH to ask which)` : found ? `update ruleset ${found.id} (PUT ${base}/${found.id})` : `create (POST ${base})`;
    return { file, ruleset, found, line: `${ruleset.name.padEnd(10)} ${file}: ${action}; ${ruleset.rules.map((r) => r.type).join(', ')}` };
  });
  if (dryRun) {
    io().out(`github-rulesets: plan (dry run, nothing is changed)\n${plan.map((p) => `  ${p.line}`).join('\n')}\n`);
    return;
  }
  for (const p of plan) {
    const answer = p.found ? await gh(['--method', 'PUT', `${base}/${p.found.id}`], p.ruleset) : await gh(['--method', 'POST', base], p.ruleset);
    const id = (() => {
      try {
        return JSON.parse(answer).id;
      } catch {
        return '?';
      }
    })();
    io().out(`${p.found ? 'updated' : 'created'} ruleset ${p.ruleset.name} (${id}) from ${p.file}\n`);
  }
};

entryPoint(import.meta.url, main, 'github-rulesets: ');
