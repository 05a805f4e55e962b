import { accessSync, constants, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statfsSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const isDir = (p: string): boolean => existsSync(p) && statSync(p).isDirectory();
export const isFile = (p: string): boolean => existsSync(p) && statSync(p).isFile();

const skipped = new Set(['.git', 'node_modules', '.cache']);

/** Files below dir, sorted, skipping VCS, dependency and cache folders. */
export const walkFiles = (dir: string): string[] => {
  const out: string[] = [];
  const visit = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (skipped.has(e.name)) continue;
      const p = join(d, e.name);
      if (e.isDirectory()) visit(p);
      else if (e.isFile()) out.push(p);
    }
  };
  if (isDir(dir)) visit(dir);
  return out;
};

/**
 * Keeps the `keep` newest entries of `dir` that `matches` (files or folders); older ones go, each with the files
 * `companions` names.
 * Another process may be writing the folder at the same time: its partial files are not entries, and an entry
 * it removes first is passed over.
 */
export const keepNewest = (dir: string, keep: number, matches: (name: string) => boolean = () => true, companions: (name: string) => string[] = () => []): void => {
  const entries = readdirSync(dir).filter((name) => !PARTIAL.test(name) && matches(name));
  if (entries.length <= keep) return;
  const byAge = entries
    .map((name) => ({ name, at: statSync(join(dir, name), { throwIfNoEntry: false })?.mtimeMs }))
    .filter((e): e is { name: string; at: number } => e.at !== undefined)
    .sort((a, b) => b.at - a.at);
  for (const { name } of byAge.slice(keep)) for (const f of [name, ...companions(name)]) rmSync(join(dir, f), { recursive: true, force: true });
};

/** writeAtomically's file in the making: `<file>.<pid>.tmp`. */
const PARTIAL = /\.\d+\.tmp$/;

/** Written aside and renamed, so a concurrent reader never sees half a file. */
export const writeAtomically = (file: string, data: string | Buffer): void => {
  const partial = `${file}.${process.pid}.tmp`;
  writeFileSync(partial, data);
  renameSync(partial, file);
};

/** A folder's files and subfolders, copied: several times faster than cpSync for many small files. */
export const copyTree = (from: string, to: string): void => {
  mkdirSync(to, { recursive: true });
  for (const e of readdirSync(from, { withFileTypes: true })) {
    if (e.isDirectory()) copyTree(join(from, e.name), join(to, e.name));
    else if (e.isFile()) copyFileSync(join(from, e.name), join(to, e.name));
  }
};

export const toPosix = (p: string): string => p.split('\\').join('/');

/**
 * Where short-lived trees go: memory-backed where the machine has it (/dev/shm) with `room` bytes free, since
 * creating and removing hundreds of small files on a disk takes far longer than on tmpfs; the temporary
 * folder otherwise (a container's /dev/shm is often 64 MiB). `exec`: programs written there must run, which a
 * /dev/shm mounted noexec (Docker's) does not allow.
 */
export const scratchParent = (room = 0, exec = false): string => {
  try {
    accessSync('/dev/shm', constants.W_OK);
    const { bavail, bsize } = statfsSync('/dev/shm');
    const ok = isDir('/dev/shm') && bavail * bsize >= room && !(exec && mountedNoexec('/dev/shm'));
    return ok ? '/dev/shm' : tmpdir();
  } catch {
    return tmpdir();
  }
};

/** Whether the mount at `point` has the noexec option (Linux's /proc/self/mounts; false where there is none). */
const mountedNoexec = (point: string): boolean => {
  try {
    const mount = readFileSync('/proc/self/mounts', 'utf8')
      .split('\n')
      .map((line) => line.split(' '))
      .filter((fields) => fields[1] === point)
      .pop();
    return Boolean(mount?.[3]?.split(',').includes('noexec'));
  } catch {
    return false;
  }
};
