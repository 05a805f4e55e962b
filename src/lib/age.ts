// age v1 (age-encryption.org/v1) with X25519 recipients, enough for SOPS data keys: sops and age are not
// installable here, and Node's crypto has every primitive the format needs.
import { createCipheriv, createDecipheriv, createHmac, createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync, randomBytes, timingSafeEqual, type KeyObject } from 'node:crypto';
import { UserError } from './errors.ts';

const CHARSET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
const GENERATOR = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];

const polymod = (values: number[]): number => {
  let chk = 1;
  for (const v of values) {
    const top = chk >>> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ v;
    for (let i = 0; i < 5; i++) if ((top >>> i) & 1) chk ^= GENERATOR[i];
  }
  return chk;
};

const hrpExpand = (hrp: string): number[] => [...[...hrp].map((c) => c.charCodeAt(0) >>> 5), 0, ...[...hrp].map((c) => c.charCodeAt(0) & 31)];

const convertBits = (data: Iterable<number>, from: number, to: number, pad: boolean): number[] => {
  let acc = 0;
  let bits = 0;
  const out: number[] = [];
  for (const value of data) {
    acc = (acc << from) | value;
    bits += from;
    while (bits >= to) {
      bits -= to;
      out.push((acc >>> bits) & ((1 << to) - 1));
    }
  }
  if (pad && bits > 0) out.push((acc << (to - bits)) & ((1 << to) - 1));
  else if (!pad && (bits >= from || ((acc << (to - bits)) & ((1 << to) - 1)))) throw new Error('invalid padding');
  return out;
};

/** Bech32 (BIP 173, without the 90-character limit, as age uses it). */
export const bech32Decode = (text: string): { hrp: string; bytes: Buffer } => {
  const s = text.toLowerCase();
  const sep = s.lastIndexOf('1');
  if (text !== s && text !== text.toUpperCase()) throw new Error('mixed case');
  if (sep < 1 || sep + 7 > s.length) throw new Error('no separator');
  const hrp = s.slice(0, sep);
  const data = [...s.slice(sep + 1)].map((c) => {
    const i = CHARSET.indexOf(c);
    if (i < 0) throw new Error(`invalid character ${c}`);
    return i;
  });
  if (polymod([...hrpExpand(hrp), ...data]) !== 1) throw new Error('bad checksum');
  return { hrp, bytes: Buffer.from(convertBits(data.slice(0, -6), 5, 8, false)) };
};

export const bech32Encode = (hrp: string, bytes: Buffer): string => {
  const data = convertBits(bytes, 8, 5, true);
  const mod = polymod([...hrpExpand(hrp), ...data, 0, 0, 0, 0, 0, 0]) ^ 1;
  const checksum = [0, 1, 2, 3, 4, 5].map((i) => (mod >>> (5 * (5 - i))) & 31);
  return `${hrp}1${[...data, ...checksum].map((d) => CHARSET[d]).join('')}`;
};

// DER prefixes that wrap a raw 32-byte X25519 key for Node's KeyObject.
const SPKI = Buffer.from('302a300506032b656e032100', 'hex');
const PKCS8 = Buffer.from('302e020100300506032b656e04220420', 'hex');
const publicKeyObject = (raw: Buffer): KeyObject => createPublicKey({ key: Buffer.concat([SPKI, raw]), format: 'der', type: 'spki' });
const privateKeyObject = (raw: Buffer): KeyObject => createPrivateKey({ key: Buffer.concat([PKCS8, raw]), format: 'der', type: 'pkcs8' });
const rawPublic = (key: KeyObject): Buffer => key.export({ format: 'der', type: 'spki' }).subarray(SPKI.length);

export const parseRecipient = (recipient: string): Buffer => {
  try {
    const { hrp, bytes } = bech32Decode(recipient.trim());
    if (hrp === 'age' && bytes.length === 32) return bytes;
  } catch {
    // reported below
  }
  throw new UserError(`not an age X25519 recipient: ${recipient.slice(0, 12)}...`);
};

const parseIdentity = (identity: string): Buffer => {
  try {
    const { hrp, bytes } = bech32Decode(identity.trim());
    if (hrp === 'age-secret-key-' && bytes.length === 32) return bytes;
  } catch {
    // reported below
  }
  throw new UserError('not an age X25519 identity (AGE-SECRET-KEY-1...)');
};

/** The identities in a keys.txt: one AGE-SECRET-KEY-1... per line, comments allowed. */
export const parseIdentities = (text: string): Buffer[] =>
  text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map(parseIdentity);

/** A new identity and its recipient, as `age-keygen` prints them. */
export const generateIdentity = (): { identity: string; recipient: string } => {
  const { privateKey, publicKey } = generateKeyPairSync('x25519');
  const secret = privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(PKCS8.length);
  return { identity: bech32Encode('age-secret-key-', secret).toUpperCase(), recipient: bech32Encode('age', rawPublic(publicKey)) };
};

const b64raw = (b: Buffer): string => b.toString('base64').replace(/=+$/, '');
const hkdf = (ikm: Buffer, salt: Buffer, info: string): Buffer => Buffer.from(hkdfSync('sha256', ikm, salt, info, 32));

const chacha = (key: Buffer, nonce: Buffer, plain: Buffer): Buffer => {
  const c = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
  return Buffer.concat([c.update(plain), c.final(), c.getAuthTag()]);
};

const unchacha = (key: Buffer, nonce: Buffer, sealed: Buffer): Buffer => {
  const d = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
  d.setAuthTag(sealed.subarray(sealed.length - 16));
  return Buffer.concat([d.update(sealed.subarray(0, sealed.length - 16)), d.final()]);
};

