// What the next promotion would change on a cluster: the cluster rendered at two commits (each in a git
// worktree of its own, by the validator's pipeline), compared per Flux Kustomization, object by object.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTwoFilesPatch, FILE_HEADERS_ONLY } from 'diff';
import { stringify } from 'yaml';
import { UsageError } from '../lib/errors.ts';
import { commitOf, git } from '../lib/git.ts';
import { validateRepository } from '../validate/pipeline.ts';
import { describe, id, type Finding, type KObject } from '../validate/types.ts';
import { ksId } from '../validate/simulate.ts';

export interface Side {
  /** As the user named it (`release`, `HEAD~5`). */
  ref: string;
  sha: string;
}

export interface RenderedSide extends Side {
  /** False when the cluster does not exist at this commit: everything on the other side is new. */
  present: boolean;
  /** Flux Kustomization (namespace/name) -> object id -> object, as the cluster would receive them. */
  kustomizations: Map<string, Map<string, KObject>>;
  findings: Finding[];
}

export type Change = 'added' | 'removed' | 'changed';

export interface ObjectChange {
  change: Change;
  /** `HelmRelease demo/podinfo`. */
  object: string;
  /** A unified diff of the object's YAML, for a changed object. */
  diff?: string;
}

export interface KustomizationChange {
  kustomization: string;
  change: Change;
  objects: ObjectChange[];
}

export interface Preview {
  cluster: string;
  from: Side & { present: boolean };
  to: Side & { present: boolean };
  kustomizations: KustomizationChange[];
  /** Every error of the `to` side, and which of its findings the `from` side did not have. */
  errors: Finding[];
  newFindings: Finding[];
}

/**
 * The commit `ref` names. A branch name that is not a local branch is looked up as origin/<name>, so the
 * defaults (release, main) work in a fresh clone where only the remote-tracking branches exist.
 */
export const resolveSide = async (repo: string, ref: string, flag: string): Promise<Side> => {
  const sha = (await commitOf(repo, ref)) ?? (/^[\w.-]+$/.test(ref) ? await commitOf(repo, `refs/remotes/origin/${ref}`) : undefined);
  if (!sha) throw new UsageError(`${flag} ${ref}: no such commit or branch in ${repo}`);
  return { ref, sha };
};

export interface RenderOptions {
  cluster: string;
  schemaDirs: string[];
  cacheDir?: string;
  noCache?: boolean;
  progress?: (message: string) => void;
}

/** The cluster at one commit: checked out in a temporary worktree, simulated and validated, then removed. */
export const renderSide = async (repo: string, side: Side, opts: RenderOptions): Promise<RenderedSide> => {
  const dir = mkdtempSync(join(tmpdir(), 'k8s-ops-preview-'));
  try {
    await git(repo, 'worktree', 'add', '--quiet', '--detach', dir, side.sha);
    if (!existsSync(join(dir, 'clusters', opts.cluster, 'flux'))) return { ...side, present: false, kustomizations: new Map(), findings: [] };
    const { results } = await validateRepository({
      repo: dir,
      cluster: opts.cluster,
      schemaDirs: opts.schemaDirs,
      cacheDir: opts.cacheDir,
      noCache: opts.noCache,
      progress: (m) => opts.progress?.(`${side.ref}: ${m}`),
    });
    const kustomizations = new Map<string, Map<string, KObject>>();
    for (const built of results[0].kustomizations) {
      kustomizations.set(ksId(built.ks), new Map(built.resources.map((r) => [id(r.obj), r.obj])));
    }
    return { ...side, present: true, kustomizations, findings: results[0].findings };
  } finally {
    await git(repo, 'worktree', 'remove', '--force', dir).catch(() => rmSync(dir, { recursive: true, force: true }));
  }
};

export const MASKED = '(masked)';
export const MASKED_CHANGED = '(masked, changed)';
const SECRET_FIELDS = ['data', 'stringData'];
const isSecret = (o: KObject | undefined): o is KObject => o?.apiVersion === 'v1' && o?.kind === 'Secret';

