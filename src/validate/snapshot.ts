import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cacheArea } from '../lib/cache.ts';
import { isFile, toPosix, walkFiles } from '../lib/fsutil.ts';
import { sha256 } from '../lib/hash.ts';
import type { KustomizeBin } from './kustomize.ts';
import type { KObject } from './types.ts';
import { FLUX_TREE } from '../lib/layout.ts';


const VALIDATOR_DIR = dirname(fileURLToPath(import.meta.url));
let validatorSource: string | undefined;

/**
 * Names a repository's Flux tree by content, together with the validator's own code and kustomize: the same
 * key means the same simulation, wherever the tree is (a scratch copy gets the key its original will have).
 */
export const treeKey = (root: string, kustomize: KustomizeBin): string => {
  validatorSource ??= sha256(...readdirSync(VALIDATOR_DIR).sort().filter((f) => f.endsWith('.ts')).map((f) => readFileSync(join(VALIDATOR_DIR, f))));
  const files = FLUX_TREE.flatMap((entry) => (isFile(join(root, entry)) ? [join(root, entry)] : walkFiles(join(root, entry))));
  return sha256(validatorSource, kustomize.identity, ...files.flatMap((f) => [toPosix(relative(root, f)), readFileSync(f)]));
};

const entryOf = (key: string, cluster: string) => `${key.slice(0, 32)}-${cluster}`;

/** A cluster's simulated objects, kept so the generators need not simulate a tree the validator just did. */
export const saveSnapshot = (cacheDir: string, key: string, cluster: string, objects: KObject[]): void => {
  const area = cacheArea(cacheDir, 'snapshots');
  area.writeJson(entryOf(key, cluster), objects);
  area.prune();
};

export const loadSnapshot = (cacheDir: string, key: string, cluster: string): KObject[] | undefined =>
  cacheArea(cacheDir, 'snapshots').readJson<KObject[]>(entryOf(key, cluster));

