import { parse, stringify } from 'yaml';
import { checkField, type Answers } from './answers.ts';
import { resolveField, standalone } from './schema-util.ts';

/** What a typed field shows once answered: nothing for a skipped optional field, a list as typed, objects as flow YAML. */
const shown = (value: unknown, _answers: unknown, { isFinal }: { isFinal?: boolean } = {}) => {
  if (!isFinal || typeof value === 'string') return value;
  if (value === undefined) return '';
  if (Array.isArray(value) && value.every((v) => typeof v !== 'object' || v === null)) return value.join(', ');
  return stringify(value, { collectionStyle: 'flow' }).trim();
};

/** The first item of the field in the schema's own example, as flow YAML: what a list of objects looks like. */
const flowExample = (root: any, path: string): string => {
  const value = path.split('.').reduce((node: any, key) => node?.[key], root.examples?.[0]);
  return Array.isArray(value) && value.length ? stringify([value[0]], { collectionStyle: 'flow' }).trim() : '[{ name: value }]';
};

/** One inquirer question per field the operator has not given yet, from the schema's words. */
export const questionsFor = (root: any, schema: any, given: Answers, prefix = ''): any[] => {
  const questions: any[] = [];
  const required = new Set<string>(schema.required ?? []);
  for (const [key, raw] of Object.entries<any>(schema.properties ?? {})) {
    const field = resolveField(root, raw);
    const path = `${prefix}${key}`;
    if (given?.[key] !== undefined && (field.type !== 'object' || !field.properties)) continue;
    const type = [field.type].flat()[0];
    const message = `${field.title ?? path}${field.description ? ` (${field.description})` : ''}${required.has(key) ? '' : ' [optional]'}`;
    if (type === 'object' && field.properties) {
      if (!required.has(key)) {
        questions.push({ type: 'confirm', name: `__want.${path}`, message: `Configure ${field.title ?? path}?`, default: false });
      }
      questions.push(...questionsFor(root, field, given?.[key] ?? {}, `${path}.`).map((q) => ({ ...q, when: required.has(key) ? q.when : (a: any) => a.__want?.[path] !== false && (!q.when || q.when(a)) })));
      continue;
    }
    const base = { name: path, message, default: field.default };
    const check = async (value: unknown) => (value === undefined && !required.has(key) ? true : checkField(standalone(root, field), path, value));
    if (field.enum) {
      // An optional choice can be left unset (the generator then applies its own rule); it is the default.
      const unset = required.has(key) || field.default !== undefined ? [] : [{ name: '(not set)', value: undefined }];
      questions.push({ ...base, type: 'list', choices: [...unset, ...field.enum] });
    }
    else if (type === 'boolean') questions.push({ ...base, type: 'confirm' });
    else if (type === 'integer' || type === 'number') {
      questions.push({ ...base, type: 'input', filter: (v: string) => (v === '' ? undefined : Number(v)), validate: check, transformer: shown });
    } else if (type === 'array' && resolveField(root, field.items)?.enum) {
      // A list of known values is picked from them (space to pick, enter to go on).
      questions.push({
        ...base,
        type: 'checkbox',
        choices: resolveField(root, field.items).enum,
        filter: (v: unknown[]) => (v.length === 0 && !required.has(key) ? undefined : v),
        validate: check,
      });
    } else if (type === 'array') {
      const scalar = resolveField(root, field.items)?.type === 'string';
      questions.push({
        ...base,
        type: 'input',
        message: `${message} ${scalar ? '(comma-separated)' : `(YAML flow list, e.g. ${flowExample(root, path)})`}`,
        default: Array.isArray(field.default) ? field.default.join(',') : undefined,
        filter: (v: string) => (v.trim() === '' ? undefined : scalar ? v.split(',').map((s) => s.trim()) : parse(v)),
        validate: check,
        transformer: shown,
      });
    } else questions.push({ ...base, type: 'input', filter: (v: string) => (v === '' ? undefined : v), validate: check, transformer: shown });
  }
  return questions;
};

/** Asks for every field not given, checking each answer against its schema as it is typed. */
export const askMissing = async (inquirer: any, schema: any, given: Answers): Promise<Answers> => {
  const raw = await inquirer.prompt(questionsFor(schema, schema, given));
  const merged = structuredClone(given);
  for (const [path, value] of flatten(raw)) {
    if (path.startsWith('__want') || value === undefined) continue;
    const parts = path.split('.');
    let node = merged;
    for (const p of parts.slice(0, -1)) node = node[p] ??= {};
    node[parts.at(-1)!] = value;
  }
  return merged;
};

const flatten = (obj: any, prefix = ''): [string, unknown][] =>
  Object.entries(obj ?? {}).flatMap(([k, v]) =>
    v && typeof v === 'object' && !Array.isArray(v) ? flatten(v, `${prefix}${k}.`) : [[`${prefix}${k}`, v] as [string, unknown]],
  );
