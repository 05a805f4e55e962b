import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { cacheArea, cacheRecord } from '../lib/cache.ts';
import { compileCached } from '../lib/compiled-schemas.ts';
import { isFile } from '../lib/fsutil.ts';
import { sha256 } from '../lib/hash.ts';
import { apiGroup, type KObject } from './types.ts';

/** kubeconform's default public locations, used when no schema folder is given. */
export const PUBLIC_LOCATIONS = {
  k8s: 'https://raw.githubusercontent.com/yannh/kubernetes-json-schema/master',
  crds: 'https://raw.githubusercontent.com/datreeio/CRDs-catalog/main',
};

export interface SchemaOptions {
  /** Folders in kubeconform's layout (k8s/…-standalone-strict/, crds/{group}/). Empty: public locations. */
  dirs: string[];
  cacheDir: string;
  kubernetesVersion: string;
}

export interface SchemaIssue {
  path: (string | number)[];
  message: string;
}

export type SchemaVerdict =
  | { kind: 'valid' }
  | { kind: 'invalid'; issues: SchemaIssue[] }
  /** `unreachable`: the public locations could not be reached, so the schema may well exist. */
  | { kind: 'missing'; tried: string[]; unreachable?: boolean };

/** kubeconform's file name for a kind: `{kind}[-{group's first label}]-{version}.json` under k8s/, else a CRD. */
export const schemaPaths = (apiVersion: string, kind: string, k8sVersion: string): { k8s: string; crd: string } => {
  const group = apiGroup(apiVersion);
  const version = apiVersion.includes('/') ? apiVersion.split('/')[1] : apiVersion;
  const k = kind.toLowerCase();
  const suffix = group ? `-${group.split('.')[0]}-${version}` : `-${version}`;
  return {
    k8s: `k8s/v${k8sVersion}-standalone-strict/${k}${suffix}.json`,
    crd: `crds/${group}/${k}_${version}.json`,
  };
};

/** A schema found on disk or on the network; compiled only when a verdict is not cached. */
/** Bump when patchSchema or toIssues change, so cached verdicts are recomputed. */
const VERDICT_VERSION = '2';

type Located = { identity: string; compile: () => Promise<ValidateFunction> };
type Found = { identity: string; text: () => string };

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

/** Stage 4: strict JSON-Schema validation, schemas compiled once, results cached by content. */
export class SchemaValidator {
  private located = new Map<string, Promise<Located | { tried: string[] }>>();
  private objectMeta?: unknown;
  private objectMetaIdentity = '';
  private results: Record<string, SchemaIssue[] | null> = {};
  private used: Record<string, SchemaIssue[] | null> = {};
  private record: ReturnType<typeof cacheRecord<Record<string, SchemaIssue[] | null>>>;
  /** A download from the public locations failed (no network, not a 404). */
  private unreachable = false;
  /** The schema files found on disk so far, by fileIdentity. */
  private files = new Set<string>();

  constructor(private opts: SchemaOptions) {
    this.record = cacheRecord(opts.cacheDir, 'schema-results');
    this.results = this.record.load() ?? {};
  }

  async check(obj: KObject): Promise<SchemaVerdict> {
    const schema = await this.schemaFor(String(obj.apiVersion), String(obj.kind));
    if (!('compile' in schema)) return { kind: 'missing', tried: schema.tried, unreachable: this.unreachable };
    const key = sha256(VERDICT_VERSION, schema.identity, JSON.stringify(obj));
    let issues = key in this.results ? this.results[key] : undefined;
    if (issues === undefined) {
      const validate = await schema.compile();
      issues = validate(obj) ? null : toIssues(validate.errors ?? []);
    }
    this.used[key] = issues;
    return issues ? { kind: 'invalid', issues } : { kind: 'valid' };
  }

  /** The schema files this run has used (from the schema folders, not the public locations), by fileIdentity. */
  schemaFiles(): string[] {
    return [...this.files].sort();
  }

