// The plaintext guard over *.sops.yaml: what sops would have encrypted but is in clear, however it got there.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { generateIdentity } from '../src/lib/age-keys.ts';
import { encryptYaml, type CreationRule } from '../src/lib/sops.ts';
import type { Io } from '../src/lib/io.ts';
import { withIo } from '../src/lib/io.ts';
import { sopsFileStatus } from '../src/lib/sops-tool.ts';
import { ruleWithTag } from '../src/validate/report.ts';
import { checkSopsFiles } from '../src/validate/sops-files.ts';
import { tempDir } from './helpers.ts';

const test = suite('sops-files');
const key = await generateIdentity();
const rule: CreationRule = { recipients: [key.recipient], encryptedRegex: '^(data|stringData)$', macOnlyEncrypted: true };
const noSops: Partial<Io> = { which: () => undefined };

const repoWith = async (files: Record<string, string | ((sealed: (plain: string) => Promise<string>) => Promise<string>)>) => {
  const repo = tempDir();
  writeFileSync(join(repo, '.sops.yaml'), `creation_rules:\n  - path_regex: .*\\.sops\\.yaml$\n    encrypted_regex: ^(data|stringData)$\n    mac_only_encrypted: true\n    age: ${key.recipient}\n`);
  mkdirSync(join(repo, 'secrets'));
  for (const [name, content] of Object.entries(files)) {
    writeFileSync(join(repo, 'secrets', name), typeof content === 'string' ? content : await content((p) => encryptYaml(p, rule)));
  }
  return repo;
};
const lines = async (repo: string, io = noSops) => (await withIo(io, () => checkSopsFiles(repo))).map((f) => `${f.file}: ${ruleWithTag(f.rule)}: ${f.message}`);
const SECRET = 'kind: Secret\nmetadata:\n  name: a\nstringData:\n  token: fine\n';

test('plaintext through a second document, an alias, a number and a comment is caught', async () => {
  const repo = await repoWith({
    'multi.sops.yaml': async (seal) => `${await seal(SECRET)}---\nkind: Secret\nstringData:\n  leaked: in-clear\n`,
    'alias.sops.yaml': async (seal) => (await seal(SECRET)).replace('name: a', 'name: &n hunter2').replace(/token: ENC\[[^\]]*\]/, 'token: *n'),
    'number.sops.yaml': async (seal) => (await seal(SECRET)).replace(/token: ENC\[[^\]]*\]/, 'token: 123456'),
    'comment.sops.yaml': async (seal) => (await seal(SECRET)).replace(/(\n {2}token: )/, '\n  # the password is hunter2$1'),
    'good.sops.yaml': async (seal) => seal(SECRET),
  });
  assert.equal(await lines(repo), [
    'secrets/alias.sops.yaml: sops-unencrypted [house]: stringData.token is not encrypted although .sops.yaml says it must be',
    'secrets/alias.sops.yaml: sops-unencrypted [house]: has YAML aliases, which sops never writes: a value repeated through an alias is in clear or cannot be decrypted there',
    'secrets/comment.sops.yaml: sops-unencrypted [house]: a comment in stringData is not encrypted although .sops.yaml says it must be',
    'secrets/multi.sops.yaml: sops-unencrypted [house]: stringData.leaked is not encrypted although .sops.yaml says it must be',
    'secrets/number.sops.yaml: sops-unencrypted [house]: stringData.token is not encrypted although .sops.yaml says it must be',
  ]);
});

test('an alias bomb, an oversized file and a non-string key are findings, and the run goes on', async () => {
  const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]', ...'bcdefghi'.split('').map((c, i) => `${c}: &${c} [${Array(10).fill(`*${String.fromCharCode(97 + i)}`).join(',')}]`), 'stringData:\n  boom: *i'].join('\n');
  const repo = await repoWith({
    'bomb.sops.yaml': bomb,
    'big.sops.yaml': `stringData:\n  big: ${'x'.repeat(1024 * 1024)}\n`,
    'intkey.sops.yaml': 'stringData:\n  1: one\n',
    'plain.sops.yaml': 'stringData:\n  token: hunter2\n',
  });
  const found = await lines(repo);
  assert.is(found.length, 4, found.join('\n'));
  assert.match(found[0], /^secrets\/big\.sops\.yaml: sops-unreadable \[house\]: larger than 1048576 bytes: refused unread$/);
  assert.match(found[1], /^secrets\/bomb\.sops\.yaml: sops-unreadable \[house\]: .*(alias|resource exhaustion)/i);
  assert.match(found[2], /^secrets\/intkey\.sops\.yaml: sops-unreadable \[house\]: stringData\.1: a non-string key \(int\)/);
  assert.match(found[3], /^secrets\/plain\.sops\.yaml: sops-unencrypted \[house\]: stringData\.token is plain text/);
});

