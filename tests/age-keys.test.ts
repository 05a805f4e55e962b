// age interop: the age authors' TypeScript library (through src/lib/age-keys.ts) against the age binary, both ways.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { run } from '../src/lib/exec.ts';
import { decryptWith, encryptTo, generateIdentity, parseIdentities } from '../src/lib/age-keys.ts';

const test = suite('age-keys');
const dir = mkdtempSync(join(tmpdir(), 'k8s-ops-age-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('a data key armored by the library opens with the age binary, and the binary\'s with the library', async () => {
  const me = await generateIdentity();
  const keyFile = join(dir, 'keys.txt');
  writeFileSync(keyFile, `# created: test\n${me.identity}\n`, { mode: 0o600 });
  const dataKey = Buffer.from('0123456789abcdef0123456789abcdef');
  const armored = await encryptTo(dataKey, me.recipient);
  assert.match(armored, /^-----BEGIN AGE ENCRYPTED FILE-----\n([A-Za-z0-9+/=]{64}\n)*[A-Za-z0-9+/=]{1,64}\n-----END AGE ENCRYPTED FILE-----\n$/);
  const enc = join(dir, 'key.age');
  writeFileSync(enc, armored);
  assert.is(await run('age', ['--decrypt', '--identity', keyFile, enc]), dataKey.toString());
  // age-keygen's identity and the binary's armored output, read by the library.
  await run('age-keygen', ['--output', join(dir, 'theirs.txt')]);
  const theirs = readFileSync(join(dir, 'theirs.txt'), 'utf8');
  const recipient = (await run('age-keygen', ['-y', join(dir, 'theirs.txt')])).trim();
  const fromBinary = await run('age', ['--encrypt', '--armor', '--recipient', recipient], { input: 'data key' });
  assert.is(Buffer.from((await decryptWith(fromBinary, parseIdentities(theirs)))!).toString(), 'data key');
  assert.is(await decryptWith(fromBinary, [me.identity]), undefined, 'another identity opens nothing');
});

test('keys.txt parsing refuses what is not an identity', () => {
  assert.throws(() => parseIdentities('# comment\nnot-a-key\n'), /not an age identity/);
  assert.equal(parseIdentities('\n# c\n'), []);
});

test.run();
