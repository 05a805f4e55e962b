// SOPS (YAML store, AES256_GCM values, age data key): what `sops encrypt` and `sops decrypt` do to a file, for a
// machine without the sops binary. The file is read as sops reads it (Go's yaml.v3, its comments and strconv
// rules, through ./sops-tree.ts); values and comments are replaced where they are written, so its layout is
// kept, except that aliases are written out, as sops writes them.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RE2JS } from 're2js';
import { Document, isMap, parse, type Pair, type Scalar, type YAMLMap, type YAMLSeq } from 'yaml';
import { checkRecipient, decryptWith, encryptTo } from './age-keys.ts';
import { contain, escapeText } from './contain.ts';
import { UserError } from './errors.ts';
import { ENC } from './sops-enc.ts';
import { keyPath, MAX_ALIAS_COUNT, MAX_SOPS_BYTES, parseSops, writeTree, type CommentLine, type Edit, type ParsedSops, type TComment, type TLeaf, type TMap, type TPair, type TSeq, type TValue } from './sops-tree.ts';
import { fromBytes, toBytes, type GoValue } from './sops-values.ts';

/** The format written: SOPS 3.10's YAML store. */
export const SOPS_VERSION = '3.10.2';
export { MAX_ALIAS_COUNT, MAX_SOPS_BYTES, parseSops };
export type { ParsedSops, SopsDocument, TComment, TLeaf, TMap, TPair, TSeq, TValue } from './sops-tree.ts';

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

/** A selection as sops applies it: a rule that sets none of the six options leaves `*_unencrypted` keys in clear. */
const effective = <S extends Selection>(s: S): S => (SELECTORS.some(([k]) => s[k]) ? s : { ...s, unencryptedSuffix: '_unencrypted' });

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

const lastModified = (now: Date) => now.toISOString().replace(/\.\d{3}Z$/, 'Z');

/** The tree as a text that differs whenever a value, a comment or where a comment sits differs. */
const signature = (parsed: ParsedSops): string => {
  const sig = (v: TValue): unknown => {
    if (v.kind === 'leaf') return v.cipher !== undefined ? ['str', v.cipher] : v.value.type === 'null' ? null : [v.value.type, toBytes(v.value).text];
    return v.items.map((i) => (i.kind === 'comment' ? `#${i.line.text}` : i.kind === 'pair' ? [i.key, sig(i.value)] : sig(i)));
  };
  return JSON.stringify(parsed.docs.map(({ tree }) => sig({ kind: 'map', items: tree.items.filter((i) => !(i.kind === 'pair' && i.key === 'sops')) })));
};

/** A comment inside what an alias repeats, if there is one. */
const copiedComment = (parsed: ParsedSops) => {
  let found: CommentLine | undefined;
  for (const { tree } of parsed.docs) walk(tree, [], [], (item) => (found ??= item.kind === 'comment' && item.line.copy ? item.line : undefined));
  return found?.source;
};

/** The `sops` block sops appends to each document, as sops writes it. */
const metadataBlock = (meta: [string, unknown][], eol: string): string => {
  const doc = new Document({ sops: Object.fromEntries(meta) }, { schema: 'failsafe' });
  const node = (doc.contents as YAMLMap).get('sops', true) as unknown as YAMLMap;
  for (const [key, type] of [['lastmodified', 'QUOTE_DOUBLE'], ['mac', 'PLAIN']] as const) (node.get(key, true) as Scalar).type = type;
  for (const entry of (node.get('age', true) as unknown as YAMLSeq).items as YAMLMap[]) (entry.get('enc', true) as Scalar).type = 'BLOCK_LITERAL';
  return doc.toString({ lineWidth: 0 }).replace(/\n/g, eol);
};

/**
 * The encrypted file: every value and comment replaced in place, aliases written out, and a `sops` block added to
 * each document, at its end where yaml.v3 still reads every comment where it was, else before its first key, else
 * at its start. The result is read back as sops reads it and must give the same tree.
 */
