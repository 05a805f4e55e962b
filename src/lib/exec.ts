import { CommandError } from './errors.ts';
import { io } from './io.ts';
import { launch } from './spawner.ts';

export interface ExecOptions {
  cwd?: string;
  /** Added to the io's environment. */
  env?: NodeJS.ProcessEnv;
  /** Written to the command's stdin. */
  input?: string;
  /** Show the command's output as it runs (long steps); otherwise it is captured. */
  stream?: boolean;
}

export interface Command extends Omit<ExecOptions, 'env'> {
  cmd: string;
  args: string[];
  /** The whole environment the command sees. */
  env: NodeJS.ProcessEnv;
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The real thing: the command started as given, without a shell (bash would read ~/.bashrc when SHLVL is
 * unset and its stdin is a pipe, printing into the output and rewriting the environment), by the helper
 * that starts commands (spawner.ts). One that cannot start answers as a shell would: 127.
 */
export const spawnCommand = async (c: Command): Promise<CommandResult> => {
  const r = await launch(c.cmd, c.args, { cwd: c.cwd, env: c.env, input: c.input, stream: c.stream }).result;
  if (r.notStarted) return { code: 127, stdout: '', stderr: `${c.cmd}: ${notStartedReason(r.error, c.cwd)}\n` };
  if (r.error === 'lost') return { code: 1, stdout: '', stderr: `${c.cmd}: stopped: the process that started it exited\n` };
  if (r.error?.startsWith('output-too-large')) return { code: 1, stdout: '', stderr: `${c.cmd}: its output was too large to read\n` };
  return { code: r.code ?? 1, stdout: r.stdout, stderr: r.stderr };
};

const notStartedReason = (error: string | undefined, cwd: string | undefined): string =>
  error === 'ENOENT'
    ? 'command not found'
    : error === 'EACCES'
      ? 'permission denied'
      : error === 'no-folder'
        ? `cannot run in ${cwd}: no such folder`
        : error === 'lost'
          ? 'could not be started: the process that starts commands exited'
          : `could not be started (${error})`;

const exec = async (cmd: string, args: string[], opts: ExecOptions): Promise<CommandResult> => {
  const r = await io().exec({ cmd, args, cwd: opts.cwd, input: opts.input, stream: opts.stream, env: { ...io().env, ...opts.env } });
  // A real streamed command wrote to the terminal itself; one that answered in-process gives it here.
  if (opts.stream) {
    if (r.stdout) io().out(r.stdout);
    if (r.stderr) io().err(r.stderr);
  }
  return r;
};

/** Runs a command and returns its stdout; a non-zero exit is a CommandError naming the command. */
export const run = async (cmd: string, args: string[], opts: ExecOptions = {}): Promise<string> => {
  const r = await exec(cmd, args, opts);
  if (r.code !== 0) throw new CommandError(cmd, r.code, opts.stream ? '' : r.stderr);
  return r.stdout;
};

/** Asks a tool something: never throws for a non-zero exit, which is an answer too. */
export const query = async (cmd: string, args: string[], opts: ExecOptions = {}): Promise<{ ok: boolean; stdout: string }> => {
  const r = await exec(cmd, args, { ...opts, stream: false });
  return { ok: r.code === 0, stdout: r.stdout };
};
