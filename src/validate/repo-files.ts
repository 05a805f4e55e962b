import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import JSON5 from 'json5';
import { defaultCacheDir, TOOLKIT_ROOT } from '../lib/cache-dir.ts';
import { cacheRecord } from '../lib/cache.ts';
import { compileCached } from '../lib/compiled-schemas.ts';
import { toolkitValidator } from '../lib/toolkit-schemas.ts';
import { isFile, toPosix, walkFiles } from '../lib/fsutil.ts';
import { sha256 } from '../lib/hash.ts';
import { MAX_CONFIG_BYTES, parseYaml, readYamlText, sizeHazard, YamlLimitError } from '../lib/yaml-safe.ts';
import { dotted, toIssues } from './schema-errors.ts';
import { goRegExp } from './schema-patches.ts';
import { fileIdentity } from './schema-registry.ts';
import type { Finding } from './types.ts';

interface FileRule {
  /** Repository-relative path test. */
  matches: (path: string) => boolean;
  schema: string;
  draft2020?: boolean;
  /** One of the toolkit's own schemas (`schemas/`), not SchemaStore's. */
  toolkit?: boolean;
}

/** Repository files that are not Kubernetes objects, and the SchemaStore schema each one follows. */
export const FILE_RULES: FileRule[] = [
  { matches: (p) => p === 'Taskfile.yaml' || /^\.taskfiles\/.+\/Taskfile\.ya?ml$/.test(p), schema: 'taskfile.json' },
  { matches: (p) => p === 'renovate.json5', schema: 'renovate.json' },
  { matches: (p) => p === '.github/dependabot.yaml', schema: 'dependabot-2.0.json' },
  { matches: (p) => /^\.github\/workflows\/[^/]+\.ya?ml$/.test(p), schema: 'github-workflow.json' },
  { matches: (p) => /^clusters\/[^/]+\/talos\/talconfig\.yaml$/.test(p), schema: 'talhelper.json', draft2020: true },
  { matches: (p) => /^bootstrap\/[^/]+\/helmfile\.d\/[^/]+\.ya?ml$/.test(p), schema: 'helmfile.json' },
  // The generators' answers, as hand edits leave them: checked now rather than at the next re-render.
  { matches: (p) => /^clusters\/[^/]+\/\.answers\.yaml$/.test(p), schema: 'cluster.schema.json', toolkit: true },
  { matches: (p) => /^(clusters|kubernetes|infrastructure)\/.+\/\.answers\.yaml$/.test(p), schema: 'app.schema.json', toolkit: true },
];

/** A settings file's value: hand-written, so capped as settings are (size, alias expansion). */
const readDoc = (abs: string, file: string): unknown => {
  const text = readYamlText(abs, MAX_CONFIG_BYTES);
  return file.endsWith('.json5') ? JSON5.parse(text) : parseYaml(text, file);
};

/** The kept verdicts (bump the cache's verdicts version when the findings' wording changes). */
const VERDICTS = 'repo-files';

/**
 * Validates each matching file against `<schemaDir>/schemastore/<schema>`. Verdicts are kept by the file's
 * content and the schema file's identity, so an unchanged file loads no schema at all. A complete check
 * (every file, the default) keeps only its own verdicts; a check of a few (a generator's) keeps the others' too.
 */
export const checkRepoFiles = async (
  repoRoot: string,
  schemaDirs: string[],
  cacheDir = defaultCacheDir(),
  files?: string[],
  { complete = files === undefined }: { complete?: boolean } = {},
): Promise<{ checked: string[]; findings: Finding[] }> => {
  const options = { strict: false, allErrors: true, verbose: true, allowUnionTypes: true, validateFormats: false, code: { regExp: goRegExp } };
  const compiled = new Map<string, any>();
  const findings: Finding[] = [];
  const checked: string[] = [];
  const record = cacheRecord<Record<string, Finding[]>>(cacheDir, VERDICTS);
  const known = record.load() ?? {};
  const used: Record<string, Finding[]> = {};
  for (const abs of files ?? walkFiles(repoRoot)) {
    const file = toPosix(relative(repoRoot, abs));
    const rule = FILE_RULES.find((r) => r.matches(file));
    if (!rule) continue;
    // SchemaStore's files come with the schema bundle; kubeconform's public locations have none.
    if (!rule.toolkit && !schemaDirs.length) continue;
    const schemaFile = rule.toolkit ? join(TOOLKIT_ROOT, 'schemas', rule.schema) : schemaDirs.map((d) => join(d, 'schemastore', rule.schema)).find(isFile);
    if (!schemaFile) {
      findings.push({ file, rule: 'schema-missing', message: `no ${rule.schema} in the schema folders`, severity: 'error' });
      continue;
    }
    checked.push(file);
    const hazard = sizeHazard(abs, MAX_CONFIG_BYTES);
    if (hazard) {
      findings.push(limitFinding(file, new YamlLimitError(file, hazard)));
      continue;
    }
    const key = sha256(file, fileIdentity(schemaFile), readFileSync(abs));
    used[key] = known[key] ?? (await checkFile(abs, file, rule, schemaFile, compiled, options));
    findings.push(...used[key]);
  }
  record.save(complete ? used : { ...known, ...used });
  return { checked, findings };
};

const limitFinding = (file: string, e: YamlLimitError): Finding => ({ file, rule: 'yaml-limit', message: e.reason, severity: 'error' });

const checkFile = async (abs: string, file: string, rule: FileRule, schemaFile: string, compiled: Map<string, any>, options: Record<string, unknown>): Promise<Finding[]> => {
  if (!compiled.has(schemaFile)) {
    const text = readFileSync(schemaFile, 'utf8');
    const schema = () => {
      const s = JSON.parse(text);
      delete s.$schema;
      return s;
    };
    compiled.set(
      schemaFile,
      rule.toolkit
        ? await toolkitValidator(JSON.parse(text))
        : await compileCached({ key: text, schema, options, cacheDir: defaultCacheDir(), draft2020: rule.draft2020 }),
    );
  }
  const validate = compiled.get(schemaFile);
  let doc: unknown;
  try {
    doc = readDoc(abs, file);
  } catch (e: any) {
    if (e instanceof YamlLimitError) return [limitFinding(file, e)];
    return [{ file, rule: 'yaml', message: `does not parse: ${String(e.message).split('\n')[0]}`, severity: 'error' }];
  }
  if (validate(doc)) return [];
  return toIssues(validate.errors ?? [], doc).map((issue) => ({ file, rule: 'schema', message: `${rule.schema}: ${issue.message || dotted(issue.path)}`, severity: 'error' as const }));
};
