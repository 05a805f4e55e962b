import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDir } from '../src/lib/fsutil.ts';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const FIXTURES = join(ROOT, 'tests', 'fixtures');

/** The schema bundle: K8S_OPS_SCHEMA_DIR as CI sets it, else ../shared/schemas beside the project. */
export const SCHEMAS: string[] = (() => {
  const dirs = (process.env.K8S_OPS_SCHEMA_DIR ?? join(ROOT, '..', 'shared', 'schemas')).split(delimiter).filter(Boolean).map((d) => resolve(ROOT, d));
  for (const d of dirs) if (!isDir(d)) throw new Error(`schema bundle ${d} not found: set K8S_OPS_SCHEMA_DIR`);
  return dirs;
})();

export const tempDir = (prefix = 'k8s-ops-test-'): string => mkdtempSync(join(tmpdir(), prefix));

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs one of the project's entry points as a user would, through node with tsx. */
export const runNode = (script: string, args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Run => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, script), ...args], {
    cwd: opts.cwd ?? ROOT,
    env: { ...process.env, K8S_OPS_SCHEMA_DIR: SCHEMAS.join(delimiter), ...opts.env },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
};
