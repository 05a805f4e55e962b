// scripts/seal-connect.ts (task op:seal-connect) against a stub `op`, and the bootstrap's refusal of placeholder
// credentials. The stub repository's .sops.yaml names a test recipient, so the result can be decrypted here.
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { connectCredentialsPath, hasPlaceholderConnectCredentials, placeholderConnectCredentials, SEALED_FROM } from '../src/lib/connect-credentials.ts';
import { generateIdentity, parseIdentities } from '../src/lib/age-keys.ts';
import { decryptYaml } from '../src/lib/sops.ts';
import { actions, createStubs } from './cli-stubs.ts';

const test = suite('seal-connect');
const SCRIPT = 'scripts/seal-connect.ts';
const key = await generateIdentity();
const CREDENTIALS = 'eyJ2ZXJpZmllciI6eyJzYWx0IjoiYWJjIn19';
const TOKEN = 'eyJhbGciOiJFUzI1NiJ9.payload.signature';
const values = (cluster: string, token = TOKEN) =>
  JSON.stringify({ [`op://k8s-ops/onepassword-connect-${cluster}/credentials-base64`]: CREDENTIALS, [`op://k8s-ops/onepassword-connect-${cluster}/token`]: token });

let stubs: ReturnType<typeof createStubs>;
let file: string;
test.before.each(async () => {
  stubs = createStubs();
  writeFileSync(
    join(stubs.repo, '.sops.yaml'),
    `creation_rules:\n  - path_regex: clusters/.*\\.sops\\.ya?ml\n    encrypted_regex: ^(data|stringData)$\n    mac_only_encrypted: true\n    age: ${key.recipient}\n`,
  );
  file = join(stubs.repo, connectCredentialsPath('infra'));
  writeFileSync(file, await placeholderConnectCredentials(stubs.repo, 'infra'));
});
test.after.each(() => stubs.cleanup());

/** Without sops on PATH the toolkit seals (the bootstrap's own stub sops answers nothing). */
const withoutSops = () => stubs.removeTool('sops');

