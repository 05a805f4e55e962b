// SOPS (YAML store, AES256_GCM values, age data key): what `sops --encrypt` and `sops --decrypt` do to one
// file, for a machine without the sops binary. The `.sops.yaml` creation rules decide what is encrypted.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isMap, isScalar, isSeq, parse, parseDocument, type Document, type Node } from 'yaml';
import * as age from './age.ts';
import { UserError } from './errors.ts';

/** The format written: SOPS 3.10's YAML store. */
export const SOPS_VERSION = '3.10.2';

export interface CreationRule {
  recipients: string[];
  encryptedRegex?: string;
  macOnlyEncrypted: boolean;
}

/** The first `.sops.yaml` creation rule whose path_regex matches the repository-relative path, as sops picks it. */
export const creationRule = (repoRoot: string, path: string): CreationRule => {
  const file = join(repoRoot, '.sops.yaml');
  if (!existsSync(file)) throw new UserError(`${file}: missing; SOPS needs its creation rules`);
  const config = parse(readFileSync(file, 'utf8'));
  const rule = (config?.creation_rules ?? []).find((r: any) => !r.path_regex || new RegExp(r.path_regex).test(path));
  if (!rule) throw new UserError(`.sops.yaml: no creation rule matches ${path}`);
  const recipients = (Array.isArray(rule.age) ? rule.age : String(rule.age ?? '').split(','))
    .map((r: string) => r.trim())
    .filter(Boolean);
  if (!recipients.length) throw new UserError(`.sops.yaml: the rule for ${path} has no age recipients`);
  return { recipients, encryptedRegex: rule.encrypted_regex, macOnlyEncrypted: rule.mac_only_encrypted === true };
};

type Leaf = { node: Node & { value: unknown }; path: string[] };

/** Every scalar value outside `sops`, in document order, with the keys that lead to it (list items add none). */
export const leaves = (doc: Document): Leaf[] => {
  const out: Leaf[] = [];
  const visit = (node: unknown, path: string[]) => {
    if (isMap(node)) {
      for (const pair of node.items) {
        const key = String(isScalar(pair.key) ? pair.key.value : pair.key);
        if (path.length === 0 && key === 'sops') continue;
        visit(pair.value, [...path, key]);
      }
    } else if (isSeq(node)) {
      for (const item of node.items) visit(item, path);
    } else if (isScalar(node)) {
      out.push({ node: node as Leaf['node'], path });
    }
  };
  visit(doc.contents, []);
  return out;
};

/** sops' rule for one value: a key on its path matches encrypted_regex, or (without one) none ends in _unencrypted. */
export const shouldEncrypt = (path: string[], regex?: string): boolean =>
  regex ? path.some((k) => new RegExp(regex).test(k)) : !path.some((k) => k.endsWith('_unencrypted'));

/** sops' ToBytes: how a value enters the MAC and the cipher. */
const toBytes = (value: unknown): { text: string; type: string } => {
  if (typeof value === 'string') return { text: value, type: 'str' };
  if (typeof value === 'boolean') return { text: value ? 'True' : 'False', type: 'bool' };
  if (typeof value === 'number') return Number.isInteger(value) ? { text: String(value), type: 'int' } : { text: String(value), type: 'float' };
  throw new UserError(`sops: cannot encrypt a ${value === null ? 'null' : typeof value} value`);
};

export const ENC = /^ENC\[AES256_GCM,data:([^,]*),iv:([^,]*),tag:([^,]*),type:(str|int|float|bool|bytes|comment)\]$/;

const seal = (text: string, key: Buffer, aad: string, type: string): string => {
  const iv = randomBytes(32);
  const c = createCipheriv('aes-256-gcm', key, iv);
  c.setAAD(Buffer.from(aad));
  const data = Buffer.concat([c.update(text, 'utf8'), c.final()]);
  return `ENC[AES256_GCM,data:${data.toString('base64')},iv:${iv.toString('base64')},tag:${c.getAuthTag().toString('base64')},type:${type}]`;
};

const open = (value: string, key: Buffer, aad: string): { text: string; type: string } => {
  const m = ENC.exec(value);
  if (!m) throw new UserError('sops: not an encrypted value');
  const d = createDecipheriv('aes-256-gcm', key, Buffer.from(m[2], 'base64'));
  d.setAAD(Buffer.from(aad));
  d.setAuthTag(Buffer.from(m[3], 'base64'));
  try {
    return { text: Buffer.concat([d.update(Buffer.from(m[1], 'base64')), d.final()]).toString('utf8'), type: m[4] };
  } catch {
    throw new UserError(`sops: a value at ${aad} does not decrypt (wrong key or tampered file)`);
  }
};

