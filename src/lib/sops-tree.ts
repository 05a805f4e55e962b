// The tree sops walks, read from a YAML file as sops' YAML store builds it: the values as yaml.v3 decodes them
// (through ./sops-values.ts, on the `yaml` library's nodes) and every comment in the branch yaml.v3 and the
// store put it in (./yaml-v3-comments.ts). Each value and comment keeps where it is written in the source, so a
// file is encrypted or decrypted by replacing text in place: the layout, and with it where yaml.v3 reads every
// comment, stays as it was.
import { isAlias, isCollection, isMap, isScalar, isSeq, parseAllDocuments, stringify, visit, type Document, type Node, type Pair, type Scalar, type YAMLMap } from 'yaml';
import { UserError } from './errors.ts';
import { formatFloatG, goQuotes, resolveScalar, UnsupportedValue, type GoValue } from './sops-values.ts';
import { checkCharacters, readV3, V3Unsupported, type SourceComment, type V3Node } from './yaml-v3-comments.ts';

/** Larger SOPS files are refused unread: a secret is small, a hostile file may not be. */
export const MAX_SOPS_BYTES = 1024 * 1024;
/** As the yaml library's own guard: more alias expansion than this is a resource-exhaustion attack, not a Secret. */
export const MAX_ALIAS_COUNT = 100;

/** Where a value is written: the text from its anchor or tag to its end, replaced when it is rewritten. */
export interface Site {
  start: number;
  end: number;
  /** Inside a flow collection, where a plain ENC[...] would end at its first comma. */
  flow: boolean;
  /** The column a literal block's lines are indented to when one is written here. */
  column: number;
  /** A block scalar's text: its indicator ends at `indicatorEnd`, its lines run from `linesStart` to `linesEnd`. */
  block?: { indicatorEnd: number; linesStart: number; linesEnd: number };
  /** An alias: the copy of what it names is written here. */
  alias?: boolean;
}

/** A comment as sops holds it (the text after `#`) and the comment line of the source it is. */
export interface CommentLine {
  text: string;
  source: SourceComment;
  /** In what an alias repeats: sops writes it again there. */
  copy?: boolean;
}
export type TComment = { kind: 'comment'; line: CommentLine };
/** A value; `cipher` is the ENC[...] text (or '') it is written as, `rewrite` asks for `value` to be written. */
export type TLeaf = { kind: 'leaf'; value: GoValue; line: number; site?: Site; cipher?: string; rewrite?: boolean };
export type TPair = { kind: 'pair'; key: string; keyNode: Scalar; value: TValue };
export type TMap = { kind: 'map'; items: (TComment | TPair)[]; site?: Site };
export type TSeq = { kind: 'seq'; items: (TComment | TValue)[]; site?: Site };
export type TValue = TMap | TSeq | TLeaf;

export interface SopsDocument {
  doc: Document;
  tree: TMap;
  /** Where the document's text ends (a `---`, a `...` or the end of the file): a `sops` block goes there. */
  end: number;
  /** Where the first key of the top-level mapping starts, when it starts a line at column 0. */
  firstKey?: number;
  /** Where the document's content starts: the line after its `---`, or the start of the file. */
  start: number;
  /** The top-level mapping is a flow mapping (`{...}`), which no `sops` block can be added to in place. */
  flow: boolean;
}

export interface ParsedSops {
  text: string;
  /** Where each anchor is written: sops writes none, so they are dropped. */
  anchors: { start: number; end: number }[];
  docs: SopsDocument[];
  /** Whether the source had aliases (sops never writes one). */
  aliases: boolean;
  /** Comment lines yaml.v3 loses (it overwrites them), which sops therefore drops. */
  lost: SourceComment[];
}

const QUOTED = new Set(['QUOTE_DOUBLE', 'QUOTE_SINGLE', 'BLOCK_LITERAL', 'BLOCK_FOLDED']);
export const keyPath = (path: string[]) => (path.length ? path.join('.') : '(top level)');
const columnOf = (src: string, offset: number) => offset - (src.lastIndexOf('\n', offset - 1) + 1);

