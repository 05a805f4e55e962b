import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parse, parseAllDocuments } from 'yaml';
import { writeSyntheticRepo } from '../bench/synthetic.ts';
import { envsubst, parseTemplate } from '../src/validate/envsubst.ts';
import { validateRepository } from '../src/validate/pipeline.ts';
import { substituteObject } from '../src/validate/substitute.ts';
import type { KObject } from '../src/validate/types.ts';
import { SCHEMAS, tempDir } from './helpers.ts';

const test = suite('substitute');
const data = (file: string) => parse(readFileSync(new URL(`./data/${file}`, import.meta.url), 'utf8'));

interface ExpandCase {
  input: string;
  vars: Record<string, string>;
  output: string;
  missing?: string[];
}

const expands = (origin: string, cases: ExpandCase[]) => {
  for (const c of cases) {
    test(`${origin}: ${c.input} with ${JSON.stringify(c.vars)}`, () => {
      const result = envsubst(c.input, c.vars);
      assert.equal(result.error, undefined, result.error?.message);
      assert.is(result.output, c.output);
      assert.equal(result.missing.sort(), c.missing ?? []);
    });
  }
};

const flux = data('envsubst-flux.yaml');
for (const c of flux.parse) {
  test(`Flux parse table: ${c.input}`, () => assert.equal(parseTemplate(c.input), c.tree));
}
expands('Flux expand table', flux.expand);
// Where strict Flux fails with "variable not set", the case lists the variable as missing.
expands('Flux strict table', flux.strict);

const ours = data('envsubst-ours.yaml');
expands('Flux semantics', ours.expand);
for (const c of ours.errors) {
  test(`Flux rejects or fails on ${c.input}`, () => {
    const result = envsubst(c.input, c.vars ?? { A: 'a', B: 'b' });
    assert.ok(result.error, `no error for ${c.input}`);
    assert.match(result.error.message, c.error);
    if (c.expression) assert.is(result.error.expression, c.expression);
    assert.match(result.error.message, result.error.expression);
    assert.is(result.output, c.input, 'the text is left as written');
  });
}

/** The variables Flux loads: each substituteFrom source in list order, a Secret's data decoded, inline values last. */
const fluxVariables = (c: any): Record<string, string> => {
  const vars: Record<string, string> = {};
  for (const source of c.substituteFrom ?? []) {
    for (const [k, v] of Object.entries<string>(source.data ?? {})) vars[k] = source.kind === 'Secret' ? Buffer.from(v, 'base64').toString('utf8') : v;
    Object.assign(vars, source.stringData ?? {});
  }
  return Object.assign(vars, c.substitute ?? {});
};
const documents = (text: string): KObject[] => parseAllDocuments(text).map((d) => d.toJS());

for (const c of data('varsub-flux.yaml')) {
  test(`Flux varsub: ${c.name}`, () => {
    const vars = fluxVariables(c);
    const results = documents(c.resources).map((obj) => substituteObject(obj, vars));
    assert.equal(results.map((r) => r.error), results.map(() => undefined));
    if (c.expect) assert.equal(results.map((r) => r.obj), documents(c.expect));
    assert.equal([...new Set(results.flatMap((r) => r.missing))].sort(), c.missing ?? []);
  });
}

test('our one difference from Flux: a variable without value or default is reported', () => {
  // Flux writes an empty string (or, with its StrictPostBuildSubstitutions gate, fails on a plain ${VAR} only).
  assert.equal(envsubst('host: ${NOPE}.${DOMAIN}', { DOMAIN: 'd' }), { output: 'host: .d', missing: ['NOPE'] });
  assert.equal(envsubst('${NOPE,,}${GONE:=x}', {}).missing, ['NOPE']);
});

test('substitution re-types scalars as Flux does', () => {
  const out = substituteObject({ kind: 'X', spec: { replicas: '${N}' } }, { N: '3' });
  assert.is(out.obj.spec.replicas, 3);
  const raw = substituteObject({ kind: 'X', spec: { replicas: 1, name: '${APP}' } }, { APP: 'gatus' });
  assert.is(raw.obj.spec.name, 'gatus');
});

test('every value loses its newlines, as kustomize-controller loads it', () => {
  const out = substituteObject({ kind: 'X', data: { a: '${A}-${#A}', b: '${A/b/x}' } }, { A: 'a\nb\n' });
  assert.equal(out.obj.data, { a: 'ab-2', b: 'ax' });
});

test('the opt-out label or annotation skips an object', () => {
  for (const where of ['annotations', 'labels']) {
    const obj = { kind: 'ConfigMap', metadata: { [where]: { 'kustomize.toolkit.fluxcd.io/substitute': 'disabled' } }, data: { a: '${NOPE}', b: '${A-x}' } };
    const out = substituteObject(obj, { A: 'a' });
    assert.equal(out, { obj, missing: [] });
  }
});

test('with no variable at all Flux substitutes nothing, bad forms included', () => {
  const obj = { kind: 'ConfigMap', data: { a: '$${ESCAPED}', b: 'x ${APP:=demo} ${NOPE} ${A-x}' } };
  assert.equal(substituteObject(obj, {}), { obj, missing: [] });
});

test('a form Flux rejects fails the object with the expression named and located', () => {
  const out = substituteObject({ kind: 'X', spec: { a: '${A}', b: 'pre ${A-x} post', c: '${{ github.sha }}' } }, { A: 'a' });
  assert.is(out.error, '${A-x} is not valid Flux substitution syntax (missing closing brace)');
  assert.ok(new RegExp(out.errorAt ?? '^$').test('  b: pre ${A-x} post'));
  assert.is(out.obj.spec.a, 'a', 'the rest is still substituted, so later stages do not trip on it');
});

test('the pipeline reports a bad expression on its line and strips newlines from substituteFrom values', async () => {
  const repo = tempDir();
  writeSyntheticRepo(repo, 1, 1);
  const vars = join(repo, 'clusters/c1/flux/vars.yaml');
  writeFileSync(vars, readFileSync(vars, 'utf8').replace('CLUSTER_DOMAIN: c1.example.dev', 'CLUSTER_DOMAIN: |\n    c1.example\n    .dev'));
  const hr = join(repo, 'kubernetes/apps/ns0/app0/app/helmrelease.yaml');
  writeFileSync(hr, readFileSync(hr, 'utf8').replace('  values:\n', '  values:\n    tag: ${APP:0:2}\n    broken: ${APP-x}\n'));
  const { results } = await validateRepository({ repo, schemaDirs: SCHEMAS, cacheDir: tempDir() });
  const findings = results.flatMap((r) => r.findings).filter((f) => f.rule === 'substitute' || f.rule === 'unresolved-variable');
  const line = readFileSync(hr, 'utf8').split('\n').findIndex((l) => l.includes('${APP-x}')) + 1;
  assert.equal(
    findings.map((f) => ({ rule: f.rule, file: f.file, line: f.line, message: f.message })),
    [{ rule: 'substitute', file: 'kubernetes/apps/ns0/app0/app/helmrelease.yaml', line, message: 'HelmRelease ${APP}: ${APP-x} is not valid Flux substitution syntax (missing closing brace)' }],
  );
  const release = results[0].resources.find((r) => r.obj.kind === 'HelmRelease');
  assert.equal(release?.obj.spec.values.ingress.hosts[0].host, 'app0.c1.example.dev');
  assert.equal(release?.obj.spec.values.tag, 'ap');
});

test.run();