test('seals the Connect credentials from 1Password, encrypted for the .sops.yaml recipients', async () => {
  withoutSops();
  assert.ok(hasPlaceholderConnectCredentials(stubs.repo, 'infra'));
  const r = await stubs.runScript(SCRIPT, ['--cluster', 'infra'], { STUB_OP_VALUES: values('infra') });
  assert.is(r.code, 0, r.stderr);
  assert.equal(actions(stubs.calls()), ['op read op://k8s-ops/onepassword-connect-infra/credentials-base64', 'op read op://k8s-ops/onepassword-connect-infra/token']);
  const sealed = readFileSync(file, 'utf8');
  assert.not.ok(sealed.includes(TOKEN) || sealed.includes(CREDENTIALS), 'no plain value on disk');
  assert.not.ok((r.stdout + r.stderr).includes(TOKEN), 'nor in the output');
  assert.equal(parse(sealed).sops.age.map((a: any) => a.recipient), [key.recipient]);
  const secret = parse(await decryptYaml(sealed, parseIdentities(key.identity)));
  assert.equal(secret.stringData, { '1password-credentials.json': CREDENTIALS, token: TOKEN });
  assert.is(secret.metadata.annotations[SEALED_FROM], 'op://k8s-ops/onepassword-connect-infra');
  assert.not.ok(hasPlaceholderConnectCredentials(stubs.repo, 'infra'));
  assert.match(r.stdout, /sealed clusters\/infra\/secrets\/onepassword-connect\/onepassword-connect-secret\.sops\.yaml from op:\/\/k8s-ops\/onepassword-connect-infra \(encrypted by the toolkit's SOPS, sops not being on PATH\)/);
});

test('--dry-run prints the plan, calls nothing and writes nothing', async () => {
  withoutSops();
  const before = readFileSync(file, 'utf8');
  const r = await stubs.runScript(SCRIPT, ['--cluster', 'infra', '--dry-run'], { STUB_OP_VALUES: values('infra') });
  assert.is(r.code, 0, r.stderr);
  assert.equal(stubs.calls(), []);
  assert.is(readFileSync(file, 'utf8'), before);
  assert.match(r.stdout, new RegExp(`write clusters/infra/secrets/onepassword-connect/onepassword-connect-secret\\.sops\\.yaml, encrypted for ${key.recipient} by the toolkit's SOPS \\(sops is not on PATH\\)`));
});

test('a missing 1Password item stops it in one line, with the file untouched', async () => {
  const before = readFileSync(file, 'utf8');
  const r = await stubs.runScript(SCRIPT, ['--cluster', 'infra'], { STUB_OP_VALUES: values('apps') });
  assert.is(r.code, 1);
  assert.is(r.stderr.trim(), 'seal-connect: op exited with code 1');
  assert.is(readFileSync(file, 'utf8'), before);
});

test('a value that is not one line is refused, naming the field', async () => {
  const before = readFileSync(file, 'utf8');
  const r = await stubs.runScript(SCRIPT, ['--cluster', 'infra'], { STUB_OP_VALUES: values('infra', 'line one\nline two') });
  assert.is(r.code, 1);
  assert.is(r.stderr.trim(), 'seal-connect: op://k8s-ops/onepassword-connect-infra/token: expected one non-empty line (see docs/secrets.md for the item\'s fields)');
  assert.is(readFileSync(file, 'utf8'), before);
});

test('the bootstrap refuses placeholder credentials before it runs anything, and its dry run says so', async () => {
  const r = await stubs.runScript('scripts/bootstrap.ts', ['--cluster', 'infra', '--yes'], { STUB_TALCONFIG: stubs.talconfig('infra') });
  assert.is(r.code, 1);
  assert.is(
    r.stderr.trim(),
    'bootstrap: clusters/infra/secrets/onepassword-connect/onepassword-connect-secret.sops.yaml holds placeholder credentials: run `task op:seal-connect CLUSTER=infra`, commit and push, then run this again',
  );
  assert.equal(stubs.calls(), []);
  const dry = await stubs.runScript('scripts/bootstrap.ts', ['--cluster', 'infra', '--dry-run']);
  assert.is(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /connect +clusters\/infra\/secrets\/onepassword-connect\/onepassword-connect-secret\.sops\.yaml is a PLACEHOLDER: run `task op:seal-connect CLUSTER=infra`/);
  // Sealed, the same bootstrap goes through.
  const stub = join(stubs.dir, 'bin', 'sops');
  const stubProgram = readFileSync(stub, 'utf8');
  withoutSops();
  assert.is((await stubs.runScript(SCRIPT, ['--cluster', 'infra'], { STUB_OP_VALUES: values('infra') })).code, 0);
  writeFileSync(stub, stubProgram);
  chmodSync(stub, 0o755);
  const again = await stubs.runScript('scripts/bootstrap.ts', ['--cluster', 'infra', '--yes'], { STUB_TALCONFIG: stubs.talconfig('infra') });
  assert.is(again.code, 0, again.stderr);
});

test('with sops on PATH, sops encrypts: the plain Secret goes to its stdin, its answer is the file', async () => {
  // A recording sops that answers `sops encrypt` as the real one does: the encrypted document on stdout.
  const answer = 'stringData:\n    token: ENC[AES256_GCM,data:eA==,iv:aXY=,tag:dGFn,type:str]\nsops:\n    mac: ENC[AES256_GCM,data:eA==,iv:aXY=,tag:dGFn,type:str]\n';
  const record = join(stubs.dir, 'sops-call.json');
  const sops = join(stubs.dir, 'bin', 'sops');
  writeFileSync(
    sops,
    `#!${process.execPath}\nconst fs = require('node:fs');\nconst stdin = fs.readFileSync(0, 'utf8');\nfs.writeFileSync(${JSON.stringify(record)}, JSON.stringify({ args: process.argv.slice(2), cwd: process.cwd(), stdin }));\nprocess.stdout.write(${JSON.stringify(answer)});\n`,
  );
  chmodSync(sops, 0o755);
  // A real process: the sops on PATH is the recording program above, not an in-process fake.
  const dry = await stubs.runScript(SCRIPT, ['--cluster', 'infra', '--dry-run'], { STUB_OP_VALUES: values('infra') }, '', ['sops']);
  assert.match(dry.stdout, /by sops encrypt \(plain text on stdin\)/);
  assert.not.ok(existsSync(record), 'a dry run does not call sops');
  const r = await stubs.runScript(SCRIPT, ['--cluster', 'infra'], { STUB_OP_VALUES: values('infra') }, '', ['sops']);
  assert.is(r.code, 0, r.stderr);
  const call = JSON.parse(readFileSync(record, 'utf8'));
  assert.equal(call.args, ['encrypt', '--filename-override', connectCredentialsPath('infra'), '--input-type', 'yaml', '--output-type', 'yaml']);
  assert.is(call.cwd, stubs.repo);
  assert.is(parse(call.stdin).stringData.token, TOKEN);
  assert.is(readFileSync(file, 'utf8'), answer);
  assert.match(r.stdout, /\(encrypted by sops\)/);
});

test.run();
