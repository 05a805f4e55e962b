// Commands start from the small helper process (src/lib/spawner.ts), as given, without a shell: what the
// exec seam and the kustomize runs rely on.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnCommand } from '../src/lib/exec.ts';
import { helperPid, launch, launchInBackground } from '../src/lib/spawner.ts';
import { tempDir } from './helpers.ts';

const test = suite('spawner');

/** Whether a process runs: a killed one may stay a zombie for a while, until something reaps it. */
const isRunning = (pid: number): boolean => {
  try {
    return !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};
const PATH = process.env.PATH;

test('arguments reach the command as given: no shell splits, expands or quotes them', async () => {
  const r = await spawnCommand({ cmd: 'sh', args: ['-c', 'printf "%s|" "$@"', 'sh', 'a b', '$HOME', "it's", '*'], env: { PATH } });
  assert.equal(r, { code: 0, stdout: "a b|$HOME|it's|*|", stderr: '' });
});

test('input goes to stdin; stdout and stderr come back apart, with the exit code', async () => {
  const r = await spawnCommand({ cmd: 'sh', args: ['-c', 'cat; echo oops >&2; exit 3'], env: { PATH }, input: 'hello\n' });
  assert.equal(r, { code: 3, stdout: 'hello\n', stderr: 'oops\n' });
});

test("an operator's ~/.bashrc is not read, even with SHLVL unset and stdin a pipe (bash would read it then)", async () => {
  const home = tempDir('k8s-ops-home-');
  writeFileSync(join(home, '.bashrc'), 'echo FROM-BASHRC\nexport ADDED=yes\n');
  const r = await spawnCommand({ cmd: 'printenv', args: [], env: { PATH, HOME: home }, input: '' });
  assert.is(r.code, 0);
  assert.not.match(r.stdout, 'FROM-BASHRC');
  assert.not.match(r.stdout, 'ADDED=yes');
  assert.not.match(r.stdout, /^SHLVL=/m);
});

test('a command that is not installed answers 127, as a shell would, naming it', async () => {
  const r = await spawnCommand({ cmd: 'k8s-ops-no-such-tool', args: ['--version'], env: { PATH } });
  assert.equal(r, { code: 127, stdout: '', stderr: 'k8s-ops-no-such-tool: command not found\n' });
});

test('a working folder that does not exist is named as such, not as a missing command', async () => {
  const r = await spawnCommand({ cmd: 'ls', args: [], cwd: '/nonexistent-k8s-ops', env: { PATH } });
  assert.equal(r, { code: 127, stdout: '', stderr: 'ls: cannot run in /nonexistent-k8s-ops: no such folder\n' });
});

test('a helper that dies: what it ran is stopped and reported lost, and the next command starts a new one', async () => {
  const running = launch('sh', ['-c', 'sleep 5; echo done'], { env: { PATH } });
  const pid = (await running.pid)!;
  process.kill(helperPid()!, 'SIGKILL');
  const r = await running.result;
  assert.equal([r.code, r.error, r.notStarted], [null, 'lost', false]);
  for (let i = 0; i < 50 && isRunning(pid); i++) await sleep(20);
  assert.not.ok(isRunning(pid), 'the command was stopped with it');
  assert.equal(await spawnCommand({ cmd: 'echo', args: ['next'], env: { PATH } }), { code: 0, stdout: 'next\n', stderr: '' });
  // Sent as it dies: reported in one line, never run twice, and this process goes on.
  for (let i = 0; i < 5; i++) {
    await spawnCommand({ cmd: 'true', args: [], env: { PATH } });
    const dying = helperPid()!;
    const sent = spawnCommand({ cmd: 'echo', args: [String(i)], env: { PATH } });
    process.kill(dying, 'SIGKILL');
    const answer = await sent;
    if (answer.code !== 0) assert.match(answer.stderr, /^echo: (stopped|could not be started): the process that start(s|ed) (commands|it) exited\n$/);
  }
});

test('output comes back byte for byte, a leading byte order mark and split multi-byte characters included', async () => {
  const text = `\uFEFFstart ${'é€😀'.repeat(30000)} end`;
  const r = await spawnCommand({ cmd: 'cat', args: [], env: { PATH }, input: text });
  assert.ok(r.stdout === text, `got ${r.stdout.length} characters for ${text.length}`);
});

test('a command killed by a signal fails; one past its output limit is stopped with what it started', async () => {
  assert.is((await spawnCommand({ cmd: 'sh', args: ['-c', 'kill -KILL $$'], env: { PATH } })).code, 1);
  const { pid, result } = launch('sh', ['-c', 'yes & wait'], { env: { PATH }, detached: true, outputLimit: 4096 });
  const r = await result;
  assert.ok(r.overflow);
  assert.ok(r.stdout.length <= 4096, `kept ${r.stdout.length} bytes`);
  // The whole group went: `yes`, started by the shell, too.
  const group = (await pid)!;
  const alive = () => {
    try {
      return process.kill(-group, 0);
    } catch {
      return false;
    }
  };
  for (let i = 0; i < 100 && alive(); i++) await sleep(20);
  assert.not.ok(alive());
});

test('a background command goes on by itself', async () => {
  const dir = tempDir('k8s-ops-background-');
  mkdirSync(join(dir, 'a', 'b'), { recursive: true });
  await launchInBackground('rm', ['-rf', join(dir, 'a')], { env: { PATH } });
  for (let i = 0; i < 100 && existsSync(join(dir, 'a')); i++) await sleep(20);
  assert.not.ok(existsSync(join(dir, 'a')));
});

test('commands started side by side each get their own answer', async () => {
  const runs = await Promise.all([...Array(8).keys()].map((i) => spawnCommand({ cmd: 'sh', args: ['-c', `sleep 0.0${8 - i}; echo ${i}`], env: { PATH } })));
  assert.equal(runs.map((r) => r.stdout.trim()), ['0', '1', '2', '3', '4', '5', '6', '7']);
});

test.run();
