import type { ValidatorConfig } from './config.ts';
import type { SchemaValidator } from './schema.ts';
import { describe, type Finding, type Resource } from './types.ts';

const MAX_ISSUES = 8;

/** Stage 4 over one cluster's resources: a missing schema is an error unless the config lists the kind. */
export const checkSchemas = async (resources: Resource[], schemas: SchemaValidator, config: ValidatorConfig): Promise<Finding[]> => {
  const findings: Finding[] = [];
  for (const r of resources) {
    const o = r.obj;
    const file = r.origin?.file ?? '?';
    if (typeof o.apiVersion !== 'string' || typeof o.kind !== 'string') {
      findings.push({ file, rule: 'schema', message: 'document has no apiVersion or kind', severity: 'error', at: { obj: o } });
      continue;
    }
    const verdict = await schemas.check(o);
    if (verdict.kind === 'missing') {
      const skip = config.schemaSkips.find((s) => s.kind === o.kind && (!s.apiVersion || s.apiVersion === o.apiVersion));
      if (skip) continue;
      findings.push({
        file,
        rule: 'schema-missing',
        message: verdict.unreachable
          ? `${describe(o)}: no schema for ${o.apiVersion} ${o.kind}: kubeconform's public locations could not be reached (no network?); point K8S_OPS_SCHEMA_DIR or --schema-dir at a schema folder`
          : `${describe(o)}: no schema for ${o.apiVersion} ${o.kind} (tried ${verdict.tried.join(', ')}); a version the pinned stack does not serve, or list the kind with a reason in validator.config.yaml`,
        severity: 'error',
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
