import { readFileSync, statSync } from 'node:fs';
import { parse, parseAllDocuments, parseDocument, type Document, type DocumentOptions, type ParseOptions, type SchemaOptions, type ToJSOptions } from 'yaml';
import { UserError } from './errors.ts';

// Every YAML the toolkit reads may come from a pull request: a file is read only up to a size, and an
// alias is expanded only so far. A "billion laughs" document is a few hundred bytes that expand to
// gigabytes; refused here, it is an error naming the file, never a crash or a hang.

/** More alias expansion than this is a resource-exhaustion attack, not configuration (the yaml library's own default). */
export const MAX_ALIAS_COUNT = 100;
/** The largest YAML file read: manifests, upstream CRD bundles included, are far smaller. */
export const MAX_YAML_BYTES = 16 * 1024 * 1024;
/** Files a person writes by hand (answers, settings): far smaller again. */
export const MAX_CONFIG_BYTES = 1024 * 1024;

/** A YAML input over a limit: too large, not a regular file, or an alias bomb. */
export class YamlLimitError extends UserError {
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`${file}: ${reason}`);
    this.name = 'YamlLimitError';
  }
}

const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(bytes % (1024 * 1024) ? 1 : 0)} MiB`;

/** Why a file may not be read at all: not a regular file, or larger than `maxBytes`; undefined when it may. */
export const sizeHazard = (file: string, maxBytes = MAX_YAML_BYTES): string | undefined => {
  const stat = statSync(file);
  if (!stat.isFile()) return 'not a regular file: refused unread';
  if (stat.size > maxBytes) return `${mib(stat.size)}, larger than the ${mib(maxBytes)} a YAML file may have: refused unread`;
  return undefined;
};

/** A file's text, refused unread when it is not a regular file or is larger than `maxBytes`. */
export const readYamlText = (file: string, maxBytes = MAX_YAML_BYTES): string => {
  const hazard = sizeHazard(file, maxBytes);
  if (hazard) throw new YamlLimitError(file, hazard);
  return readFileSync(file, 'utf8');
};

/** Whether the text may hold an alias at all: an alias needs an anchor, and most files have none. */
export const mayHaveAliases = (text: string): boolean => /(^|[\s[{,:?-])&[^\s[\]{},]/m.test(text);

const bomb = (where: string): YamlLimitError =>
  new YamlLimitError(where, `its aliases expand beyond ${MAX_ALIAS_COUNT} nodes (a YAML "billion laughs" bomb?): refused`);

const isAliasLimit = (e: unknown): boolean => e instanceof ReferenceError && /alias/i.test(e.message);

type Options = ParseOptions & DocumentOptions & SchemaOptions & ToJSOptions;

/** `yaml.parse` with the alias cap: an alias bomb is a YamlLimitError naming `where`; a syntax error throws as parse does. */
export const parseYaml = (text: string, where: string, options: Options = {}): any => {
  try {
    return parse(text, { ...options, maxAliasCount: MAX_ALIAS_COUNT });
  } catch (e) {
    if (isAliasLimit(e)) throw bomb(where);
    throw e;
  }
};

/** A parsed document's value with the alias cap. */
export const toJSCapped = (doc: Document, where: string): any => {
  try {
    return doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (e) {
    if (isAliasLimit(e)) throw bomb(where);
    throw e;
  }
};

/** Every document of a stream, unexpanded (an empty stream is an empty list). */
export const parseYamlDocuments = (text: string, options: ParseOptions & DocumentOptions & SchemaOptions = {}): Document.Parsed[] => {
  const docs = parseAllDocuments(text, options);
  return Array.isArray(docs) ? docs : [];
};

/** The value of every document of a stream, with the alias cap; the first syntax error throws as parse does. */
export const parseYamlAll = (text: string, where: string, options: ParseOptions & DocumentOptions & SchemaOptions = {}): unknown[] =>
  parseYamlDocuments(text, options).map((doc) => {
    if (doc.errors.length) throw doc.errors[0];
    return toJSCapped(doc, where);
  });

/** A single document, unexpanded (for editing with the Document API). */
export const parseYamlDocument = (text: string, options: ParseOptions & DocumentOptions & SchemaOptions = {}): Document.Parsed =>
  parseDocument(text, options);

/** A file's value: size-capped, alias-capped. */
export const readYaml = (file: string, maxBytes = MAX_YAML_BYTES): any => parseYaml(readYamlText(file, maxBytes), file);

/** The values of a multi-document file: size-capped, alias-capped. */
export const readYamlAll = (file: string, maxBytes = MAX_YAML_BYTES): unknown[] => parseYamlAll(readYamlText(file, maxBytes), file);

/**
 * Why a file may not be handed to a tool that expands aliases itself (kustomize would try to): too large, not
 * a regular file, or a bomb. Undefined when it is fine; syntax errors are left to the tool.
 */
export const yamlHazard = (file: string, maxBytes = MAX_YAML_BYTES): string | undefined => {
  try {
    const text = readYamlText(file, maxBytes);
    if (!mayHaveAliases(text)) return undefined;
    for (const doc of parseYamlDocuments(text)) if (!doc.errors.length) toJSCapped(doc, file);
    return undefined;
  } catch (e) {
    if (e instanceof YamlLimitError) return e.reason;
    return undefined;
  }
};
