import type { ValidateFunction } from 'ajv';
import { cacheRecord } from '../lib/cache.ts';
import { compileCached } from '../lib/compiled-schemas.ts';
import { sha256 } from '../lib/hash.ts';
import { toIssues, type SchemaIssue } from './schema-errors.ts';
import type { CrdCatalog } from './schema-crds.ts';
import { AJV_OPTIONS, patchSchema } from './schema-patches.ts';
import { SchemaRegistry, schemaPaths, typeSyntaxError } from './schema-registry.ts';
import { apiGroup, type KObject } from './types.ts';

export type { SchemaIssue } from './schema-errors.ts';

export interface SchemaOptions {
  /** Folders in kubeconform's layout (k8s/…-standalone-strict/, crds/{group}/). Empty: public locations. */
  dirs: string[];
  cacheDir: string;
  kubernetesVersion: string;
  /** CRDs given on the command line (--crd-dir): they win over the schema folders for the kinds they define. */
  crds?: CrdCatalog;
}

export type SchemaVerdict =
  | { kind: 'valid' }
  | { kind: 'invalid'; issues: SchemaIssue[] }
  /** `unreachable`: the public locations could not be reached, so the schema may well exist. */
  | { kind: 'missing'; tried: string[]; unreachable?: boolean }
  /** apiVersion or kind is not in Kubernetes' syntax: no schema is looked for (no file read, nothing fetched). */
  | { kind: 'bad-type'; reason: string; field: 'apiVersion' | 'kind' };

/** Bump when patchSchema or toIssues change, so kept verdicts and compiled validators are made again. */
const VERDICT_VERSION = '2';

type Located = { identity: string; compile: () => Promise<ValidateFunction> };

/**
 * Stage 4: strict JSON-Schema validation. The registry finds a kind's schema, the patches make it what the
 * API server enforces, each is compiled once (and kept compiled), and verdicts are kept by content.
 */
export class SchemaValidator {
  private registry: SchemaRegistry;
  private located = new Map<string, Promise<Located | { tried: string[] }>>();
  private objectMeta?: Promise<{ schema: unknown; identity: string }>;
  private results: Record<string, SchemaIssue[] | null>;
  private used: Record<string, SchemaIssue[] | null> = {};
  private record: ReturnType<typeof cacheRecord<Record<string, SchemaIssue[] | null>>>;

  constructor(private opts: SchemaOptions) {
    this.registry = new SchemaRegistry(opts.dirs, opts.cacheDir);
    this.record = cacheRecord(opts.cacheDir, 'schema-results');
    this.results = this.record.load() ?? {};
  }

  /**
   * `crds`: the cluster's CustomResourceDefinitions, for the kinds the schema folders have no schema of.
   * The CRDs of the options come first.
   */
  async check(obj: KObject, crds?: CrdCatalog): Promise<SchemaVerdict> {
    const apiVersion = String(obj.apiVersion);
    const kind = String(obj.kind);
    const badType = typeSyntaxError(apiVersion, kind);
    if (badType) return { kind: 'bad-type', reason: badType, field: badType.startsWith('the kind') ? 'kind' : 'apiVersion' };
    const given = this.opts.crds?.get(apiVersion, kind);
    let schema = given ? this.fromCrd(given) : await this.schemaFor(apiVersion, kind);
    if (!('compile' in schema)) {
      const crd = crds?.get(apiVersion, kind);
      if (!crd) return { kind: 'missing', tried: schema.tried, unreachable: this.registry.unreachable };
      schema = this.fromCrd(crd);
    }
    const key = sha256(VERDICT_VERSION, schema.identity, JSON.stringify(obj));
    let issues = key in this.results ? this.results[key] : undefined;
    if (issues === undefined) {
      const validate = await schema.compile();
      issues = validate(obj) ? null : toIssues(validate.errors ?? [], obj);
    }
    this.used[key] = issues;
    return issues ? { kind: 'invalid', issues } : { kind: 'valid' };
  }

