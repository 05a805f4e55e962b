// The parts of the DR drill (npm run dr-drill) that are not a tool: data sets, checksums, the report.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { UserError } from '../../src/lib/errors.ts';
import { formatDuration } from './steps.ts';
import { table } from './table.ts';

const UNITS: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 };

/** `16M`, `512K`, `1G` (binary units, an optional `i`/`iB`/`B`) in bytes. */
export const parseSize = (text: string): number => {
  const m = /^(\d+)\s*([KMG]?)(?:i?B)?$/i.exec(text.trim());
  if (!m || Number(m[1]) === 0) throw new UserError(`"${text}" is not a size such as 16M, 512K or 1G`, 2);
  return Number(m[1]) * UNITS[m[2].toUpperCase()];
};

/** A comma-separated list of sizes, smallest first, without repeats. */
export const parseSizes = (text: string): number[] => {
  const sizes = [...new Set(text.split(',').filter((s) => s.trim()).map(parseSize))].sort((a, b) => a - b);
  if (!sizes.length) throw new UserError('--sizes names no size', 2);
  return sizes;
};

export const formatBytes = (n: number): string => {
  if (n < 1024) return `${n} B`;
  const [unit, div] = n < 1024 ** 2 ? ['KiB', 1024] : n < 1024 ** 3 ? ['MiB', 1024 ** 2] : ['GiB', 1024 ** 3];
  const v = n / (div as number);
  return `${v >= 100 || Number.isInteger(v) ? Math.round(v) : v.toFixed(1)} ${unit}`;
};

/** A short label for a size that can name an app or a folder: 16mib, 512kib. */
export const sizeLabel = (n: number): string => formatBytes(n).replace(/[ .]/g, '').toLowerCase();

/** Path (relative, `/`-separated) to sha256 of every file under `dir`. */
export type Checksums = Map<string, string>;

export const treeChecksums = (dir: string): Checksums => {
  const sums: Checksums = new Map();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) sums.set(relative(dir, p).split('\\').join('/'), createHash('sha256').update(readFileSync(p)).digest('hex'));
    }
  };
  walk(dir);
  return sums;
};

/** What differs between the files expected and those found, one line each; empty when they match. */
export const diffChecksums = (expected: Checksums, actual: Checksums): string[] => {
  const out: string[] = [];
  for (const [path, sum] of expected) {
    if (!actual.has(path)) out.push(`missing ${path}`);
    else if (actual.get(path) !== sum) out.push(`changed ${path}`);
  }
  for (const path of actual.keys()) if (!expected.has(path)) out.push(`unexpected ${path}`);
  return out;
};

const FILE_SIZES = [4 * 1024, 64 * 1024, 512 * 1024, 4 * 1024 ** 2];

/**
 * Random (incompressible, so nothing flatters restic) files adding up to `bytes`, in a few folders, with
 * sizes from 4 KiB to 4 MiB, as an app's volume might hold.
 */
export const generateTree = (dir: string, bytes: number): Checksums => {
  mkdirSync(dir, { recursive: true });
  let left = bytes;
  for (let i = 0; left > 0; i++) {
    const size = Math.min(left, FILE_SIZES[i % FILE_SIZES.length]);
    const folder = join(dir, `d${String(i % 8).padStart(2, '0')}`);
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, `f${String(i).padStart(5, '0')}.bin`), randomBytes(size));
    left -= size;
  }
  return treeChecksums(dir);
};

/** The app writes between two backups: every tenth file rewritten, the first one deleted, one added. */
export const changeTree = (dir: string): Checksums => {
  const files = [...treeChecksums(dir).keys()];
  files.forEach((f, i) => {
    if (i === 0) rmSync(join(dir, f));
    else if (i % 10 === 5) writeFileSync(join(dir, f), randomBytes(statSync(join(dir, f)).size));
  });
  writeFileSync(join(dir, 'd00', 'added-after-first-backup.bin'), randomBytes(256 * 1024));
  return treeChecksums(dir);
};

export const treeBytes = (dir: string): number =>
  readdirSync(dir, { withFileTypes: true }).reduce((sum, e) => sum + (e.isDirectory() ? treeBytes(join(dir, e.name)) : e.isFile() ? statSync(join(dir, e.name)).size : 0), 0);

/** Where a rehearsal reports what it found, printed under its step. */
export type Say = (line: string) => void;

/** Runs `fn` and returns its value and how long it took, in milliseconds. */
export const timed = async <T>(fn: () => Promise<T>): Promise<[T, number]> => {
  const t0 = performance.now();
  const value = await fn();
  return [value, performance.now() - t0];
};

/** One line of the drill's result table. */
export interface DrillResult {
  /** `volsync` (restic) or `cnpg` (Barman Cloud). */
  path: string;
  /** Bytes of data protected: the files restored, or the database's size. */
  bytes: number;
  backupMs: number;
  /** From the start of the restore to data that can be used: files in place, or PostgreSQL promoted. */
  restoreMs: number;
  /** What did not come back that should have, e.g. `0 of 210 files`. */
  lost: string;
  /** Mismatches found; empty when the recovery was exact. */
  problems: string[];
}

const HEADER = ['path', 'data size', 'backup', 'restore (RTO)', 'data lost (RPO)'];
const cells = (r: DrillResult): string[] => [r.path, formatBytes(r.bytes), formatDuration(r.backupMs), formatDuration(r.restoreMs), r.lost];

/** The drill's table, aligned as the toolkit's other summaries, with a verdict per row. */
export const formatTable = (results: readonly DrillResult[]): string[] =>
  table([[...HEADER, 'result'], ...results.map((r) => [...cells(r), r.problems.length ? 'MISMATCH' : 'ok'])]).split('\n');

/** Why the drill fails, or undefined when every recovery brought back exactly what was backed up. */
export const verdict = (results: readonly DrillResult[]): string | undefined => {
  const failed = results.filter((r) => r.problems.length);
  if (!results.length) return 'no recovery was rehearsed';
  return failed.length ? `${failed.length} of ${results.length} recoveries did not bring back exactly what was backed up (${failed.map((r) => `${r.path} ${formatBytes(r.bytes)}`).join(', ')})` : undefined;
};

/** The same table in Markdown, for the runbook. */
export const formatMarkdownTable = (results: readonly DrillResult[]): string[] => [
  `| ${HEADER.join(' | ')} |`,
  '|---|--:|--:|--:|---|',
  ...results.map((r) => `| ${cells(r).join(' | ')} |`),
];
