import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parse, parseAllDocuments } from 'yaml';
import { listComponents } from '../src/validate/components.ts';
import { FIXTURES, ROOT, runNode, tempDir } from './helpers.ts';

const test = suite('cli');
const validate = (args: string[]) => runNode('src/validate/cli.ts', ['--cache-dir', tempDir(), ...args]);
const render = (args: string[]) => runNode('src/validate/render-cli.ts', ['--cache-dir', tempDir(), ...args]);

test('exit 0 and a summary table on a clean repository', () => {
  const r = validate(['--repo', join(FIXTURES, 'clean')]);
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /cluster\s+kustomizations\s+resources\s+errors\s+warnings\s+seconds/);
  assert.match(r.stdout, /^test\s+\d+\s+\d+\s+0\s+0\s/m);
});

test('exit 1 and one path:line: rule: message line per finding', () => {
  const expected = parse(readFileSync(join(FIXTURES, 'dangling-depends-on', 'expect.yaml'), 'utf8'));
  const r = validate(['--repo', join(FIXTURES, 'dangling-depends-on')]);
  assert.is(r.code, 1);
  assert.ok(r.stdout.includes(`${expected.file}:${expected.line}: ${expected.rule}: `), r.stdout);
});

test('--format json for machines', () => {
  const r = validate(['--repo', join(FIXTURES, 'dangling-depends-on'), '--format', 'json']);
  const out = JSON.parse(r.stdout);
  assert.is(out.clusters[0].cluster, 'test');
  assert.is(out.findings.filter((f: any) => f.severity === 'error').length, 1);
  assert.is(out.findings[0].rule, 'depends-on');
});

test('usage errors exit 2 with one line and no stack trace', () => {
  for (const args of [['--bogus'], ['--cluster', 'nope'], ['--path', 'no/such/dir'], ['--format', 'xml'], ['--schema-dir', '/no/such']]) {
    const r = validate(args);
    assert.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /^error: /);
    assert.not.match(r.stderr, /\bat .*\.ts:\d+/);
  }
});

test('--cluster limits the run', () => {
  const r = validate(['--cluster', 'infra', '--format', 'json']);
  const out = JSON.parse(r.stdout);
  assert.equal(out.clusters.map((c: any) => c.cluster), ['infra']);
  // The component library is checked too, through a sample app per component, on that cluster alone.
  assert.is(out.components.kustomizations, listComponents(ROOT).length);
  assert.is(out.components.errors, 0, JSON.stringify(out.findings));
});

test('--path runs on a home-ops style repository laid out differently', () => {
  const repo = join(FIXTURES, 'home-ops-style');
  const expected = parse(readFileSync(join(repo, 'expect.yaml'), 'utf8'));
  const r = validate(['--repo', repo, '--path', join(repo, 'kubernetes', 'flux', 'cluster'), '--format', 'json']);
  assert.ok(r.code === 0 || r.code === 1, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.is(out.clusters.length, 1);
  assert.is(out.clusters[0].kustomizations, expected.kustomizations);
  assert.is(out.clusters[0].resources, expected.resources);
  assert.is(out.components, undefined, 'a tree given with --path has no library check');
});

test('render writes one substituted multi-document file per Flux Kustomization', () => {
  const out = tempDir();
  const r = render(['--repo', join(FIXTURES, 'clean'), '--out', out]);
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

test('render needs --out', () => {
  const r = render(['--repo', join(FIXTURES, 'clean')]);
  assert.is(r.code, 2);
  assert.match(r.stderr, /error: --out is required \(see --help\)/);
  assert.not.ok(existsSync(join(FIXTURES, 'clean', 'rendered')));
});

test.run();