/** sops' value of a scalar, or a UserError naming the file and the key path. */
const goValue = (node: Scalar | null, file: string, path: string[]): GoValue => {
  if (node == null) return { type: 'null' };
  try {
    return resolveScalar(String(node.value ?? ''), QUOTED.has(String(node.type)), node.tag);
  } catch (e) {
    if (e instanceof UnsupportedValue) throw new UserError(`${file}: ${keyPath(path)}: sops cannot encrypt ${e.message}`);
    throw new UserError(`${file}: ${keyPath(path)}: ${(e as Error).message}`);
  }
};

class TreeBuilder {
  readonly placed = new Set<SourceComment>();
  private nodes = 0;

  /** `file` names the file with a line; `where` names it without one (and says which document). */
  constructor(
    private readonly src: string,
    private readonly file: string,
    private readonly where: string,
    private readonly doc: Document,
    private readonly aliasTargets: Map<V3Node, V3Node>,
  ) {}

  private differ(v3: V3Node): never {
    throw new UserError(`${this.file}:${v3.line + 1}: Go's yaml.v3, which sops reads YAML with, reads this differently from the yaml library; not read`);
  }

  /** sops' comment items for one of yaml.v3's comments (`copy`: repeated by an alias, as sops repeats it). */
  private comments(text: SourceComment[], copy: boolean): TComment[] {
    for (const c of text) this.placed.add(c);
    return text.map((source) => ({ kind: 'comment', line: { text: source.text, source, ...(copy ? { copy } : {}) } }));
  }

  /** The document as sops' top-level branch: its comments and its mapping's. */
  document(v3: V3Node): TMap {
    const items: TMap['items'] = [...this.comments(v3.head, false), ...this.comments(v3.lineComment, false)];
    const content = v3.content[0];
    const node = this.doc.contents as Node | null;
    items.push(...this.comments(content.head, false), ...this.comments(content.lineComment, false));
    if (content.kind === 'mapping') {
      if (!isMap(node)) this.differ(content);
      items.push(...this.pairs(content, node, [], false, false));
    } else if (content.kind === 'sequence') {
      throw new UserError(`${this.where}: YAML documents that are sequences are not supported by sops`);
    } else if (content.kind === 'alias') {
      throw new UserError(`${this.file}:${content.line + 1}: a document that is an alias is not supported`);
    } else if (goValue(isScalar(node) ? node : null, this.where, []).type !== 'null') {
      throw new UserError(`${this.where}: YAML documents that are values are not supported by sops`);
    }
    // sops' store stops at an empty document's null before its foot comment, which is lost.
    if (content.kind === 'mapping') items.push(...this.comments(content.foot, false));
    items.push(...this.comments(v3.foot, false));
    return { kind: 'map', items };
  }

  private pairs(v3: V3Node, node: YAMLMap, path: string[], copy: boolean, flow: boolean): TMap['items'] {
    if (v3.content.length !== node.items.length * 2) this.differ(v3);
    const items: TMap['items'] = [];
    (node.items as Pair[]).forEach((pair, i) => {
      const [k3, v3value] = [v3.content[2 * i], v3.content[2 * i + 1]];
      items.push(...this.comments(k3.head, copy), ...this.comments(k3.lineComment, copy));
      const keyNode = pair.key;
      if (isAlias(keyNode) || k3.kind === 'alias') {
        // sops reads the key the alias names; the toolkit's in-place writer keeps keys as written, so not this one.
        throw new UserError(`${this.where}: ${keyPath(path)}: an alias as a key (*${isAlias(keyNode) ? keyNode.source : '...'}): write the key out`);
      }
      if (!isScalar(keyNode) || k3.kind !== 'scalar') {
        throw new UserError(`${this.where}: ${keyPath(path)}: ${isCollection(keyNode) ? 'a collection' : 'a null'} key: sops supports only string keys`);
      }
      const keyValue = goValue(keyNode, this.where, path);
      if (keyValue.type !== 'str') throw new UserError(`${this.where}: ${keyPath([...path, String(keyNode.value)])}: a non-string key (${keyValue.type}): sops supports only string keys; quote it`);
      const scalarish = v3value.kind === 'scalar' || v3value.kind === 'alias';
      if (scalarish) items.push(...this.comments(v3value.head, copy), ...this.comments(v3value.lineComment, copy));
      const value = this.value(v3value, pair.value as Node | null, [...path, keyValue.text], !scalarish, copy, flow || v3.flow, columnOf(this.src, k3.offset) + 2);
      items.push({ kind: 'pair', key: keyValue.text, keyNode, value });
      if (scalarish) items.push(...this.comments(v3value.foot, copy));
      items.push(...this.comments(k3.foot, copy));
    });
    return items;
  }