const writeEncrypted = (parsed: ParsedSops, block: string, file: string): string => {
  const want = signature(parsed);
  const eol = parsed.text.includes('\r\n') ? '\r\n' : '\n';
  const at = (offset: number): Edit => ({ start: offset, end: offset, text: `${offset > 0 && !/\n$/.test(parsed.text.slice(0, offset)) ? eol : ''}${block}` });
  const places = [parsed.docs.map((d) => at(d.end)), parsed.docs.map((d) => at(d.firstKey ?? d.end)), parsed.docs.map((d) => at(d.start))];
  let first: ParsedSops | undefined;
  for (const [edits, aliases] of (['block', 'flow'] as const).flatMap((style) => places.map((p) => [p, style] as const))) {
    if (aliases === 'flow' && !parsed.aliases) break;
    const text = writeTree(parsed, edits, aliases);
    try {
      const written = parseSops(text, file);
      if (signature(written) === want) return text;
      first ??= written;
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
    }
  }
  const moved = first && movedComment(parsed, first);
  throw new UserError(`${file}${moved ? `:${moved}` : ''}: the toolkit cannot add the sops block so that sops reads ${moved ? 'this comment' : 'every comment'} back where it was; use the sops binary`);
};

/** Each comment with where it sits: its document, branch and place among the branch's items (no sops block). */
const commentPlaces = (parsed: ParsedSops) => {
  const out: { where: string; text: string; line: number }[] = [];
  const visit = (items: TMap['items'] | TSeq['items'], where: string) =>
    items.forEach((item, n) => {
      if (item.kind === 'comment') out.push({ where: `${where}/${n}`, text: item.line.text, line: item.line.source.line + 1 });
      else if (item.kind !== 'leaf') visit(item.kind === 'pair' ? (item.value.kind === 'leaf' ? [] : item.value.items) : item.items, `${where}/${n}`);
    });
  dataTrees(parsed).forEach((tree, d) => visit(tree.items, `${d}`));
  return out;
};

/** The line of the first comment `written` reads somewhere else than `parsed` does. */
const movedComment = (parsed: ParsedSops, written: ParsedSops): number | undefined => {
  const got = commentPlaces(written);
  return commentPlaces(parsed).find((c) => {
    const i = got.findIndex((g) => g.text === c.text);
    return i < 0 || got.splice(i, 1)[0].where !== c.where;
  })?.line;
};

/** Encrypts a YAML file as `sops encrypt` does with `rule`; comments and key order survive, aliases are expanded. */
export const encryptYaml = async (plain: string, rule: CreationRule, opts: { now?: Date; file?: string } = {}): Promise<string> => {
  const file = opts.file ?? 'input';
  const parsed = parseSops(plain, file);
  if (!parsed.docs.length) throw new UserError(`${file}: empty: nothing to encrypt`);
  for (const { tree, flow } of parsed.docs) {
    if (tree.items.some((i) => i.kind === 'pair' && i.key === 'sops')) throw new UserError(`${file}: already encrypted (it has a top-level sops key)`);
    if (flow) throw new UserError(`${file}: a top-level flow mapping ({...}): write it as a block mapping so the sops block can be added`);
  }
  if (parsed.lost.length) {
    const lost = parsed.lost[0];
    throw new UserError(`${file}:${lost.line + 1}: sops drops this comment (Go's yaml.v3 loses it where it is); move it or delete it`);
  }
  const repeated = copiedComment(parsed);
  if (repeated) {
    throw new UserError(`${file}:${repeated.line + 1}: an alias repeats this comment, which sops writes again with the copy and the toolkit cannot; write the repeated block out instead of the alias`);
  }
  const dataKey = randomBytes(32);
  const hash = newMac(rule.macOnlyEncrypted);
  const sel = effective(rule);
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
      if (encrypted) item.cipher = text === '' ? '' : seal(text, dataKey, aadOf(path), type);
    });
  }
  const now = lastModified(opts.now ?? new Date());
  const meta: [string, unknown][] = [];
  if (rule.shamirThreshold) meta.push(['shamir_threshold', String(rule.shamirThreshold)]);
  const age: { recipient: string; enc: string }[] = [];
  for (const recipient of rule.recipients) age.push({ recipient, enc: await encryptTo(dataKey, recipient) });
  meta.push(['age', age], ['lastmodified', now], ['mac', seal(hash.digest('hex').toUpperCase(), dataKey, now, 'str')]);
  for (const [key, yamlKey] of SELECTORS) if (sel[key]) meta.push([yamlKey, sel[key]]);
  if (sel.macOnlyEncrypted) meta.push(['mac_only_encrypted', 'true']);
  meta.push(['version', SOPS_VERSION]);
  return writeEncrypted(parsed, metadataBlock(meta, plain.includes('\r\n') ? '\r\n' : '\n'), file);
};

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

