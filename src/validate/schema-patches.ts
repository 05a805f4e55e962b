// The load-time patches the schema bundle's README lists, and the Go regular expressions CRDs use.

import { RE2JS } from 're2js';

/**
 * Patterns in Kubernetes schemas are Go's RE2 (kubeconform and the API server match them with Go's regexp; the
 * bundle's other schemas use only syntax RE2 shares), and a repository's CRDs choose theirs: they are matched by
 * RE2's own algorithm (re2js), in time linear in the text, where a backtracking engine would hang on `^(a+)+$`.
 * A pattern RE2 does not compile is not enforced (the API server refuses such a CRD itself). ajv tells patterns
 * apart by their `toString()`, as it would RegExps.
 */
type Pattern = { test: (s: string) => boolean; toString: () => string };
const patterns = new Map<string, Pattern>();
export const goRegExp = Object.assign(
  (pattern: string, _flags?: string): Pattern => {
    let matcher = patterns.get(pattern);
    if (!matcher) {
      const name = `re2:${JSON.stringify(pattern)}`;
      try {
        const re = RE2JS.compile(pattern);
        matcher = { test: (s: string) => re.test(s), toString: () => name };
      } catch {
        matcher = { test: () => true, toString: () => `${name} (not enforced)` };
      }
      patterns.set(pattern, matcher);
    }
    return matcher;
  },
  { code: 'goRegExp' },
);

/**
 * The load-time patches the schema bundle's README lists: `nullable` without `type` (ajv refuses it),
 * `additionalProperties: false` beside `x-kubernetes-preserve-unknown-fields` (the API server keeps unknown
 * fields there), and for CRDs a strict root with a real ObjectMeta (the catalog leaves both open).
 */
export const patchSchema = (schema: any, objectMeta?: unknown): any => {
  const visit = (node: any) => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (!node || typeof node !== 'object') return;
    if ('nullable' in node && !('type' in node)) delete node.nullable;
    if (node['x-kubernetes-preserve-unknown-fields'] === true && node.additionalProperties === false) {
      delete node.additionalProperties;
    }
    Object.values(node).forEach(visit);
  };
  visit(schema);
  delete schema.$schema;
  delete schema.$id;
  if (objectMeta && schema.properties) {
    // Some catalog schemas omit apiVersion, kind or metadata at the root; a strict root must allow them.
    schema.properties.apiVersion ??= { type: 'string' };
    schema.properties.kind ??= { type: 'string' };
    schema.properties.metadata = objectMeta;
    if (schema.additionalProperties === undefined) schema.additionalProperties = false;
  }
  return schema;
};


/** How every Kubernetes schema is compiled. */
export const AJV_OPTIONS = {
  strict: false,
  allErrors: true,
  allowUnionTypes: true,
  validateFormats: false,
  code: { regExp: goRegExp, optimize: false },
};

