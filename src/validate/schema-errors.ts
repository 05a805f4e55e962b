import type { ErrorObject } from 'ajv';

// ajv's errors in the validator's words: the field, then what is wrong with it.

export interface SchemaIssue {
  path: (string | number)[];
  message: string;
}

const pathOf = (pointer: string): (string | number)[] =>
  pointer
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((p) => (/^\d+$/.test(p) ? Number(p) : p));

export const dotted = (path: (string | number)[]): string =>
  path.reduce<string>((s, p) => (typeof p === 'number' ? `${s}[${p}]` : s ? `${s}.${p}` : p), '') || '(root)';

const show = (v: unknown): string => {
  const s = JSON.stringify(v);
  return s && s.length > 40 ? `${s.slice(0, 37)}...` : String(s);
};

/** ajv's errors, made short and specific: the union noise of nullable fields is dropped. `data` is what was validated. */
export const toIssues = (errors: ErrorObject[], data?: unknown): SchemaIssue[] => {
  // The offending value, from the document: ajv's `verbose` would copy it into each error, at the price of
  // validators a third larger and slower to compile.
  const valueAt = (e: ErrorObject): unknown => ('data' in e ? (e as any).data : pathOf(e.instancePath).reduce((node: any, key) => node?.[key], data));
  const issues: SchemaIssue[] = [];
  const seen = new Set<string>();
  const deepest = errors.filter((e) => !['oneOf', 'anyOf', 'if'].includes(e.keyword));
  const list = deepest.length ? deepest : errors;
  for (const e of list) {
    const path = pathOf(e.instancePath);
    let issue: SchemaIssue;
    if (e.keyword === 'additionalProperties') {
      const field = (e.params as any).additionalProperty;
      issue = { path: [...path, field], message: `${dotted([...path, field])}: unknown field` };
    } else if (e.keyword === 'required') {
      const field = (e.params as any).missingProperty;
      issue = { path, message: `${dotted([...path, field])}: required field missing` };
    } else if (e.keyword === 'type') {
      issue = { path, message: `${dotted(path)}: must be ${[(e.params as any).type].flat().filter((t: string) => t !== 'null').join(' or ')} (got ${show(valueAt(e))})` };
    } else if (e.keyword === 'enum') {
      issue = { path, message: `${dotted(path)}: must be one of ${((e.params as any).allowedValues as unknown[]).map(show).join(', ')} (got ${show(valueAt(e))})` };
    } else {
      issue = { path, message: `${dotted(path)}: ${e.message}` };
    }
    if (seen.has(issue.message)) continue;
    seen.add(issue.message);
    issues.push(issue);
  }
  return issues;
};

