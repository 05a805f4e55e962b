import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

// Commands are started by a small helper process, not by this one. Node starts a child with fork(): the
// parent's memory becomes copy-on-write until the child execs, and every page the parent writes next
// takes a fault. A validator or a test worker holding a few hundred MB pays 20-80 ms of CPU per command
// that way, a 45 MB helper about 10 ms. The helper is started on first use and goes when this process does.

export interface LaunchOptions {
  cwd?: string;
  /** The whole environment of the command. */
  env?: NodeJS.ProcessEnv;
  /** Written to its stdin; without it, stdin is /dev/null. */
  input?: string;
  /** Its stdout and stderr go where this process's go, instead of being captured. */
  stream?: boolean;
  /** In a process group of its own (to stop it with everything it started: `stopGroup`). */
  detached?: boolean;
  /** The most stdout kept: past it the command is killed and `overflow` set. */
  outputLimit?: number;
  /** The most stderr kept: the rest is dropped. */
  errorLimit?: number;
}

export interface LaunchResult {
  /** Null when it was killed by a signal, never started, or was lost with the helper. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /**
   * Why it did not start (`notStarted`: an errno code such as ENOENT or EACCES, or `no-folder` for a
   * missing `cwd`), or what became of it otherwise (`lost`: the helper exited while it ran).
   */
  error?: string;
  notStarted?: boolean;
  overflow?: boolean;
}

export interface Launched {
  /** Its process id once started (undefined when it could not be). */
  pid: Promise<number | undefined>;
  result: Promise<LaunchResult>;
}

interface Pending {
  pid?: number;
  detached?: boolean;
  started: (pid: number | undefined) => void;
  finished: (result: LaunchResult) => void;
}

type Answer = { id: number; pid?: number } & ({ done?: false } | ({ done: true; stdout: Uint8Array; stderr: Uint8Array } & Omit<LaunchResult, 'stdout' | 'stderr'>));

const HELPER = fileURLToPath(new URL('./spawn-helper.mjs', import.meta.url));

let helper: ChildProcess | undefined;
let nextId = 0;
const pending = new Map<number, Pending>();

/** While commands run, the helper keeps this process alive; when none do, it lets it exit. */
const hold = (on: boolean): void => {
  if (!helper) return;
  const channel = helper.channel as { ref(): void; unref(): void } | undefined;
  if (on) {
    helper.ref();
    channel?.ref();
  } else {
    helper.unref();
    channel?.unref();
  }
};

// A leading byte order mark is output like any other.
const decoder = new TextDecoder('utf-8', { ignoreBOM: true });

const start = (): ChildProcess => {
  // No execArgv or NODE_OPTIONS: not this process's loaders, profilers, inspector or memory flags.
  const { NODE_OPTIONS: _, ...env } = process.env;
  const child = fork(HELPER, [], { execArgv: [], env, serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  child.on('message', (answer: Answer) => {
    const job = pending.get(answer.id);
    if (!job) return;
    job.pid = answer.pid;
    if (!answer.done) return job.started(answer.pid);
    pending.delete(answer.id);
    job.started(answer.pid);
    const { id: _id, done: _done, pid: _pid, stdout, stderr, ...result } = answer;
    job.finished({ ...result, stdout: decoder.decode(stdout), stderr: decoder.decode(stderr) });
    if (!pending.size) hold(false);
  });
  // A message it could not take (it is exiting): the exit below settles what was waiting.
  child.on('error', () => gone(child));
  // Gone (killed, out of memory): what it started is stopped and reported lost, as is what it may have started
  // (its pid may not have arrived yet: sending that again could run it twice); the next command starts a new helper.
  child.on('exit', () => gone(child));
  return child;
};

const gone = (child: ChildProcess): void => {
  if (helper !== child) return;
  helper = undefined;
  for (const [id, job] of pending) {
    pending.delete(id);
    if (job.pid !== undefined) killNow(job.detached ? -job.pid : job.pid);
    job.started(job.pid);
    job.finished({ code: null, signal: null, stdout: '', stderr: '', error: 'lost', notStarted: job.pid === undefined });
  }
};

/** Where and with what environment a command runs: the helper's own are fixed when it starts. */
const place = (opts: Pick<LaunchOptions, 'cwd' | 'env'>) => ({ cwd: opts.cwd ?? process.cwd(), env: opts.env ?? process.env });

const send = (message: object): void => {
  if (!helper?.connected) helper = start();
  const to = helper;
  hold(true);
  to.send(message, (e) => e && gone(to));
};

/** Starts `cmd` with `args` (no shell) and collects its exit and output. */
export const launch = (cmd: string, args: string[], opts: LaunchOptions = {}): Launched => {
  const id = nextId++;
  let started!: (pid: number | undefined) => void;
  let finished!: (result: LaunchResult) => void;
  const pid = new Promise<number | undefined>((resolve) => (started = resolve));
  const result = new Promise<LaunchResult>((resolve) => (finished = resolve));
  pending.set(id, { detached: opts.detached, started, finished });
  send({ id, cmd, args, ...place(opts), input: opts.input, stream: opts.stream, detached: opts.detached, outputLimit: opts.outputLimit, errorLimit: opts.errorLimit });
  return { pid, result };
};

/**
 * Starts `cmd` and leaves it running on its own, after this process has exited too. Resolves once it has
 * started: a process about to exit waits for that, or the helper may never get the message.
 */
export const launchInBackground = (cmd: string, args: string[], opts: Pick<LaunchOptions, 'cwd' | 'env'> = {}): Promise<void> =>
  new Promise((resolve) => {
    const id = nextId++;
    pending.set(id, { started: () => {}, finished: () => resolve() });
    send({ id, cmd, args, ...place(opts), detached: true, background: true });
  });

/** The helper's process id while it runs (the test runner adds its CPU time to a file's). */
export const helperPid = (): number | undefined => helper?.pid;

/** SIGKILL to a process, or to a process group as `-pid`. */
const killNow = (pid: number): void => {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
};

/** Kills a command started `detached`, with everything it started. */
export const stopGroup = (pid: number): void => killNow(-pid);
