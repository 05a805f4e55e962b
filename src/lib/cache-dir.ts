import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const TOOLKIT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Where renders, verdicts and compiled validators are kept: K8S_OPS_CACHE_DIR, else the toolkit's .cache. */
export const defaultCacheDir = (): string => resolve(process.env.K8S_OPS_CACHE_DIR ?? join(TOOLKIT_ROOT, '.cache', 'k8s-ops'));
