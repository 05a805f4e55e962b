import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isMap, isSeq, LineCounter, parseAllDocuments, type Document } from 'yaml';
import { isFile } from '../lib/fsutil.ts';
import type { KObject } from './types.ts';

interface SourceFile {
  text: string;
  docs: Document.Parsed[];
  lines: LineCounter;
}

export type PathPart = string | number;

/** Finds lines in the repository's YAML files: a document by kind and name, a field by its path. */
export class Locator {
  private files = new Map<string, SourceFile | null>();

  constructor(private repoRoot: string) {}

  private load(file: string): SourceFile | null {
    if (!this.files.has(file)) {
      const abs = join(this.repoRoot, file);
      if (!isFile(abs)) this.files.set(file, null);
      else {
        const text = readFileSync(abs, 'utf8');
        const lines = new LineCounter();
        const docs = parseAllDocuments(text, { lineCounter: lines });
        this.files.set(file, { text, docs: Array.isArray(docs) ? docs : [], lines });
      }
    }
    return this.files.get(file)!;
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

  /** Line of the deepest part of `path` that the source document has, or of the document itself. */
  line(file: string, obj?: KObject, path: PathPart[] = []): number | undefined {
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
  }

  /** Line of the first match of `pattern` inside obj's document (for a `${VAR}` that has no value). */
  lineOfPattern(file: string, obj: KObject | undefined, pattern: RegExp): number | undefined {
    const src = this.load(file);
    if (!src) return undefined;
    const range = this.docFor(src, obj)?.range;
    const from = range?.[0] ?? 0;
    const m = pattern.exec(src.text.slice(from, range?.[2] ?? src.text.length));
    return m ? this.lineAt(src, from + m.index) : undefined;
  }
}

const firstKeyOffset = (node: any): number | undefined =>
  isMap(node) ? ((node.items[0]?.key as any)?.range?.[0] ?? node.range?.[0]) : node?.range?.[0];
