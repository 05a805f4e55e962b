import { parseArgs } from 'node:util';
import { UserError } from './errors.ts';

export interface FlagSpec {
  type: 'string' | 'boolean';
  /** Allowed values of a string flag. */
  values?: readonly string[];
  required?: boolean;
  description: string;
}

export type Flags<S extends Record<string, FlagSpec>> = {
  [K in keyof S]: S[K]['type'] extends 'boolean' ? boolean : string | undefined;
};

/** `--name value` flags with a usage text; `--help` prints it. Mistakes are UserErrors with exit code 2. */
export const parseFlags = <S extends Record<string, FlagSpec>>(argv: string[], usage: string, spec: S): Flags<S> | undefined => {
  const options: Record<string, { type: 'string' | 'boolean' }> = { help: { type: 'boolean' } };
  for (const [name, s] of Object.entries(spec)) options[name] = { type: s.type };
  let values: Record<string, unknown>;
  try {
    ({ values } = parseArgs({ args: argv, options, strict: true, allowPositionals: false }));
  } catch (e) {
    throw new UserError(`${(e as Error).message.split('\n')[0]} (see --help)`, 2);
  }
  if (values.help) {
    const width = Math.max(...Object.keys(spec).map((n) => n.length)) + 2;
    const lines = Object.entries(spec).map(([n, s]) => `  --${n.padEnd(width)}${s.description}${s.values ? ` (${s.values.join('|')})` : ''}`);
    process.stdout.write(`${usage}\n\n${lines.join('\n')}\n`);
    return undefined;
  }
  for (const [name, s] of Object.entries(spec)) {
    const v = values[name];
    if (s.required && v === undefined) throw new UserError(`--${name} is required (see --help)`, 2);
    if (s.values && typeof v === 'string' && !s.values.includes(v)) {
      throw new UserError(`--${name} must be one of ${s.values.join(', ')}, not "${v}"`, 2);
    }
    if (s.type === 'boolean') values[name] = v === true;
  }
  return { ...values } as Flags<S>;
};
