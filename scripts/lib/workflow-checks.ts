import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { isDir } from '../../src/lib/fsutil.ts';

export interface WorkflowCheck {
  /** The check's name as GitHub reports it, which is what a required status check names. */
  name: string;
  /** Repository-relative workflow file. */
  workflow: string;
  job: string;
  /** Whether the workflow runs for pull requests into main (a check a merge can wait for). */
  onPullRequestToMain: boolean;
}

type Matrix = Record<string, unknown>;

/** Every combination of a job's matrix, as GitHub expands it (include and exclude are not used here). */
const combinations = (matrix: Matrix): Record<string, string>[] => {
  let combos: Record<string, string>[] = [{}];
  for (const [key, values] of Object.entries(matrix)) {
    if (key === 'include' || key === 'exclude' || !Array.isArray(values)) continue;
    combos = combos.flatMap((c) => values.map((v) => ({ ...c, [key]: String(v) })));
  }
  return combos;
};

const MATRIX_REF = /\$\{\{\s*matrix\.([\w-]+)\s*\}\}/g;

/**
 * A job's check names: its `name` (else its id); a matrix job is one check per combination, named with
 * the matrix values substituted, or, when the name does not use them, with the values appended in
 * parentheses (`kubeconform (infra)`).
 */
export const jobCheckNames = (id: string, job: Record<string, any>): string[] => {
  const name = String(job.name ?? id);
  const matrix = job.strategy?.matrix;
  if (!matrix || typeof matrix !== 'object') return [name];
  const usesMatrix = /\$\{\{\s*matrix\./.test(name);
  return combinations(matrix).map((combo) =>
    usesMatrix ? name.replace(MATRIX_REF, (_, key: string) => combo[key] ?? '') : Object.keys(combo).length ? `${name} (${Object.values(combo).join(', ')})` : name,
  );
};

const runsOnPullRequestToMain = (on: unknown): boolean => {
  if (on === 'pull_request' || (Array.isArray(on) && on.includes('pull_request'))) return true;
  if (!on || typeof on !== 'object' || !('pull_request' in on)) return false;
  const branches = (on as Record<string, any>).pull_request?.branches;
  return !branches || (Array.isArray(branches) && branches.some((b) => b === 'main' || b === '**' || b === '*'));
};

/** The checks the repository's workflows report, from .github/workflows/. */
export const workflowChecks = (root: string): WorkflowCheck[] => {
  const dir = join(root, '.github', 'workflows');
  if (!isDir(dir)) return [];
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .flatMap((f) => {
      const doc = parse(readFileSync(join(dir, f), 'utf8')) ?? {};
      const onPullRequestToMain = runsOnPullRequestToMain(doc.on);
      return Object.entries<Record<string, any>>(doc.jobs ?? {}).flatMap(([id, job]) =>
        jobCheckNames(id, job).map((name) => ({ name, workflow: `.github/workflows/${f}`, job: id, onPullRequestToMain })),
      );
    });
};