  /** A value; `withComments` adds the node's own comments (a collection as a mapping value or through an alias). */
  private value(v3: V3Node, node: Node | null, path: string[], withComments: boolean, copy: boolean, flow: boolean, column = columnOf(this.src, v3.offset)): TValue {
    if (++this.nodes > 100_000) throw new UserError(`${this.where}: more than 100000 YAML nodes after expanding aliases`);
    if (v3.kind === 'alias') {
      if (!isAlias(node) || !node.range) this.differ(v3);
      const target = node.resolve(this.doc);
      if (!target) throw new UserError(`${this.file}:${v3.line + 1}: alias *${node.source} names no anchor`);
      const value = this.value(this.aliasTargets.get(v3)!, target as Node, path, true, true, flow);
      if (!copy) value.site = { start: v3.offset, end: node.range[1], flow, column, alias: true };
      return value;
    }
    if (v3.kind === 'scalar') {
      if (node != null && !isScalar(node)) this.differ(v3);
      const leaf: TLeaf = { kind: 'leaf', value: goValue(node, this.where, path), line: v3.line + 1 };
      // A block scalar that ends the file without a line break has no final line break to yaml.v3.
      if (leaf.value.type === 'str' && String(node?.type).startsWith('BLOCK') && node!.range![1] === this.src.length && !/\n$/.test(this.src)) {
        leaf.value = { type: 'str', text: leaf.value.text.replace(/\n$/, '') };
      }
      if (!copy && node?.range) leaf.site = this.site(v3, node, flow, column);
      return leaf;
    }
    const before = withComments ? [...this.comments(v3.head, copy), ...this.comments(v3.lineComment, copy)] : [];
    const after = () => (withComments ? this.comments(v3.foot, copy) : []);
    if (v3.kind === 'mapping') {
      if (!isMap(node)) this.differ(v3);
      const items = [...before, ...this.pairs(v3, node, path, copy, flow || v3.flow)];
      return { kind: 'map', items: [...items, ...after()] };
    }
    if (!isSeq(node) || v3.content.length !== node.items.length) this.differ(v3);
    const items: TSeq['items'] = [...before];
    v3.content.forEach((entry, i) => {
      items.push(...this.comments(entry.head, copy), ...this.comments(entry.lineComment, copy));
      items.push(this.value(entry, node.items[i] as Node | null, path, false, copy, flow || v3.flow));
      items.push(...this.comments(entry.foot, copy));
    });
    return { kind: 'seq', items: [...items, ...after()] };
  }

  private site(v3: V3Node, node: Scalar, flow: boolean, column: number): Site {
    const [valueStart, valueEnd] = node.range!;
    const site: Site = { start: v3.offset, end: valueEnd, flow, column };
    if (this.src.slice(v3.offset, valueStart).includes('#')) {
      throw new UserError(`${this.file}:${v3.line + 1}: a comment between a value's anchor or tag and the value; put it on a line of its own`);
    }
    if (node.type === 'BLOCK_LITERAL' || node.type === 'BLOCK_FOLDED') {
      const indicatorEnd = valueStart + /^[|>][-+0-9]*/.exec(this.src.slice(valueStart))![0].length;
      const lineBreak = this.src.slice(indicatorEnd, valueEnd).search(/\r?\n/);
      const linesStart = lineBreak < 0 ? valueEnd : indicatorEnd + lineBreak;
      // Up to the line break that ends the last line with text; the blank lines after it stay.
      const lastText = valueStart + this.src.slice(valueStart, valueEnd).trimEnd().length;
      const lastBreak = this.src.slice(lastText, valueEnd).search(/\r?\n/);
      const linesEnd = Math.max(linesStart, lastBreak < 0 ? valueEnd : lastText + lastBreak);
      site.block = { indicatorEnd, linesStart, linesEnd };
    }
    return site;
  }
}

