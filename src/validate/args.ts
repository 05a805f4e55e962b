import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UserError } from '../lib/errors.ts';

export const commonOptions = {
  cluster: { type: 'string' },
  path: { type: 'string' },
  repo: { type: 'string' },
  'schema-dir': { type: 'string', multiple: true },
  'cache-dir': { type: 'string' },
  'no-cache': { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

/** node's parseArgs, with its errors turned into a usage error (exit 2). */
export const parseCli = <O extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: O) => {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values;
  } catch (e: any) {
    throw new UserError(String(e.message).split('\n')[0]);
  }
};

/** Progress goes to stderr: one rewritten line on a terminal, nothing when piped. */
export const progressPrinter = (quiet?: boolean) => {
  if (quiet || !process.stderr.isTTY) return { update: (_: string) => {}, done: () => {} };
  return {
    update: (m: string) => process.stderr.write(`\r\x1b[K${m}`),
    done: () => process.stderr.write('\r\x1b[K'),
  };
};
