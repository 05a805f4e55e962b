import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { isFile, keepNewest, writeAtomically } from './fsutil.ts';

/**
 * The toolkit's on-disk cache (`.cache/k8s-ops`, or K8S_OPS_CACHE_DIR, or --cache-dir): one place that
 * says what is kept, in which format version and how much of it. Every entry is keyed by the content it
 * was made from, so a stale entry is never read, only left behind; pruning keeps each area to its size.
 * Bumping an area's version puts its entries in a new folder and removes the old one.
 */
const AREAS = {
  /** One kustomize build's output, by the build's inputs. */
  builds: { version: 5, keep: 3000 },
  /** The overlay kustomization each build runs through (a folder per Flux Kustomization spec). */
  overlays: { version: 1, keep: 3000 },
  /** Schemas downloaded from kubeconform's public locations, by their path there. */
  schemas: { version: 1, keep: Infinity },
  /** ajv's standalone code of each compiled schema, with V8's code cache beside it. */
  validators: { version: 1, keep: 400 },
  /** Every cluster's simulated objects, by the content of the Flux tree. */
  snapshots: { version: 1, keep: 24 },
  /** The component library's result, by the content of the Flux tree. */
  components: { version: 2, keep: 24 },
  /** Verdicts: one file each, of this run's (or the last complete check's) results. */
  verdicts: { version: 3, keep: Infinity },
} as const;

export type CacheAreaName = keyof typeof AREAS;

const folderOf = (root: string, area: CacheAreaName) => join(root, `${area}-v${AREAS[area].version}`);

/** Folders of an area's older versions, removed once per process and area. */
const tidied = new Set<string>();
const tidy = (root: string, area: CacheAreaName): void => {
  const id = `${root}\0${area}`;
  if (tidied.has(id) || !existsSync(root)) return;
  tidied.add(id);
  const current = `${area}-v${AREAS[area].version}`;
  for (const name of readdirSync(root)) {
    if ((name === area || name.startsWith(`${area}-v`)) && name !== current) rmSync(join(root, name), { recursive: true, force: true });
  }
};

export interface CacheArea {
  /** The area's folder (created on first write). */
  readonly dir: string;
  /** Where an entry lives: `<dir>/<key><ext>`. */
  file: (key: string, ext?: string) => string;
  readJson: <T>(key: string) => T | undefined;
  writeJson: (key: string, value: unknown) => void;
  /** Keeps the area to its size, newest entries first; `companions` go with the entry they belong to. */
  prune: (matches?: (name: string) => boolean, companions?: (name: string) => string[]) => void;
}

export const cacheArea = (root: string, area: CacheAreaName): CacheArea => {
  tidy(root, area);
  const dir = folderOf(root, area);
  const file = (key: string, ext = '.json') => join(dir, `${key}${ext}`);
  return {
    dir,
    file,
    readJson: <T>(key: string): T | undefined => {
      const f = file(key);
      if (!isFile(f)) return undefined;
      try {
        return JSON.parse(readFileSync(f, 'utf8')) as T;
      } catch {
        // A damaged entry is as good as none: it is made again.
        return undefined;
      }
    },
    writeJson: (key, value) => {
      const f = file(key);
      mkdirSync(dirname(f), { recursive: true });
      writeAtomically(f, JSON.stringify(value));
    },
    prune: (matches, companions) => {
      const keep = AREAS[area].keep;
      if (keep !== Infinity && existsSync(dir)) keepNewest(dir, keep, matches, companions);
    },
  };
};

/** A single record in the verdicts area (schema verdicts, repository-file verdicts): read whole, written whole. */
export const cacheRecord = <T extends object>(root: string, name: string) => {
  const area = cacheArea(root, 'verdicts');
  return {
    file: area.file(name),
    load: (): T | undefined => area.readJson<T>(name),
    save: (value: T): void => {
      try {
        area.writeJson(name, value);
      } catch {
        // Only a cache: the next run works it out again.
      }
    },
  };
};