/** Refuses what sops refuses, naming the file (and the line where there is one), before anything is read. */
const refuseV3 = (e: unknown, file: string): never => {
  if (e instanceof V3Unsupported) throw new UserError(`${file}:${e.line + 1}: ${e.message} (sops reads YAML with Go's yaml.v3)`);
  throw e;
};

/** The scalar key that starts at `offset`, from a reading that allows repeated keys. */
const repeatedKey = (text: string, offset: number): string | undefined => {
  let found: string | undefined;
  for (const doc of parseAllDocuments(text, { schema: 'failsafe', uniqueKeys: false, merge: false }) as Document[]) {
    visit(doc, {
      Pair: (_, pair) => {
        if (isScalar(pair.key) && pair.key.range?.[0] === offset) {
          found = String(pair.key.value);
          return visit.BREAK;
        }
      },
    });
    if (found !== undefined) break;
  }
  return found;
};

/** Parses a SOPS file (plain or encrypted) into the tree sops walks; refuses what sops refuses, naming file and key. */
export const parseSops = (text: string, file = 'input'): ParsedSops => {
  if (Buffer.byteLength(text) > MAX_SOPS_BYTES) throw new UserError(`${file}: larger than ${MAX_SOPS_BYTES} bytes, refused unread`);
  // Before any YAML reader: a character yaml.v3 refuses may stop the other reader first, under another name.
  try {
    checkCharacters(text);
  } catch (e) {
    refuseV3(e, file);
  }
  // Every plain scalar is read as text here; ./sops-values.ts decides what yaml.v3 makes of it.
  const all = parseAllDocuments(text, { schema: 'failsafe', uniqueKeys: true, merge: false });
  const docs = Array.isArray(all) ? all : [];
  let aliases = false;
  docs.forEach((doc, i) => {
    const where = docs.length > 1 ? `${file} (document ${i + 1})` : file;
    if (doc.errors.length) {
      const [error] = doc.errors;
      const line = error.linePos?.[0].line;
      const at = line ? `${file}:${line}` : where;
      if (error.code === 'DUPLICATE_KEY') {
        // yaml.v3 keeps both, so sops would encrypt both; kustomize, Flux and most YAML readers refuse the file.
        const key = repeatedKey(text, error.pos[0]);
        throw new UserError(`${at}: ${key === undefined ? 'a key' : `key ${JSON.stringify(key)}`} appears twice in one mapping (kustomize and most YAML readers refuse a repeated key)`);
      }
      throw new UserError(`${at}: invalid YAML: ${error.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')}`);
    }
    try {
      // mapAsMap: a key that is a collection (refused below, with its path) is not stringified with a warning.
      doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT, mapAsMap: true });
    } catch (e) {
      throw new UserError(`${where}: ${(e as Error).message.split('\n')[0]}`);
    }
  });
  let v3: ReturnType<typeof readV3>;
  try {
    v3 = readV3(text);
  } catch (e) {
    return refuseV3(e, file);
  }
  // A file of comments only is no document to yaml.v3, so sops finds nothing in it.
  if (!v3.documents.length) return { text, anchors: [], docs: [], aliases: false, lost: v3.comments };
  if (v3.documents.length !== docs.length) throw new UserError(`${file}: Go's yaml.v3, which sops reads YAML with, finds ${v3.documents.length} documents, the yaml library ${docs.length}; not read`);
  const placed = new Set<SourceComment>();
  const out: SopsDocument[] = docs.map((doc, i) => {
    const where = docs.length > 1 ? `${file} (document ${i + 1})` : file;
    const builder = new TreeBuilder(text, file, where, doc, v3.aliasTargets);
    const tree = builder.document(v3.documents[i]);
    for (const c of builder.placed) placed.add(c);
    visit(doc, {
      Alias() {
        aliases = true;
        return visit.BREAK;
      },
    });
    const content = v3.documents[i].content[0];
    const first = content.kind === 'mapping' && !content.flow ? content.content[0] : undefined;
    const firstKey = first && columnOf(text, first.offset) === 0 ? first.offset : undefined;
    const marker = text.startsWith('---', v3.documents[i].offset) && v3.documents[i].offset !== content.offset;
    const afterMarker = text.slice(v3.documents[i].offset).search(/\n|$/) + v3.documents[i].offset + 1;
    return { doc, tree, end: v3.documents[i].end!, firstKey, start: marker ? Math.min(afterMarker, text.length) : 0, flow: content.flow };
  });
  return { text, anchors: v3.anchors, docs: out, aliases, lost: v3.comments.filter((c) => !placed.has(c)) };
};

