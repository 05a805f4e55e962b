// The toolkit's SOPS against sops' own rules. Every file it writes here is also decrypted by real sops code
// (tests/real-sops.ts), which checks every value's tag and the MAC, independently of src/lib/sops.ts.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parse, parseAllDocuments } from 'yaml';
import { generateIdentity, parseIdentities } from '../src/lib/age-keys.ts';
import { creationRule, decryptYaml, encryptYaml, type CreationRule } from '../src/lib/sops.ts';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatFloatF, formatFloatG, resolveScalar, toBytes } from '../src/lib/sops-values.ts';
import { rejects, tempDir } from './helpers.ts';
import { RealSops } from './real-sops.ts';

const test = suite('sops');
const me = await generateIdentity();
const other = await generateIdentity();
const ids = parseIdentities(`# created: test\n${me.identity}\n`);
const real = new RealSops(me.identity);
test.after(() => real.stop());

const valuesOnly: CreationRule = { recipients: [me.recipient], encryptedRegex: '^(data|stringData)$', macOnlyEncrypted: true };
const whole: CreationRule = { recipients: [me.recipient, other.recipient], macOnlyEncrypted: false };

/** Encrypts, then has real sops decrypt it: the file must open, with its MAC, and without a warning. */
const sealed = async (plain: string, rule: CreationRule, now?: Date): Promise<string> => {
  const text = await encryptYaml(plain, rule, { now });
  const verdict = await real.decrypt(text);
  assert.ok(verdict.ok, `real sops refused it: ${verdict.error}\n${text}`);
  assert.equal(verdict.warnings, [], 'real sops decrypted every comment');
  return text;
};

/** The plain text of an encrypted value, as the cipher holds it. */
const plaintextOf = async (text: string, path: (doc: any) => unknown) => {
  const back = parse(await decryptYaml(text, ids));
  return path(back);
};

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

test('values-only rule: data and stringData are encrypted, comments, order and types survive, real sops opens it', async () => {
  const text = await sealed(SECRET, valuesOnly, new Date('2026-01-02T03:04:05.678Z'));
  const doc = parse(text);
  assert.is(doc.metadata.name, 'demo');
  assert.match(text, /^# yaml-language-server: \$schema=secret-v1\.json\n/);
  assert.match(text, /name: demo # the name stays readable/);
  assert.match(doc.stringData.token, /^ENC\[AES256_GCM,data:[^,]+,iv:[^,]{44},tag:[^,]{24},type:str\]$/);
  assert.match(doc.stringData.list[1], /type:int\]$/);
  assert.match(doc.stringData.flag, /type:bool\]$/);
  assert.is(doc.stringData.empty, '', 'sops leaves an empty string empty');
  assert.not.match(text, /s3cr3t/);
  assert.equal(Object.keys(doc.sops), ['age', 'lastmodified', 'mac', 'encrypted_regex', 'mac_only_encrypted', 'version']);
  assert.match(text, /lastmodified: "2026-01-02T03:04:05Z"/);
  assert.equal(parse(await decryptYaml(text, ids)), parse(SECRET));
});

