import { isDeepStrictEqual } from 'node:util';
import { Document, isMap, isScalar, parseAllDocuments, type Node, type Pair, type YAMLMap, type YAMLSeq } from 'yaml';
import { UserError } from '../../src/lib/errors.ts';

/**
 * A three-way merge of generated files, as Copier updates a project from its template: what the generator
 * changes between the old answers' render (base) and the new one (ours) is applied to the file on disk
 * (theirs), node by node through the yaml Document API, so the operator's own edits elsewhere in the file
 * survive with their comments. Where the operator changed a node the update changes too, that is a
 * conflict, reported with the file, the path and both values.
 */

export interface Conflict {
  file: string;
  /** A dotted path into the file: `spec.values.image.tag`, `[HelmRelease/echo].spec.chart`, or `` for the whole file. */
  path: string;
  theirs: unknown;
  ours: unknown;
}

export interface Merged {
  /** The file's new content, or undefined when it goes away. */
  text: string | undefined;
  conflicts: Conflict[];
}

type Path = (string | number)[];
type Value = unknown;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const same = (a: unknown, b: unknown) => isDeepStrictEqual(a, b);

const isYaml = (file: string) => /\.ya?ml$/.test(file);

const parse = (file: string, text: string) => {
  const docs = parseAllDocuments(text, { keepSourceTokens: false });
  const bad = docs.find((d) => d.errors.length);
  if (bad) throw new UserError(`${file}:${bad.errors[0].linePos?.[0].line ?? 1}: cannot merge, invalid YAML: ${bad.errors[0].message.split('\n')[0]}`);
  return docs;
};

/** A document's identity in a multi-document file: its kind and name, else its position. */
const docKey = (value: unknown, index: number): string => {
  const kind = isObject(value) ? value.kind : undefined;
  const name = isObject(value) && isObject(value.metadata) ? value.metadata.name : undefined;
  return typeof kind === 'string' && typeof name === 'string' ? `${kind}/${name}` : `#${index}`;
};

const valuesOf = (file: string, text: string | undefined): Map<string, Value> => {
  const out = new Map<string, Value>();
  if (text === undefined || !isYaml(file)) return out;
  parse(file, text).forEach((d, i) => {
    const v = d.toJS();
    if (v !== null && v !== undefined) out.set(docKey(v, i), v);
  });
  return out;
};

/** Items of a list are told apart by `name` when every item has one, else by their whole value. */
const keyedByName = (...lists: Value[][]): boolean => lists.every((l) => l.every((i) => isObject(i) && typeof i.name === 'string'));
const itemId = (item: Value, byName: boolean): string => (byName ? `name=${(item as any).name}` : JSON.stringify(item));

