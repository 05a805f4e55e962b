import { cpSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { validateRepository } from '../src/validate/pipeline.ts';
import { findingLine } from '../src/validate/report.ts';
import { isRule } from '../src/validate/rules.ts';
import { CACHE, FIXTURES, fixtureRepo, SCHEMAS, tempDir } from './helpers.ts';

const test = suite('defect fixtures');
const cacheDir = CACHE;

const cases = readdirSync(FIXTURES).filter((c) => {
  try {
    return Boolean(readFileSync(join(FIXTURES, c, 'expect.yaml'), 'utf8'));
  } catch {
    return false;
  }
});

const run = async (name: string, expected: any) => {
  const repo = fixtureRepo(name);
  const path = expected.completes ? join(repo, 'kubernetes', 'flux', 'cluster') : undefined;
  const { results } = await validateRepository({ repo, path, schemaDirs: SCHEMAS, cacheDir });
  return results;
};

const expectations = new Map(cases.map((name) => [name, parse(readFileSync(join(FIXTURES, name, 'expect.yaml'), 'utf8'))]));

/**
 * Every case's validation, all started when the first is asked for: at once, their builds share kustomize
 * processes. Each case's test then awaits its own.
 */
let started: Map<string, ReturnType<typeof run>> | undefined;
const resultsOf = (name: string) => {
  started ??= new Map(
    cases.map((c) => {
      const results = run(c, expectations.get(c));
      // Failures are reported by the case's test, when it awaits them.
      results.catch(() => undefined);
      return [c, results];
    }),
  );
  return started.get(name)!;
};

for (const name of cases) {
  const expected = expectations.get(name);
  test(name, async () => {
    const results = await resultsOf(name);
    const findings = results.flatMap((r) => r.findings);
    for (const f of findings) assert.ok(isRule(f.rule), `${findingLine(f)}: the rule is not in src/validate/rules.ts`);
    const errors = findings.filter((f) => f.severity === 'error');
    if (expected.rule) {
      assert.equal(
        errors.map((f) => ({ rule: f.rule, file: f.file, line: f.line })),
        [{ rule: expected.rule, file: expected.file, line: expected.line }],
        findings.map(findingLine).join('\n'),
      );
    } else {
      assert.equal(findings.map(findingLine), [], `${name} should be clean`);
      if (expected.completes) {
        assert.is(results[0].resources.length, expected.resources);
        assert.is(results[0].kustomizations.length, expected.kustomizations);
      }
    }
  });
}

test('ExternalSecret refresh: a missing or zero interval is reported, a short one or the configured maximum is not', async () => {
  const refreshFindings = async (interval: string | undefined, config = '') => {
    const repo = tempDir();
    cpSync(fixtureRepo('slow-secret-refresh'), repo, { recursive: true });
    const file = join(repo, 'kubernetes/apps/demo/podinfo/app/externalsecret.yaml');
    const text = readFileSync(file, 'utf8');
    writeFileSync(file, interval === undefined ? text.replace('  refreshInterval: 1h\n', '') : text.replace('refreshInterval: 1h', `refreshInterval: ${interval}`));
    if (config) writeFileSync(join(repo, 'validator.config.yaml'), config);
    const { results } = await validateRepository({ repo, schemaDirs: SCHEMAS, cacheDir });
    return results.flatMap((r) => r.findings).filter((f) => f.rule === 'secret-refresh').map((f) => f.message);
  };
  assert.match((await refreshFindings(undefined))[0], /has no refreshInterval \(External Secrets then waits 1h\)/);
  assert.match((await refreshFindings('"0"'))[0], /never refreshes/);
  assert.equal(await refreshFindings('4m30s'), []);
  assert.equal(await refreshFindings('1h', 'secretRefreshMax: 1h\n'), []);
  assert.equal((await refreshFindings('61m', 'secretRefreshMax: 1h\n')).length, 1);
});

test('spec.ignoreMissingComponents turns a missing component into no finding', async () => {
  const repo = tempDir();
  cpSync(fixtureRepo('missing-component'), repo, { recursive: true });
  const ks = join(repo, 'kubernetes/apps/demo/podinfo/ks.yaml');
  writeFileSync(ks, readFileSync(ks, 'utf8').replace('  components:\n', '  ignoreMissingComponents: true\n  components:\n'));
  const { results } = await validateRepository({ repo, schemaDirs: SCHEMAS, cacheDir });
  assert.equal(results.flatMap((r) => r.findings).map(findingLine), []);
});

test('an unset variable is located at its use, not at a defaulted look-alike', async () => {
  const repo = tempDir();
  cpSync(fixtureRepo('unresolved-variable'), repo, { recursive: true });
  const hr = join(repo, 'kubernetes/apps/demo/podinfo/app/helmrelease.yaml');
  const text = readFileSync(hr, 'utf8');
  const line = text.split('\n').findIndex((l) => l.includes('${CLUSTER_NAEM}')) + 1;
  writeFileSync(hr, text.replace('spec:\n', 'spec:\n  # ${CLUSTER_NAEM:=x} ${CLUSTER_NAEMS}\n'));
  const { results } = await validateRepository({ repo, schemaDirs: SCHEMAS, cacheDir });
  const unresolved = results.flatMap((r) => r.findings).filter((f) => f.rule === 'unresolved-variable');
  assert.equal(unresolved.map((f) => f.line), [line + 1]);
});

test('every defect class named by the foundation issue has a fixture', () => {
  for (const required of [
    'dangling-depends-on', 'cyclic-depends-on', 'unknown-source', 'unknown-secret-store', 'unknown-gateway',
    'missing-namespace', 'unknown-storage-class', 'unresolved-variable', 'duplicate-id', 'schema-typo', 'wrong-type',
    'deprecated-api-version', 'missing-remediation', 'yml-kustomization', 'plaintext-secret', 'unpinned-chart',
    'missing-network-policy', 'missing-component', 'broken-yaml',
  ]) {
    assert.ok(cases.includes(required), `no fixture for ${required}`);
  }
});

test.run();
