import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { isDir, isFile } from '../../src/lib/fsutil.ts';
import { prepare, simulateAll } from '../../src/validate/pipeline.ts';
import type { KObject } from '../../src/validate/types.ts';

export interface ClusterFacts {
  name: string;
  vars: Record<string, string>;
  /** Everything Flux would apply in the cluster, rendered and substituted. */
  objects: KObject[];
}

export interface RepoFacts {
  root: string;
  clusters: ClusterFacts[];
}

const clusterVars = (root: string, cluster: string): Record<string, string> => {
  const file = join(root, 'clusters', cluster, 'flux', 'cluster-vars.yaml');
  return isFile(file) ? (parse(readFileSync(file, 'utf8'))?.data ?? {}) : {};
};

export const clusterNames = (root: string): string[] =>
  isDir(join(root, 'clusters')) ? readdirSync(join(root, 'clusters')).filter((c) => isDir(join(root, 'clusters', c, 'flux'))).sort() : [];

/** What the repository holds now, per cluster, from the validator's own simulation (cached renders). */
export const readRepo = async (root: string): Promise<RepoFacts> => {
  const names = clusterNames(root);
  if (names.length === 0) return { root, clusters: [] };
  const prepared = await prepare({ repo: root });
  const sims = await simulateAll(prepared);
  return {
    root,
    clusters: sims.map(({ cluster, sim }) => ({
      name: cluster.name,
      vars: clusterVars(root, cluster.name),
      objects: sim.resources.map((r) => r.obj),
    })),
  };
};

export const hasObject = (c: ClusterFacts, kind: string, name: string, namespace?: string): boolean =>
  c.objects.some((o) => o.kind === kind && o.metadata?.name === name && (namespace === undefined || o.metadata?.namespace === namespace));
