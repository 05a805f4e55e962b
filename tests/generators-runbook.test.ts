import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { stringify } from 'yaml';
import { slugOf, taskNames, withRunbookLink } from '../generators/runbook.ts';
import { validateRepository } from '../src/validate/pipeline.ts';
import { findingLine, uniqueFindings } from '../src/validate/report.ts';
import { commitAll, copyPath, generate, generatorSchema, gitStatus, refusalFailures, ROOT, SCHEMAS, scratchRepo, tempDir, unexpectedFindings, writeAnswers, type Run } from './helpers.ts';

const test = suite('generators: runbook');

const { schema, example: EXAMPLE, valid } = generatorSchema('runbook');
const FILE = `docs/runbooks/${slugOf(EXAMPLE.title)}.md`;
/** `npx plop runbook -- <args>` in-process, with `cwd` the repository to change. */
const plop = (cwd: string, args: string[]) => generate(cwd, 'runbook', args);

/** The titles of the list of runbook links the generator writes to: the first such list in the file. */
const runbookList = (index: string): string[] => {
  const lines = index.split('\n');
  const first = lines.findIndex((l) => /^\s*- \[.+?\]\(runbooks\/.+\.md\)/.test(l));
  const indent = lines[first].match(/^\s*/)![0];
  const titles: string[] = [];
  for (let i = first; i < lines.length && (lines[i].startsWith(`${indent} `) || lines[i].startsWith(`${indent}- [`)); i++) {
    const m = new RegExp(`^${indent}- \\[(.+?)\\]\\(runbooks/`).exec(lines[i]);
    if (m) titles.push(m[1]);
  }
  return titles;
};

const output = (r: Run) => `${r.stdout}\n${r.stderr}`;
const read = (root: string, path: string) => readFileSync(join(root, path), 'utf8');

/** A scratch repository with the Taskfiles (the task names are checked), copied for each test. */
let base: string;
test.before(async () => {
  base = await scratchRepo();
  copyPath(join(ROOT, 'Taskfile.yaml'), join(base, 'Taskfile.yaml'));
  copyPath(join(ROOT, '.taskfiles'), join(base, '.taskfiles'));
  await commitAll(base);
});
const fresh = (): string => {
  const dir = tempDir('k8s-ops-repo-');
  copyPath(base, dir);
  return dir;
};

test('the schema documents every field and its example is valid', async () => {
  for (const [key, field] of Object.entries<any>(schema.properties)) assert.ok(field.title && field.description, key);
  valid(EXAMPLE);
  assert.is(slugOf('CloudNativePG: restore a database'), 'cloudnativepg-restore-a-database');
});

test('the generators\' reference shows the schema\'s example', () => {
  const readme = readFileSync(join(ROOT, 'docs', 'toolkit', 'generators.md'), 'utf8');
  assert.ok(readme.includes(`\`\`\`yaml\n${stringify(EXAMPLE, { lineWidth: 0 })}\`\`\``), 'docs/toolkit/generators.md shows the example verbatim');
});