/**
 * A Secret's values never reach the output: each becomes MASKED, or MASKED_CHANGED on the `to` side where
 * the value differs from the `from` side's, so the diff still says which keys changed.
 */
export const maskSecrets = (from: KObject | undefined, to: KObject | undefined): [KObject | undefined, KObject | undefined] => {
  const mask = (o: KObject | undefined, other: KObject | undefined, isTo: boolean) => {
    if (!isSecret(o)) return o;
    const copy = structuredClone(o);
    for (const field of SECRET_FIELDS) {
      if (!copy[field] || typeof copy[field] !== 'object') continue;
      for (const key of Object.keys(copy[field])) {
        const before = other?.[field]?.[key];
        copy[field][key] = isTo && before !== undefined && before !== o[field][key] ? MASKED_CHANGED : MASKED;
      }
    }
    return copy;
  };
  return [mask(from, to, false), mask(to, from, true)];
};

/** YAML with keys in a stable order, so two renders of one object differ only where the object does. */
export const objectYaml = (o: KObject): string => stringify(o, { sortMapEntries: true, lineWidth: 0 });

const objectDiff = (from: KObject, to: KObject, fromSide: Side, toSide: Side): string | undefined => {
  const [a, b] = maskSecrets(from, to);
  const before = objectYaml(a!);
  const after = objectYaml(b!);
  if (before === after) return undefined;
  const title = describe(to);
  return createTwoFilesPatch(`${fromSide.ref}: ${title}`, `${toSide.ref}: ${title}`, before, after, undefined, undefined, { headerOptions: FILE_HEADERS_ONLY }).trimEnd();
};

const byObject = (a: ObjectChange, b: ObjectChange) => a.object.localeCompare(b.object);

/** Kustomization by Kustomization, the objects only one side has, and those whose content differs. */
export const compareSides = (from: RenderedSide, to: RenderedSide): KustomizationChange[] => {
  const names = [...new Set([...from.kustomizations.keys(), ...to.kustomizations.keys()])].sort();
  const changes: KustomizationChange[] = [];
  for (const name of names) {
    const before = from.kustomizations.get(name);
    const after = to.kustomizations.get(name);
    if (!before || !after) {
      const objects = [...(after ?? before)!.values()].map((o) => ({ change: (after ? 'added' : 'removed') as Change, object: describe(o) }));
      changes.push({ kustomization: name, change: after ? 'added' : 'removed', objects: objects.sort(byObject) });
      continue;
    }
    const objects: ObjectChange[] = [];
    for (const [key, o] of after) {
      const old = before.get(key);
      if (!old) objects.push({ change: 'added', object: describe(o) });
      else {
        const diff = objectDiff(old, o, from, to);
        if (diff) objects.push({ change: 'changed', object: describe(o), diff });
      }
    }
    for (const [key, o] of before) if (!after.has(key)) objects.push({ change: 'removed', object: describe(o) });
    if (objects.length) changes.push({ kustomization: name, change: 'changed', objects: objects.sort(byObject) });
  }
  return changes;
};

/** A finding as it moves between commits: its line may shift, what it says does not. */
const findingKey = (f: Finding) => `${f.file}\u0000${f.rule}\u0000${f.message}`;

export const buildPreview = (cluster: string, from: RenderedSide, to: RenderedSide): Preview => {
  const known = new Set(from.findings.map(findingKey));
  return {
    cluster,
    from: { ref: from.ref, sha: from.sha, present: from.present },
    to: { ref: to.ref, sha: to.sha, present: to.present },
    kustomizations: compareSides(from, to),
    errors: to.findings.filter((f) => f.severity === 'error'),
    newFindings: to.findings.filter((f) => !known.has(findingKey(f))),
  };
};

export const isNewFinding = (p: Preview, f: Finding): boolean => p.newFindings.some((n) => findingKey(n) === findingKey(f));
