// Manifests as Flux applies them: a cluster's cluster-vars, and a resource with `${VAR}` substituted.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { substituteObject } from '../../src/validate/substitute.ts';
import type { KObject } from '../../src/validate/types.ts';
import { repoRoot } from './cluster.ts';
import { UserError } from '../../src/lib/errors.ts';

const resourcesIn = (file: string): KObject[] => {
  let docs;
  try {
    docs = parseAllDocuments(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UserError(`cannot read ${file}: ${(e as Error).message.split('\n')[0]}`);
  }
  for (const d of docs) if (d.errors.length) throw new UserError(`${file}: ${d.errors[0].message.split('\n')[0]}`);
  return docs.map((d) => d.toJS() as KObject).filter((o) => o && typeof o === 'object');
};

/** The `data` of a cluster's cluster-vars ConfigMap: what every Kustomization substitutes from. */
export const clusterVars = (cluster: string, root = repoRoot()): Record<string, string> => {
  const file = join(root, 'clusters', cluster, 'flux', 'cluster-vars.yaml');
  const cm = resourcesIn(file).find((o) => o.kind === 'ConfigMap' && o.metadata?.name === 'cluster-vars');
  if (!cm) throw new UserError(`${file}: no ConfigMap cluster-vars`);
  return Object.fromEntries(Object.entries(cm.data ?? {}).map(([k, v]) => [k, String(v)]));
};

/** The one resource of `kind` in a manifest file, with Flux's substitution of `vars` (defaults included) applied. */
export const substitutedResource = (file: string, kind: string, vars: Record<string, string>): KObject => {
  const found = resourcesIn(file).filter((o) => o.kind === kind);
  if (found.length !== 1) throw new UserError(`${file}: expected one ${kind}, found ${found.length}`);
  const { obj, missing } = substituteObject(found[0], vars);
  if (missing.length) throw new UserError(`${file}: no value for ${missing.map((m) => `\${${m}}`).join(', ')}`);
  return obj;
};
