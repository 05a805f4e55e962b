import { parse, stringify } from 'yaml';
import { escapeRegExp } from '../lib/regexp.ts';
import { envsubst, type SubstError } from './envsubst.ts';
import { standIn } from './substitute-from.ts';
import type { KObject } from './types.ts';

export const VAR_NAME = /^[_a-zA-Z][_a-zA-Z0-9]*$/;
export const DISABLE_KEY = 'kustomize.toolkit.fluxcd.io/substitute';

export const substitutionDisabled = (obj: KObject): boolean =>
  obj.metadata?.annotations?.[DISABLE_KEY] === 'disabled' || obj.metadata?.labels?.[DISABLE_KEY] === 'disabled';

export interface ObjectSubstitution {
  obj: KObject;
  /** Variables used without a value where no default applies (Flux would write an empty string). */
  missing: string[];
  /** Why Flux would fail to apply the object. */
  error?: string;
  /** A pattern for the line of the expression the error names. */
  errorAt?: string;
}

/**
 * Stage 3 for one object, with Flux's envsubst (`envsubst.ts`). kustomize-controller substitutes the
 * object's YAML text and parses it again; walking the values gives the same result faster: a value YAML
 * would write as a plain scalar is re-typed after substitution (`replicas: ${N}` becomes a number), a
 * quoted or multi-line one stays text. As in Flux, a Kustomization without any variable substitutes
 * nothing, and every value loses its newlines.
 */
export const substituteObject = (obj: KObject, vars: Record<string, string>, unknown: string[] | 'all' = []): ObjectSubstitution => {
  if (substitutionDisabled(obj)) return { obj, missing: [] };
  // Flux does not run the substitution without a variable: every `${...}` is applied as written.
  if (Object.keys(vars).length === 0 && unknown.length === 0) return { obj, missing: [] };
  const first = substituteWith(obj, withoutNewlines(vars));
  // Variables a source gives with values unknown offline (an ExternalSecret's, one made outside Git) stand
  // in with a value of their own, so that the fields they fill are checked all the same.
  const given = first.missing.filter((m) => unknown === 'all' || unknown.includes(m));
  if (!given.length) return first;
  return substituteWith(obj, { ...withoutNewlines(vars), ...Object.fromEntries(given.map((m) => [m, standIn(m)])) });
};

const substituteWith = (obj: KObject, values: Record<string, string>): ObjectSubstitution => {
  const missing = new Set<string>();
  let failure: SubstError | undefined;
  const substitute = (text: string): unknown => {
    const result = envsubst(text, values);
    result.missing.forEach((m) => missing.add(m));
    failure ??= result.error;
    return retypedLikeFlux(text, result.output);
  };
  const visit = (value: unknown): unknown => {
    if (typeof value === 'string') return value.includes('$') ? substitute(value) : value;
    if (Array.isArray(value)) return value.map(visit);
    if (value && typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) out[k.includes('$') ? String(substitute(k)) : k] = visit(v);
      return out;
    }
    return value;
  };
  const out = visit(obj) as KObject;
  // Flux fails the whole object on its first bad expression; the rest is substituted here so that later
  // stages do not report the same mistake again.
  if (failure) return { obj: out, missing: [...missing], error: failure.message, errorAt: escapeRegExp(failure.expression.split('\n')[0]) };
  return { obj: out, missing: [...missing] };
};

const cleaned = new WeakMap<Record<string, string>, Record<string, string>>();

/** kustomize-controller drops every newline from every value, whether inline or from substituteFrom. */
const withoutNewlines = (vars: Record<string, string>): Record<string, string> => {
  let clean = cleaned.get(vars);
  if (!clean) {
    clean = Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, String(v).replace(/\n/g, '')]));
    cleaned.set(vars, clean);
  }
  return clean;
};

/** The substituted text as Flux reads it back from the YAML it substituted. */
const retypedLikeFlux = (before: string, after: string): unknown => {
  if (after === before || before.includes('\n')) return after;
  return writtenPlain(before) ? retyped(after) : after;
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
