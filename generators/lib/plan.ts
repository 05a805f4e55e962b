import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createTwoFilesPatch } from 'diff';
import { isFile } from '../../src/lib/fsutil.ts';

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
  /** The answers themselves: written as they are, the record the next update starts from. */
  record?: boolean;
  /** Shared with other generated things (a namespace's files): written when missing, never updated or removed. */
  createOnly?: boolean;
}

/** What a generator renders: every file it owns as the answers say, and its edits of shared files. */
export type Rendered = Omit<FileChange, 'before'>;

export interface Plan {
  /** What is generated, for messages: `app observability/gatus`. */
  target: string;
  /** Before the update is worked out (generators return these), what the render says; after, what changes on disk. */
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

/** A unified diff of one change, in-process. */
export const unifiedDiff = (change: FileChange): string => {
  const from = change.before === undefined ? '/dev/null' : `a/${change.path}`;
  const to = change.remove ? '/dev/null' : `b/${change.path}`;
  const patch = createTwoFilesPatch(from, to, change.before ?? '', change.remove ? '' : change.after, undefined, undefined, { context: 3 });
  // The library's own header names the files once more (`Index:`, `===`); keep the git-like lines only.
  return patch.split('\n').filter((l) => !/^(Index: |={10,}|\\ No newline)/.test(l)).join('\n').trimEnd();
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
