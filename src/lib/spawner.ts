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
  /** Null when it was killed by a signal or never started. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Why it did not start or failed to run (an errno code such as ENOENT). */
  error?: string;
  overflow?: boolean;
}

export interface Launched {
  /** Its process id once started (undefined when it could not be). */
  pid: Promise<number | undefined>;
  result: Promise<LaunchResult>;
}

interface Pending {
  started: (pid: number | undefined) => void;
  finished: (result: LaunchResult) => void;
}

type Answer = { id: number; pid?: number } & ({ done?: false } | ({ done: true } & LaunchResult));

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

const start = (): ChildProcess => {
  // No execArgv: not this process's loaders, profilers or memory flags.
  const child = fork(HELPER, [], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  child.on('message', (answer: Answer) => {
    const job = pending.get(answer.id);
    if (!job) return;
    if (!answer.done) return job.started(answer.pid);
    pending.delete(answer.id);
    job.started(answer.pid);
    const { id: _id, done: _done, pid: _pid, ...result } = answer;
    job.finished(result);
    if (!pending.size) hold(false);
  });
  // Gone (killed, or out of memory): what it was running is lost; the next command starts a new helper.
  child.on('exit', () => {
    if (helper === child) helper = undefined;
    for (const [id, job] of pending) {
      pending.delete(id);
      job.started(undefined);
      job.finished({ code: null, signal: null, stdout: '', stderr: '', error: 'the process that starts commands has exited' });
    }
  });
  return child;
};

/** Starts `cmd` with `args` (no shell) and collects its exit and output. */
export const launch = (cmd: string, args: string[], opts: LaunchOptions = {}): Launched => {
  helper ??= start();
  const id = nextId++;
  let started!: (pid: number | undefined) => void;
  let finished!: (result: LaunchResult) => void;
  const pid = new Promise<number | undefined>((resolve) => (started = resolve));
  const result = new Promise<LaunchResult>((resolve) => (finished = resolve));
  pending.set(id, { started, finished });
  hold(true);
  helper.send({ id, cmd, args, cwd: opts.cwd, env: opts.env ?? process.env, input: opts.input, stream: opts.stream, detached: opts.detached, outputLimit: opts.outputLimit, errorLimit: opts.errorLimit });
  return { pid, result };
};

/** Starts `cmd` and leaves it running on its own, after this process has exited too. */
export const launchInBackground = (cmd: string, args: string[], opts: Pick<LaunchOptions, 'cwd' | 'env'> = {}): void => {
  helper ??= start();
  const id = nextId++;
  pending.set(id, { started: () => {}, finished: () => {} });
  hold(true);
  helper.send({ id, cmd, args, cwd: opts.cwd, env: opts.env ?? process.env, detached: true, background: true });
};

/** The helper's process id while it runs (the test runner adds its CPU time to a file's). */
export const helperPid = (): number | undefined => helper?.pid;

/** Kills a command started `detached`, with everything it started. */
export const stopGroup = (pid: number): void => {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
};