test('a comment in clear where sops would have encrypted it is found at its line, by where yaml.v3 puts it', async () => {
  const config = 'config:\n  data:\n    password: x\n  # the password is hunter2\n# about the kind\nkind: Secret\n';
  // The comment at column 2 after the nested block is the foot of config.data.password to yaml.v3: in data.
  const decrypted = (sealed: string) => sealed.replace(/^( *)#ENC\[[^\]]+\]$/gm, (_, pad) => `${pad}# the password is hunter2`);
  const repo = await repoWith({
    'leaked.sops.yaml': async (seal) => decrypted(await seal(config)),
    'sealed.sops.yaml': async (seal) => seal(config),
  });
  const found = (await withIo(noSops, () => checkSopsFiles(repo))).map((f) => `${f.file}:${f.line}: ${f.rule}: ${f.message}`);
  assert.equal(found, ['secrets/leaked.sops.yaml:4: sops-unencrypted: a comment in config.data is not encrypted although .sops.yaml says it must be']);
  // A comment yaml.v3 loses is never seen, so never encrypted, by sops: in clear, it is found too.
  const lost = 'kind: Secret\nstringData:\n  a:\n  - x\n  - # kept\n';
  writeFileSync(join(repo, 'secrets/lost.sops.yaml'), (await encryptYaml(lost, rule)).replace('  - # kept', '  # the password is hunter2\n  - # kept'));
  const lostLine = readFileSync(join(repo, 'secrets/lost.sops.yaml'), 'utf8').split('\n').indexOf('  # the password is hunter2') + 1;
  const again = (await withIo(noSops, () => checkSopsFiles(repo))).map((f) => `${f.file}:${f.line}: ${f.message}`);
  assert.equal(again.slice(1), [`secrets/lost.sops.yaml:${lostLine}: a comment sops does not read (Go's yaml.v3 loses it here) is in clear; move it or delete it`]);
  const sealed = readFileSync(join(repo, 'secrets/sealed.sops.yaml'), 'utf8');
  assert.match(sealed, /^# about the kind$/m, 'the top-level comment stays readable');
});

test('a rule with no selection option leaves *_unencrypted keys in clear, as sops does, and the guard accepts them', async () => {
  const repo = tempDir();
  writeFileSync(join(repo, '.sops.yaml'), `creation_rules:\n  - age: ${key.recipient}\n`);
  const plain = 'kind: Secret\nstringData:\n  note_unencrypted: readable by design\n  token: hunter2\n';
  const sealed = await encryptYaml(plain, { recipients: [key.recipient], macOnlyEncrypted: false });
  assert.match(sealed, /note_unencrypted: readable by design/);
  writeFileSync(join(repo, 'sealed.sops.yaml'), sealed);
  writeFileSync(join(repo, 'only-unencrypted.sops.yaml'), 'note_unencrypted: readable by design\n');
  writeFileSync(join(repo, 'plain.sops.yaml'), plain);
  const found = (await withIo(noSops, () => checkSopsFiles(repo))).map((f) => `${f.file}:${f.line}: ${f.message}`);
  assert.equal(found, ['plain.sops.yaml:1: kind is plain text in a file SOPS should have encrypted: sops --encrypt --in-place plain.sops.yaml']);
});

test('a file the toolkit cannot read is a finding at the line that stops it, without the file name twice', async () => {
  const repo = await repoWith({
    'directive.sops.yaml': '%YAML 1.1\n---\nstringData:\n  a: b\n',
    'quote.sops.yaml': 'stringData:\n  a: b\n  c: "open\n',
    'duplicate.sops.yaml': 'kind: Secret\n---\nstringData:\n  a: b\n  a: c\n',
    'control.sops.yaml': 'kind: Secret\nnote: a\u001bb\n',
  });
  // Latin-1 bytes, not UTF-8: read leniently they would become U+FFFD and pass.
  writeFileSync(join(repo, 'secrets', 'latin1.sops.yaml'), Buffer.from('kind: Secret\nnote: caf\xe9\n', 'latin1'));
  const found = (await withIo(noSops, () => checkSopsFiles(repo))).map((f) => `${f.file}:${f.line}: ${f.rule}: ${f.message}`);
  assert.equal(found, [
    "secrets/control.sops.yaml:2: sops-unreadable: a character sops refuses (U+001B, which yaml.v3's reader does not allow) (sops reads YAML with Go's yaml.v3)",
    "secrets/directive.sops.yaml:1: sops-unreadable: YAML directives (%) are not supported (sops reads YAML with Go's yaml.v3)",
    'secrets/duplicate.sops.yaml:5: sops-unreadable: key "a" appears twice in one mapping (kustomize and most YAML readers refuse a repeated key)',
    'secrets/latin1.sops.yaml:2: sops-unreadable: not UTF-8 text, which sops reads YAML as',
    'secrets/quote.sops.yaml:4: sops-unreadable: invalid YAML: Missing closing "quote',
  ]);
});

test('where sops is on PATH, sops filestatus must see each encrypted file as encrypted', async () => {
  const repo = await repoWith({ 'good.sops.yaml': async (seal) => seal(SECRET) });
  const asked: string[][] = [];
  const sops = (answer: string): Partial<Io> => ({
    which: (c) => (c === 'sops' ? '/usr/bin/sops' : undefined),
    exec: async (c) => (asked.push(c.args), { code: 0, stdout: answer, stderr: '' }),
  });
  const saysNo = sops('{"encrypted":false}\n');
  assert.equal(await lines(repo, saysNo), ['secrets/good.sops.yaml: sops-unreadable [house]: sops filestatus secrets/good.sops.yaml: sops does not see it as encrypted']);
  assert.equal(asked, [['filestatus', 'secrets/good.sops.yaml']]);
  const saysYes = sops('{"encrypted":true}\n');
  assert.equal(await lines(repo, saysYes), []);
  asked.length = 0;
  await withIo(saysYes, () => sopsFileStatus(repo, '-x.sops.yaml'));
  assert.equal(asked, [['filestatus', './-x.sops.yaml']], 'a file name is never an option');
});

test.run();