test('good answers write the runbook with its four sections and link it from docs/index.md, keeping the rest', async () => {
  const root = fresh();
  const indexBefore = read(root, 'docs/index.md');
  const r = await plop(root, ['--answers', writeAnswers(EXAMPLE)]);
  assert.is(r.code, 0, output(r));
  assert.match(output(r), `runbook ${slugOf(EXAMPLE.title)}: 2 files written`);
  assert.equal((await gitStatus(root)).trimEnd().split('\n').sort(), [' M docs/index.md', `?? ${FILE}`]);

  const md = read(root, FILE);
  assert.ok(md.startsWith(`# ${EXAMPLE.title}\n\nComponent: \`flux\`.\n\n${EXAMPLE.summary}\n`), md);
  const headings = md.split('\n').filter((l) => l.startsWith('#'));
  assert.equal(headings, [`# ${EXAMPLE.title}`, '## Symptoms', '## Diagnosis', '## Resolution', '## Related tasks']);
  assert.match(md, `## Symptoms\n\n- ${EXAMPLE.symptoms[0]}\n- ${EXAMPLE.symptoms[1]}\n`);
  assert.match(md, `## Diagnosis\n\n1. ${EXAMPLE.diagnosis[0]}\n2. `);
  assert.match(md, `## Resolution\n\n1. ${EXAMPLE.resolution[0]}\n`);
  assert.match(md, '## Related tasks\n\n- `task flux:reconcile CLUSTER=infra`\n- `task validate`\n');

  // The link is added once and nothing else changes: without that line, the index is what it was.
  const index = read(root, 'docs/index.md').split('\n');
  const link = `[${EXAMPLE.title}](runbooks/${slugOf(EXAMPLE.title)}.md)`;
  const at = index.findIndex((l) => l.includes(link));
  assert.ok(at >= 0, index.join('\n'));
  assert.is(index.filter((l) => l.includes(link)).length, 1);
  assert.is(index.filter((_, i) => i !== at).join('\n').replace(/\n+(## Runbooks)?\n*$/, ''), indexBefore.replace(/\n+$/, ''));

  const { results } = await validateRepository({ repo: root, schemaDirs: SCHEMAS });
  assert.equal(unexpectedFindings(uniqueFindings(results)).map(findingLine), []);
});

test('--dry-run writes nothing and prints both diffs; a second run changes nothing', async () => {
  const root = fresh();
  const dry = await plop(root, ['--answers', writeAnswers(EXAMPLE), '--dry-run']);
  assert.is(dry.code, 0, output(dry));
  assert.is((await gitStatus(root)), '');
  assert.match(output(dry), `--- /dev/null\n+++ b/${FILE}`);
  assert.match(output(dry), `--- a/docs/index.md\n+++ b/docs/index.md`);
  assert.ok(output(dry).split('\n').some((l) => l.startsWith('+') && l.includes(`[${EXAMPLE.title}](runbooks/${slugOf(EXAMPLE.title)}.md)`)), output(dry));

  assert.is((await plop(root, ['--answers', writeAnswers(EXAMPLE)])).code, 0);
  await commitAll(root);
  const again = await plop(root, ['--answers', writeAnswers(EXAMPLE)]);
  assert.is(again.code, 0, output(again));
  assert.match(output(again), `runbook ${slugOf(EXAMPLE.title)} is up to date: nothing to change`);
  assert.is((await gitStatus(root)), '');

  // Edited by hand since: other answers are refused without --force.
  const edited = await plop(root, ['--answers', writeAnswers({ ...EXAMPLE, symptoms: 'Something else.' })]);
  assert.is(edited.code, 1, output(edited));
  assert.match(edited.stderr, `error: answers.name: runbook ${slugOf(EXAMPLE.title)} already exists with other content (${FILE})`);
  assert.is((await gitStatus(root)), '');
});

test('each runbook is linked once, in alphabetical order of the titles', async () => {
  const root = fresh();
  const titles = ['Rook-Ceph: an OSD is down', 'cilium: pods cannot reach the API', EXAMPLE.title, 'Bootstrap a cluster'];
  for (const title of titles) {
    const r = await plop(root, ['--answers', writeAnswers({ ...EXAMPLE, title, tasks: [] })]);
    assert.is(r.code, 0, output(r));
  }
  // Again, under a re-cased title (the same file, refused without --force): still one link per file.
  const recased = await plop(root, ['--answers', writeAnswers({ ...EXAMPLE, title: 'ROOK-CEPH: an OSD is down', tasks: [] }), '--force']);
  assert.is(recased.code, 0, output(recased));
  const index = read(root, 'docs/index.md');
  const ours = titles.map((t) => (t === titles[0] ? 'ROOK-CEPH: an OSD is down' : t));
  for (const t of ours) assert.is(index.split(`[${t}](runbooks/${slugOf(t)}.md)`).length, 2, `${t} linked once`);
  // The list they joined (the one that already linked runbooks, or the new section) is in order.
  const list = runbookList(index);
  for (const t of ours) assert.ok(list.includes(t), `${t} in ${list.join(' | ')}`);
  assert.equal(list, [...list].sort((a, b) => a.localeCompare(b, 'en', { sensitivity: 'base' })));
  for (const t of ours) assert.ok(existsSync(join(root, `docs/runbooks/${slugOf(t)}.md`)), t);
  assert.match(read(root, 'docs/runbooks/bootstrap-a-cluster.md'), '## Related tasks\n\nNone yet: add the `task` commands that help here.\n');
});

test('the index edit: into the list that links runbooks, in order; a section when there is none; never twice', () => {
  const section = '# Docs\n\n## Runbooks\n\nProcedures, by title.\n\n- [Alpha](runbooks/alpha.md)\n- [Gamma](runbooks/gamma.md)\n\n## Tooling\n\nTask.\n';
  assert.is(withRunbookLink(section, 'beta', 'runbooks/beta.md'), section.replace('- [Gamma]', '- [beta](runbooks/beta.md)\n- [Gamma]'));
  assert.is(withRunbookLink(section, 'Zeta', 'runbooks/zeta.md'), section.replace('(runbooks/gamma.md)\n', '(runbooks/gamma.md)\n- [Zeta](runbooks/zeta.md)\n'));
  assert.is(withRunbookLink(section, 'Alpha', 'runbooks/alpha.md'), section);
  assert.is(withRunbookLink(section, 'Alpha, renamed', 'runbooks/alpha.md'), section.replace('[Alpha]', '[Alpha, renamed]'));

  // A nested list under an intro bullet, items with descriptions on continuation lines.
  const nested = [
    '# Docs',
    '',
    '- [Architecture](architecture.md): layout.',
    '- [Runbooks](runbooks/): procedures.',
    '  - [Bootstrap a cluster](runbooks/bootstrap.md): from Talos nodes to Flux,',
    '    with the tasks.',
    '  - [Flux](runbooks/flux.md): reconcile.',
    '- [Terraform](../terraform/README.md): buckets.',
    '',
  ].join('\n');
  assert.is(
    withRunbookLink(nested, 'Cilium: debug a policy', 'runbooks/cilium.md'),
    nested.replace('  - [Flux]', '  - [Cilium: debug a policy](runbooks/cilium.md)\n  - [Flux]'),
  );
  assert.is(
    withRunbookLink(nested, 'Zeta', 'runbooks/zeta.md'),
    nested.replace('reconcile.\n', 'reconcile.\n  - [Zeta](runbooks/zeta.md)\n'),
  );
  assert.is(
    withRunbookLink(nested, 'Alpha', 'runbooks/alpha.md'),
    nested.replace('  - [Bootstrap', '  - [Alpha](runbooks/alpha.md)\n  - [Bootstrap'),
  );

  const none = '# Docs\n\nIntro.\n';
  assert.is(withRunbookLink(none, 'A', 'runbooks/a.md'), '# Docs\n\nIntro.\n\n## Runbooks\n\n- [A](runbooks/a.md)\n');
  const prose = '# Docs\n\n## Runbooks\n\nNone yet.\n\n## Tooling\n';
  assert.is(withRunbookLink(prose, 'A', 'runbooks/a.md'), '# Docs\n\n## Runbooks\n\nNone yet.\n\n- [A](runbooks/a.md)\n\n## Tooling\n');
  const handmade = '# Docs\n\nSee [the flux runbook](runbooks/flux.md).\n';
  assert.is(withRunbookLink(handmade, 'Flux', 'runbooks/flux.md'), handmade);
});

test('task names come from Taskfile.yaml and its includes, flattened ones without a prefix', () => {
  const names = taskNames(ROOT);
  for (const t of ['flux:reconcile', 'k8s:hr-restart', 'validate', 'render']) assert.ok(names.has(t), t);
  assert.not.ok(names.has('validate:validate'));
});

const bad: [string, unknown, string][] = [
  ['a newline in the title', { ...EXAMPLE, title: 'one\ntwo' }, 'answers.title: must be one line with a letter or digit'],
  ['an empty title', { ...EXAMPLE, title: '' }, 'answers.title: must not be empty'],
  ['a title that breaks the link', { ...EXAMPLE, title: 'see [here]' }, 'answers.title: must be one line with a letter or digit'],
  ['101 characters of title', { ...EXAMPLE, title: 'a'.repeat(101) }, 'answers.title: must be at most 100 characters'],
  ['upper case component', { ...EXAMPLE, component: 'Flux' }, 'answers.component: must match'],
  ['../ in the component', { ...EXAMPLE, component: '../flux' }, 'answers.component: must match'],
  ['64 characters of component', { ...EXAMPLE, component: 'a'.repeat(64) }, 'answers.component: must be at most 63 characters'],
  ['a heading inside a section', { ...EXAMPLE, resolution: 'Do this.\n## Also' }, 'answers.resolution: must not be blank or hold headings'],
  ['a blank section', { ...EXAMPLE, symptoms: '   ' }, 'answers.symptoms: must not be blank or hold headings'],
  ['an empty list', { ...EXAMPLE, diagnosis: [] }, 'answers.diagnosis: must have at least 1 item'],
  ['a multi-line list item', { ...EXAMPLE, diagnosis: ['one\ntwo'] }, 'answers.diagnosis[0]: must be one non-blank line'],
  ['a task that is not a task command', { ...EXAMPLE, tasks: ['kubectl get pods'] }, 'answers.tasks[0]: must be one task command line'],
  ['an unknown task', { ...EXAMPLE, tasks: ['task flux:reconcile CLUSTER=infra', 'task flux:explode'] }, 'answers.tasks[1]: no task "flux:explode" in Taskfile.yaml'],
  ['an unknown field', { ...EXAMPLE, owner: 'me' }, 'answers.owner: unknown field'],
  ['a missing required field', { title: 'x', component: 'flux', symptoms: ['a'], diagnosis: ['b'] }, 'answers.resolution: is required'],
];

test(`${bad.length} kinds of bad answers exit non-zero, name the field and leave git status clean`, async () => {
  assert.equal(await refusalFailures(bad, fresh, plop), []);
});

test.run();