  /** Keeps only this run's results, so the cache does not grow without bound. */
  save(): void {
    this.record.save(this.used);
  }

  private schemaFor(apiVersion: string, kind: string) {
    const key = `${apiVersion}/${kind}`;
    if (!this.located.has(key)) this.located.set(key, this.load(apiVersion, kind));
    return this.located.get(key)!;
  }

  private async load(apiVersion: string, kind: string): Promise<Located | { tried: string[] }> {
    const rel = schemaPaths(apiVersion, kind, this.opts.kubernetesVersion);
    const candidates = apiGroup(apiVersion) ? [rel.k8s, rel.crd] : [rel.k8s];
    const tried: string[] = [];
    for (const candidate of candidates) {
      const found = this.opts.dirs.length ? this.fromDirs(candidate, tried) : await this.fromPublic(candidate, tried);
      if (!found) continue;
      let compiled: Promise<ValidateFunction> | undefined;
      const compile = async () => {
        const objectMeta = candidate.startsWith('crds/') ? await this.metadataSchema() : undefined;
        return compileCached({
          key: `${VERDICT_VERSION}:${found.identity}:${objectMeta ? this.objectMetaIdentity : ''}`,
          schema: () => patchSchema(JSON.parse(found.text()), objectMeta),
          options: AJV_OPTIONS,
          cacheDir: this.opts.cacheDir,
        });
      };
      return { identity: found.identity, compile: () => (compiled ??= compile()) };
    }
    return { tried };
  }

  /** The schema file's text is read only when a validator has to be compiled: most verdicts are cached. */
  private fromDirs(rel: string, tried: string[]): Found | undefined {
    for (const dir of this.opts.dirs) {
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
    const url = rel.startsWith('k8s/')
      ? `${PUBLIC_LOCATIONS.k8s}/${rel.slice(4)}`
      : `${PUBLIC_LOCATIONS.crds}/${rel.slice(5)}`;
    tried.push(url);
    const cached = cacheArea(this.opts.cacheDir, 'schemas').file(rel, '');
    if (isFile(cached)) return { text: () => readFileSync(cached, 'utf8'), identity: url };
    // Without a network every download would wait for its timeout: after the first failure, none is tried.
    if (this.unreachable) return undefined;
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(15000) });
      if (!res.ok) return undefined;
      const text = await res.text();
      JSON.parse(text);
      mkdirSync(dirname(cached), { recursive: true });
      writeFileSync(cached, text);
      return { text: () => text, identity: url };
    } catch {
      this.unreachable = true;
      return undefined;
    }
  }

  /** ObjectMeta from the built-in schemas, so a CRD's metadata is checked as strictly as a ConfigMap's. */
  private async metadataSchema(): Promise<unknown> {
    if (this.objectMeta === undefined) {
      const rel = schemaPaths('v1', 'ConfigMap', this.opts.kubernetesVersion).k8s;
      const tried: string[] = [];
      const found = this.opts.dirs.length ? this.fromDirs(rel, tried) : await this.fromPublic(rel, tried);
      this.objectMeta = found ? (JSON.parse(found.text()).properties?.metadata ?? null) : null;
      this.objectMetaIdentity = found?.identity ?? '';
    }
    return this.objectMeta ?? undefined;
  }

}

/**
 * Patterns in CRDs are Go RE2: `(?i)` flags and `\PC` classes that JavaScript rejects. Translate what can be
 * translated; a pattern that still does not compile is not enforced (kubeconform's Go engine would).
 */
