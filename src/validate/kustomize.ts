import { execFile } from 'node:child_process';
import { statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { UsageError } from '../lib/errors.ts';
import { isFile } from '../lib/fsutil.ts';

export interface KustomizeBin {
  command: string;
  args: string[];
  /** Changes when the binary does, so cached renders follow an upgrade. */
  identity: string;
}

const which = (name: string): string | undefined =>
  (process.env.PATH ?? '').split(delimiter).map((d) => join(d, name)).find(isFile);

/** `kustomize build`, or kubectl's built-in `kubectl kustomize`, whichever is on PATH. */
export const findKustomize = (): KustomizeBin => {
  const standalone = which('kustomize');
  if (standalone) return { command: standalone, args: ['build'], identity: identity(standalone) };
  const kubectl = which('kubectl');
  if (kubectl) return { command: kubectl, args: ['kustomize'], identity: identity(kubectl) };
  throw new UsageError('neither kustomize nor kubectl is on PATH: install one of them to build Kustomizations');
};

const identity = (path: string): string => {
  const s = statSync(path);
  return `${path}:${s.size}:${s.mtimeMs}`;
};

export const runKustomize = (bin: KustomizeBin, dir: string): Promise<{ ok: true; stdout: string } | { ok: false; error: string }> =>
  new Promise((done) => {
    execFile(
      bin.command,
      [...bin.args, '--load-restrictor', 'LoadRestrictionsNone', dir],
      { maxBuffer: 512 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (!err) return done({ ok: true, stdout });
        done({ ok: false, error: cleanError(stderr || String(err.message)) });
      },
    );
  });

/** kubectl wraps kustomize's message in a klog line; keep only the message. */
const cleanError = (stderr: string): string => {
  const klog = /err="((?:[^"\\]|\\.)*)"/.exec(stderr);
  const text = klog ? klog[1].replace(/\\"/g, '"').replace(/\\'/g, "'") : stderr.replace(/^Error:\s*/m, '');
  return text.trim().split('\n').filter(Boolean).join(' ');
};
