import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { cacheArea } from '../lib/cache.ts';
import { isDir, isFile, writeAtomically } from '../lib/fsutil.ts';
import { apiGroup } from './types.ts';

// Where schemas come from, as kubeconform's registry: the schema folders in its layout, else its public
// locations through an on-disk cache.

/** kubeconform's default public locations, used when no schema folder is given. */
export const PUBLIC_LOCATIONS = {
  k8s: 'https://raw.githubusercontent.com/yannh/kubernetes-json-schema/master',
  crds: 'https://raw.githubusercontent.com/datreeio/CRDs-catalog/main',
};

// Kubernetes' own syntax (apiextensions' validation of a CustomResourceDefinition): a group is a DNS-1123
// subdomain, a version a DNS-1035 label, a kind a DNS-1035 label once lower-cased (so ASCII letters before
// it is: `\u212A`, the Kelvin sign, lower-cases to `k`). Schema file names are made only from such values: a
// `kind` of `../../x` must not choose which file is read, fetched or kept.
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const KIND = /^[A-Za-z]([-A-Za-z0-9]*[A-Za-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Why `apiVersion` `kind` is not a Kubernetes type name; undefined when it is one. */
export const typeSyntaxError = (apiVersion: string, kind: string): string | undefined => {
  const parts = apiVersion.split('/');
  if (parts.length > 2) return `apiVersion ${JSON.stringify(apiVersion)} is not GROUP/VERSION`;
  const [group, version] = parts.length === 2 ? parts : ['', parts[0]];
  if (parts.length === 2 && (!DNS1123_SUBDOMAIN.test(group) || group.length > 253)) return `the API group ${JSON.stringify(group)} is not a DNS subdomain`;
  if (!DNS1035_LABEL.test(version) || version.length > 63) return `the API version ${JSON.stringify(version)} is not a DNS label`;
  if (!KIND.test(kind) || kind.length > 63) return `the kind ${JSON.stringify(kind)} is not a Kubernetes kind name (letters, digits and dashes)`;
  return undefined;
};

/**
 * kubeconform's file name for a kind: `{kind}[-{group's first label}]-{version}.json` under k8s/, else a CRD.
 * Only for type names in Kubernetes' syntax (typeSyntaxError): anything else is refused here too.
 */
export const schemaPaths = (apiVersion: string, kind: string, k8sVersion: string): { k8s: string; crd: string } => {
  const invalid = typeSyntaxError(apiVersion, kind) ?? (/^\d+\.\d+\.\d+$/.test(k8sVersion) ? undefined : `Kubernetes version ${JSON.stringify(k8sVersion)} is not X.Y.Z`);
  if (invalid) throw new Error(`no schema file name from ${invalid}`);
  const group = apiGroup(apiVersion);
  const version = apiVersion.includes('/') ? apiVersion.split('/')[1] : apiVersion;
  const k = kind.toLowerCase();
  const suffix = group ? `-${group.split('.')[0]}-${version}` : `-${version}`;
  return {
    k8s: `k8s/v${k8sVersion}-standalone-strict/${k}${suffix}.json`,
    crd: `crds/${group}/${k}_${version}.json`,
  };
};

/** A schema file as it is now: its path, size and modification time. */
export const fileIdentity = (file: string): string => {
  const s = statSync(file);
  return `${file}:${s.size}:${s.mtimeMs}`;
};

/** Whether schema files named by fileIdentity are still as they were. */
export const unchangedFiles = (identities: string[]): boolean =>
  identities.every((identity) => {
    const file = identity.replace(/:[^:]*:[^:]*$/, '');
    return isFile(file) && fileIdentity(file) === identity;
  });

/** A schema file found, read only when a validator has to be compiled: most verdicts are cached. */
export type Found = { identity: string; text: () => string };

/** Finds a kind's schema in the folders, or downloads it; after one failed download, none is tried. */
export class SchemaRegistry {
  /** A download from the public locations failed (no network, not a 404). */
  unreachable = false;
  /** The schema files found on disk so far, by fileIdentity. */
  readonly files = new Set<string>();

  constructor(
    private dirs: string[],
    private cacheDir: string,
  ) {}

  /** Whether a schema folder has `rel` (always true for the public locations, which cannot be listed). */
  hasFolder(rel: string): boolean {
    return !this.dirs.length || this.dirs.some((d) => isDir(join(d, rel)));
  }

  /** The subfolders of `rel` in the schema folders. */
  listFolders(rel: string): string[] {
    return [...new Set(this.dirs.flatMap((d) => (isDir(join(d, rel)) ? readdirSync(join(d, rel)) : [])))].sort();
  }

  find(rel: string, tried: string[]): Promise<Found | undefined> | Found | undefined {
    return this.dirs.length ? this.fromDirs(rel, tried) : this.fromPublic(rel, tried);
  }

  private fromDirs(rel: string, tried: string[]): Found | undefined {
    for (const dir of this.dirs) {
      const file = join(dir, rel);
      tried.push(file);
      if (isFile(file)) {
        const identity = fileIdentity(file);
        this.files.add(identity);
        return { text: () => readFileSync(file, 'utf8'), identity };
      }
    }
    return undefined;
  }

  /** kubeconform's public locations, through an on-disk cache so a second run needs no network. */
  private async fromPublic(rel: string, tried: string[]): Promise<Found | undefined> {
    const url = rel.startsWith('k8s/') ? `${PUBLIC_LOCATIONS.k8s}/${rel.slice(4)}` : `${PUBLIC_LOCATIONS.crds}/${rel.slice(5)}`;
    tried.push(url);
    const cached = cacheArea(this.cacheDir, 'schemas').file(rel, '');
    if (isFile(cached)) return { text: () => readFileSync(cached, 'utf8'), identity: url };
    // Without a network every download would wait for its timeout: after the first failure, none is tried.
    if (this.unreachable) return undefined;
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(15000) });
      if (!res.ok) return undefined;
      const text = await res.text();
      JSON.parse(text);
      mkdirSync(dirname(cached), { recursive: true });
      writeAtomically(cached, text);
      return { text: () => text, identity: url };
    } catch {
      this.unreachable = true;
      return undefined;
    }
  }
}
