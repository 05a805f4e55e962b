// The toolkit's SOPS (age, AES256_GCM values, MAC): sops itself is not installable here. Each test could fail
// on a wrong byte: the decryptor checks every GCM tag, the age header MAC and the SOPS MAC.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { bech32Decode, bech32Encode, decrypt, encrypt, generateIdentity, parseIdentities } from '../src/lib/age.ts';
import { decryptYaml, encryptYaml, type CreationRule } from '../src/lib/sops.ts';

const test = suite('sops and age');
const me = generateIdentity();
const other = generateIdentity();
const ids = parseIdentities(`# created: test\n${me.identity}\n`);

const SECRET = `# yaml-language-server: $schema=secret-v1.json
apiVersion: v1
kind: Secret
metadata:
  name: demo # the name stays readable
type: Opaque
stringData:
  token: s3cr3t
  empty: ""
  list:
    - one
    - 2
  flag: true
`;
const valuesOnly: CreationRule = { recipients: [me.recipient], encryptedRegex: '^(data|stringData)$', macOnlyEncrypted: true };
const whole: CreationRule = { recipients: [me.recipient, other.recipient], macOnlyEncrypted: false };

test('bech32 round-trips age keys and refuses a bad checksum', () => {
  const { hrp, bytes } = bech32Decode(me.recipient);
  assert.is(hrp, 'age');
  assert.is(bytes.length, 32);
  assert.is(bech32Encode('age', bytes), me.recipient);
  const broken = me.recipient.slice(0, -1) + (me.recipient.endsWith('q') ? 'p' : 'q');
  assert.throws(() => bech32Decode(broken), /checksum/);
});

test('age encrypts to each recipient, armored, and only their identities open it', () => {
  const armored = encrypt(Buffer.from('data key'), [me.recipient, other.recipient]);
  assert.match(armored, /^-----BEGIN AGE ENCRYPTED FILE-----\n[A-Za-z0-9+/=\n]+-----END AGE ENCRYPTED FILE-----\n$/);
  assert.is(decrypt(armored, ids).toString(), 'data key');
  assert.is(decrypt(armored, parseIdentities(other.identity)).toString(), 'data key');
  assert.throws(() => decrypt(armored, parseIdentities(generateIdentity().identity)), /no identity matched/);
});

test('age handles payloads across its 64 KiB chunks, and a flipped bit fails', () => {
  const big = Buffer.alloc(64 * 1024 * 2 + 17, 7);
  const armored = encrypt(big, [me.recipient]);
  assert.ok(decrypt(armored, ids).equals(big));
  const bytes = Buffer.from(armored.split('\n').slice(1, -2).join(''), 'base64');
  bytes[bytes.length - 100] ^= 1;
  const tampered = ['-----BEGIN AGE ENCRYPTED FILE-----', ...(bytes.toString('base64').match(/.{1,64}/g) ?? []), '-----END AGE ENCRYPTED FILE-----', ''].join('\n');
  assert.throws(() => decrypt(tampered, ids));
});

test('with encrypted_regex only data and stringData are encrypted; comments, order and types survive', () => {
  const sealed = encryptYaml(SECRET, valuesOnly, new Date('2026-01-02T03:04:05.678Z'));
  const doc = parse(sealed);
  assert.is(doc.metadata.name, 'demo');
  assert.match(sealed, /^# yaml-language-server: \$schema=secret-v1\.json\n/);
  assert.match(sealed, /name: demo # the name stays readable/);
  assert.match(doc.stringData.token, /^ENC\[AES256_GCM,data:[^,]+,iv:[^,]{44},tag:[^,]{24},type:str\]$/);
  assert.match(doc.stringData.list[1], /type:int\]$/);
  assert.match(doc.stringData.flag, /type:bool\]$/);
  assert.is(doc.stringData.empty, '', 'sops leaves an empty string empty');
  assert.not.match(sealed, /s3cr3t/);
  assert.equal(Object.keys(doc.sops), ['age', 'lastmodified', 'mac', 'encrypted_regex', 'mac_only_encrypted', 'version']);
  assert.match(sealed, /lastmodified: "2026-01-02T03:04:05Z"/);
  assert.equal(parse(decryptYaml(sealed, ids)), parse(SECRET));
  assert.match(decryptYaml(sealed, ids), /name: demo # the name stays readable/);
});

test('without a regex every value is encrypted, for every recipient', () => {
  const sealed = encryptYaml(SECRET, whole);
  const doc = parse(sealed);
  assert.match(doc.kind, /^ENC\[/);
  assert.is(doc.sops.unencrypted_suffix, '_unencrypted');
  assert.is(doc.sops.age.length, 2);
  assert.equal(parse(decryptYaml(sealed, parseIdentities(other.identity))), parse(SECRET));
});

test('the MAC catches a changed value, a swapped value and a changed plain value', () => {
  const sealed = encryptYaml(SECRET, valuesOnly);
  const doc = parse(sealed);
  // Moving one ciphertext to another key breaks its GCM tag: the key path is the additional data.
  const swapped = sealed.replace(`token: ${doc.stringData.token}`, `token: ${doc.stringData.flag}`);
  assert.throws(() => decryptYaml(swapped, ids), /does not decrypt/);
  // A value re-encrypted with another data key fails its tag too; dropping a value fails the MAC.
  const dropped = sealed.replace(/\n {2}token: .*\n/, '\n');
  assert.throws(() => decryptYaml(dropped, ids), /MAC mismatch/);
  const all = encryptYaml(SECRET, { ...valuesOnly, macOnlyEncrypted: false });
  assert.throws(() => decryptYaml(all.replace('name: demo', 'name: other'), ids), /MAC mismatch/);
  // With mac_only_encrypted the readable metadata may change (a rename), as sops allows.
  assert.is(parse(decryptYaml(sealed.replace('name: demo', 'name: other'), ids)).metadata.name, 'other');
});

test('refuses a file already encrypted, and one without SOPS metadata', () => {
  const sealed = encryptYaml(SECRET, valuesOnly);
  assert.throws(() => encryptYaml(sealed, valuesOnly), /already encrypted/);
  assert.throws(() => decryptYaml(SECRET, ids), /not encrypted/);
});

test.run();
