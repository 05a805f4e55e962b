import { parse, stringify } from 'yaml';
import { checkField, type Answers } from './answers.ts';
import { resolveField, standalone } from './schema-util.ts';

const flowYaml = (value: unknown): string => stringify(value, { collectionStyle: 'flow', lineWidth: 0 }).trim();
const valueAt = (obj: unknown, path: string): any => path.split('.').reduce((node: any, key) => node?.[key], obj);

/** What a typed field shows once answered: nothing for a skipped optional field, a list as typed, objects as flow YAML. */
const shown = (value: unknown, _answers: unknown, { isFinal }: { isFinal?: boolean } = {}) => {
  if (!isFinal || typeof value === 'string') return value;
  if (value === undefined) return '';
  if (Array.isArray(value) && value.every((v) => typeof v !== 'object' || v === null)) return value.join(', ');
  return flowYaml(value);
};

/** The field's value in the schema's own example, as flow YAML (a list's first item): what to type. */
const flowExample = (root: any, path: string, fallback: string): string => {
  const value = valueAt(root.examples?.[0], path);
  const example = Array.isArray(value) ? (value.length ? [value[0]] : undefined) : value && typeof value === 'object' ? value : undefined;
  const text = example === undefined ? '' : flowYaml(example);
  return text && text.length <= 100 ? text : fallback;
};

/** Typed flow YAML; what does not parse is kept as typed, so that the schema check names the field. */
const yamlInput = (v: string): unknown => {
  if (v.trim() === '') return undefined;
  try {
    return parse(v);
  } catch {
    return v;
  }
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
    const check = async (value: unknown) =>
      value === undefined ? (required.has(key) ? 'is required' : true) : checkField(standalone(root, field), path, value);
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
        message: `${message} ${scalar ? '(comma-separated)' : `(YAML flow list, e.g. ${flowExample(root, path, '[{ name: value }]')})`}`,
        default: Array.isArray(field.default) ? field.default.join(',') : undefined,
        filter: (v: string) => (scalar ? (v.trim() === '' ? undefined : v.split(',').map((s) => s.trim())) : yamlInput(v)),
        validate: check,
        transformer: shown,
      });
    } else if (type === 'object') {
      // A map without named fields (chart values, extra cluster-vars) is typed as a flow mapping.
      questions.push({
        ...base,
        type: 'input',
        message: `${message} (YAML flow mapping, e.g. ${flowExample(root, path, '{ KEY: value }')})`,
        default: undefined,
        filter: yamlInput,
        validate: check,
        transformer: shown,
      });
    } else questions.push({ ...base, type: 'input', filter: (v: string) => (v === '' ? undefined : v), validate: check, transformer: shown });
  }
  return questions;
};

/** Asks for every field not given, checking each answer against its schema as it is typed. */
export const askMissing = async (inquirer: any, schema: any, given: Answers): Promise<Answers> => {
  const questions = questionsFor(schema, schema, given);
  const raw = await inquirer.prompt(questions);
  const merged = structuredClone(given);
  // By the questions' names, not by walking the answers: a map typed as YAML keeps its own keys whole.
  for (const { name } of questions) {
    const value = valueAt(raw, name);
    if (name.startsWith('__want') || value === undefined) continue;
    const parts = String(name).split('.');
    let node = merged;
    for (const p of parts.slice(0, -1)) node = node[p] ??= {};
    node[parts.at(-1)!] = value;
  }
  return merged;
};
