/**
 * A JSON merge patch (RFC 7386): maps merge key by key, anything else (lists included) is replaced, and null
 * removes the key. It is how kustomize merges a patch into a custom resource it has no schema for, and how
 * Helm lays values over a chart's defaults.
 */
export const mergePatch = (target: unknown, patch: unknown): unknown => {
  if (!patch || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> = target && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
};
