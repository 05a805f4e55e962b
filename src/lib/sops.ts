// SOPS (YAML store, AES256_GCM values, age data key): what `sops encrypt` and `sops decrypt` do to a file, for a
// machine without the sops binary. The file is read as sops reads it (Go's yaml.v3 and strconv rules, through
// ./sops-values.ts); its layout is kept, except that aliases are expanded, as sops writes them.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RE2JS } from 're2js';
import { isAlias, isCollection, isMap, isScalar, isSeq, parse, parseAllDocuments, visit, type Document, type Node, type Pair, type Scalar, type YAMLMap, type YAMLSeq } from 'yaml';
import { checkRecipient, decryptWith, encryptTo } from './age-keys.ts';
import { contain, escapeText } from './contain.ts';
import { UserError } from './errors.ts';
import { ENC } from './sops-enc.ts';
import { fromBytes, goQuotes, formatFloatG, resolveScalar, toBytes, UnsupportedValue, type GoValue } from './sops-values.ts';

/** The format written: SOPS 3.10's YAML store. */
export const SOPS_VERSION = '3.10.2';
/** Larger SOPS files are refused unread: a secret is small, a hostile file may not be. */
export const MAX_SOPS_BYTES = 1024 * 1024;
/** As the yaml library's own guard: more alias expansion than this is a resource-exhaustion attack, not a Secret. */
export const MAX_ALIAS_COUNT = 100;

/** What decides which values and comments are encrypted (sops allows at most one of the six). */
export interface Selection {
  unencryptedSuffix?: string;
  encryptedSuffix?: string;
  unencryptedRegex?: string;
  encryptedRegex?: string;
  unencryptedCommentRegex?: string;
  encryptedCommentRegex?: string;
  macOnlyEncrypted: boolean;
}

export interface CreationRule extends Selection {
  /** The age recipients of the rule's one key group. */
  recipients: string[];
  shamirThreshold?: number;
}

const SELECTORS = [
  ['unencryptedSuffix', 'unencrypted_suffix'],
  ['encryptedSuffix', 'encrypted_suffix'],
  ['unencryptedRegex', 'unencrypted_regex'],
  ['encryptedRegex', 'encrypted_regex'],
  ['unencryptedCommentRegex', 'unencrypted_comment_regex'],
  ['encryptedCommentRegex', 'encrypted_comment_regex'],
] as const;

// ---------------------------------------------------------------------------------------------------------------
// Go regular expressions, matched by RE2's own algorithm (re2js): the same syntax and meaning as sops' regexp,
// and time linear in the text, so a hostile .sops.yaml cannot hang the validator with `(a+)+b`.

const regexCache = new Map<string, RE2JS>();
export const goRegExp = (pattern: string, where: string): { test: (s: string) => boolean } => {
  let re = regexCache.get(pattern);
  if (!re) {
    try {
      re = RE2JS.compile(pattern);
    } catch (e) {
      throw new UserError(`${where}: ${pattern} is not a valid regular expression (${(e as Error).message})`);
    }
    regexCache.set(pattern, re);
  }
  const compiled = re;
  return { test: (s: string) => compiled.test(s) };
};

// ---------------------------------------------------------------------------------------------------------------
// .sops.yaml

const readCapped = (file: string): string => {
  const text = readFileSync(file, 'utf8');
  if (Buffer.byteLength(text) > MAX_SOPS_BYTES) throw new UserError(`${file}: larger than ${MAX_SOPS_BYTES} bytes, refused unread`);
  return text;
};

const parseCapped = (text: string, file: string): any => {
  try {
    return parse(text, { maxAliasCount: MAX_ALIAS_COUNT });
  } catch (e) {
    throw new UserError(`${file}: ${(e as Error).message.split('\n')[0]}`);
  }
};

/**
 * The age recipients of a key group as sops' config reads them: its `merge` groups' first, then its own (each
 * entry may list several, comma-separated), deduplicated keeping the first.
 */
const groupRecipients = (group: any, where: string): string[] => {
  const foreign = Object.keys(group ?? {}).filter((k) => !['age', 'merge'].includes(k));
  if (foreign.length) throw new UserError(`${where}: ${foreign.join(', ')} keys: the toolkit writes age recipients only; use the sops binary`);
  const own = (group?.age ?? []) as unknown[];
  if (!Array.isArray(own)) throw new UserError(`${where}.age: a list of recipients`);
  const merged = ((group?.merge ?? []) as any[]).flatMap((g, i) => groupRecipients(g, `${where}.merge[${i}]`));
  return [...new Set([...merged, ...own.flatMap((r) => String(r).split(',').map((x) => x.trim()))])];
};

