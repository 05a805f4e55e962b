import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { loadSchema } from '../generators/lib/answers.ts';
import { findReferences } from '../scripts/lib/references.ts';
import { validateRepository } from '../src/validate/pipeline.ts';
import { findingLine } from '../src/validate/report.ts';
import { invoke } from '../src/lib/cli.ts';
import { main } from '../scripts/remove-cluster.ts';
import { generate, ROOT, SCHEMAS, scratchRepo, unexpectedFindings, writeAnswers } from './helpers.ts';

const test = suite('remove cluster');
// Named so that no doc example (they use lab) refers to it.
const edge = { ...loadSchema('cluster').examples[0], name: 'edge' };
/** The script in-process on `repo`; nothing is typed at its confirmation. */
const remove = (repo: string, args: string[]) =>
  invoke(main, args, { env: { ...process.env, K8S_OPS_ROOT: repo }, readLine: async () => '' }, 'remove-cluster: ');

test('a cluster nothing refers to is removed after --yes, and the rest still validates', async () => {
  const repo = await scratchRepo();
  assert.is((await generate(repo, 'cluster', ['--answers', writeAnswers(edge)])).code, 0);
  assert.equal(findReferences(repo, 'edge'), []);
  const dry = await remove(repo, ['--cluster', 'edge', '--dry-run']);
  assert.is(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /would delete: clusters\/edge, bootstrap\/edge/);
  assert.ok(existsSync(join(repo, 'clusters/edge')));
  const unconfirmed = await remove(repo, ['--cluster', 'edge']);
  assert.is.not(unconfirmed.code, 0);
  assert.match(unconfirmed.stderr, /not confirmed/);
  assert.ok(existsSync(join(repo, 'clusters/edge')));
  const r = await remove(repo, ['--cluster', 'edge', '--yes']);
  assert.is(r.code, 0, r.stderr);
  assert.not.ok(existsSync(join(repo, 'clusters/edge')));
  assert.not.ok(existsSync(join(repo, 'bootstrap/edge')));
  const { results } = await validateRepository({ repo, schemaDirs: SCHEMAS });
  assert.equal(results.map((x) => x.cluster.name), ['apps', 'infra']);
  assert.equal(unexpectedFindings(results.flatMap((x) => x.findings)).map(findingLine), []);
});

test('a cluster still referred to is refused with each reference, nothing deleted', async () => {
  const repo = await scratchRepo();
  assert.is((await generate(repo, 'cluster', ['--answers', writeAnswers(edge)])).code, 0);
  const index = join(repo, 'docs', 'index.md');
  const lines = readFileSync(index, 'utf8').split('\n').length;
  appendFileSync(index, 'The edge cluster: see clusters/edge/talos/README.md.\n');
  const r = await remove(repo, ['--cluster', 'edge', '--yes']);
  assert.is.not(r.code, 0);
  assert.match(r.stderr, /edge is still referred to; change these first, nothing was deleted/);
  assert.match(r.stderr, new RegExp(`docs/index\\.md:${lines}: The edge cluster`));
  assert.ok(existsSync(join(repo, 'clusters/edge')));
  assert.ok(findReferences(ROOT, 'apps').some((x) => x.file === '.github/workflows/kubeconform.yaml'), 'a workflow matrix counts as a reference');
});

test('an unknown cluster is a usage error', async () => {
  const r = await remove(ROOT, ['--cluster', 'nope', '--dry-run']);
  assert.is(r.code, 2);
  assert.match(r.stderr, /--cluster nope: no such cluster/);
});

test.run();
