import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ErrorObject } from 'ajv';
import { parse } from 'yaml';
import { TOOLKIT_ROOT } from '../../src/lib/cache-dir.ts';
import { parseArgs } from 'node:util';
import { UsageError, UserError } from '../../src/lib/errors.ts';
import { isFile } from '../../src/lib/fsutil.ts';
import { MAX_CONFIG_BYTES, parseYaml, readYamlText, YamlLimitError } from '../../src/lib/yaml-safe.ts';
import { TOOLKIT_SCHEMA_OPTIONS, toolkitValidator } from '../../src/lib/toolkit-schemas.ts';
import { fieldAt, resolveField } from './schema-util.ts';

export type Answers = Record<string, any>;

/** A generator's flags and field bypasses, read from what follows `--` on the plop command line. */
export interface GeneratorArgs {
  answersFile?: string;
  dryRun: boolean;
  force: boolean;
  /** `--name foo`, `--chart.version 1.2.3`: single fields given on the command line. */
  fields: Record<string, string>;
}

/**
 * What follows `--` on the plop command line, read with node's util.parseArgs: `--answers FILE`,
 * `--dry-run`, `--force`, and any other `--field value` (or `--field=value`) as a single answer.
 */
export const parseGeneratorArgs = (argv: string[]): GeneratorArgs => {
  const dash = argv.indexOf('--');
  const rest = dash < 0 ? [] : argv.slice(dash + 1);
  const out: GeneratorArgs = { dryRun: false, force: false, fields: {} };
  const { tokens } = parseArgs({ args: rest, strict: false, allowPositionals: true, tokens: true });
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (t.kind === 'positional') throw new UsageError(`unexpected argument "${t.value}" (fields are given as --name value)`);
    if (t.kind !== 'option') continue;
    if (t.name === 'dry-run' || t.name === 'force') {
      if (t.value !== undefined) throw new UsageError(`--${t.name} takes no value`);
      out[t.name === 'dry-run' ? 'dryRun' : 'force'] = true;
      continue;
    }
    let value = t.value;
    const next = tokens[i + 1];
    if (value === undefined && next?.kind === 'positional') {
      value = next.value;
      i++;
    }
    if (value === undefined) throw new UsageError(`--${t.name} needs a value`);
    if (t.name === 'answers') out.answersFile = value;
    else out.fields[t.name] = value;
  }
  return out;
};

export const loadAnswersFile = (file: string): Answers => {
  if (!isFile(file)) throw new UserError(`--answers ${file}: no such file`);
  let text: string;
  try {
    text = readYamlText(file, MAX_CONFIG_BYTES);
  } catch (e) {
    throw e instanceof YamlLimitError ? new UserError(`--answers ${file}: ${e.reason}`) : e;
  }
  try {
    const doc = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text, file);
    if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new Error('must be a mapping of answers');
    return doc;
  } catch (e: any) {
    if (e instanceof YamlLimitError) throw new UserError(`--answers ${file}: ${e.reason}`);
    const where = e.linePos?.[0]?.line ? `:${e.linePos[0].line}` : '';
    // The yaml library repeats the position at the end of its message; the prefix already says it.
    throw new UserError(`${file}${where}: ${String(e.message).split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')}`);
  }
};

/** Sets `a.b.c` in answers from a command-line field, typed by the schema (numbers, booleans, lists). */
export const applyField = (answers: Answers, path: string, raw: string, schema: any): void => {
  const parts = path.split('.');
  const node = fieldAt(schema, path);
  if (!node) throw new UserError(`answers.${path}: unknown field`);
  let value: unknown = raw;
  const type = [node.type].flat()[0];
  if (type === 'integer' || type === 'number') value = raw.trim() !== '' && !Number.isNaN(Number(raw)) ? Number(raw) : raw;
  else if (type === 'boolean') value = /^(true|yes|y)$/i.test(raw) ? true : /^(false|no|n)$/i.test(raw) ? false : raw;
  else if (type === 'array') value = raw === '' ? [] : resolveField(schema, node.items)?.type === 'string' ? raw.split(',').map((s) => s.trim()) : parse(raw);
  else if (type === 'object') value = parse(raw);
  let target = answers;
  for (const p of parts.slice(0, -1)) target = target[p] ??= {};
  target[parts.at(-1)!] = value;
};

export const loadSchema = (generator: string): any =>
  JSON.parse(readFileSync(join(TOOLKIT_ROOT, 'schemas', `${generator}.schema.json`), 'utf8'));

const show = (v: unknown) => {
  const s = JSON.stringify(v);
  return s === undefined ? 'nothing' : s.length > 60 ? `${s.slice(0, 57)}...` : s;
};

/** `answers.name: must match ^[a-z0-9]...$ (got "My_App")`: the field, the rule, the value. */
export const formatAnswerError = (e: ErrorObject, prefix = 'answers'): string => {
  const path = e.instancePath.split('/').slice(1).map((p) => (/^\d+$/.test(p) ? `[${p}]` : `.${p}`)).join('');
  const field = `${prefix}${path}`;
  const got = ` (got ${show((e as any).data)})`;
  const p: any = e.params;
  switch (e.keyword) {
    case 'required':
      return `${field}.${p.missingProperty}: is required`;
    case 'additionalProperties':
      return `${field}.${p.additionalProperty}: unknown field`;
    case 'pattern':
      return `${field}: ${e.parentSchema?.errorMessage ?? `must match ${p.pattern}`}${got}`;
    case 'enum':
      return `${field}: must be one of ${p.allowedValues.join(', ')}${got}`;
    case 'maxLength':
      return `${field}: must be at most ${p.limit} characters${got}`;
    case 'minLength':
      return p.limit === 1 ? `${field}: must not be empty` : `${field}: must be at least ${p.limit} characters${got}`;
    case 'minimum':
    case 'maximum':
      return `${field}: must be ${e.keyword === 'minimum' ? '>=' : '<='} ${p.limit}${got}`;
    case 'type':
      return `${field}: must be ${p.type}${got}`;
    case 'minItems':
      return `${field}: must have at least ${p.limit} item${p.limit === 1 ? '' : 's'}`;
    case 'uniqueItems':
      return `${field}: must not repeat items${got}`;
    default:
      return `${field}: ${e.message}${got}`;
  }
};

let ajv: any;
const getAjv = async () => {
  if (!ajv) {
    const { default: Ajv } = await import('ajv');
    ajv = new (Ajv as any)(TOOLKIT_SCHEMA_OPTIONS);
  }
  return ajv;
};

/** Validates (and fills in defaults of) a whole answers document; throws one line per problem. */
export const validateAnswers = async (schema: any, answers: Answers): Promise<Answers> => {
  const validate = await toolkitValidator(schema);
  if (validate(answers)) return answers;
  const lines = [...new Set<string>((validate.errors as ErrorObject[]).filter((e) => !['if', 'anyOf', 'oneOf'].includes(e.keyword)).map((e) => formatAnswerError(e)))];
  throw new UserError(lines.join('\n'));
};

/** Checks one typed value against its field's schema, for interactive prompts: true or the message. */
export const checkField = async (fieldSchema: any, path: string, value: unknown): Promise<true | string> => {
  const validate = (await getAjv()).compile(fieldSchema);
  if (validate(value)) return true;
  return formatAnswerError(validate.errors[0], `answers.${path}`).replace(/^answers\.\S+: /, '');
};