test('without a rule every value and every comment is encrypted, for every recipient', async () => {
  const text = await sealed(SECRET, whole);
  const doc = parse(text);
  assert.match(doc.kind, /^ENC\[/);
  assert.not.match(text, /yaml-language-server|stays readable/, 'comments are encrypted too');
  assert.match(text, /^#ENC\[AES256_GCM,[^\]]+,type:comment\]$/m);
  assert.is(doc.sops.unencrypted_suffix, '_unencrypted');
  assert.is(doc.sops.age.length, 2);
  const back = await decryptYaml(text, parseIdentities(other.identity));
  assert.equal(parse(back), parse(SECRET));
  assert.match(back, /# the name stays readable/);
});

test('numbers are read and written with Go\'s rules, and the MAC covers the same text sops uses', async () => {
  const plain = `stringData:
  exp: 1e21
  small: 1.5e-7
  inf: .inf
  negzero: -0.0
  big: 9007199254740993
  max: 9223372036854775807
  octal: 0755
  under: 1_000
  binary: 0b101
  hex: 0x1F
  float: 1.0
  words: 1e400
`;
  const text = await sealed(plain, valuesOnly);
  const doc = parse(text);
  const types = Object.fromEntries(Object.entries(doc.stringData).map(([k, v]) => [k, /type:(\w+)\]$/.exec(String(v))?.[1]]));
  assert.equal(types, { exp: 'float', small: 'float', inf: 'float', negzero: 'float', big: 'int', max: 'int', octal: 'int', under: 'int', binary: 'int', hex: 'int', float: 'float', words: 'str' });
  // sops -d writes them as yaml.v3 does; the exact digits of integers past 2^53 survive.
  const back = await decryptYaml(text, ids);
  for (const line of ['exp: 1e+21', 'small: 1.5e-07', 'inf: .inf', 'negzero: -0', 'big: 9007199254740993', 'max: 9223372036854775807', 'octal: 493', 'under: 1000', 'binary: 5', 'hex: 31', 'float: 1', 'words: 1e400']) {
    assert.ok(back.includes(`  ${line}\n`), `${line} in\n${back}`);
  }
});

test('Go number formatting: FormatFloat f and g, and yaml.v3 resolution', () => {
  assert.equal([1e21, 1.5e-7, -0, 0.1, 123.456, Infinity, -Infinity, NaN, 1e-300].map(formatFloatF), ['1000000000000000000000', '0.00000015', '-0', '0.1', '123.456', '+Inf', '-Inf', 'NaN', `0.${'0'.repeat(299)}1`]);
  assert.equal([1e21, 1.5e-7, 1234567, 100000, 0.0001, 0.00001].map(formatFloatG), ['1e+21', '1.5e-07', '1.234567e+06', '100000', '0.0001', '1e-05']);
  const r = (s: string, quoted = false, tag?: string) => resolveScalar(s, quoted, tag);
  assert.equal(r('0755'), { type: 'int', value: 493n });
  assert.equal(r('08'), { type: 'float', value: 8 }, 'not octal, so yaml.v3 takes it as a float');
  assert.equal(r('yes'), { type: 'str', text: 'yes' }, 'YAML 1.1 booleans are strings to yaml.v3');
  assert.equal(r('True'), { type: 'bool', value: true });
  assert.equal(r('2001-12-14 21:59:43.10'), { type: 'time', text: '2001-12-14T21:59:43.1Z' });
  assert.equal(r('2001-12-14t21:59:43+00:00'), { type: 'time', text: '2001-12-14T21:59:43Z' });
  assert.equal(r('2001-02-30'), { type: 'str', text: '2001-02-30' }, 'no such day');
  assert.equal(r('12', true), { type: 'str', text: '12' });
  assert.equal(r('12', false, 'tag:yaml.org,2002:float'), { type: 'float', value: 12 });
  assert.throws(() => r('abc', false, 'tag:yaml.org,2002:int'), /cannot decode/);
  assert.throws(() => r('18446744073709551615'), /above 2\^63-1/);
  assert.equal(toBytes({ type: 'bool', value: false }), { text: 'False', type: 'bool' });
});

test('timestamps are type:time, read and written', async () => {
  // type:time is sops 3.10's; the real sops here is 3.9.2, which predates it, so only the toolkit reads these back.
  const text = await encryptYaml('stringData:\n  day: 2001-12-14\n  stamp: 2001-12-14T21:59:43.10-05:00\n  quoted: "2001-12-14"\n', valuesOnly);
  const doc = parse(text);
  assert.match(doc.stringData.day, /type:time\]$/);
  assert.match(doc.stringData.quoted, /type:str\]$/);
  assert.equal(await plaintextOf(text, (d) => d.stringData), { day: '2001-12-14T00:00:00Z', stamp: '2001-12-14T21:59:43.1-05:00', quoted: '2001-12-14' });
});