  /** Finds and compiles a kind's schema ahead of the first check (while kustomize is still building). */
  async warm(apiVersion: string, kind: string): Promise<void> {
    if (typeSyntaxError(apiVersion, kind)) return;
    const schema = await this.schemaFor(apiVersion, kind);
    if ('compile' in schema) await schema.compile();
  }

  /** The schema files this run has used (from the schema folders, not the public locations), by fileIdentity. */
  schemaFiles(): string[] {
    return [...this.registry.files].sort();
  }

  /** Keeps only this run's results, so the cache does not grow without bound. */
  save(): void {
    this.record.save(this.used);
  }

  private schemaFor(apiVersion: string, kind: string) {
    const key = `${apiVersion}/${kind}`;
    if (!this.located.has(key)) this.located.set(key, this.locate(apiVersion, kind));
    return this.located.get(key)!;
  }

  private async locate(apiVersion: string, kind: string): Promise<Located | { tried: string[] }> {
    const rel = schemaPaths(apiVersion, kind, this.opts.kubernetesVersion);
    const tried: string[] = [];
    for (const candidate of apiGroup(apiVersion) ? [rel.k8s, rel.crd] : [rel.k8s]) {
      const found = await this.registry.find(candidate, tried);
      if (!found) continue;
      let compiled: Promise<ValidateFunction> | undefined;
      const compile = async () => {
        const meta = candidate.startsWith('crds/') ? await this.metadataSchema() : undefined;
        return compileCached({
          key: `${VERDICT_VERSION}:${found.identity}:${meta?.identity ?? ''}`,
          schema: () => patchSchema(JSON.parse(found.text()), meta?.schema),
          options: AJV_OPTIONS,
          cacheDir: this.opts.cacheDir,
        });
      };
      return { identity: found.identity, compile: () => (compiled ??= compile()) };
    }
    return { tried };
  }

  private fromCrds = new Map<string, Located>();

  /** A schema converted from a CRD, compiled like a catalog's (strict root, real ObjectMeta). */
  private fromCrd(crd: { identity: string; schema: () => any }): Located {
    let located = this.fromCrds.get(crd.identity);
    if (!located) {
      let compiled: Promise<ValidateFunction> | undefined;
      const compile = async () => {
        const meta = await this.metadataSchema();
        return compileCached({
          key: `${VERDICT_VERSION}:${crd.identity}:${meta?.identity ?? ''}`,
          schema: () => patchSchema(crd.schema(), meta?.schema),
          options: AJV_OPTIONS,
          cacheDir: this.opts.cacheDir,
        });
      };
      located = { identity: crd.identity, compile: () => (compiled ??= compile()) };
      this.fromCrds.set(crd.identity, located);
    }
    return located;
  }

  /**
   * The built-in schemas' folders (`v1.35.0-standalone-strict`) when the schema folders lack the one of the
   * Kubernetes version; undefined when they have it, or schemas come from the public locations.
   */
  missingKubernetesVersion(): string[] | undefined {
    if (this.registry.hasFolder(schemaPaths('v1', 'ConfigMap', this.opts.kubernetesVersion).k8s.replace(/\/[^/]*$/, ''))) return undefined;
    return this.registry.listFolders('k8s');
  }

  /** ObjectMeta from the built-in schemas, so a CRD's metadata is checked as strictly as a ConfigMap's. */
  private metadataSchema(): Promise<{ schema: unknown; identity: string } | undefined> {
    this.objectMeta ??= (async () => {
      const found = await this.registry.find(schemaPaths('v1', 'ConfigMap', this.opts.kubernetesVersion).k8s, []);
      return { schema: found ? JSON.parse(found.text()).properties?.metadata : undefined, identity: found?.identity ?? '' };
    })();
    return this.objectMeta.then((m) => (m.schema ? m : undefined));
  }
}
