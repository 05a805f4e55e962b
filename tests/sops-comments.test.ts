// Where comments sit in the tree sops walks, against Go's yaml.v3 and sops' YAML store: tests/data/sops-comments.json
// holds each YAML input with the tree the real yaml.v3 gives (recorded by tests/yaml-v3-probe), and every input is
// also sealed and opened by real sops code (tests/real-sops.ts), which checks every encrypted comment and the MAC.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { generateIdentity, parseIdentities } from '../src/lib/age-keys.ts';
import { decryptYaml, encryptYaml, ENC, parseSops, type CreationRule, type TValue } from '../src/lib/sops.ts';
import { toBytes } from '../src/lib/sops-values.ts';
import { rejects, ROOT } from './helpers.ts';
import { RealSops } from './real-sops.ts';

const test = suite('sops-comments');
const me = await generateIdentity();
const ids = parseIdentities(`${me.identity}\n`);
const real = new RealSops(me.identity);
test.after(() => real.stop());

/** The probe's form of a tree: {"#": comment}, {"k", "v"} pairs, {"map"} and {"seq"} branches, values as sops' ToBytes. */
type Probed = { '#': string } | { k: string; v: ProbedValue };
type ProbedValue = string | null | { map: Probed[] } | { seq: (Probed | ProbedValue)[] };
interface Case {
  yaml: string;
  sops: { docs: Probed[][] } | { error: string };
}
const corpus: Record<string, Case> = JSON.parse(readFileSync(join(ROOT, 'tests/data/sops-comments.json'), 'utf8'));
const cases = Object.entries(corpus);

const probed = (v: TValue): ProbedValue => {
  if (v.kind === 'leaf') return v.value.type === 'null' ? null : toBytes(v.value).text;
  if (v.kind === 'map') return { map: v.items.map((i) => (i.kind === 'comment' ? { '#': i.line.text } : { k: i.key, v: probed(i.value) })) };
  return { seq: v.items.map((i) => (i.kind === 'comment' ? { '#': i.line.text } : probed(i))) };
};
const tree = (text: string) => parseSops(text, 'case.yaml').docs.map((d) => (probed(d.tree) as { map: Probed[] }).map);

/** The comments of a recorded tree with the key path of the branch each sits in. */
const comments = (items: (Probed | ProbedValue)[], path: string[] = []): { text: string; path: string[] }[] =>
  items.flatMap((item) => {
    if (item === null || typeof item === 'string') return [];
    if ('#' in item) return [{ text: item['#'], path }];
    if ('k' in item) return comments([item.v], [...path, item.k]);
    return comments('map' in item ? item.map : item.seq, path);
  });
/**
 * A tree with what is encrypted as ENC: in a sealed tree every ENC[...] text; in a recorded one, what sops
 * encrypts under `encrypted_regex: ^key$` (every comment and every value but null and '' under a `key`).
 */
const sealedShape = (items: (Probed | ProbedValue)[], key?: string, under = false): unknown[] =>
  items.map((item) => {
    if (item === null) return null;
    if (typeof item === 'string') return (key === undefined ? ENC.test(item) : under && item !== '') ? 'ENC' : item;
    if ('#' in item) return { '#': (key === undefined ? ENC.test(item['#']) : under) ? 'ENC' : item['#'] };
    if ('k' in item) return { k: item.k, v: sealedShape([item.v], key, under || item.k === key)[0] };
    return 'map' in item ? { map: sealedShape(item.map, key, under) } : { seq: sealedShape(item.seq, key, under) };
  });
const keysAt = (items: Probed[], depth: number): string[] =>
  items.flatMap((i) => ('k' in i ? (depth === 0 ? [i.k] : i.v && typeof i.v === 'object' && 'map' in i.v ? keysAt(i.v.map, depth - 1) : []) : []));
