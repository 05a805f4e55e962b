import { join } from 'node:path';
import { isFile } from '../../src/lib/fsutil.ts';
import { parseYaml, readYamlText } from '../../src/lib/yaml-safe.ts';
import { clusterVarsFile, listClusters } from '../../src/lib/layout.ts';
import { defaultCacheDir } from '../../src/lib/cache-dir.ts';
import { findKustomize } from '../../src/validate/kustomize.ts';
import { prepare, simulateAll } from '../../src/validate/pipeline.ts';
import { loadSnapshot, saveSnapshot, treeKey } from '../../src/validate/snapshot.ts';
import type { KObject } from '../../src/validate/types.ts';
import { loadConfig, type ValidatorConfig } from '../../src/validate/config.ts';

export interface ClusterFacts {
  name: string;
  vars: Record<string, string>;
  /** Everything Flux would apply in the cluster, rendered and substituted. */
  objects: KObject[];
}

export interface RepoFacts {
  root: string;
  clusters: ClusterFacts[];
  /** The validator's settings for this repository (namespace tiers among them). */
  config: ValidatorConfig;
}

const clusterVars = (root: string, cluster: string): Record<string, string> => {
  const file = join(root, clusterVarsFile(cluster));
  return isFile(file) ? (parseYaml(readYamlText(file), clusterVarsFile(cluster))?.data ?? {}) : {};
};

export const clusterNames = listClusters;

/**
 * What the repository holds now, per cluster, from the validator's own simulation: the snapshot the last
 * validation of this very tree left (`npm run validate`, or the previous generator's check), else simulated.
 */
export const readRepo = async (root: string): Promise<RepoFacts> => {
  const names = clusterNames(root);
  const config = await loadConfig(root);
  if (names.length === 0) return { root, clusters: [], config };
  const cacheDir = defaultCacheDir();
  const key = treeKey(root, findKustomize());
  const objects = new Map(names.map((name) => [name, loadSnapshot(cacheDir, key, name)]));
  if ([...objects.values()].some((o) => o === undefined)) {
    const sims = await simulateAll(await prepare({ repo: root, cacheDir }));
    for (const { cluster, sim } of sims) {
      objects.set(cluster.name, sim.resources.map((r) => r.obj));
      saveSnapshot(cacheDir, key, cluster.name, objects.get(cluster.name)!);
    }
  }
  return { root, clusters: names.map((name) => ({ name, vars: clusterVars(root, name), objects: objects.get(name)! })), config };
};

export const hasObject = (c: ClusterFacts, kind: string, name: string, namespace?: string): boolean =>
  c.objects.some((o) => o.kind === kind && o.metadata?.name === name && (namespace === undefined || o.metadata?.namespace === namespace));