/** Where each document's `sops` block is written, whole lines, to take it out. */
const metadataEdits = (parsed: ParsedSops): Edit[] =>
  parsed.docs.flatMap(({ doc }) => {
    const pair = isMap(doc.contents) ? (doc.contents.items as Pair[]).find((p) => (p.key as Scalar | null)?.value === 'sops') : undefined;
    const start = (pair?.key as Scalar | undefined)?.range?.[0];
    const valueEnd = (pair?.value as Scalar | undefined)?.range?.[1];
    if (start === undefined || valueEnd === undefined) return [];
    const text = parsed.text;
    const lineEnd = text.slice(valueEnd - 1).search(/\n/);
    return [{ start: text.lastIndexOf('\n', start - 1) + 1, end: lineEnd < 0 ? text.length : valueEnd + lineEnd, text: '' }];
  });

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
      if (encrypted) {
        item.value = value;
        item.rewrite = true;
      }
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
  return writeTree(parsed, metadataEdits(parsed));
};

// ---------------------------------------------------------------------------------------------------------------
// The plaintext guard: what an encrypted (or to-be-encrypted) file shows in clear that sops would have encrypted.

export interface Plaintext {
  path: string;
  what: 'value' | 'comment';
  /** The line of the file it is on. */
  line: number;
}

/** Values and comments that `selection` says are encrypted but are not ENC[...] (nulls and empty strings never are). */
export const plaintextIn = (parsed: ParsedSops, rule: Selection, opts: { comments: boolean }): Plaintext[] => {
  const selection = effective(rule);
  const out: Plaintext[] = [];
  for (const tree of dataTrees(parsed)) {
    walk(tree, [], [], (item, path, stack) => {
      if (!shouldEncrypt(selection, path, stack, item.kind === 'comment')) return;
      if (item.kind === 'comment') {
        if (opts.comments && item.line.text !== '' && !ENC.test(item.line.text)) out.push({ path: keyPath(path), what: 'comment', line: item.line.source.line + 1 });
        return;
      }
      const v = item.value;
      if (v.type === 'str' && (v.text === '' || ENC.test(v.text))) return;
      out.push({ path: keyPath(path), what: 'value', line: item.line });
    });
  }
  return out.sort((a, b) => a.line - b.line);
};

/** The string values `selection` says are encrypted, with their key paths (for a template's placeholders). */
export const plainValues = (parsed: ParsedSops, rule: Selection): { path: string; text: string; line: number }[] => {
  const selection = effective(rule);
  const out: { path: string; text: string; line: number }[] = [];
  for (const tree of dataTrees(parsed)) {
    walk(tree, [], [], (item, path, stack) => {
      if (item.kind === 'leaf' && shouldEncrypt(selection, path, stack)) {
        const { text } = toBytes(item.value as Exclude<GoValue, { type: 'null' }>);
        if (text !== '' && !ENC.test(text)) out.push({ path: keyPath(path), text, line: item.line });
      }
    });
  }
  return out;
};

export type { GoValue };