const X25519_INFO = 'age-encryption.org/v1/X25519';
const CHUNK = 64 * 1024;

const payloadNonce = (counter: number, last: boolean): Buffer => {
  const n = Buffer.alloc(12);
  n.writeUIntBE(counter, 5, 6);
  n[11] = last ? 1 : 0;
  return n;
};

/** Encrypts to X25519 recipients; the result is ASCII-armored, as `age --armor` and SOPS write it. */
export const encrypt = (plain: Buffer, recipients: string[]): string => {
  const fileKey = randomBytes(16);
  let header = 'age-encryption.org/v1\n';
  for (const recipient of recipients) {
    const theirs = parseRecipient(recipient);
    const ephemeral = generateKeyPairSync('x25519');
    const share = rawPublic(ephemeral.publicKey);
    const shared = diffieHellman({ privateKey: ephemeral.privateKey, publicKey: publicKeyObject(theirs) });
    const wrapKey = hkdf(shared, Buffer.concat([share, theirs]), X25519_INFO);
    header += `-> X25519 ${b64raw(share)}\n${wrapBody(b64raw(chacha(wrapKey, Buffer.alloc(12), fileKey)))}\n`;
  }
  header += '---';
  const mac = createHmac('sha256', hkdf(fileKey, Buffer.alloc(0), 'header')).update(header).digest();
  const nonce = randomBytes(16);
  const payloadKey = hkdf(fileKey, nonce, 'payload');
  const chunks: Buffer[] = [];
  for (let i = 0, at = 0; ; i++, at += CHUNK) {
    const last = at + CHUNK >= plain.length;
    chunks.push(chacha(payloadKey, payloadNonce(i, last), plain.subarray(at, at + CHUNK)));
    if (last) break;
  }
  return armor(Buffer.concat([Buffer.from(`${header} ${b64raw(mac)}\n`), nonce, ...chunks]));
};

/** Stanza bodies are wrapped at 64 columns; a body of exactly 64n characters ends with an empty line. */
const wrapBody = (b64: string): string => {
  const lines = b64.match(/.{1,64}/g) ?? [''];
  return lines.length && lines[lines.length - 1].length === 64 ? [...lines, ''].join('\n') : lines.join('\n');
};

const armor = (bytes: Buffer): string =>
  ['-----BEGIN AGE ENCRYPTED FILE-----', ...(bytes.toString('base64').match(/.{1,64}/g) ?? []), '-----END AGE ENCRYPTED FILE-----', ''].join('\n');

const dearmor = (text: string): Buffer => {
  const lines = text.trim().split('\n').map((l) => l.trim());
  if (lines[0] !== '-----BEGIN AGE ENCRYPTED FILE-----' || lines[lines.length - 1] !== '-----END AGE ENCRYPTED FILE-----') {
    throw new UserError('not an armored age file');
  }
  return Buffer.from(lines.slice(1, -1).join(''), 'base64');
};

/** Decrypts an armored age file with the first identity that opens one of its X25519 stanzas. */
export const decrypt = (armored: string, identities: Buffer[]): Buffer => {
  const bytes = dearmor(armored);
  const end = bytes.indexOf('\n---');
  if (!bytes.subarray(0, 22).equals(Buffer.from('age-encryption.org/v1\n')) || end < 0) throw new UserError('not an age v1 file');
  const macLineEnd = bytes.indexOf('\n', end + 1);
  const headerText = bytes.subarray(0, end + 4).toString();
  const mac = Buffer.from(bytes.subarray(end + 5, macLineEnd).toString(), 'base64');
  const lines = headerText.split('\n').slice(1, -1);
  const stanzas: { args: string[]; body: string }[] = [];
  for (let i = 0; i < lines.length; ) {
    const args = lines[i++].split(' ');
    if (args[0] !== '->') throw new UserError('malformed age header');
    let body = '';
    for (;;) {
      const line = lines[i++] ?? '';
      body += line;
      if (line.length < 64) break;
    }
    stanzas.push({ args: args.slice(1), body });
  }
  let fileKey: Buffer | undefined;
  for (const { args, body } of stanzas.filter((s) => s.args[0] === 'X25519')) {
    const share = Buffer.from(args[1], 'base64');
    for (const secret of identities) {
      const ours = rawPublic(createPublicKey(privateKeyObject(secret)));
      const shared = diffieHellman({ privateKey: privateKeyObject(secret), publicKey: publicKeyObject(share) });
      try {
        fileKey = unchacha(hkdf(shared, Buffer.concat([share, ours]), X25519_INFO), Buffer.alloc(12), Buffer.from(body, 'base64'));
        break;
      } catch {
        // not this identity
      }
    }
    if (fileKey) break;
  }
  if (!fileKey) throw new UserError('no identity matched any of the file\'s recipients');
  const expected = createHmac('sha256', hkdf(fileKey, Buffer.alloc(0), 'header')).update(headerText).digest();
  if (expected.length !== mac.length || !timingSafeEqual(expected, mac)) throw new UserError('age header MAC mismatch');
  const nonce = bytes.subarray(macLineEnd + 1, macLineEnd + 17);
  const payloadKey = hkdf(fileKey, nonce, 'payload');
  const sealed = bytes.subarray(macLineEnd + 17);
  const out: Buffer[] = [];
  for (let i = 0, at = 0; at < sealed.length || i === 0; i++, at += CHUNK + 16) {
    const chunk = sealed.subarray(at, at + CHUNK + 16);
    out.push(unchacha(payloadKey, payloadNonce(i, at + CHUNK + 16 >= sealed.length), chunk));
  }
  return Buffer.concat(out);
};
