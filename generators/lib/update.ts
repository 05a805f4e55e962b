import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { parseYaml } from '../../src/lib/yaml-safe.ts';
import type { Answers } from './answers.ts';
import { describes, mergeFile, type Conflict } from './merge.ts';
import { readIfExists, settle, type Plan, type Rendered } from './plan.ts';

const committed = (root: string, path: string): string | undefined => {
  const r = spawnSync('git', ['show', `HEAD:${path}`], { cwd: root, encoding: 'utf8' });
  return r.status === 0 ? r.stdout : undefined;
};

/**
 * The answers the files on disk were last generated from: the recorded `.answers.yaml`. When that very
 * file is the input (edited in place), its last committed version; when that is the same too, none, and
 * the update adds what the files lack and reports what differs from the answers.
 */
export const previousAnswers = (root: string, rendered: Plan, answersFile?: string): Answers | undefined => {
  const record = rendered.changes.find((c) => c.record);
  if (!record) return undefined;
  const recorded = readIfExists(root, record.path);
  if (recorded === undefined) return undefined;
  if (answersFile && resolve(answersFile) === resolve(root, record.path)) {
    const head = committed(root, record.path);
    return head !== undefined && head !== recorded ? parseYaml(head, `${record.path} (HEAD)`) : undefined;
  }
  return parseYaml(recorded, record.path);
};

/**
 * What changes on disk: each owned file merged three ways (the old answers' render, the file on disk, the
 * new render), files the new answers no longer write removed when untouched, shared files created when
 * missing, edits and the answers record as they are. Conflicts are returned, not thrown.
 */
export const updatePlan = (root: string, rendered: Plan, base: Plan | undefined, force: boolean): { plan: Plan; conflicts: Conflict[] } => {
  const merged = (c: Rendered) => !c.record && !c.createOnly && c.owned;
  const before = new Map((base?.changes ?? []).filter(merged).map((c) => [c.path, c.after]));
  const baseRecord = base?.changes.find((c) => c.record)?.after;
  const conflicts: Conflict[] = [];
  const out: Rendered[] = [];
  for (const c of rendered.changes) {
    if (c.createOnly) {
      if (readIfExists(root, c.path) === undefined) out.push(c);
      continue;
    }
    if (c.record) {
      // The new answers, always; merged into the file so that the operator's comments in it survive.
      const onDisk = readIfExists(root, c.path);
      out.push(onDisk === undefined ? c : { ...c, after: mergeFile(c.path, baseRecord, onDisk, c.after, true).text ?? c.after });
      continue;
    }
    if (!merged(c)) {
      out.push(c);
      continue;
    }
    const m = mergeFile(c.path, before.get(c.path), readIfExists(root, c.path), c.after, force);
    conflicts.push(...m.conflicts);
    out.push(m.text === undefined ? { ...c, after: '', remove: true } : { ...c, after: m.text });
  }
  const written = new Set(rendered.changes.map((c) => c.path));
  for (const [path, text] of before) {
    if (written.has(path)) continue;
    const m = mergeFile(path, text, readIfExists(root, path), undefined, force);
    conflicts.push(...m.conflicts);
    if (m.text === undefined) out.push({ path, after: '', owned: true, remove: true });
  }
  return { plan: { ...rendered, changes: settle(root, out) }, conflicts };
};

/**
 * How far the files on disk are from what `answers` render: every rendered node must be there with the
 * same value (what the operator added is fine). Empty when the answers still describe the files.
 */
export const driftOf = (root: string, rendered: Plan): Conflict[] =>
  rendered.changes.filter((c) => c.owned && !c.record && !c.createOnly).flatMap((c) => describes(c.path, c.after, readIfExists(root, c.path)));