// ---------------------------------------------------------------------------------------------------------------
// Writing the tree back into its source text.

export interface Edit {
  start: number;
  end: number;
  text: string;
}

/**
 * A value as yaml.v3 reads it back. `exact` keeps the type through a round trip (a copy sops walks again);
 * otherwise it is written as sops' `decrypt` prints it (a float 1.0 as `1`). A multi-line string outside flow
 * collections is a literal block indented to `column`.
 */
export const scalarText = (value: GoValue, opts: { flow: boolean; column: number; exact: boolean }): string => {
  switch (value.type) {
    case 'null':
      return 'null';
    case 'int':
      return value.value.toString();
    case 'float': {
      const g = formatFloatG(value.value);
      return opts.exact && /^-?\d+$/.test(g) ? `${g}.0` : g;
    }
    case 'bool':
      return String(value.value);
    case 'time':
      return value.text;
    case 'str':
      return stringText(value.text, opts);
  }
};

const stringText = (text: string, opts: { flow: boolean; column: number; exact: boolean }): string => {
  const quoted = JSON.stringify(text);
  if (opts.flow || opts.exact) return quoted;
  if (text.includes('\n')) {
    const trailing = /\n*$/.exec(text)![0].length;
    const lines = text.slice(0, text.length - trailing).split('\n');
    // A literal block cannot start with a space without an indentation indicator, keep a line of spaces or hold a
    // CR; and the blank lines that end a kept (|+) block would run into those already after it.
    if (trailing > 1 || /[\r\x00-\x08\x0b-\x1f\x7f]/.test(text) || /^\s/.test(lines[0]) || lines.some((l) => l !== '' && !l.trim())) return quoted;
    const indent = ' '.repeat(opts.column);
    return `|${trailing === 0 ? '-' : ''}${lines.map((l) => `\n${l ? indent + l : ''}`).join('')}`;
  }
  return !goQuotes(text) && stringify(text, { schema: 'failsafe', lineWidth: 0 }) === `${text}\n` ? text : quoted;
};

const leafText = (leaf: TLeaf, flow: boolean, column: number, exact: boolean): string => {
  if (leaf.cipher === undefined) return scalarText(leaf.value, { flow, column, exact });
  if (leaf.cipher === '') return '""';
  return flow ? `"${leaf.cipher}"` : leaf.cipher;
};

/** A copy of what an alias names, in flow style (a copy has no comments). */
const flowText = (value: TValue): string => {
  if (value.kind === 'leaf') return leafText(value, true, 0, true);
  if (value.kind === 'seq') return `[${value.items.map((i) => flowText(i as TValue)).join(', ')}]`;
  return `{${value.items.map((i) => `${JSON.stringify((i as TPair).key)}: ${flowText((i as TPair).value)}`).join(', ')}}`;
};

/** A copy of a collection an alias names, in block style: its lines, indented to `column`. */
const blockLines = (value: TMap | TSeq, column: number): string[] => {
  const pad = ' '.repeat(column);
  const entry = (head: string, child: TValue): string[] => {
    if (child.kind === 'leaf') return [`${head} ${leafText(child, false, column + 2, true)}`];
    if (!child.items.length) return [`${head} ${child.kind === 'map' ? '{}' : '[]'}`];
    return [head, ...blockLines(child, column + 2)];
  };
  if (value.kind === 'seq') return value.items.flatMap((i) => entry(`${pad}-`, i as TValue));
  const key = (k: string) => (k.includes('\n') ? JSON.stringify(k) : stringText(k, { flow: false, column: 0, exact: false }));
  return value.items.flatMap((i) => entry(`${pad}${key((i as TPair).key)}:`, (i as TPair).value));
};

