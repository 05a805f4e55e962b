import { join } from 'node:path';
import { isMap, isSeq, LineCounter, type Document } from 'yaml';
import { cacheRecord } from '../lib/cache.ts';
import { sha256 } from '../lib/hash.ts';
import { parseYamlDocuments, readYamlText } from '../lib/yaml-safe.ts';
import type { KObject } from './types.ts';

interface SourceFile {
  text: string;
  docs: Document.Parsed[];
  lines: LineCounter;
}

export type PathPart = string | number;

type Answers = Record<string, number | null>;

/**
 * Finds lines in the repository's YAML files: a document by kind and name, a field by its path. Parsing the
 * files is most of the work of an unchanged repository's run, so answers are kept by the file's content
 * (with a cache folder): a warm run reads the files, but parses none.
 */
export class Locator {
  private files = new Map<string, SourceFile | null>();
  private texts = new Map<string, { text: string; digest: string } | null>();
  private known: Answers;
  private used: Answers = {};
  private record?: ReturnType<typeof cacheRecord<Answers>>;

  constructor(
    private repoRoot: string,
    cacheDir?: string,
  ) {
    this.record = cacheDir ? cacheRecord<Answers>(cacheDir, 'lines') : undefined;
    this.known = this.record?.load() ?? {};
  }

  /** Keeps this run's answers for the next (only these, so the record does not grow without bound). */
  save(): void {
    this.record?.save(this.used);
  }

  private text(file: string): { text: string; digest: string } | null {
    if (!this.texts.has(file)) {
      let text: string | undefined;
      try {
        // A file too large to be a manifest (or not a file) is not parsed for a line number.
        text = readYamlText(join(this.repoRoot, file));
      } catch {
        text = undefined;
      }
      this.texts.set(file, text === undefined ? null : { text, digest: sha256(text) });
    }
    return this.texts.get(file)!;
  }

  private load(file: string): SourceFile | null {
    if (!this.files.has(file)) {
      const t = this.text(file);
      if (!t) this.files.set(file, null);
      else {
        const lines = new LineCounter();
        this.files.set(file, { text: t.text, docs: parseYamlDocuments(t.text, { lineCounter: lines }), lines });
      }
    }
    return this.files.get(file)!;
  }

  /** An answer from memory, or worked out and remembered, by the file's content and the question. */
  private answer(file: string, question: unknown[], work: () => number | undefined): number | undefined {
    const t = this.text(file);
    if (!t) return undefined;
    const key = sha256(t.digest, JSON.stringify(question));
    const line = key in this.known ? this.known[key] : (work() ?? null);
    this.used[key] = line;
    return line ?? undefined;
  }

  private lineAt(src: SourceFile, offset: number): number {
    return src.lines.linePos(offset).line;
  }

  /** The document that holds obj: same kind and name, else the only one of that kind, else the first. */
  private docFor(src: SourceFile, obj?: KObject): Document.Parsed | undefined {
    const docs = src.docs.filter((d) => isMap(d.contents));
    if (!obj) return docs[0];
    const kindOf = (d: Document.Parsed) => String(d.get('kind') ?? '');
    const nameOf = (d: Document.Parsed) => String(d.getIn(['metadata', 'name']) ?? '');
    const ofKind = docs.filter((d) => kindOf(d) === obj.kind);
    const sameApi = ofKind.filter((d) => String(d.get('apiVersion') ?? '') === obj.apiVersion);
    const sameKind = sameApi.length ? sameApi : ofKind;
    return (
      sameKind.find((d) => nameOf(d) === obj.metadata?.name) ??
      (sameKind.length === 1 ? sameKind[0] : undefined) ??
      sameKind.find((d) => nameOf(d).includes('${')) ??
      sameKind[0] ??
      docs[0]
    );
  }

  private identity = (obj?: KObject) => (obj ? [obj.apiVersion, obj.kind, obj.metadata?.name] : null);

  /** Line of the deepest part of `path` that the source document has, or of the document itself. */
  line(file: string, obj?: KObject, path: PathPart[] = []): number | undefined {
    return this.answer(file, ['line', this.identity(obj), path], () => {
      const src = this.load(file);
      if (!src) return undefined;
      const doc = this.docFor(src, obj);
      if (!doc?.contents) return undefined;
      let node: any = doc.contents;
      let offset: number | undefined = firstKeyOffset(node);
      for (const part of path) {
        if (isMap(node)) {
          const pair: any = node.items.find((p: any) => String(p.key?.value ?? p.key) === String(part));
          if (!pair) break;
          offset = pair.key?.range?.[0] ?? offset;
          node = pair.value;
        } else if (isSeq(node) && typeof part === 'number' && node.items[part]) {
          node = node.items[part];
          offset = (node as any)?.range?.[0] ?? offset;
        } else break;
      }
      return offset === undefined ? undefined : this.lineAt(src, offset);
    });
  }

  /** Line of the first match of `pattern` inside obj's document (for a `${VAR}` that has no value). */
  lineOfPattern(file: string, obj: KObject | undefined, pattern: RegExp): number | undefined {
    return this.answer(file, ['pattern', this.identity(obj), pattern.source, pattern.flags], () => {
      const src = this.load(file);
      if (!src) return undefined;
      const range = this.docFor(src, obj)?.range;
      const from = range?.[0] ?? 0;
      const m = pattern.exec(src.text.slice(from, range?.[2] ?? src.text.length));
      return m ? this.lineAt(src, from + m.index) : undefined;
    });
  }
}

const firstKeyOffset = (node: any): number | undefined =>
  isMap(node) ? ((node.items[0]?.key as any)?.range?.[0] ?? node.range?.[0]) : node?.range?.[0];