/** The first `.sops.yaml` creation rule whose path_regex matches the repository-relative path, as sops picks it. */
export const creationRule = (repoRoot: string, path: string): CreationRule => {
  const file = join(repoRoot, '.sops.yaml');
  if (!existsSync(file)) throw new UserError(`${file}: missing; SOPS needs its creation rules`);
  const inside = contain(repoRoot, file);
  if (!inside.inside) throw new UserError(`.sops.yaml: ${escapeText(inside, repoRoot)}: not read`);
  const config = parseCapped(readCapped(file), '.sops.yaml');
  const rules: any[] = Array.isArray(config?.creation_rules) ? config.creation_rules : [];
  const index = rules.findIndex((r) => r?.path_regex == null || r.path_regex === '' || goRegExp(String(r.path_regex), `.sops.yaml: creation_rules path_regex`).test(path));
  if (index < 0) throw new UserError(`.sops.yaml: no creation rule matches ${path}`);
  const rule = rules[index];
  const where = `.sops.yaml: creation_rules[${index}]`;
  const foreign = ['pgp', 'kms', 'gcp_kms', 'azure_keyvault', 'hc_vault_transit_uri'].filter((k) => rule[k]);
  if (foreign.length) throw new UserError(`${where}: ${foreign.join(', ')} keys: the toolkit writes age recipients only; use the sops binary`);
  let recipients: string[];
  if (Array.isArray(rule.key_groups) && rule.key_groups.length) {
    if (rule.key_groups.length > 1) throw new UserError(`${where}: ${rule.key_groups.length} key groups split the data key with Shamir's scheme, which only the sops binary writes`);
    recipients = groupRecipients(rule.key_groups[0], `${where}.key_groups[0]`);
  } else {
    if (rule.age != null && typeof rule.age !== 'string') throw new UserError(`${where}.age: sops reads one comma-separated string, not a list (use key_groups for a list)`);
    recipients = String(rule.age ?? '')
      .split(',')
      .map((r) => r.trim())
      .filter(Boolean);
  }
  if (!recipients.length) throw new UserError(`.sops.yaml: the rule for ${path} has no age recipients`);
  for (const r of recipients) checkRecipient(r);
  const set = SELECTORS.filter(([, yamlKey]) => rule[yamlKey] != null && rule[yamlKey] !== '');
  if (set.length > 1) throw new UserError(`${where}: ${set.map(([, k]) => k).join(' and ')}: sops allows only one of them in a rule`);
  const selection = Object.fromEntries(set.map(([key, yamlKey]) => [key, String(rule[yamlKey])]));
  for (const [key, yamlKey] of SELECTORS) if (key.endsWith('Regex') && selection[key]) goRegExp(selection[key], `${where}.${yamlKey}`);
  return { recipients, ...selection, macOnlyEncrypted: rule.mac_only_encrypted === true, ...(rule.shamir_threshold ? { shamirThreshold: Number(rule.shamir_threshold) } : {}) };
};

// ---------------------------------------------------------------------------------------------------------------
// The tree sops walks: mappings and lists of values and comments, with the YAML nodes they came from.

/** One comment line, as sops keeps it (the text after `#`), and where it is written back. */
interface CommentLine {
  text: string;
  slot?: Slot;
}
/** A comment-holding property of a YAML node (commentBefore or comment), one entry per line, '' for a blank line. */
interface Slot {
  owner: any;
  prop: 'commentBefore' | 'comment';
  lines: (CommentLine | '')[];
}
export type TComment = { kind: 'comment'; line: CommentLine };
export type TLeaf = { kind: 'leaf'; value: GoValue; node?: Scalar; set?: (n: Node) => void };
export type TPair = { kind: 'pair'; key: string; keyNode: Scalar; value: TValue };
export type TMap = { kind: 'map'; items: (TComment | TPair)[] };
export type TSeq = { kind: 'seq'; items: (TComment | TValue)[] };
export type TValue = TMap | TSeq | TLeaf;

export interface SopsDocument {
  doc: Document;
  tree: TMap;
}

