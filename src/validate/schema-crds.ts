import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { UsageError } from '../lib/errors.ts';
import { isDir, toPosix, walkFiles } from '../lib/fsutil.ts';
import { sha256 } from '../lib/hash.ts';
import type { KObject } from './types.ts';

// Schemas of the CustomResourceDefinitions a repository carries (rendered in a cluster, or in a --crd-dir),
// converted as kubeconform's openapi2jsonschema converts them: one schema per version, strict.

/**
 * kubectl's strictness, as openapi2jsonschema recreates it: every object schema with `properties` and no
 * `additionalProperties` gets `additionalProperties: false`, except the root (the API server checks
 * apiVersion, kind and metadata itself; schema-patches.ts gives the root a strict ObjectMeta), the
 * schemas inside a list (`anyOf`, `allOf`, ...: the script does not descend into lists) and where the CRD
 * keeps unknown fields (`x-kubernetes-preserve-unknown-fields`). `format: int-or-string` becomes
 * string-or-integer. The input is not changed.
 */
export const crdVersionSchema = (openAPIV3Schema: unknown): any => {
  const convert = (node: unknown, strict: 'no' | 'below' | 'yes'): unknown => {
    if (Array.isArray(node)) return node.map((n) => convert(n, 'no'));
    if (!node || typeof node !== 'object') return node;
    const n = node as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(n)) {
      const child = v as Record<string, unknown> | undefined;
      out[k] = child && typeof child === 'object' && !Array.isArray(child) && child.format === 'int-or-string'
        ? { oneOf: [{ type: 'string' }, { type: 'integer' }] }
        : convert(v, strict === 'no' ? 'no' : 'yes');
    }
    if (strict === 'yes' && 'properties' in n && !('additionalProperties' in n) && n['x-kubernetes-preserve-unknown-fields'] !== true) {
      out.additionalProperties = false;
    }
    return out;
  };
  return convert(openAPIV3Schema, 'below');
};

export interface CrdVersion {
  group: string;
  kind: string;
  version: string;
  /** The CRD's openAPIV3Schema for this version, as written. */
  openAPIV3Schema: unknown;
  /** Where the CRD was found: a repository file or a --crd-dir file. */
  source: string;
}

/** The versions a CRD serves that carry a schema (`spec.versions[].schema`, or a v1beta1 CRD's `spec.validation`). */
export const crdVersions = (crd: KObject, source: string): CrdVersion[] => {
  const spec = crd?.spec;
  const group = spec?.group;
  const kind = spec?.names?.kind;
  if (typeof group !== 'string' || typeof kind !== 'string') return [];
  const shared = spec.validation?.openAPIV3Schema;
  const versions: KObject[] = Array.isArray(spec.versions) && spec.versions.length ? spec.versions : spec.version ? [{ name: spec.version }] : [];
  return versions
    .filter((v) => v?.served !== false && typeof v?.name === 'string')
    .map((v) => ({ group, kind, version: v.name, openAPIV3Schema: v.schema?.openAPIV3Schema ?? shared, source }))
    .filter((v) => v.openAPIV3Schema && typeof v.openAPIV3Schema === 'object');
};

export interface CrdSchema {
  /** Changes with the schema: compiled validators and verdicts are kept by it. */
  identity: string;
  source: string;
  /** A fresh copy of the converted schema (the compiler's patches change it). */
  schema: () => any;
}

const isCrd = (o: KObject): boolean => o?.kind === 'CustomResourceDefinition' && String(o?.apiVersion ?? '').startsWith('apiextensions.k8s.io/');

/** The CRD schemas of one cluster: those it renders, over those of the --crd-dir folders. */
export class CrdCatalog {
  private versions = new Map<string, CrdVersion>();
  private converted = new Map<string, CrdSchema>();

  constructor(crds: { obj: KObject; source: string }[] = []) {
    for (const { obj, source } of crds) if (isCrd(obj)) for (const v of crdVersions(obj, source)) this.versions.set(`${v.group}/${v.version}/${v.kind}`, v);
  }

  get size(): number {
    return this.versions.size;
  }

  /** The schema of `apiVersion` `kind`, when a CRD of the catalog serves it. */
  get(apiVersion: string, kind: string): CrdSchema | undefined {
    const key = `${apiVersion}/${kind}`;
    const v = this.versions.get(key);
    if (!v) return undefined;
    let found = this.converted.get(key);
    if (!found) {
      const text = JSON.stringify(crdVersionSchema(v.openAPIV3Schema));
      found = { identity: `crd:${sha256(text)}`, source: v.source, schema: () => JSON.parse(text) };
      this.converted.set(key, found);
    }
    return found;
  }
}

/** The CustomResourceDefinitions in the YAML (or JSON) files below each folder given with --crd-dir, List items included. */
export const readCrdDirs = (dirs: string[], repoRoot: string): { obj: KObject; source: string }[] => {
  const out: { obj: KObject; source: string }[] = [];
  for (const dir of dirs) {
    if (!isDir(dir)) throw new UsageError(`--crd-dir ${dir}: no such directory`);
    for (const file of walkFiles(dir).filter((f) => /\.(ya?ml|json)$/.test(f))) {
      const source = toPosix(relative(repoRoot, file));
      let docs: unknown[];
      try {
        docs = parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS({ maxAliasCount: 100 }));
      } catch (e) {
        throw new UsageError(`--crd-dir ${source}: ${String((e as Error).message).split('\n')[0]}`);
      }
      for (const doc of docs as KObject[]) {
        for (const obj of Array.isArray(doc?.items) ? doc.items : [doc]) if (isCrd(obj)) out.push({ obj, source });
      }
    }
  }
  return out;
};
