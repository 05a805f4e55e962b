// The load-time patches the schema bundle's README lists, and the Go regular expressions CRDs use.

/**
 * Patterns in CRDs are Go RE2: `(?i)` flags and `\PC` classes that JavaScript rejects. Translate what can be
 * translated; a pattern that still does not compile is not enforced (kubeconform's Go engine would).
 */
export const goRegExp = Object.assign(
  (pattern: string, flags: string): { test: (s: string) => boolean } => {
    const attempt = (p: string, f: string) => {
      try {
        return new RegExp(p, f);
      } catch {
        return undefined;
      }
    };
    const direct = attempt(pattern, flags);
    if (direct) return direct;
    let p = pattern.replace(/\\P([A-Z])(?![{])/g, '\\P{$1}').replace(/\\p([A-Z])(?![{])/g, '\\p{$1}');
    let f = flags;
    if (p.includes('(?i)')) {
      p = p.split('(?i)').join('');
      f += 'i';
    }
    return attempt(p, f) ?? attempt(p, f.replace('u', '')) ?? { test: () => true };
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

