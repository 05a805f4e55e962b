import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { EXIT, UsageError, UserError } from './errors.ts';
import { io, withIo, type Io } from './io.ts';

export interface FlagSpec {
  type: 'string' | 'boolean';
  /** Allowed values of a string flag. */
  values?: readonly string[];
  required?: boolean;
  multiple?: boolean;
  short?: string;
  description: string;
}

type FlagValue<S extends FlagSpec> = S['type'] extends 'boolean' ? boolean : S['multiple'] extends true ? string[] : string | undefined;
export type Flags<S extends Record<string, FlagSpec>> = { [K in keyof S]: FlagValue<S[K]> };

export const usageText = (usage: string, spec: Record<string, FlagSpec>): string => {
  const width = Math.max(0, ...Object.keys(spec).map((n) => n.length)) + 2;
  const lines = Object.entries(spec).map(([n, s]) => `  --${n.padEnd(width)}${s.description}${s.values ? ` (${s.values.join('|')})` : ''}`);
  return lines.length ? `${usage}\n\n${lines.join('\n')}\n` : `${usage}\n`;
};

/**
 * `--name value` flags (node's util.parseArgs) with a usage text: `--help` prints it and returns
 * undefined; a mistake is a UsageError (exit 2) that names the flag.
 */
export const parseFlags = <S extends Record<string, FlagSpec>>(
  argv: string[],
  usage: string,
  spec: S,
  opts: { positionals?: boolean } = {},
): (Flags<S> & { _: string[] }) | undefined => {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> = { help: { type: 'boolean', short: 'h' } };
  for (const [name, s] of Object.entries(spec)) options[name] = { type: s.type, ...(s.multiple ? { multiple: true } : {}), ...(s.short ? { short: s.short } : {}) };
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({ args: argv, options, strict: true, allowPositionals: Boolean(opts.positionals) });
  } catch (e) {
    throw new UsageError(`${(e as Error).message.split('\n')[0]} (see --help)`);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io().out(usageText(usage, spec));
    return undefined;
  }
  for (const [name, s] of Object.entries(spec)) {
    const v = values[name];
    if (s.required && v === undefined) throw new UsageError(`--${name} is required (see --help)`);
    if (s.values && typeof v === 'string' && !s.values.includes(v)) throw new UsageError(`--${name} must be one of ${s.values.join(', ')}, not "${v}"`);
    if (s.type === 'boolean') values[name] = v === true;
    if (s.multiple && v === undefined) values[name] = [];
  }
  return { ...values, _: positionals } as Flags<S> & { _: string[] };
};

/**
 * `<command> [flags]`: the command named first, one of `commands`, then its flags as parseFlags reads them.
 * `--help` prints the usage and returns undefined; a missing or unknown command is a UsageError listing them.
 */
export const parseCommand = <C extends string, S extends Record<string, FlagSpec>>(
  argv: string[],
  commands: readonly C[],
  usage: string,
  spec: S,
): { command: C; flags: Flags<S> & { _: string[] } } | undefined => {
  const [command, ...rest] = argv;
  if (command === '--help' || command === '-h') {
    io().out(usageText(usage, spec));
    return undefined;
  }
  if (!commands.includes(command as C)) {
    throw new UsageError(`${command ? `unknown command "${command}"` : 'a command is required'}: one of ${commands.join(', ')} (see --help)`);
  }
  const flags = parseFlags(rest, usage, spec);
  return flags && { command: command as C, flags };
};

/** The exit code for what a main function threw, after printing it: one line for a user's mistake. */
export const reportFailure = (e: unknown, prefix: string): number => {
  if (e instanceof UserError) {
    io().err(`${e.message.split('\n').map((l, i) => (i === 0 || !l.startsWith('  ') ? `${prefix}${l}` : l)).join('\n')}\n`);
    return e.exitCode;
  }
  io().err(`${(e as Error)?.stack ?? e}\n`);
  return EXIT.bug;
};

export type Main = (argv: string[]) => Promise<number | void>;

/** Runs an entry point's main: its return value (or 0) is the exit code, a thrown error is reported. */
export const runMain = async (main: Main, argv: string[], prefix = 'error: '): Promise<number> => {
  try {
    return (await main(argv)) ?? EXIT.ok;
  } catch (e) {
    return reportFailure(e, prefix);
  }
};

/** True when `moduleUrl` is the file node was asked to run (not a module a test imported). */
export const isEntryPoint = (moduleUrl: string): boolean => {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(moduleUrl));
  } catch {
    return false;
  }
};

/**
 * Exits with `code` once everything written to `streams` has left the process: `process.exit` drops what
 * a pipe has not taken yet (64 KiB at a time), so `validate | less` or a CI log would lose the end.
 */
export const exitWhenFlushed = (
  code: number,
  streams: NodeJS.WritableStream[] = [process.stdout, process.stderr],
  exit: (code: number) => void = process.exit,
): Promise<void> =>
  Promise.all(
    streams.map(
      (s) =>
        new Promise<void>((resolve) => {
          // A reader that went away (`| head`) is no reason for a stack trace: what is left is dropped.
          s.on('error', () => resolve());
          // An empty write's callback runs after every earlier write has been handed over (or has failed).
          s.write('', () => resolve());
        }),
    ),
  ).then(() => exit(code));

/** `if run directly, run main with the process's arguments and exit with its code`. */
export const entryPoint = (moduleUrl: string, main: Main, prefix = 'error: '): void => {
  if (!isEntryPoint(moduleUrl)) return;
  // exit, not exitCode: a pool or a timer left behind must not keep a finished command alive.
  runMain(main, process.argv.slice(2), prefix).then((code) => exitWhenFlushed(code));
};

export interface Invocation {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs an entry point in-process with a captured stdout and stderr: what a test sees of a terminal run. */
export const invoke = async (main: Main, argv: string[], parts: Partial<Io> = {}, prefix = 'error: '): Promise<Invocation> => {
  let stdout = '';
  let stderr = '';
  const code = await withIo({ out: (t) => void (stdout += t), err: (t) => void (stderr += t), ...parts }, () => runMain(main, argv, prefix));
  return { code, stdout, stderr };
};