export const goRegExp = Object.assign(
  (pattern: string, flags: string): { test: (s: string) => boolean } => {
    const attempt = (p: string, f: string) => {
      try {
        return new RegExp(p, f);
      } catch {
        return undefined;
      }
    };
    const direct = attempt(pattern, flags);
    if (direct) return direct;
    let p = pattern.replace(/\\P([A-Z])(?![{])/g, '\\P{$1}').replace(/\\p([A-Z])(?![{])/g, '\\p{$1}');
    let f = flags;
    if (p.includes('(?i)')) {
      p = p.split('(?i)').join('');
      f += 'i';
    }
    return attempt(p, f) ?? attempt(p, f.replace('u', '')) ?? { test: () => true };
  },
  { code: 'goRegExp' },
);

const AJV_OPTIONS = {
  strict: false,
  allErrors: true,
  verbose: true,
  allowUnionTypes: true,
  validateFormats: false,
  code: { regExp: goRegExp },
};

/**
 * The load-time patches the schema bundle's README lists: `nullable` without `type` (ajv refuses it),
 * `additionalProperties: false` beside `x-kubernetes-preserve-unknown-fields` (the API server keeps unknown
 * fields there), and for CRDs a strict root with a real ObjectMeta (the catalog leaves both open).
 */
export const patchSchema = (schema: any, objectMeta?: unknown): any => {
  const visit = (node: any) => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (!node || typeof node !== 'object') return;
    if ('nullable' in node && !('type' in node)) delete node.nullable;
    if (node['x-kubernetes-preserve-unknown-fields'] === true && node.additionalProperties === false) {
      delete node.additionalProperties;
    }
    Object.values(node).forEach(visit);
  };
  visit(schema);
  delete schema.$schema;
  delete schema.$id;
  if (objectMeta && schema.properties) {
    // Some catalog schemas omit apiVersion, kind or metadata at the root; a strict root must allow them.
    schema.properties.apiVersion ??= { type: 'string' };
    schema.properties.kind ??= { type: 'string' };
    schema.properties.metadata = objectMeta;
    if (schema.additionalProperties === undefined) schema.additionalProperties = false;
  }
  return schema;
};

const pathOf = (pointer: string): (string | number)[] =>
  pointer
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((p) => (/^\d+$/.test(p) ? Number(p) : p));

export const dotted = (path: (string | number)[]): string =>
  path.reduce<string>((s, p) => (typeof p === 'number' ? `${s}[${p}]` : s ? `${s}.${p}` : p), '') || '(root)';

const show = (v: unknown): string => {
  const s = JSON.stringify(v);
  return s && s.length > 40 ? `${s.slice(0, 37)}...` : String(s);
};

/** ajv's errors, made short and specific: the union noise of nullable fields is dropped. */
export const toIssues = (errors: ErrorObject[]): SchemaIssue[] => {
  const issues: SchemaIssue[] = [];
  const seen = new Set<string>();
  const deepest = errors.filter((e) => !['oneOf', 'anyOf', 'if'].includes(e.keyword));
  const list = deepest.length ? deepest : errors;
  for (const e of list) {
    const path = pathOf(e.instancePath);
    let issue: SchemaIssue;
    if (e.keyword === 'additionalProperties') {
      const field = (e.params as any).additionalProperty;
      issue = { path: [...path, field], message: `${dotted([...path, field])}: unknown field` };
    } else if (e.keyword === 'required') {
      const field = (e.params as any).missingProperty;
      issue = { path, message: `${dotted([...path, field])}: required field missing` };
    } else if (e.keyword === 'type') {
      issue = { path, message: `${dotted(path)}: must be ${[(e.params as any).type].flat().filter((t: string) => t !== 'null').join(' or ')} (got ${show(valueAt(e))})` };
    } else if (e.keyword === 'enum') {
      issue = { path, message: `${dotted(path)}: must be one of ${((e.params as any).allowedValues as unknown[]).map(show).join(', ')} (got ${show(valueAt(e))})` };
    } else {
      issue = { path, message: `${dotted(path)}: ${e.message}` };
    }
    if (seen.has(issue.message)) continue;
    seen.add(issue.message);
    issues.push(issue);
  }
  return issues;
};

const valueAt = (e: ErrorObject): unknown => (e as any).data;