/** sops seeds a MAC over encrypted values only with sha256("sops"), so it never equals the MAC over all values. */
const newMac = (macOnlyEncrypted: boolean) => {
  const hash = createHash('sha512');
  if (macOnlyEncrypted) hash.update(createHash('sha256').update('sops').digest());
  return hash;
};

const fromBytes = (text: string, type: string): unknown =>
  type === 'int' ? Number.parseInt(text, 10) : type === 'float' ? Number.parseFloat(text) : type === 'bool' ? text === 'True' : text;

/** Encrypts a YAML document as `sops --encrypt` does with `rule`; comments and key order survive. */
export const encryptYaml = (plain: string, rule: CreationRule, now = new Date()): string => {
  const doc = parseDocument(plain);
  if (doc.errors.length) throw new UserError(`sops: invalid YAML: ${doc.errors[0].message.split('\n')[0]}`);
  if (isMap(doc.contents) && doc.contents.has('sops')) throw new UserError('sops: the document is already encrypted');
  const dataKey = randomBytes(32);
  const hash = newMac(rule.macOnlyEncrypted);
  for (const { node, path } of leaves(doc)) {
    // Nulls are neither encrypted nor in the MAC; an empty string stays empty (sops' cipher skips it).
    if (node.value === null) continue;
    const encrypted = shouldEncrypt(path, rule.encryptedRegex);
    const { text, type } = toBytes(node.value);
    if (!rule.macOnlyEncrypted || encrypted) hash.update(text);
    if (encrypted && text !== '') {
      node.value = seal(text, dataKey, `${path.join(':')}:`, type);
      (node as any).type = 'PLAIN';
    }
  }
  const lastmodified = now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const sops: Record<string, unknown> = {
    age: rule.recipients.map((recipient) => ({ recipient, enc: age.encrypt(dataKey, [recipient]) })),
    lastmodified,
    mac: seal(hash.digest('hex').toUpperCase(), dataKey, lastmodified, 'str'),
  };
  if (rule.encryptedRegex) sops.encrypted_regex = rule.encryptedRegex;
  else sops.unencrypted_suffix = '_unencrypted';
  if (rule.macOnlyEncrypted) sops.mac_only_encrypted = true;
  sops.version = SOPS_VERSION;
  const node = doc.createNode(sops);
  // As sops writes it: a timestamp YAML 1.1 readers would otherwise turn into a date.
  (node.get('lastmodified', true) as any).type = 'QUOTE_DOUBLE';
  (doc.contents as any).set('sops', node);
  return doc.toString({ lineWidth: 0 });
};

/** Decrypts a SOPS YAML document with age identities and checks its MAC, as `sops --decrypt` does. */
export const decryptYaml = (encrypted: string, identities: Buffer[]): string => {
  const doc = parseDocument(encrypted);
  const meta = (doc.toJS() ?? {}).sops;
  if (!meta?.mac) throw new UserError('sops: no sops metadata: the file is not encrypted');
  let dataKey: Buffer | undefined;
  for (const entry of meta.age ?? []) {
    try {
      dataKey = age.decrypt(entry.enc, identities);
      break;
    } catch {
      // another recipient's entry
    }
  }
  if (!dataKey) throw new UserError('sops: none of the age identities opens this file');
  const hash = newMac(meta.mac_only_encrypted === true);
  for (const { node, path } of leaves(doc)) {
    const value = node.value;
    if (value === null) continue;
    const encrypted = shouldEncrypt(path, meta.encrypted_regex);
    const { text, type } = encrypted && value !== '' ? open(String(value), dataKey, `${path.join(':')}:`) : toBytes(value);
    if (!meta.mac_only_encrypted || encrypted) hash.update(text);
    if (encrypted) node.value = fromBytes(text, type);
  }
  const mac = open(meta.mac, dataKey, String(meta.lastmodified)).text;
  if (mac !== hash.digest('hex').toUpperCase()) throw new UserError('sops: MAC mismatch: the file was changed after it was encrypted');
  (doc.contents as any).delete('sops');
  return doc.toString({ lineWidth: 0 });
};
