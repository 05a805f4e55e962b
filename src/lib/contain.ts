import { lstatSync, readlinkSync, realpathSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { toPosix } from './fsutil.ts';

// What a repository names (a Kustomization's path, a component, a file a kustomization lists, an output
// name) must stay inside its root once symlinks are followed, as Flux's secure file system insists
// (fluxcd/pkg kustomize/filesys): a symlink pointing out is refused, not followed.

const realRoots = new Map<string, string>();
const realRoot = (root: string): string => {
  let real = realRoots.get(root);
  if (!real) realRoots.set(root, (real = realpathSync.native(root)));
  return real;
};

/** How many links one path may pass through, as Linux allows (MAXSYMLINKS). */
const MAX_LINKS = 40;

/**
 * The real path of `p`: its nearest existing ancestor's, symlinks followed, with the rest appended. A dangling
 * symlink leads where a write through it would land; a link that loops has no real path (ELOOP is thrown).
 */
export const realPath = (p: string, links = 0): string => {
  const abs = resolve(p);
  try {
    return realpathSync.native(abs);
  } catch (e) {
    const st = lstatSync(abs, { throwIfNoEntry: false });
    if (st?.isSymbolicLink() && links < MAX_LINKS) return realPath(resolve(realPath(dirname(abs), links), readlinkSync(abs)), links + 1);
    // Only a path that is not there takes its nearest existing ancestor's; any other failure stands.
    if (st) throw e;
  }
  const parent = dirname(abs);
  return parent === abs ? abs : join(realPath(parent, links), abs.slice(parent.length + (parent.endsWith(sep) ? 0 : 1)));
};

const within = (base: string, p: string): boolean => {
  const rel = relative(base, p);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
};

export type Containment = { inside: true; real: string } | { inside: false; real: string; how: 'path' | 'symlink' };

/** Whether `target` (absolute, or relative to `from`) stays inside `root`, and where it really is. */
export const contain = (root: string, target: string, from = root): Containment => {
  const abs = resolve(from, target);
  let real: string;
  try {
    real = realPath(abs);
  } catch {
    // A symlink loop, or a folder that may not be read: not followed.
    return { inside: false, real: abs, how: 'symlink' };
  }
  if (within(realRoot(root), real)) return { inside: true, real };
  return { inside: false, real, how: within(resolve(root), abs) ? 'symlink' : 'path' };
};

/** How a refusal reads: the path as written and, for a symlink, where it leads. */
export const escapeText = (c: Extract<Containment, { inside: false }>, root: string): string =>
  c.how === 'symlink' ? `is a symlink to ${c.real}, outside the repository` : `resolves to ${toPosix(relative(root, c.real))}, outside the repository`;
