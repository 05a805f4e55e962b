import { readFileSync, statSync } from 'node:fs';
import { devNull } from 'node:os';
import { delimiter, join } from 'node:path';
import { UsageError } from '../lib/errors.ts';
import { isFile } from '../lib/fsutil.ts';
import { launch, stopGroup } from '../lib/spawner.ts';

export interface KustomizeBin {
  command: string;
  args: string[];
  /** Changes when the binary does, so cached renders follow an upgrade. */
  identity: string;
}

/** What one kustomize process may take; a build over a limit is stopped and reported, and the run goes on. */
export interface BuildLimits {
  timeoutMs: number;
  memoryBytes: number;
  /** The most output read; more is a runaway build (an expanded alias bomb, a generator loop). */
  outputBytes: number;
}

export const DEFAULT_LIMITS: BuildLimits = { timeoutMs: 60_000, memoryBytes: 1024 ** 3, outputBytes: 64 * 1024 ** 2 };

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

/**
 * No network: remote resources are refused before kustomize runs (inputs.ts); should one slip through, its
 * HTTP(S) fetch meets a closed port and its git clone a protocol allow-list that allows nothing. kubectl gets
 * no kubeconfig: some builds (gcloud's version dispatcher) ask the current context's API server for its
 * version before `kubectl kustomize` runs, with the operator's credentials.
 */
const OFFLINE = 'http://127.0.0.1:9';
export const offlineEnv = (): NodeJS.ProcessEnv => ({
  ...process.env,
  HTTP_PROXY: OFFLINE,
  HTTPS_PROXY: OFFLINE,
  ALL_PROXY: OFFLINE,
  http_proxy: OFFLINE,
  https_proxy: OFFLINE,
  all_proxy: OFFLINE,
  NO_PROXY: '',
  no_proxy: '',
  GIT_ALLOW_PROTOCOL: 'none',
  GIT_TERMINAL_PROMPT: '0',
  GIT_SSH_COMMAND: 'false',
  KUBECONFIG: devNull,
});

export type KustomizeResult =
  | { ok: true; stdout: string }
  | { ok: false; error: string; limit?: 'timeout' | 'memory' | 'output' };

const human = (bytes: number): string => (bytes >= 1024 ** 3 ? `${+(bytes / 1024 ** 3).toFixed(2)} GiB` : `${Math.round(bytes / 1024 ** 2)} MiB`);

/** The process's resident memory, from /proc (Linux); undefined elsewhere or once it has gone. */
const residentBytes = (pid: number): number | undefined => {
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Number(kb) * 1024 : undefined;
  } catch {
    return undefined;
  }
};

/**
 * Runs kustomize on `dir` with a time limit and a memory cap. The cap is the data-segment limit
 * (`ulimit -d`, set by a shell that then becomes kustomize): Go maps its heap as private writable memory,
 * which that limit counts, while the large address ranges it reserves at start-up are not (an address-space
 * limit would break ordinary builds). GOMEMLIMIT makes Go collect harder before it gets there.
 */
export const runKustomize = async (bin: KustomizeBin, dir: string, limits: BuildLimits = DEFAULT_LIMITS): Promise<KustomizeResult> => {
  const kib = Math.max(1, Math.floor(limits.memoryBytes / 1024));
  const { pid, result } = launch('/bin/sh', ['-c', 'ulimit -d "$1" 2>/dev/null; shift; exec "$@"', 'sh', String(kib), bin.command, ...bin.args, '--load-restrictor', 'LoadRestrictionsNone', dir], {
    env: { ...offlineEnv(), GOMEMLIMIT: String(Math.floor(limits.memoryBytes * 0.8)) },
    detached: true,
    outputLimit: limits.outputBytes,
    errorLimit: 64 * 1024,
  });
  let stopped: { limit: 'timeout' | 'memory'; error: string } | undefined;
  const timer = setTimeout(async () => {
    const id = await pid;
    if (id === undefined) return;
    const rss = residentBytes(id);
    stopped =
      rss !== undefined && rss >= limits.memoryBytes * 0.8
        ? { limit: 'memory', error: `used ${human(rss)} of its ${human(limits.memoryBytes)} memory cap and was stopped after ${limits.timeoutMs / 1000} s` }
        : { limit: 'timeout', error: `took longer than ${limits.timeoutMs / 1000} s and was stopped` };
    stopGroup(id);
  }, limits.timeoutMs);
  const r = await result;
  clearTimeout(timer);
  if (stopped) return { ok: false, ...stopped };
  if (r.overflow) return { ok: false, limit: 'output', error: `wrote more than ${human(limits.outputBytes)} and was stopped` };
  if (r.code === 0) return { ok: true, stdout: r.stdout };
  if (/out of memory|cannot allocate memory/i.test(r.stderr)) return { ok: false, limit: 'memory', error: `ran out of its ${human(limits.memoryBytes)} memory cap` };
  return { ok: false, error: cleanError(r.stderr || (r.error ? `could not start: ${r.error}` : `exit code ${r.code}`)) };
};

/** kubectl wraps kustomize's message in a klog line; keep only the message. */
const cleanError = (stderr: string): string => {
  const klog = /err="((?:[^"\\]|\\.)*)"/.exec(stderr);
  const text = klog ? klog[1].replace(/\\"/g, '"').replace(/\\'/g, "'") : stderr.replace(/^Error:\s*/m, '');
  return text.trim().split('\n').filter(Boolean).join(' ');
};
