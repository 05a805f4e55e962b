import { UserError, EXIT } from '../lib/errors.ts';
import type { ValidatorConfig } from './config.ts';
import type { SchemaValidator } from './schema.ts';
import type { CrdCatalog } from './schema-crds.ts';
import { describe, type Finding, type Resource } from './types.ts';

const MAX_ISSUES = 8;

export interface SchemaStageOptions {
  /** The cluster's CustomResourceDefinitions (rendered, and from --crd-dir). */
  crds?: CrdCatalog;
  /** A kind without a schema is an error (this repository, or --strict), else a warning. */
  strict: boolean;
}

/** No schema can be had at all: said once, as a usage error (exit 2), instead of a finding per resource. */
export class NoSchemasError extends UserError {
  constructor() {
    super(
      "schemas cannot be had: no schema folder is given and kubeconform's public locations could not be reached (no network?); point K8S_OPS_SCHEMA_DIR or --schema-dir at a schema folder",
      EXIT.usage,
    );
  }
}

/** Stage 4 over one cluster's resources: a missing schema is an error (or a warning) unless the config lists the kind. */
export const checkSchemas = async (
  resources: Resource[],
  schemas: SchemaValidator,
  config: ValidatorConfig,
  opts: SchemaStageOptions = { strict: true },
  fallbackFile = '',
): Promise<Finding[]> => {
  const findings: Finding[] = [];
  for (const r of resources) {
    const o = r.obj;
    const file = r.origin?.file || fallbackFile;
    if (typeof o.apiVersion !== 'string' || typeof o.kind !== 'string') {
      findings.push({ file, rule: 'schema', message: 'document has no apiVersion or kind', severity: 'error', at: { obj: o } });
      continue;
    }
    const verdict = await schemas.check(o, opts.crds);
    if (verdict.kind === 'bad-type') {
      findings.push({ file, rule: 'schema', message: `${describe(o)}: ${verdict.reason}: no schema looked for`, severity: 'error', at: { obj: o, path: [verdict.field] } });
      continue;
    }
    if (verdict.kind === 'missing') {
      if (verdict.unreachable) throw new NoSchemasError();
      const skip = config.schemaSkips.find((s) => s.kind === o.kind && (!s.apiVersion || s.apiVersion === o.apiVersion));
      if (skip) continue;
      findings.push({
        file,
        rule: 'schema-missing',
        message: `${describe(o)}: no schema for ${o.apiVersion} ${o.kind} (tried ${verdict.tried.join(', ')}); a version the cluster does not serve, or give its CustomResourceDefinition with --crd-dir, or list the kind with a reason in validator.config.yaml`,
        severity: opts.strict ? 'error' : 'warning',
        at: { obj: o, path: ['apiVersion'] },
      });
    } else if (verdict.kind === 'invalid') {
      for (const issue of verdict.issues.slice(0, MAX_ISSUES)) {
        findings.push({ file, rule: 'schema', message: `${describe(o)}: ${issue.message}`, severity: 'error', at: { obj: o, path: issue.path } });
      }
    }
  }
  return findings;
};