export interface ParsedSops {
  docs: SopsDocument[];
  /** Whether the source had aliases (sops never writes one). */
  aliases: boolean;
  slots: Slot[];
}

const QUOTED = new Set(['QUOTE_DOUBLE', 'QUOTE_SINGLE', 'BLOCK_LITERAL', 'BLOCK_FOLDED']);
const keyPath = (path: string[]) => (path.length ? path.join('.') : '(top level)');

/** sops' value of a scalar, or a UserError naming the file and the key path. */
const goValue = (node: Scalar, file: string, path: string[]): GoValue => {
  try {
    return resolveScalar(String(node.value ?? ''), QUOTED.has(String(node.type)), node.tag);
  } catch (e) {
    if (e instanceof UnsupportedValue) throw new UserError(`${file}: ${keyPath(path)}: sops cannot encrypt ${e.message}`);
    throw new UserError(`${file}: ${keyPath(path)}: ${(e as Error).message}`);
  }
};

const lineStart = (src: string, offset: number) => src.lastIndexOf('\n', offset - 1) + 1;
const column = (src: string, offset: number) => offset - lineStart(src, offset);

/** The columns of the full-line comments in src[from, to], in order. */
const commentColumns = (src: string, from: number, to: number): number[] =>
  src
    .slice(from, to)
    .split('\n')
    .filter((l) => /^\s*#/.test(l))
    .map((l) => l.indexOf('#'));

/** Expands every alias into a copy of what it names and drops the anchors: sops writes no aliases. */
const expandAliases = (doc: Document, file: string): boolean => {
  let found = false;
  let nodes = 0;
  try {
    doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (e) {
    throw new UserError(`${file}: ${(e as Error).message.split('\n')[0]}`);
  }
  visit(doc, {
    Alias(_, alias) {
      found = true;
      const target = alias.resolve(doc);
      if (!target) throw new UserError(`${file}: alias *${alias.source} names no anchor`);
      const copy = target.clone() as Node;
      if (isScalar(copy)) {
        copy.commentBefore = alias.commentBefore;
        copy.comment = alias.comment;
      } else if (alias.commentBefore) {
        copy.commentBefore = [alias.commentBefore, copy.commentBefore].filter(Boolean).join('\n');
      }
      return copy;
    },
    Node(_, node) {
      if (++nodes > 100_000) throw new UserError(`${file}: more than 100000 YAML nodes after expanding aliases`);
    },
  });
  visit(doc, {
    Node(_, node) {
      delete (node as { anchor?: string }).anchor;
    },
  });
  return found;
};

class TreeBuilder {
  readonly slots: Slot[] = [];
  constructor(
    private readonly src: string,
    private readonly file: string,
  ) {}

  slot(owner: any, prop: Slot['prop']): Slot {
    const existing = this.slots.find((s) => s.owner === owner && s.prop === prop);
    if (existing) return existing;
    const text: string | undefined = owner?.[prop];
    const s: Slot = { owner, prop, lines: [] };
    s.lines = text ? text.split('\n').map((t) => (t === '' ? '' : { text: t, slot: s })) : [];
    this.slots.push(s);
    return s;
  }

  comments(owner: any, prop: Slot['prop']): TComment[] {
    if (!owner?.[prop]) return [];
    return this.slot(owner, prop)
      .lines.filter((l): l is CommentLine => l !== '')
      .map((line) => ({ kind: 'comment', line }));
  }

  /** A collection's trailing comment lines, each with the column it was written at (-1 when unknown). */
  trailing(node: YAMLMap | YAMLSeq): { c: TComment; col: number }[] {
    const own = this.comments(node, 'comment');
    if (!own.length) return [];
    const cols = node.range ? commentColumns(this.src, node.range[1], node.range[2]) : [];
    return own.map((c, i) => ({ c, col: cols.length === own.length ? cols[i] : -1 }));
  }

  colOf(node: YAMLMap | YAMLSeq): number {
    const first = node.items[0] as any;
    const start = isMap(node) ? first?.key?.range?.[0] : node.range?.[0];
    return typeof start === 'number' ? column(this.src, start) : -1;
  }

  /**
   * A collection as sops' tree, and the trailing comment lines that belong further out: yaml.v3 gives a comment
   * after a block to the block whose entries start at the comment's column.
   */
  collection(node: YAMLMap | YAMLSeq, path: string[], head: TComment[]): { value: TMap | TSeq; overflow: { c: TComment; col: number }[] } {
    const col = this.colOf(node);
    const items: any[] = [...head, ...this.comments(node, 'commentBefore')];
    const overflow: { c: TComment; col: number }[] = [];
    // Lines that came up from a nested block: written where yaml.v3 reads them as this collection's, above the
    // next entry or after the last one.
    const moved: { line: CommentLine; after: number }[] = [];
    const place = (out: { c: TComment; col: number }[], after = -1) => {
      for (const o of out) {
        if (o.col !== -1 && o.col < col) overflow.push(o);
        else {
          items.push(o.c);
          if (after >= 0) moved.push({ line: o.c.line, after });
        }
      }
    };
    if (isMap(node)) {
      for (const pair of node.items as Pair[]) {
        const keyNode = pair.key;
        if (!isScalar(keyNode)) throw new UserError(`${this.file}: ${keyPath(path)}: a ${isCollection(keyNode) ? 'collection' : 'null'} key: sops supports only string keys`);
        const keyValue = goValue(keyNode, this.file, path);
        if (keyValue.type !== 'str') throw new UserError(`${this.file}: ${keyPath([...path, String(keyNode.value)])}: a non-string key (${keyValue.type}): sops supports only string keys; quote it`);
        items.push(...this.comments(keyNode, 'commentBefore'), ...this.comments(keyNode, 'comment'));
        const childPath = [...path, keyValue.text];
        const { value, overflow: out, before } = this.value(pair.value as Node | null, childPath, (n) => (pair.value = n), keyNode);
        items.push(...(before ?? []), { kind: 'pair', key: keyValue.text, keyNode, value } satisfies TPair);
        place(out, node.items.indexOf(pair));
      }
    } else {
      node.items.forEach((item, i) => {
        const { value, overflow: out, before } = this.value(item as Node | null, path, (n) => (node.items[i] = n));
        items.push(...(before ?? []), value);
        place(out, i);
      });
    }
    place(this.trailing(node));
    for (const { line, after } of moved.reverse()) {
      if (line.slot) line.slot.lines.splice(line.slot.lines.indexOf(line), 1);
      const next = node.items[after + 1] as any;
      const target = next ? this.slot(isMap(node) ? next.key : next, 'commentBefore') : this.slot(node, 'comment');
      if (next) target.lines.unshift(line);
      else target.lines.push(line);
      line.slot = target;
    }
    return { value: isMap(node) ? { kind: 'map', items } : { kind: 'seq', items }, overflow };
  }

  /** A value with the comments sops puts before it in the enclosing collection (scalars' head and line comments). */
  value(node: Node | null, path: string[], set: (n: Node) => void, keyNode?: Scalar): { value: TValue; overflow: { c: TComment; col: number }[]; before?: TComment[] } {
    if (node == null) return { value: { kind: 'leaf', value: { type: 'null' }, set }, overflow: [] };
    if (isScalar(node)) {
      const leaf: TLeaf = { kind: 'leaf', value: goValue(node, this.file, path), node, set };
      return { value: leaf, overflow: [], before: [...this.comments(node, 'commentBefore'), ...this.comments(node, 'comment')] };
    }
    if (isAlias(node)) throw new Error('aliases are expanded first');
    const coll = node as YAMLMap | YAMLSeq;
    // A comment on the key's own line (`key: # note`) is the key's line comment: it stays in the enclosing
    // mapping, and is written above the key, where yaml.v3 reads it the same way.
    if (keyNode?.range && coll.range && coll.commentBefore && /^[^\n]*#/.test(this.src.slice(keyNode.range[1], coll.range[0]))) {
      const slot = this.slot(coll, 'commentBefore');
      const [line] = slot.lines.splice(slot.lines.findIndex((l) => l !== ''), 1) as CommentLine[];
      this.slot(keyNode, 'commentBefore').lines.push(line);
      return { ...this.collection(coll, path, []), before: [{ kind: 'comment', line }] };
    }
    return this.collection(coll, path, []);
  }
}

/** Parses a SOPS file (plain or encrypted) into the tree sops walks; refuses what sops refuses, naming file and key. */
export const parseSops = (text: string, file = 'input'): ParsedSops => {
  if (Buffer.byteLength(text) > MAX_SOPS_BYTES) throw new UserError(`${file}: larger than ${MAX_SOPS_BYTES} bytes, refused unread`);
  // Every plain scalar is read as text here; ./sops-values.ts decides what yaml.v3 makes of it.
  const all = parseAllDocuments(text, { schema: 'failsafe', uniqueKeys: true, merge: false });
  const docs = Array.isArray(all) ? all : [];
  let aliases = false;
  const builder = new TreeBuilder(text, file);
  const out: SopsDocument[] = [];
  docs.forEach((doc, i) => {
    const where = docs.length > 1 ? `${file} (document ${i + 1})` : file;
    if (doc.errors.length) throw new UserError(`${where}: invalid YAML: ${doc.errors[0].message.split('\n')[0]}`);
    aliases = expandAliases(doc, where) || aliases;
    const contents = doc.contents as Node | null;
    if (isSeq(contents)) throw new UserError(`${where}: YAML documents that are sequences are not supported by sops`);
    if (isScalar(contents) && !(contents.value === '' && !QUOTED.has(String(contents.type)) && !contents.tag)) {
      throw new UserError(`${where}: YAML documents that are values are not supported by sops`);
    }
    const head = [...builder.comments(doc, 'commentBefore')];
    let tree: TMap;
    if (isMap(contents)) {
      const { value, overflow } = builder.collection(contents, [], head);
      tree = value as TMap;
      tree.items.push(...overflow.map((o) => o.c));
    } else {
      tree = { kind: 'map', items: [...head, ...builder.comments(contents, 'comment')] };
    }
    tree.items.push(...builder.comments(doc, 'comment'));
    out.push({ doc, tree });
  });
  return { docs: out, aliases, slots: builder.slots };
};

const writeSlots = (slots: Slot[]) => {
  for (const s of slots) {
    const text = s.lines.map((l) => (l === '' ? '' : l.text)).join('\n');
    if (s.owner) s.owner[s.prop] = text || undefined;
  }
};

// ---------------------------------------------------------------------------------------------------------------
// Walking the tree as sops does, with the comments seen so far at each level (for the comment regexes).

type Visit = (item: TLeaf | TComment, path: string[], stack: string[][]) => void;

const walk = (value: TValue, path: string[], stack: string[][], visit: Visit): void => {
  if (value.kind === 'leaf') {
    if (value.value.type !== 'null') visit(value, path, stack);
    return;
  }
  const levels = [...stack, [] as string[]];
  for (const item of value.items) {
    if (item.kind === 'comment') {
      levels[levels.length - 1] = [...levels[levels.length - 1], item.line.text];
      visit(item, path, levels);
      continue;
    }
    if (item.kind === 'pair') walk(item.value, [...path, item.key], levels, visit);
    else walk(item, path, levels, visit);
    levels[levels.length - 1] = [];
  }
};

const matches = (pattern: string, text: string) => goRegExp(pattern, 'sops').test(text);

/** sops' shouldBeEncrypted, rule by rule. */
export const shouldEncrypt = (s: Selection, path: string[], stack: string[][] = [[]], isComment = false): boolean => {
  let encrypted = true;
  if (s.unencryptedSuffix && path.some((k) => k.endsWith(s.unencryptedSuffix!))) encrypted = false;
  if (s.encryptedSuffix) encrypted = path.some((k) => k.endsWith(s.encryptedSuffix!));
  if (s.unencryptedRegex && path.some((k) => matches(s.unencryptedRegex!, k))) encrypted = false;
  if (s.encryptedRegex) encrypted = path.some((k) => matches(s.encryptedRegex!, k));
  if (s.unencryptedCommentRegex && stack.some((cs) => cs.some((c) => matches(s.unencryptedCommentRegex!, c)))) encrypted = false;
  if (s.encryptedCommentRegex) {
    const last = stack.length - 1;
    // The comment that matches is not encrypted itself; the values and comments after it are.
    encrypted = stack.some((cs, i) => cs.some((c, j) => !(isComment && i === last && j === cs.length - 1) && matches(s.encryptedCommentRegex!, c)));
  }
  return encrypted;
};

// ---------------------------------------------------------------------------------------------------------------
// The cipher: AES-256-GCM with a 32-byte IV and the key path as additional data.

export { ENC };

const seal = (text: string, key: Buffer, aad: string, type: string): string => {
  const iv = randomBytes(32);
  const c = createCipheriv('aes-256-gcm', key, iv);
  c.setAAD(Buffer.from(aad));
  const data = Buffer.concat([c.update(text, 'utf8'), c.final()]);
  return `ENC[AES256_GCM,data:${data.toString('base64')},iv:${iv.toString('base64')},tag:${c.getAuthTag().toString('base64')},type:${type}]`;
};

const open = (value: string, key: Buffer, aad: string): { text: string; type: string } => {
  const m = ENC.exec(value);
  if (!m) throw new Error('not an ENC[AES256_GCM,...] value');
  const d = createDecipheriv('aes-256-gcm', key, Buffer.from(m[2], 'base64'));
  d.setAAD(Buffer.from(aad));
  d.setAuthTag(Buffer.from(m[3], 'base64'));
  return { text: Buffer.concat([d.update(Buffer.from(m[1], 'base64')), d.final()]).toString('utf8'), type: m[4] };
};

/** sops seeds a MAC over encrypted values only with sha256("sops"), so it never equals the MAC over all values. */
const newMac = (macOnlyEncrypted: boolean) => {
  const hash = createHash('sha512');
  if (macOnlyEncrypted) hash.update(createHash('sha256').update('sops').digest());
  return hash;
};

const aadOf = (path: string[]) => `${path.join(':')}:`;

const setScalar = (leaf: TLeaf, text: string, type: Scalar['type']) => {
  if (leaf.node) {
    leaf.node.value = text;
    leaf.node.type = type;
    delete (leaf.node as { tag?: string }).tag;
    delete (leaf.node as { format?: string }).format;
  } else {
    // A null value is never encrypted, so a leaf without a node is never written.
    throw new Error('no node to write');
  }
};

const lastModified = (now: Date) => now.toISOString().replace(/\.\d{3}Z$/, 'Z');

/** Encrypts a YAML file as `sops encrypt` does with `rule`; comments and key order survive, aliases are expanded. */
export const encryptYaml = async (plain: string, rule: CreationRule, opts: { now?: Date; file?: string } = {}): Promise<string> => {
  const file = opts.file ?? 'input';
  const parsed = parseSops(plain, file);
  if (!parsed.docs.length) throw new UserError(`${file}: empty: nothing to encrypt`);
  for (const { tree } of parsed.docs) {
    if (tree.items.some((i) => i.kind === 'pair' && i.key === 'sops')) throw new UserError(`${file}: already encrypted (it has a top-level sops key)`);
  }
  const dataKey = randomBytes(32);
  const hash = newMac(rule.macOnlyEncrypted);
  const sel: Selection = SELECTORS.some(([k]) => rule[k]) ? rule : { ...rule, unencryptedSuffix: '_unencrypted' };
  for (const { tree } of parsed.docs) {
    walk(tree, [], [], (item, path, stack) => {
      const isComment = item.kind === 'comment';
      const encrypted = shouldEncrypt(sel, path, stack, isComment);
      if (item.kind === 'comment') {
        if (encrypted && item.line.text !== '') {
          const enc = seal(item.line.text, dataKey, aadOf(path), 'comment');
          if (sel.unencryptedCommentRegex && matches(sel.unencryptedCommentRegex, enc)) {
            throw new UserError(`${file}: an encrypted comment matches unencrypted_comment_regex; make the regex unable to match ENC[...]`);
          }
          item.line.text = enc;
        }
        return;
      }
      const { text, type } = toBytes(item.value as Exclude<GoValue, { type: 'null' }>);
      if (!sel.macOnlyEncrypted || encrypted) hash.update(text);
      if (!encrypted) return;
      if (text === '') setScalar(item, '', 'QUOTE_DOUBLE');
      else setScalar(item, seal(text, dataKey, aadOf(path), type), 'PLAIN');
    });
  }
  writeSlots(parsed.slots);
  const now = lastModified(opts.now ?? new Date());
  const meta: [string, unknown][] = [];
  if (rule.shamirThreshold) meta.push(['shamir_threshold', String(rule.shamirThreshold)]);
  const age: { recipient: string; enc: string }[] = [];
  for (const recipient of rule.recipients) age.push({ recipient, enc: await encryptTo(dataKey, recipient) });
  meta.push(['age', age], ['lastmodified', now], ['mac', seal(hash.digest('hex').toUpperCase(), dataKey, now, 'str')]);
  for (const [key, yamlKey] of SELECTORS) if (sel[key]) meta.push([yamlKey, sel[key]]);
  if (sel.macOnlyEncrypted) meta.push(['mac_only_encrypted', 'true']);
  meta.push(['version', SOPS_VERSION]);
  return parsed.docs
    .map(({ doc, tree }) => {
      // sops writes `<<` quoted: in its tree it is an ordinary key, not a merge.
      for (const item of tree.items) if (item.kind === 'pair' && item.key === '<<') item.keyNode.type = 'QUOTE_DOUBLE';
      quoteMergeKeys(doc);
      if (!isMap(doc.contents)) doc.contents = doc.createNode({}) as any;
      const node = doc.createNode(Object.fromEntries(meta)) as YAMLMap;
      for (const [key, type] of [['lastmodified', 'QUOTE_DOUBLE'], ['mac', 'PLAIN']] as const) (node.get(key, true) as Scalar).type = type;
      for (const entry of (node.get('age', true) as unknown as YAMLSeq).items as YAMLMap[]) (entry.get('enc', true) as Scalar).type = 'BLOCK_LITERAL';
      (doc.contents as YAMLMap).set('sops', node);
      return doc.toString({ lineWidth: 0 });
    })
    .join('');
};

const quoteMergeKeys = (doc: Document) =>
  visit(doc, {
    Pair(_, pair) {
      if (isScalar(pair.key) && pair.key.value === '<<' && !QUOTED.has(String(pair.key.type))) pair.key.type = 'QUOTE_DOUBLE';
    },
  });

// ---------------------------------------------------------------------------------------------------------------
// Reading an encrypted file.

export interface SopsMetadata extends Selection {
  age: { recipient: string; enc: string }[];
  lastmodified: string;
  mac: string;
  version?: string;
  keyGroups: number;
}

/** The `sops` block of the first document, as sops reads it (the default unencrypted_suffix when none is set). */
export const sopsMetadata = (parsed: ParsedSops, file = 'input'): SopsMetadata | undefined => {
  const first = parsed.docs[0];
  const pair = first?.tree.items.find((i): i is TPair => i.kind === 'pair' && i.key === 'sops');
  if (!pair) return undefined;
  const js = (first.doc.contents as YAMLMap).get('sops') as any;
  const m = (typeof js?.toJSON === 'function' ? js.toJSON() : js) ?? {};
  const set = SELECTORS.filter(([, k]) => m[k]);
  if (set.length > 1) throw new UserError(`${file}: sops metadata sets ${set.map(([, k]) => k).join(' and ')}: sops allows only one`);
  const selection: Selection = { macOnlyEncrypted: m.mac_only_encrypted === 'true', ...Object.fromEntries(set.map(([key, k]) => [key, String(m[k])])) };
  if (!set.length) selection.unencryptedSuffix = '_unencrypted';
  const groups: any[] = Array.isArray(m.key_groups) ? m.key_groups : [];
  const age = (groups.length === 1 ? groups[0].age : m.age) ?? [];
  return { ...selection, age: Array.isArray(age) ? age : [], lastmodified: String(m.lastmodified ?? ''), mac: String(m.mac ?? ''), version: m.version, keyGroups: groups.length };
};

/** The tree without the `sops` blocks. */
const dataTrees = (parsed: ParsedSops): TMap[] => parsed.docs.map(({ tree }) => ({ kind: 'map', items: tree.items.filter((i) => !(i.kind === 'pair' && i.key === 'sops')) }));

/** Decrypts a SOPS YAML file with age identities and checks its MAC, as `sops decrypt` does. */
export const decryptYaml = async (encrypted: string, identities: string[], file = 'input'): Promise<string> => {
  const parsed = parseSops(encrypted, file);
  const meta = sopsMetadata(parsed, file);
  if (!meta?.mac) throw new UserError(`${file}: sops metadata not found: the file is not encrypted`);
  if (meta.keyGroups > 1) throw new UserError(`${file}: ${meta.keyGroups} key groups (Shamir): only the sops binary decrypts it`);
  let dataKey: Buffer | undefined;
  for (const entry of meta.age) {
    const key = await decryptWith(String(entry?.enc ?? ''), identities);
    if (key) {
      dataKey = Buffer.from(key);
      break;
    }
  }
  if (!dataKey) throw new UserError(`${file}: none of the age identities opens this file`);
  const hash = newMac(meta.macOnlyEncrypted);
  const trees = dataTrees(parsed);
  for (const tree of trees) {
    walk(tree, [], [], (item, path, stack) => {
      const encrypted = shouldEncrypt(meta, path, stack, item.kind === 'comment');
      if (item.kind === 'comment') {
        // As sops: a comment that does not decrypt was written before comments were encrypted, and stays.
        if (encrypted && item.line.text !== '') {
          try {
            item.line.text = open(item.line.text, dataKey!, aadOf(path)).text;
          } catch {
            // kept as it is
          }
        }
        return;
      }
      let value = item.value;
      if (encrypted) {
        if (value.type !== 'str') throw new UserError(`${file}: ${keyPath(path)} is not encrypted although the file's sops metadata says it must be`);
        if (value.text !== '') {
          let opened;
          try {
            opened = open(value.text, dataKey!, aadOf(path));
          } catch {
            throw new UserError(`${file}: ${keyPath(path)} does not decrypt (wrong key, a value moved, or a tampered file)`);
          }
          try {
            value = fromBytes(opened.text, opened.type);
          } catch (e) {
            throw new UserError(`${file}: ${keyPath(path)}: ${(e as Error).message}`);
          }
        }
      }
      if (!meta.macOnlyEncrypted || encrypted) hash.update(toBytes(value as Exclude<GoValue, { type: 'null' }>).text);
      if (encrypted) writePlain(item, value);
    });
  }
  let mac: string;
  try {
    mac = open(meta.mac, dataKey, meta.lastmodified).text;
  } catch {
    throw new UserError(`${file}: the MAC does not decrypt: the sops metadata was tampered with`);
  }
  const computed = hash.digest('hex').toUpperCase();
  if (mac !== computed) throw new UserError(`${file}: MAC mismatch: the file was changed after it was encrypted`);
  writeSlots(parsed.slots);
  return parsed.docs
    .map(({ doc }) => {
      if (isMap(doc.contents)) doc.contents.delete('sops');
      return doc.toString({ lineWidth: 0 });
    })
    .join('');
};

/** A decrypted value written as yaml.v3 writes it. */
const writePlain = (leaf: TLeaf, value: GoValue) => {
  switch (value.type) {
    case 'str':
      return setScalar(leaf, value.text, value.text.includes('\n') ? 'BLOCK_LITERAL' : goQuotes(value.text) ? 'QUOTE_DOUBLE' : 'PLAIN');
    case 'int':
      return setScalar(leaf, value.value.toString(), 'PLAIN');
    case 'float':
      return setScalar(leaf, formatFloatG(value.value), 'PLAIN');
    case 'bool':
      return setScalar(leaf, String(value.value), 'PLAIN');
    case 'time':
      return setScalar(leaf, value.text, 'PLAIN');
    case 'null':
      return undefined;
  }
};

// ---------------------------------------------------------------------------------------------------------------
// The plaintext guard: what an encrypted (or to-be-encrypted) file shows in clear that sops would have encrypted.

export interface Plaintext {
  path: string;
  what: 'value' | 'comment';
}

/** Values and comments that `selection` says are encrypted but are not ENC[...] (nulls and empty strings never are). */
export const plaintextIn = (parsed: ParsedSops, selection: Selection, opts: { comments: boolean }): Plaintext[] => {
  const out: Plaintext[] = [];
  for (const tree of dataTrees(parsed)) {
    walk(tree, [], [], (item, path, stack) => {
      if (!shouldEncrypt(selection, path, stack, item.kind === 'comment')) return;
      if (item.kind === 'comment') {
        if (opts.comments && item.line.text !== '' && !ENC.test(item.line.text)) out.push({ path: keyPath(path), what: 'comment' });
        return;
      }
      const v = item.value;
      if (v.type === 'str' && (v.text === '' || ENC.test(v.text))) return;
      out.push({ path: keyPath(path), what: 'value' });
    });
  }
  return out;
};

/** The string values `selection` says are encrypted, with their key paths (for a template's placeholders). */
export const plainValues = (parsed: ParsedSops, selection: Selection): { path: string; text: string }[] => {
  const out: { path: string; text: string }[] = [];
  for (const tree of dataTrees(parsed)) {
    walk(tree, [], [], (item, path, stack) => {
      if (item.kind === 'leaf' && shouldEncrypt(selection, path, stack)) {
        const { text } = toBytes(item.value as Exclude<GoValue, { type: 'null' }>);
        if (text !== '' && !ENC.test(text)) out.push({ path: keyPath(path), text });
      }
    });
  }
  return out;
};

export type { GoValue };
