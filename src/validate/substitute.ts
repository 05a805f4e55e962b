import { parse, stringify } from 'yaml';
import type { KObject } from './types.ts';

export const VAR_NAME = /^[_a-zA-Z][_a-zA-Z0-9]*$/;
export const DISABLE_KEY = 'kustomize.toolkit.fluxcd.io/substitute';

export interface SubstResult {
  output: string;
  /** Variables used without a value and without a default. */
  missing: string[];
}

/**
 * Flux's envsubst: only the braced form `${VAR}` is substituted (a bare `$VAR` is left alone), `$$` is an
 * escape for `$`, and `${VAR:=default}`, `${VAR:-default}`, `${VAR=default}`, `${VAR-default}` give defaults.
 * Unlike Flux, which quietly substitutes an empty string, an unset variable is reported.
 */
export const envsubst = (input: string, vars: Record<string, string>): SubstResult => {
  const missing: string[] = [];
  let out = '';
  for (let i = 0; i < input.length; ) {
    const c = input[i];
    if (c !== '$') {
      out += c;
      i++;
      continue;
    }
    if (input[i + 1] === '$') {
      out += '$';
      i += 2;
      continue;
    }
    if (input[i + 1] !== '{') {
      out += c;
      i++;
      continue;
    }
    const close = input.indexOf('}', i + 2);
    const expr = close < 0 ? '' : input.slice(i + 2, close);
    const value = close < 0 ? undefined : evaluate(expr, vars, missing);
    if (value === undefined) {
      out += c;
      i++;
      continue;
    }
    out += value;
    i = close + 1;
  }
  return { output: out, missing: [...new Set(missing)] };
};

/** The value of one `${...}` expression, or undefined when it is not a variable expression at all. */
const evaluate = (expr: string, vars: Record<string, string>, missing: string[]): string | undefined => {
  if (expr.startsWith('#')) {
    const name = expr.slice(1);
    if (!VAR_NAME.test(name)) return undefined;
    if (!(name in vars)) missing.push(name);
    return String((vars[name] ?? '').length);
  }
  const m = /^([_a-zA-Z][_a-zA-Z0-9]*)(.*)$/s.exec(expr);
  if (!m) return undefined;
  const [, name, op] = m;
  const set = name in vars;
  const value = vars[name] ?? '';
  const def = /^(:?[=-])(.*)$/s.exec(op);
  if (def) {
    const [, kind, fallback] = def;
    const useDefault = kind.startsWith(':') ? value === '' : !set;
    return useDefault ? fallback : value;
  }
  if (!set) missing.push(name);
  if (op === '') return value;
  if (op === '^') return value.charAt(0).toUpperCase() + value.slice(1);
  if (op === '^^') return value.toUpperCase();
  if (op === ',') return value.charAt(0).toLowerCase() + value.slice(1);
  if (op === ',,') return value.toLowerCase();
  const sub = /^:(\d+)(?::(\d+))?$/.exec(op);
  if (sub) return value.substr(Number(sub[1]), sub[2] === undefined ? undefined : Number(sub[2]));
  const trim = /^(##?|%%?)(.*)$/s.exec(op);
  if (trim) {
    const [, t, pat] = trim;
    if (t.startsWith('#')) return value.startsWith(pat) ? value.slice(pat.length) : value;
    return value.endsWith(pat) ? value.slice(0, value.length - pat.length) : value;
  }
  const repl = /^\/(\/|#|%)?([^/]*)\/(.*)$/s.exec(op);
  if (repl) {
    const [, mode, from, to] = repl;
    if (mode === '/') return value.split(from).join(to);
    if (mode === '#') return value.startsWith(from) ? to + value.slice(from.length) : value;
    if (mode === '%') return value.endsWith(from) ? value.slice(0, value.length - from.length) + to : value;
    return value.replace(from, to);
  }
  return value;
};

export const substitutionDisabled = (obj: KObject): boolean =>
  obj.metadata?.annotations?.[DISABLE_KEY] === 'disabled' || obj.metadata?.labels?.[DISABLE_KEY] === 'disabled';

/**
 * Stage 3 for one object. kustomize-controller substitutes the object's YAML text and parses it again;
 * walking the values gives the same result faster: a value YAML would write as a plain scalar is
 * re-typed after substitution (`replicas: ${N}` becomes a number), a quoted or multi-line one stays text.
 */
export const substituteObject = (
  obj: KObject,
  vars: Record<string, string>,
): { obj: KObject; missing: string[]; error?: string } => {
  if (substitutionDisabled(obj)) return { obj, missing: [] };
  const missing = new Set<string>();
  const visit = (value: unknown): unknown => {
    if (typeof value === 'string') return value.includes('$') ? substituteScalar(value, vars, missing) : value;
    if (Array.isArray(value)) return value.map(visit);
    if (value && typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) {
        const key = k.includes('$') ? String(substituteScalar(k, vars, missing)) : k;
        out[key] = visit(v);
      }
      return out;
    }
    return value;
  };
  return { obj: visit(obj) as KObject, missing: [...missing] };
};

const substituteScalar = (value: string, vars: Record<string, string>, missing: Set<string>): unknown => {
  const result = envsubst(value, vars);
  result.missing.forEach((m) => missing.add(m));
  if (result.output === value || value.includes('\n')) return result.output;
  return writtenPlain(value) ? retyped(result.output) : result.output;
};

// The same values recur in every object and cluster (`${CLUSTER_DOMAIN}`, ...): YAML's answers are kept.
const plainness = new Map<string, boolean>();
const typings = new Map<string, unknown>();

/** Whether YAML writes the value as a plain scalar, which it would read back with a type. */
const writtenPlain = (value: string): boolean => {
  if (!plainness.has(value)) plainness.set(value, !/^['"|>]/.test(stringify(value, { lineWidth: 0 }).trimEnd()));
  return plainness.get(value)!;
};

const retyped = (output: string): unknown => {
  if (!typings.has(output)) {
    let typed: unknown;
    try {
      const value = parse(output);
      typed = value !== null && typeof value === 'object' ? output : (value ?? output);
    } catch {
      typed = output;
    }
    typings.set(output, typed);
  }
  return typings.get(output);
};
