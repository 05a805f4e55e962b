/** A field's schema with a local `$ref` (`#/definitions/x`) resolved and its own keywords kept. */
export const resolveField = (root: any, node: any): any => {
  if (!node?.$ref || !String(node.$ref).startsWith('#/')) return node;
  const target = String(node.$ref)
    .slice(2)
    .split('/')
    .reduce((n: any, p: string) => n?.[p], root);
  const { $ref: _ref, ...own } = node;
  return { ...resolveField(root, target), ...own };
};

/** The schema of a dotted field path (`chart.version`), resolved; undefined when there is none. */
export const fieldAt = (root: any, path: string): any =>
  path.split('.').reduce((node: any, part: string) => {
    const resolved = resolveField(root, node);
    return resolved?.properties?.[part] ? resolveField(root, resolved.properties[part]) : undefined;
  }, root);

/** A standalone schema for one field: resolved, with the root's definitions for nested refs. */
export const standalone = (root: any, field: any): any => ({ ...resolveField(root, field), definitions: root.definitions });