test('anchors, aliases and merge keys: expanded and encrypted at every place, nothing left in clear', async () => {
  const plain = `metadata:
  name: &name demo
base: &base
  user: admin
stringData:
  copy: *name
  again: *base
  <<: *base
`;
  const text = await sealed(plain, valuesOnly);
  assert.not.match(text, /[&*](name|base)\b/, 'no anchor or alias is left');
  const doc = parse(text);
  assert.match(doc.stringData.copy, /^ENC\[/);
  assert.match(doc.stringData.again.user, /^ENC\[/);
  assert.match(doc.stringData['<<'].user, /^ENC\[/);
  assert.match(text, /"<<":/, 'sops writes the merge key quoted: an ordinary key to it');
  assert.is(doc.base.user, 'admin', 'the anchored original stays where the rule leaves it in clear');
  assert.equal(await plaintextOf(text, (d) => d.stringData), { copy: 'demo', again: { user: 'admin' }, '<<': { user: 'admin' } });
});

test('comments in encrypted sections are encrypted with their branch as additional data; others stay', async () => {
  const plain = `# top
metadata:
  name: demo # readable
stringData:
  # hidden before
  token: x # hidden inline
  nested:
    a: 1
    # hidden foot of nested
  # hidden foot of stringData
# top foot
kind: Secret
`;
  const text = await sealed(plain, valuesOnly);
  for (const visible of ['# top', '# readable', '# top foot']) assert.ok(text.includes(visible), visible);
  assert.not.match(text, /hidden/);
  assert.is((text.match(/type:comment\]/g) ?? []).length, 4);
  const back = await decryptYaml(text, ids);
  for (const hidden of ['# hidden before', '# hidden inline', '# hidden foot of nested', '# hidden foot of stringData']) assert.ok(back.includes(hidden), hidden);
});

test('every selection rule: suffixes, regexes and comment regexes, with mac_only_encrypted', async () => {
  const plain = `plain_unencrypted: a
secret_enc: b
keep: c
# sops:enc
marked: d
after: e
`;
  const cases: [Partial<CreationRule>, string[]][] = [
    [{}, ['secret_enc', 'keep', 'marked', 'after']],
    [{ unencryptedSuffix: '_unencrypted' }, ['secret_enc', 'keep', 'marked', 'after']],
    [{ encryptedSuffix: '_enc' }, ['secret_enc']],
    [{ unencryptedRegex: '^(keep|after)$' }, ['plain_unencrypted', 'secret_enc', 'marked']],
    [{ encryptedRegex: '^secret' }, ['secret_enc']],
    [{ encryptedCommentRegex: 'sops:enc' }, ['marked']],
    [{ unencryptedCommentRegex: 'sops:enc' }, ['plain_unencrypted', 'secret_enc', 'keep', 'after']],
  ];
  for (const [selection, encrypted] of cases) {
    for (const macOnlyEncrypted of [false, true]) {
      const text = await sealed(plain, { recipients: [me.recipient], macOnlyEncrypted, ...selection });
      const doc = parse(text);
      const got = Object.keys(doc).filter((k) => k !== 'sops' && String(doc[k]).startsWith('ENC['));
      assert.equal(got, encrypted, JSON.stringify(selection));
      assert.is(doc.sops.mac_only_encrypted, macOnlyEncrypted ? true : undefined);
      assert.equal(parse(await decryptYaml(text, ids)), parse(plain));
    }
  }
});

test('.sops.yaml key groups as sops reads them: merged groups first, comma-separated entries, one group only', async () => {
  const third = await generateIdentity();
  const repo = tempDir('k8s-ops-sops-rules-');
  const rules = (text: string) => writeFileSync(join(repo, '.sops.yaml'), text);
  rules(`creation_rules:
  - path_regex: ^grouped/
    encrypted_regex: ^stringData$
    key_groups:
      - age:
          - ${me.recipient},${other.recipient}
        merge:
          - age: [${third.recipient}, ${me.recipient}]
  - path_regex: ^split/
    key_groups:
      - age: [${me.recipient}]
      - age: [${other.recipient}]
  - path_regex: ^listed/
    age: [${me.recipient}]
  - age: ${me.recipient}, ${other.recipient}
`);
  const grouped = creationRule(repo, 'grouped/secret.sops.yaml');
  assert.equal(grouped.recipients, [third.recipient, me.recipient, other.recipient]);
  assert.is(grouped.encryptedRegex, '^stringData$');
  const text = await sealed('stringData:\n  a: b\n', grouped);
  assert.equal(parse(text).sops.age.map((a: any) => a.recipient), [third.recipient, me.recipient, other.recipient]);
  assert.equal(creationRule(repo, 'other.sops.yaml').recipients, [me.recipient, other.recipient]);
  assert.throws(() => creationRule(repo, 'split/x.sops.yaml'), /2 key groups split the data key with Shamir's scheme, which only the sops binary writes/);
  assert.throws(() => creationRule(repo, 'listed/x.sops.yaml'), /age: sops reads one comma-separated string, not a list/);
});

test('multi-document files: every document encrypted and MAC\'d together, each with the metadata', async () => {
  const plain = 'kind: Secret\nstringData:\n  a: one\n---\nkind: Secret\nstringData:\n  b: 2\n';
  const text = await sealed(plain, valuesOnly);
  const docs = parseAllDocuments(text) as any[];
  assert.is(docs.length, 2);
  for (const d of docs) assert.ok(d.toJS().sops?.mac, 'each document carries the metadata');
  assert.match(docs[1].toJS().stringData.b, /type:int\]$/);
  assert.equal((parseAllDocuments(await decryptYaml(text, ids)) as any[]).map((d) => d.toJS()), [{ kind: 'Secret', stringData: { a: 'one' } }, { kind: 'Secret', stringData: { b: 2 } }]);
  // Dropping a document breaks the MAC, which covers both.
  const first = `${text.split('\n---\n')[0]}\n`;
  await rejects(() => decryptYaml(first, ids), /MAC mismatch/);
  const verdict = await real.decrypt(first);
  assert.not.ok(verdict.ok);
  assert.match(verdict.error ?? '', /Failed to verify data integrity/);
});

test('refused as sops refuses them, naming the file and the key: non-string keys, sequence and value documents', async () => {
  const refuse = async (plain: string, message: RegExp) => {
    try {
      await encryptYaml(plain, valuesOnly, { file: 'x.sops.yaml' });
      assert.unreachable(`accepted: ${plain}`);
    } catch (e) {
      assert.match((e as Error).message, message);
    }
  };
  await refuse('stringData:\n  1: one\n', /^x\.sops\.yaml: stringData\.1: a non-string key \(int\): sops supports only string keys/);
  await refuse('stringData:\n  true: yes\n', /stringData\.true: a non-string key \(bool\)/);
  await refuse('stringData:\n  ? [a, b]\n  : c\n', /stringData: a collection key/);
  await refuse('- a\n- b\n', /documents that are sequences are not supported/);
  await refuse('just a value\n', /documents that are values are not supported/);
  await refuse('stringData:\n  n: 18446744073709551615\n', /stringData\.n: sops cannot encrypt the integer/);
  await refuse('sops:\n  mac: x\n', /already encrypted/);
  // What sops takes and the toolkit does not, each named: a repeated key (which Kubernetes refuses), an
  // alias as a key, and the line breaks yaml.v3 reads otherwise, by name rather than printed.
  await refuse('kind: Secret\n---\nstringData:\n  a: b\n  "a": c\n', /^x\.sops\.yaml:5: key "a" appears twice in one mapping \(kustomize and most YAML readers refuse a repeated key\)$/);
  await refuse('stringData:\n  "a: b": 1\n  "a: b": 2\n', /^x\.sops\.yaml:3: key "a: b" appears twice/);
  await refuse('name: &k token\nstringData:\n  *k : c\n', /^x\.sops\.yaml: stringData: an alias as a key \(\*k\): write the key out$/);
  await refuse('stringData:\n  a: b\u2028c\n', /^x\.sops\.yaml:2: a LINE SEPARATOR \(U\+2028\) character that yaml\.v3 reads differently/);
  await refuse('stringData:\n  a: b\u0085c\n', /^x\.sops\.yaml:2: a NEXT LINE \(U\+0085\) character/);
  // What yaml.v3 refuses outright, sops refuses too: a sealed file with one would not open.
  await refuse('kind: Secret\nnote: y\u001bz\n', /^x\.sops\.yaml:2: a character sops refuses \(U\+001B, which yaml\.v3's reader does not allow\)/);
  await refuse('stringData:\n  a: b\0\n', /^x\.sops\.yaml:2: a character sops refuses \(U\+0000/);
  await refuse('\u0001\nx: 1\n', /^x\.sops\.yaml:1: a character sops refuses \(U\+0001/);
  // Quoted, the same keys are strings, which sops takes.
  assert.match(await sealed('stringData:\n  "1": one\n', valuesOnly), /"1": ENC\[/);
});

test('an alias bomb or an oversized file is refused, not expanded', async () => {
  const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]', ...'bcdefghi'.split('').map((c, i) => `${c}: &${c} [${Array(10).fill(`*${String.fromCharCode(97 + i)}`).join(',')}]`), 'stringData:\n  boom: *i'].join('\n');
  try {
    await encryptYaml(bomb, valuesOnly, { file: 'bomb.sops.yaml' });
    assert.unreachable('expanded a bomb');
  } catch (e) {
    assert.match((e as Error).message, /^bomb\.sops\.yaml: .*(alias|resource exhaustion)/i);
  }
  try {
    await encryptYaml(`stringData:\n  big: ${'x'.repeat(1024 * 1024)}\n`, valuesOnly, { file: 'big.sops.yaml' });
    assert.unreachable('read an oversized file');
  } catch (e) {
    assert.match((e as Error).message, /^big\.sops\.yaml: larger than 1048576 bytes/);
  }
});

test('the MAC and the cipher catch a moved value, a dropped value and a changed plain value', async () => {
  const text = await sealed(SECRET, valuesOnly);
  const doc = parse(text);
  const swapped = text.replace(`token: ${doc.stringData.token}`, `token: ${doc.stringData.flag}`);
  await rejects(() => decryptYaml(swapped, ids), /stringData\.token does not decrypt/);
  const dropped = text.replace(/\n {2}token: .*\n/, '\n');
  await rejects(() => decryptYaml(dropped, ids), /MAC mismatch/);
  const verdict = await real.decrypt(dropped);
  assert.not.ok(verdict.ok, 'real sops refuses it too');
  const all = await sealed(SECRET, { ...valuesOnly, macOnlyEncrypted: false });
  await rejects(() => decryptYaml(all.replace('name: demo', 'name: other'), ids), /MAC mismatch/);
  // With mac_only_encrypted the readable metadata may change (a rename), as sops allows.
  assert.is(parse(await decryptYaml(text.replace('name: demo', 'name: other'), ids)).metadata.name, 'other');
  assert.ok((await real.decrypt(text.replace('name: demo', 'name: other'))).ok);
});

test('refuses a file without SOPS metadata, and identities that open none of its keys', async () => {
  await rejects(() => decryptYaml(SECRET, ids), /sops metadata not found/);
  const text = await sealed(SECRET, valuesOnly);
  await rejects(async () => decryptYaml(text, [(await generateIdentity()).identity]), /none of the age identities opens this file/);
});

test.run();