/** How an alias is written out: in block style where it allows, or in flow style. */
export type AliasStyle = 'block' | 'flow';

/** The edits that write the tree: changed values and comments, aliases as copies, `<<` keys quoted, no anchors. */
const treeEdits = (parsed: ParsedSops, src: string, aliases: AliasStyle): Edit[] => {
  const edits: Edit[] = [];
  const visitValue = (value: TValue) => {
    const site = value.site;
    if (site?.alias) {
      if (value.kind === 'leaf') edits.push({ start: site.start, end: site.end, text: leafText(value, site.flow, site.column, true) });
      else if (aliases === 'flow' || site.flow || !value.items.length) edits.push({ start: site.start, end: site.end, text: flowText(value) });
      else {
        // The copy's lines go after the rest of the alias's line, which may hold a comment.
        const eol = site.end + src.slice(site.end).search(/\r?\n|$/);
        const lines = blockLines(value, site.column).map((l) => `\n${l}`).join('');
        edits.push({ start: site.start - /[ \t]*$/.exec(src.slice(0, site.start))![0].length, end: site.end, text: '' });
        edits.push({ start: eol, end: eol, text: src.includes('\r\n') ? lines.replace(/\n/g, '\r\n') : lines });
      }
      return;
    }
    if (value.kind === 'leaf') {
      if (!site || (value.cipher === undefined && !value.rewrite)) return;
      const text = leafText(value, site.flow, site.column, false);
      // A literal block's lines go after the rest of its first line, which may hold a comment.
      const lineBreak = text.indexOf('\n');
      const [header, lines] = lineBreak < 0 ? [text, ''] : [text.slice(0, lineBreak), text.slice(lineBreak)];
      const end = site.block ? site.block.indicatorEnd : site.end;
      edits.push({ start: site.start, end, text: header });
      if (site.block && site.block.linesEnd > site.block.linesStart) edits.push({ start: site.block.linesStart, end: site.block.linesEnd, text: '' });
      if (lines) {
        const eol = src.slice(end).search(/\r?\n|$/);
        edits.push({ start: end + eol, end: end + eol, text: src.includes('\r\n') ? lines.replace(/\n/g, '\r\n') : lines });
      }
      return;
    }
    for (const item of value.items) {
      if (item.kind === 'comment') {
        const { text, source } = item.line;
        if (text !== source.text) edits.push({ start: source.offset + 1, end: source.offset + 1 + source.text.length, text });
      } else if (item.kind === 'pair') {
        const range = item.keyNode.range;
        if (item.key === '<<' && range && !QUOTED.has(String(item.keyNode.type))) edits.push({ start: range[0], end: range[1], text: '"<<"' });
        visitValue(item.value);
      } else {
        visitValue(item);
      }
    }
  };
  for (const { tree } of parsed.docs) visitValue(tree);
  for (const { start, end } of parsed.anchors) {
    const after = /^[ \t]*/.exec(src.slice(end))![0].length;
    const lineEnds = /^[ \t]*(#|\r?\n|$)/.test(src.slice(end));
    const before = lineEnds ? /[ \t]*$/.exec(src.slice(0, start))![0].length : 0;
    edits.push({ start: start - before, end: lineEnds ? end : end + after, text: '' });
  }
  return edits;
};

/** The source with the tree's edits and `extra` applied; an edit inside another (an anchor in a rewritten value) is dropped. */
export const writeTree = (parsed: ParsedSops, extra: Edit[] = [], aliases: AliasStyle = 'block'): string => {
  const src = parsed.text;
  // By start; at one start, insertions first, then the longest edit, so edits inside it come after and are dropped.
  const rank = (e: Edit) => (e.end === e.start ? -Number.MAX_SAFE_INTEGER : e.start - e.end);
  const edits = [...treeEdits(parsed, src, aliases), ...extra].sort((a, b) => a.start - b.start || rank(a) - rank(b));
  let out = '';
  let at = 0;
  for (const edit of edits) {
    if (edit.start < at) {
      if (edit.end <= at) continue;
      throw new Error(`overlapping edits at ${edit.start}`);
    }
    out += src.slice(at, edit.start) + edit.text;
    at = edit.end;
  }
  return out + src.slice(at);
};
