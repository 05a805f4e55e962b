import { $ } from 'zx';
import { CommandError } from './errors.ts';

export interface ExecOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Written to the command's stdin. */
  input?: string;
  /** Show the command's output as it runs (long steps); otherwise it is captured. */
  stream?: boolean;
}

const shell = (opts: ExecOptions) =>
  $({
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    input: opts.input,
    quiet: true,
    nothrow: true,
    // zx's default preamble turns on `set -euo pipefail`; one command needs none of it.
    prefix: '',
    stdio: opts.stream ? ['pipe', 'inherit', 'inherit'] : ['pipe', 'pipe', 'pipe'],
  });

/** Runs a command and returns its stdout; a non-zero exit is a CommandError naming the command. */
export const run = async (cmd: string, args: string[], opts: ExecOptions = {}): Promise<string> => {
  const out = await shell(opts)`${cmd} ${args}`;
  if (out.exitCode !== 0) throw new CommandError(cmd, out.exitCode ?? 1);
  return out.stdout;
};

/** Asks a tool something: never throws for a non-zero exit, which is an answer too. */
export const query = async (cmd: string, args: string[], opts: ExecOptions = {}): Promise<{ ok: boolean; stdout: string }> => {
  const out = await shell({ ...opts, stream: false })`${cmd} ${args}`;
  return { ok: out.exitCode === 0, stdout: out.stdout };
};
