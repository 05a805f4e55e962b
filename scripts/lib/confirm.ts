import { createInterface } from 'node:readline';
import { UserError } from './errors.ts';

/** Reads one line from stdin; an empty string when stdin ends first. */
const readLine = (prompt: string): Promise<string> =>
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

/** A destructive action goes ahead only when the operator types `expected` exactly. */
export const confirmTyped = async (action: string, expected: string): Promise<void> => {
  const answer = await readLine(`${action}\nType "${expected}" to continue: `);
  if (answer !== expected) throw new UserError(`not confirmed (typed "${answer}", expected "${expected}"): nothing was changed`);
};
