import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parse, parseAllDocuments } from 'yaml';
import { exitWhenFlushed, invoke } from '../src/lib/cli.ts';
import { main as validateMain } from '../src/validate/cli.ts';
import { main as renderMain } from '../src/validate/render-cli.ts';
import { listComponents } from '../src/validate/components.ts';
import { CACHE, FIXTURES, fixtureRepo, ROOT, runNode, tempDir } from './helpers.ts';

const test = suite('cli');
// The entry points' main, in-process, as `npm run validate|render -- <args>` runs it.
const validate = (args: string[]) => invoke(validateMain, ['--cache-dir', CACHE, ...args]);
const render = (args: string[]) => invoke(renderMain, ['--cache-dir', CACHE, ...args]);

test('exit 0 and a summary table on a clean repository', async () => {
  const r = await validate(['--repo', join(FIXTURES, 'clean')]);
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /cluster\s+kustomizations\s+resources\s+errors\s+warnings\s+seconds/);
  assert.match(r.stdout, /^test\s+\d+\s+\d+\s+0\s+0\s/m);
});

test('exit 1 and one path:line: rule [tag]: message line per finding', async () => {
  const expected = parse(readFileSync(join(FIXTURES, 'dangling-depends-on', 'expect.yaml'), 'utf8'));
  const r = await validate(['--repo', fixtureRepo('dangling-depends-on')]);
  assert.is(r.code, 1);
  assert.ok(r.stdout.includes(`${expected.file}:${expected.line}: ${expected.rule} [flux]: `), r.stdout);
});

test('--format json for machines', async () => {
  const r = await validate(['--repo', fixtureRepo('dangling-depends-on'), '--format', 'json']);
  const out = JSON.parse(r.stdout);
  assert.is(out.clusters[0].cluster, 'test');
  assert.is(out.findings.filter((f: any) => f.severity === 'error').length, 1);
  assert.is(out.findings[0].rule, 'depends-on');
});

test('usage errors exit 2 with one line and no stack trace', async () => {
  for (const args of [['--bogus'], ['--cluster', 'nope'], ['--path', 'no/such/dir'], ['--format', 'xml'], ['--schema-dir', '/no/such']]) {
    const r = await validate(args);
    assert.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /^error: /);
    assert.not.match(r.stderr, /\bat .*\.ts:\d+/);
  }
});

test('--cluster limits the run', async () => {
  const r = await validate(['--cluster', 'infra', '--format', 'json']);
  const out = JSON.parse(r.stdout);
  assert.equal(out.clusters.map((c: any) => c.cluster), ['infra']);
  // The component library is checked too, through a sample app per component, on that cluster alone.
  assert.is(out.components.kustomizations, listComponents(ROOT).length);
  assert.is(out.components.errors, 0, JSON.stringify(out.findings));
});

test('--path runs on a home-ops style repository laid out differently', async () => {
  const repo = join(FIXTURES, 'home-ops-style');
  const expected = parse(readFileSync(join(repo, 'expect.yaml'), 'utf8'));
  const r = await validate(['--repo', repo, '--path', join(repo, 'kubernetes', 'flux', 'cluster'), '--format', 'json']);
  assert.ok(r.code === 0 || r.code === 1, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.is(out.clusters.length, 1);
  assert.is(out.clusters[0].kustomizations, expected.kustomizations);
  assert.is(out.clusters[0].resources, expected.resources);
  assert.is(out.components, undefined, 'a tree given with --path has no library check');
});

test('render writes one substituted multi-document file per Flux Kustomization', async () => {
  const out = tempDir();
  const r = await render(['--repo', join(FIXTURES, 'clean'), '--out', out]);
  assert.is(r.code, 0, r.stderr);
  const files = readdirSync(join(out, 'flux-system')).sort();
  assert.ok(files.includes('flux-system.yaml'), files.join(','));
  assert.ok(files.includes('cluster-apps.yaml'), files.join(','));
  const root = parseAllDocuments(readFileSync(join(out, 'flux-system', 'flux-system.yaml'), 'utf8')).map((d) => d.toJS());
  assert.ok(root.some((o) => o.kind === 'ConfigMap' && o.metadata.name === 'cluster-vars'));
  for (const f of readdirSync(out, { recursive: true }).map(String).filter((f) => f.endsWith('.yaml'))) {
    const text = readFileSync(join(out, f), 'utf8');
    assert.not.match(text, /\$\{[A-Z_]+/, `${f} still has a variable`);
    assert.not.match(text, /config\.kubernetes\.io\/origin/, `${f} leaks kustomize's origin annotation`);
  }
});

test('render needs --out', async () => {
  const r = await render(['--repo', join(FIXTURES, 'clean')]);
  assert.is(r.code, 2);
  assert.match(r.stderr, /error: --out is required \(see --help\)/);
  assert.not.ok(existsSync(join(FIXTURES, 'clean', 'rendered')));
});

test('a command exits only once its output has left the process, as a pipe takes it', async () => {
  // A pipe whose reader is behind: it holds the findings until released.
  let release = () => {};
  const pipe = new Writable({ write: (chunk: Buffer, _enc, done) => (chunk.length ? (release = done) : done()) });
  pipe.write('x'.repeat(200_000));
  const exits: number[] = [];
  const exited = exitWhenFlushed(1, [pipe, new Writable({ write: (_c, _e, done) => done() })], (code) => exits.push(code));
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(exits, [], 'exited with output still in the process');
  release();
  await exited;
  assert.equal(exits, [1]);
  // A reader that went away (`| head -1`): the command still exits with its code, without a stack trace.
  const gone = new Writable({ write: (_c, _e, done) => done(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' })) });
  gone.write('findings');
  await exitWhenFlushed(2, [gone], (code) => exits.push(code));
  assert.equal(exits, [1, 2]);
});

test('end to end, as npm runs it: node and tsx, the exit code and the output of a real process', async () => {
  // Two processes: a success and a failure. The usage error's text is the same in-process (its exit code
  // reaches the shell as the render failure's does).
  const [clean, usage, failing] = await Promise.all([
    runNode('src/validate/cli.ts', ['--cache-dir', CACHE, '--repo', join(FIXTURES, 'clean')]),
    invoke(validateMain, ['--bogus']),
    runNode('src/validate/render-cli.ts', ['--repo', join(FIXTURES, 'clean')]),
  ]);
  assert.is(clean.code, 0, clean.stderr);
  assert.match(clean.stdout, /^test\s+\d+\s+\d+\s+0\s+0\s/m);
  assert.is(usage.code, 2);
  assert.match(usage.stderr, /^error: Unknown option '--bogus'/);
  assert.is(failing.code, 2);
});

test.run();