const showPath = (prefix: string, path: Path): string =>
  `${prefix}${path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i || prefix ? '.' : ''}${p}`)).join('')}`;

class DocMerge {
  changed = false;
  readonly conflicts: Conflict[] = [];

  constructor(
    readonly file: string,
    readonly doc: Document.Parsed | Document,
    readonly prefix: string,
    readonly force: boolean,
  ) {}

  private node(path: Path): unknown {
    return path.length ? this.doc.getIn(path, true) : this.doc.contents;
  }

  private theirs(path: Path): Value {
    const n = this.node(path) as any;
    if (n === undefined || n === null) return undefined;
    return typeof n?.toJS === 'function' ? n.toJS(this.doc) : n;
  }

  private conflict(path: Path, theirs: Value, ours: Value): boolean {
    if (this.force) return false;
    this.conflicts.push({ file: this.file, path: showPath(this.prefix, path), theirs, ours });
    return true;
  }

  /** Sets a value where the generator put it: an existing key keeps its place and comments, a new key follows its predecessor in `order`. */
  private set(path: Path, value: Value, order?: string[]): void {
    this.changed = true;
    if (value === undefined) {
      this.doc.deleteIn(path);
      return;
    }
    const parentPath = path.slice(0, -1);
    const key = path[path.length - 1];
    const parent = parentPath.length ? this.doc.getIn(parentPath, true) : this.doc.contents;
    if (isMap(parent) && typeof key === 'string') {
      const pair = (parent as YAMLMap).items.find((p: Pair) => (isScalar(p.key) ? p.key.value : p.key) === key);
      const node = this.doc.createNode(value) as Node;
      if (pair) {
        const old = pair.value as any;
        if (old && isScalar(old) && isScalar(node)) {
          node.comment = old.comment;
          node.commentBefore = old.commentBefore;
        }
        pair.value = node;
        return;
      }
      const newPair = this.doc.createPair(key, value);
      const keys = (parent as YAMLMap).items.map((p: Pair) => (isScalar(p.key) ? p.key.value : p.key));
      const before = order ? order.slice(0, order.indexOf(key)).reverse().find((k) => keys.includes(k)) : undefined;
      const at = before === undefined ? (order && order.indexOf(key) === 0 ? 0 : keys.length) : keys.indexOf(before) + 1;
      (parent as YAMLMap).items.splice(at, 0, newPair as Pair);
      return;
    }
    if (!parentPath.length && parent === null) {
      this.doc.contents = this.doc.createNode(value) as any;
      return;
    }
    this.doc.setIn(path, value);
  }

  merge(path: Path, base: Value, ours: Value, order?: string[]): void {
    if (same(base, ours)) return;
    const theirs = this.theirs(path);
    if (same(theirs, ours)) return;
    // Maps and lists are merged inside even when the operator left them alone: replacing them whole
    // would drop the comments in them.
    if (isObject(ours) && isObject(theirs) && (base === undefined || isObject(base))) {
      const b = (base ?? {}) as Record<string, Value>;
      const keys = Object.keys(ours);
      for (const k of new Set([...Object.keys(b), ...keys])) this.merge([...path, k], b[k], ours[k], keys);
      return;
    }
    if (Array.isArray(ours) && Array.isArray(theirs) && (base === undefined || Array.isArray(base))) return this.mergeList(path, (base ?? []) as Value[], ours, theirs);
    if (same(theirs, base)) return this.set(path, ours, order);
    if (!this.conflict(path, theirs, ours)) this.set(path, ours, order);
  }

  /** Lists as sets of items: the generator's additions and removals are applied, the operator's items kept. */
  private mergeList(path: Path, base: Value[], ours: Value[], theirs: Value[]): void {
    const byName = keyedByName(base, ours, theirs);
    const ids = (l: Value[]) => l.map((i) => itemId(i, byName));
    const [baseIds, ourIds] = [ids(base), ids(ours)];
    let theirIds = ids(theirs);
    const seq = this.node(path) as YAMLSeq;
    // Items both renders have and the operator kept: merged inside (only named ones can differ).
    if (byName) {
      ourIds.forEach((id, i) => {
        const b = baseIds.indexOf(id);
        const t = theirIds.indexOf(id);
        if (b >= 0 && t >= 0) this.merge([...path, t], base[b], ours[i]);
      });
    }
    // Removed by the new answers: gone, unless the operator changed the item since.
    for (const [b, id] of baseIds.entries()) {
      if (ourIds.includes(id)) continue;
      const t = theirIds.indexOf(id);
      if (t < 0) continue;
      if (!same(theirs[t], base[b]) && this.conflict([...path, t], theirs[t], undefined)) continue;
      seq.items.splice(t, 1);
      theirs = [...theirs.slice(0, t), ...theirs.slice(t + 1)];
      theirIds = ids(theirs);
      this.changed = true;
    }
    // Added by the new answers: after the item that precedes it in the render, else first.
    for (const [o, id] of ourIds.entries()) {
      if (baseIds.includes(id) || theirIds.includes(id)) continue;
      const previous = ourIds.slice(0, o).reverse().find((p) => theirIds.includes(p));
      const at = previous === undefined ? 0 : theirIds.indexOf(previous) + 1;
      seq.items.splice(at, 0, this.doc.createNode(ours[o]) as any);
      theirs = [...theirs.slice(0, at), ours[o], ...theirs.slice(at)];
      theirIds = ids(theirs);
      this.changed = true;
    }
  }
}

const stringify = (doc: Document): string => doc.toString({ lineWidth: 0 });

/** Where yaml keeps the comment above a document's first line: on the document, its top node, or its first key. */
const headerHolders = (doc: Document | undefined): any[] => {
  if (!doc) return [];
  const top: any = doc.contents;
  return [doc, top, isMap(top) ? top.items[0]?.key : undefined].filter(Boolean);
};
const headerOf = (doc: Document | undefined): string | undefined =>
  headerHolders(doc).map((h) => h.commentBefore).filter(Boolean).join('\n') || undefined;

const updateHeader = (theirs: Document, base: Document | undefined, ours: Document | undefined): boolean => {
  const [was, now, is] = [headerOf(base), headerOf(ours), headerOf(theirs)];
  if (was === now || is !== was) return false;
  const holders = headerHolders(theirs);
  const at = holders.find((h) => h.commentBefore) ?? holders.at(-1);
  for (const h of holders) if (h !== at && h.commentBefore) h.commentBefore = h === theirs ? null : undefined;
  at.commentBefore = now ?? (at === theirs ? null : undefined);
  return true;
};

const mergeYaml = (file: string, base: string | undefined, theirs: string, ours: string, force: boolean): Merged => {
  const docs = parse(file, theirs);
  const baseValues = valuesOf(file, base);
  const ourValues = valuesOf(file, ours);
  const ourDocs = parse(file, ours);
  const baseDocs = base === undefined ? [] : parse(file, base);
  const keyed = docs.map((d, i) => ({ doc: d as Document, key: docKey(d.toJS(), i), changed: false }));
  const multi = docs.length > 1 || ourValues.size > 1;
  const conflicts: Conflict[] = [];
  let changed = false;

  for (const [key, value] of ourValues) {
    const target = keyed.find((k) => k.key === key);
    if (!target) {
      // A document the new answers add (or the operator deleted): it is written again.
      const fresh = ourDocs.find((d, i) => docKey(d.toJS(), i) === key)!;
      keyed.push({ doc: fresh as Document, key, changed: true });
      changed = true;
      continue;
    }
    const m = new DocMerge(file, target.doc, multi ? `[${key}]` : '', force);
    m.merge([], baseValues.get(key), value);
    conflicts.push(...m.conflicts);
    // The comment on top of a document says what it is; an update that rewords it rewords it on disk, unless the operator did.
    const headerChanged = updateHeader(target.doc, baseDocs.find((d, i) => docKey(d.toJS(), i) === key), ourDocs.find((d, i) => docKey(d.toJS(), i) === key));
    const docChanged = m.changed || headerChanged;
    target.changed ||= docChanged;
    changed ||= docChanged;
  }
  for (const [key, value] of baseValues) {
    if (ourValues.has(key)) continue;
    const at = keyed.findIndex((k) => k.key === key);
    if (at < 0) continue;
    if (!same(keyed[at].doc.toJS(), value) && !force) {
      conflicts.push({ file, path: multi ? `[${key}]` : '', theirs: keyed[at].doc.toJS(), ours: undefined });
      continue;
    }
    keyed.splice(at, 1);
    changed = true;
  }
  if (!changed) return { text: theirs, conflicts };
  if (keyed.length === 0) return { text: undefined, conflicts };
  const text = keyed.map((k, i) => {
    const s = stringify(k.doc);
    return i === 0 ? s : `---\n${s.replace(/^---\n/, '')}`;
  });
  return { text: text.join(''), conflicts };
};

/**
 * The three-way merge of one file. `base` is what the old answers rendered (undefined: the generator
 * never wrote it, or there were no old answers), `theirs` the file on disk, `ours` what the new answers
 * render (undefined: the generator no longer writes it). With `force` every conflict takes ours.
 */
export const mergeFile = (file: string, base: string | undefined, theirs: string | undefined, ours: string | undefined, force = false): Merged => {
  if (theirs === undefined) return { text: ours, conflicts: [] };
  if (ours === undefined) {
    if (base === undefined) return { text: theirs, conflicts: [] };
    const untouched = isYaml(file) ? same([...valuesOf(file, theirs).values()], [...valuesOf(file, base).values()]) : theirs === base;
    if (untouched || force) return { text: undefined, conflicts: [] };
    return { text: theirs, conflicts: [{ file, path: '', theirs: 'edited by hand', ours: 'no longer generated' }] };
  }
  if (isYaml(file)) return mergeYaml(file, base, theirs, ours, force);
  if (theirs === ours || theirs === base) return { text: theirs === base ? ours : theirs, conflicts: [] };
  if (base === ours) return { text: theirs, conflicts: [] };
  return force ? { text: ours, conflicts: [] } : { text: theirs, conflicts: [{ file, path: '', theirs: 'edited by hand', ours: 'changed by the new answers' }] };
};

/**
 * Whether a file still says everything `rendered` says: every node there, with the same value (lists
 * as sets). What the operator added is allowed. Returns the differences, as conflicts to report.
 */
export const describes = (file: string, rendered: string, onDisk: string | undefined): Conflict[] => {
  if (onDisk === undefined) return [{ file, path: '', theirs: undefined, ours: 'generated' }];
  if (!isYaml(file)) return onDisk === rendered ? [] : [{ file, path: '', theirs: 'differs', ours: 'rendered' }];
  const m = mergeYaml(file, undefined, onDisk, rendered, false);
  const missing = m.text !== onDisk ? findMissing(file, rendered, onDisk) : [];
  return [...m.conflicts, ...missing];
};

/** The rendered nodes a file lacks (the merge would add them), for the drift report. */
const findMissing = (file: string, rendered: string, onDisk: string): Conflict[] => {
  const disk = valuesOf(file, onDisk);
  const out: Conflict[] = [];
  const walk = (key: string, path: Path, want: Value, have: Value) => {
    if (same(want, have)) return;
    if (have === undefined) return void out.push({ file, path: showPath(disk.size > 1 ? `[${key}]` : '', path), theirs: undefined, ours: want });
    if (isObject(want) && isObject(have)) for (const k of Object.keys(want)) walk(key, [...path, k], want[k], have[k]);
    else if (Array.isArray(want) && Array.isArray(have)) {
      const byName = keyedByName(want, have);
      const haveIds = have.map((i) => itemId(i, byName));
      want.forEach((w, i) => {
        const at = haveIds.indexOf(itemId(w, byName));
        if (at < 0) out.push({ file, path: showPath(disk.size > 1 ? `[${key}]` : '', [...path, i]), theirs: undefined, ours: w });
        else if (byName) walk(key, [...path, at], w, have[at]);
      });
    }
  };
  for (const [key, value] of valuesOf(file, rendered)) walk(key, [], value, disk.get(key));
  return out;
};

const show = (v: unknown): string => {
  if (v === undefined) return '(absent)';
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
};

/** One line per conflict: `file: path: yours "x", the update's "y"`. */
export const formatConflicts = (conflicts: Conflict[]): string =>
  conflicts.map((c) => `  ${c.file}${c.path ? `: ${c.path}` : ''}: yours ${show(c.theirs)}, the update's ${show(c.ours)}`).join('\n');
