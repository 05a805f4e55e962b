import { existsSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { contain, escapeText } from '../lib/contain.ts';
import { UsageError } from '../lib/errors.ts';
import { isDir, toPosix } from '../lib/fsutil.ts';
import { fluxEntry, listClusters } from '../lib/layout.ts';
import type { ClusterTarget } from './types.ts';

export interface DiscoverOptions {
  /** Repository root (where Flux's `spec.path` values start). */
  repo?: string;
  /** An entry folder of any Flux repository, as `flux-local test --path`. */
  path?: string;
  cluster?: string;
}

export interface Discovery {
  repoRoot: string;
  clusters: ClusterTarget[];
}

const findRepoRoot = (start: string): string => {
  for (let dir = resolve(start); ; dir = dirname(dir)) {
    if (existsSync(join(dir, '.git'))) return dir;
    if (dirname(dir) === dir) return resolve(start);
  }
};

/** Stage 1: which clusters to simulate, and from which entry folder. */
export const discover = (opts: DiscoverOptions): Discovery => {
  if (opts.path) {
    const entry = resolve(opts.path);
    if (!isDir(entry)) throw new UsageError(`--path ${opts.path}: no such directory`);
    const repoRoot = opts.repo ? resolve(opts.repo) : findRepoRoot(entry);
    if (!isDir(repoRoot)) throw new UsageError(`--repo ${opts.repo}: no such directory`);
    const rel = toPosix(relative(repoRoot, entry)) || '.';
    const inside = contain(repoRoot, entry);
    if (rel.startsWith('..') || isAbsolute(rel) || !inside.inside) {
      throw new UsageError(`--path ${opts.path} ${inside.inside ? 'is' : escapeText(inside, repoRoot).replace(/, outside the repository$/, ',')} outside the repository ${repoRoot}`);
    }
    return { repoRoot, clusters: [{ name: opts.cluster ?? basename(entry), entry: rel }] };
  }
  const repoRoot = resolve(opts.repo ?? findRepoRoot(process.cwd()));
  const all = listClusters(repoRoot).map((c) => ({ name: c, entry: fluxEntry(c) }));
  if (all.length === 0) throw new UsageError(`no clusters found: ${repoRoot} has no clusters/*/flux/ folder (use --path DIR)`);
  if (!opts.cluster) return { repoRoot, clusters: all };
  const chosen = all.filter((c) => c.name === opts.cluster);
  if (chosen.length === 0) {
    throw new UsageError(`--cluster ${opts.cluster}: unknown cluster (known: ${all.map((c) => c.name).join(', ')})`);
  }
  return { repoRoot, clusters: chosen };
};
