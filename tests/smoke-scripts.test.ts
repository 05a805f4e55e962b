// tests/smoke/*.sh, the live-cluster entry points of the DR tests: shellcheck-clean, and thin: with
// --dry-run they print the scripts' plans and call no tool. (A shell wrapper can only be tested as a
// process, one per case.)
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createStubs } from './cli-stubs.ts';
import { ROOT, runProcess } from './helpers.ts';

const test = suite('smoke scripts');
const SMOKE = join(ROOT, 'tests', 'smoke');

let stubs: ReturnType<typeof createStubs>;
test.before.each(() => {
  stubs = createStubs();
});
test.after.each(() => stubs.cleanup());

/** Runs a smoke script with the stub CLIs first on PATH, so that no real kubectl, flux or op can answer. */
const smoke = (script: string, args: string[]) =>
  runProcess('bash', [join(SMOKE, script), ...args], {
    env: { PATH: [join(stubs.dir, 'bin'), dirname(process.execPath), '/usr/bin', '/bin'].join(':'), HOME: stubs.dir, STUB_LOG: stubs.log, STUB_STATE_DIR: stubs.state },
  });

test('every smoke script is shellcheck-clean', () => {
  const scripts = readdirSync(SMOKE).filter((f) => f.endsWith('.sh'));
  assert.equal(scripts.sort(), ['dr-cnpg-restore.sh', 'dr-volsync-restore.sh']);
  const r = spawnSync('shellcheck', ['--external-sources', ...scripts.map((s) => join(SMOKE, s))], { encoding: 'utf8' });
  assert.ok(!r.error, `shellcheck is not installed (apt-get install -y shellcheck): ${r.error?.message}`);
  assert.is(r.status, 0, r.stdout + r.stderr);
});

test('dr-cnpg-restore.sh runs dr:test-cnpg-restore for the cluster, its flags passed on', async () => {
  const r = await smoke('dr-cnpg-restore.sh', ['apps', '--dry-run']);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /^dr test-cnpg-restore apps: plan \(dry run, nothing is executed\)$/m);
  assert.match(r.stdout, /recover +apply kubernetes\/apps\/databases\/cloudnative-pg\/recovery\/cluster\.yaml/);
  assert.equal(stubs.calls(), []);
  const usage = await smoke('dr-cnpg-restore.sh', []);
  assert.is(usage.code, 1);
  assert.match(usage.stderr, /usage: \S+dr-cnpg-restore\.sh infra\|apps \[flags of scripts\/dr\.ts test-cnpg-restore\]/);
});

test('dr-volsync-restore.sh snapshots, restores and shows the app; a dry run is dry throughout', async () => {
  const r = await smoke('dr-volsync-restore.sh', ['infra', 'gatus', 'observability', '--', '--dry-run', '--snapshot', '1']);
  assert.is(r.code, 0, r.stderr);
  const titles = r.stdout.split('\n').filter((l) => l.includes('plan (dry run'));
  assert.equal(titles, [
    'volsync snapshot gatus on infra: plan (dry run, nothing is executed)',
    'volsync restore gatus on infra: plan (dry run, nothing is executed)',
    'volsync status infra: plan (dry run, nothing is executed)',
  ]);
  assert.match(r.stdout, /the snapshot 1 before the latest/);
  assert.equal(stubs.calls(), []);
});

test.run();
