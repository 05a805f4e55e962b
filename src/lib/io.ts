import { AsyncLocalStorage } from 'node:async_hooks';
import { accessSync, constants } from 'node:fs';
import { createInterface } from 'node:readline';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { spawnCommand, type Command, type CommandResult } from './exec.ts';

/**
 * Everything a command-line entry point touches outside its own files: the environment, the tools it
 * runs, its output and the operator's answers. Entry points read it through `io()`; tests swap it for a
 * recording fake with `withIo`, so a script runs in-process exactly as it runs from a terminal.
 */
export interface Io {
  env: NodeJS.ProcessEnv;
  /** Runs an external command (`run`/`query` in exec.ts go through here). */
  exec: (command: Command) => Promise<CommandResult>;
  /** The executable's path when `tool` is on PATH, else undefined. */
  which: (tool: string) => string | undefined;
  out: (text: string) => void;
  err: (text: string) => void;
  /** One line from the operator; empty when input ends first. */
  readLine: (prompt: string) => Promise<string>;
  sleep: (ms: number) => Promise<void>;
  now: () => number;
}

export const whichOnPath = (tool: string, path: string = process.env.PATH ?? ''): string | undefined => {
  for (const dir of path.split(delimiter).filter(Boolean)) {
    const candidate = join(dir, tool);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this folder
    }
  }
  return undefined;
};

const readLineFromStdin = (prompt: string): Promise<string> =>
  new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: false });
    let answered = false;
    process.stderr.write(prompt);
    rl.once('line', (line) => {
      answered = true;
      // A piped answer is not echoed: end the prompt's line so the next message starts on its own.
      if (!process.stdin.isTTY) process.stderr.write('\n');
      rl.close();
      resolve(line.trim());
    });
    rl.once('close', () => {
      if (!answered) resolve('');
    });
  });

const processIo = (): Io => ({
  env: process.env,
  exec: spawnCommand,
  which: (tool) => whichOnPath(tool, process.env.PATH),
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
  readLine: readLineFromStdin,
  sleep: (ms) => sleep(ms).then(() => undefined),
  now: Date.now,
});

let processWide: Io | undefined;
// Per async context, so that runs started side by side (a test's parallel cases) each keep their own.
const scoped = new AsyncLocalStorage<Io>();

export const io = (): Io => scoped.getStore() ?? (processWide ??= processIo());

/** Runs `fn` with parts of the io replaced; the rest stays as the surrounding io has it. */
export const withIo = <T>(parts: Partial<Io>, fn: () => Promise<T>): Promise<T> => scoped.run({ ...io(), ...parts }, fn);

/** Prints lines on the entry point's stdout. */
export const say = (...lines: string[]): void => io().out(`${lines.join('\n')}\n`);
