import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';

const documents = (text: string): any[] =>
  parseAllDocuments(text)
    .map((d) => d.toJS())
    .filter((d) => d && typeof d === 'object');

/** Only the CustomResourceDefinitions of a multi-document YAML stream, as one stream. */
export const crdsOnly = (text: string): { names: string[]; yaml: string } => {
  const kept = parseAllDocuments(text).filter((d) => (d.toJS() as any)?.kind === 'CustomResourceDefinition');
  return {
    names: kept.map((d) => String((d.toJS() as any).metadata?.name)),
    yaml: kept.map((d) => String(d).replace(/^---\n/, '')).map((d) => `---\n${d.trimEnd()}\n`).join(''),
  };
};

/** The Secrets (namespace and name) a manifest file or template creates. */
export const secretsIn = (file: string): { namespace: string; name: string }[] =>
  documents(readFileSync(file, 'utf8'))
    .filter((d) => d.kind === 'Secret')
    .map((d) => ({ namespace: String(d.metadata?.namespace ?? 'default'), name: String(d.metadata?.name) }));

/** The release names of a helmfile, in order. */
export const helmfileReleases = (file: string): string[] =>
  (documents(readFileSync(file, 'utf8'))[0]?.releases ?? []).map((r: any) => String(r.name));