const sourceComments = (text: string) => (text.match(/(^|\s)#/g) ?? []).length;
const refused = (name: string) => name.startsWith('a comment yaml.v3 drops') || name.startsWith('an alias repeats a comment');
test('every comment sits in the branch, and at the place, where yaml.v3 and sops\' YAML store put it', () => {
  assert.ok(cases.length >= 60);
  for (const [name, { yaml, sops }] of cases) {
    if ('error' in sops) assert.equal(tree(yaml), [], name);
    else assert.equal(tree(yaml), sops.docs, name);
  }
});

test('the reviewer\'s case: the comment after a nested block is in config.data, and encrypted with it', async () => {
  const { yaml } = corpus['reviewer: a comment at the parent indentation after a nested map is the foot of the innermost entry'];
  const text = await encryptYaml(yaml, { recipients: [me.recipient], encryptedRegex: '^data$', macOnlyEncrypted: false });
  assert.not.match(text, /hunter2/);
  assert.match(text, /^ {2}#ENC\[AES256_GCM,[^\]]+,type:comment\]$/m, 'encrypted where it is written');
  assert.equal(await real.decrypt(text), { ok: true, error: undefined, warnings: [] });
});

test('sealed, each case reads back with every comment in place and encrypted where sops encrypts it, opens in real sops without a warning, and decrypts back', async () => {
  for (const [name, { yaml, sops }] of cases) {
    if ('error' in sops || refused(name)) continue;
    // A rule that encrypts one nested branch (as encrypted_regex: ^data$ does for a Secret), so comments in it and
    // around it are told apart by where yaml.v3 put them.
    const key = keysAt(sops.docs[0], 1)[0] ?? keysAt(sops.docs[0], 0)[0];
    const rule: CreationRule = { recipients: [me.recipient], encryptedRegex: `^${key}$`, macOnlyEncrypted: false };
    const text = await encryptYaml(yaml, rule, { file: name });
    assert.equal(tree(text).map((d) => sealedShape(d.filter((i) => !('k' in i && i.k === 'sops')))), sops.docs.map((d) => sealedShape(d, key)), `${name}: sealed\n${text}`);
    const verdict = await real.decrypt(text);
    assert.ok(verdict.ok, `${name}: real sops refused it: ${verdict.error}\n${text}`);
    assert.equal(verdict.warnings, [], `${name}: real sops found a comment it could not decrypt\n${text}`);
    assert.equal(tree(await decryptYaml(text, ids)), sops.docs, `${name}: decrypted`);
  }
});

test('a comment yaml.v3 drops, or an alias repeats, is refused with the file and its line; so is a file of comments only', async () => {
  const expected = [
    ['a comment yaml.v3 drops', '# dropped', "sops drops this comment (Go's yaml.v3 loses it where it is); move it or delete it"],
    ['an alias repeats a comment', '# repeated', 'an alias repeats this comment, which sops writes again with the copy and the toolkit cannot; write the repeated block out instead of the alias'],
  ];
  for (const [prefix, marker, message] of expected) {
    const matching = cases.filter(([name]) => name.startsWith(prefix));
    assert.is(matching.length, 2, prefix);
    for (const [name, { yaml, sops }] of matching) {
      assert.ok('docs' in sops && sops.docs.flatMap((d) => comments(d)).length !== sourceComments(yaml), `${name}: yaml.v3 drops or repeats a comment`);
      const line = yaml.split('\n').findIndex((l) => l.includes(marker)) + 1;
      await rejects(() => encryptYaml(yaml, { recipients: [me.recipient], macOnlyEncrypted: false }, { file: 'secret.sops.yaml' }), `secret.sops.yaml:${line}: ${message}`);
    }
  }
  await rejects(() => encryptYaml(corpus['at the document end, only comments'].yaml, { recipients: [me.recipient], macOnlyEncrypted: false }, { file: 'secret.sops.yaml' }), 'secret.sops.yaml: empty: nothing to encrypt');
});

test('what the toolkit does not read or write as sops would is refused, with the file and the line', async () => {
  const refusals: [string, string][] = [
    ['%YAML 1.1\n---\na: 1\n', 'secret.sops.yaml:1: YAML directives (%) are not supported (sops reads YAML with Go\'s yaml.v3)'],
    ['a: 1\nb: [c: 1]\n', 'secret.sops.yaml:2: a mapping inside a flow sequence ([a: b]) is not supported (sops reads YAML with Go\'s yaml.v3)'],
    ['a: 1\nb: &x # note\n  value\n', "secret.sops.yaml:2: a comment between a value's anchor or tag and the value; put it on a line of its own"],
    ['{a: 1}\n', 'secret.sops.yaml: a top-level flow mapping ({...}): write it as a block mapping so the sops block can be added'],
  ];
  for (const [yaml, message] of refusals) await rejects(() => encryptYaml(yaml, { recipients: [me.recipient], macOnlyEncrypted: false }, { file: 'secret.sops.yaml' }), message);
});

test('the sops block goes where every comment stays in place: at the end, else before the first key', async () => {
  const rule: CreationRule = { recipients: [me.recipient], macOnlyEncrypted: false };
  const atEnd = await encryptYaml('a:\n  b: 1\n# end\n', rule);
  assert.match(atEnd, /\n#ENC\[[^\]]+\]\nsops:\n/);
  // Followed by a key, the last comment would be read as part of the top level, not of the sequence.
  const plain = 'a:\n- x\n # in the list\n';
  assert.equal(tree(plain)[0], [{ k: 'a', v: { seq: ['x', { '#': ' in the list' }] } }]);
  const first = await encryptYaml(plain, rule);
  assert.match(first, /^sops:\n/);
  assert.equal(await real.decrypt(first), { ok: true, error: undefined, warnings: [] });
  assert.equal(tree(await decryptYaml(first, ids)), tree(plain));
  assert.ok(ENC.test(first.split('\n').find((l) => l.startsWith(' #'))!.slice(2)), 'the comment in the list is encrypted');
});

test.run();
