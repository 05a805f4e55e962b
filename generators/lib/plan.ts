import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { isFile, toPosix, walkFiles } from '../../src/lib/fsutil.ts';

/** One file a generator writes, relative to the repository root. */
export interface FileChange {
  path: string;
  /** The file's content now, or undefined when it is new. */
  before?: string;
  after: string;
  /** Owned files belong to what is generated; others (a namespace's kustomization.yaml) are only edited. */
  owned: boolean;
  /** A generated file the answers no longer produce (`after` is then empty). */
  remove?: boolean;
}

export interface Plan {
  /** What is generated, for messages: `app observability/gatus`. */
  target: string;
  changes: FileChange[];
  /** Clusters whose validation the change can affect. */
  clusters: string[];
}

export const readIfExists = (repoRoot: string, path: string): string | undefined =>
  isFile(join(repoRoot, path)) ? readFileSync(join(repoRoot, path), 'utf8') : undefined;

/** Fills `before` from disk and drops files that would not change (or are already gone). */
export const settle = (repoRoot: string, changes: Omit<FileChange, 'before'>[]): FileChange[] =>
  changes
    .map((c) => ({ ...c, before: readIfExists(repoRoot, c.path) }))
    .filter((c) => (c.remove ? c.before !== undefined : c.before !== c.after));

/** Removals of the generated files under `dir` that a plan no longer writes. */
export const staleFiles = (repoRoot: string, dir: string, generated: (relative: string) => boolean, written: string[]): Omit<FileChange, 'before'>[] =>
  walkFiles(join(repoRoot, dir))
    .map((f) => toPosix(relative(repoRoot, f)))
    .filter((p) => generated(p.slice(dir.length + 1)) && !written.includes(p))
    .map((path) => ({ path, after: '', owned: true, remove: true }));

/** A unified diff of one change, from git (present wherever the repository is). */
export const unifiedDiff = (change: FileChange): string => {
  const dir = mkdtempSync(join(tmpdir(), 'k8s-ops-diff-'));
  try {
    const a = join(dir, 'a');
    const b = join(dir, 'b');
    writeFileSync(a, change.before ?? '');
    writeFileSync(b, change.after);
    const r = spawnSync('git', ['diff', '--no-index', '--no-color', '--', a, b], { encoding: 'utf8' });
    const body = r.stdout.split('\n').filter((l) => !/^(diff --git|index |--- |\+\+\+ |new file mode)/.test(l));
    const from = change.before === undefined ? '/dev/null' : `a/${change.path}`;
    return [`--- ${from}`, `+++ ${change.remove ? '/dev/null' : `b/${change.path}`}`, ...body].join('\n').trimEnd();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

export const describePlan = (plan: Plan, withDiff: boolean): string =>
  plan.changes
    .map((c) => `${c.remove ? 'delete' : c.before === undefined ? 'create' : 'update'} ${c.path}${withDiff ? `\n${unifiedDiff(c)}` : ''}`)
    .join('\n');

/** Writes every change or, when one write fails, restores what was written: all or nothing. */
export const writePlan = (repoRoot: string, plan: Plan): void => {
  const done: FileChange[] = [];
  try {
    for (const c of plan.changes) {
      const file = join(repoRoot, c.path);
      if (c.remove) {
        rmSync(file, { force: true });
      } else {
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, c.after);
      }
      done.push(c);
    }
  } catch (e) {
    for (const c of done.reverse()) {
      const file = join(repoRoot, c.path);
      if (c.before === undefined) rmSync(file, { force: true });
      else writeFileSync(file, c.before);
    }
    throw e;
  }
};
