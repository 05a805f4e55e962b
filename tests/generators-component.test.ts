import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describes } from '../generators/lib/merge.ts';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parse, stringify } from 'yaml';
import { componentFiles, LIBRARY } from '../generators/component.ts';
import { addSampleApp } from '../src/validate/sample-app.ts';
import { walkFiles } from '../src/lib/fsutil.ts';
import { validateRepository } from '../src/validate/pipeline.ts';
import { findingLine, uniqueFindings } from '../src/validate/report.ts';
import { commitAll, copyPath, generate, generatorSchema, gitStatus, refusalFailures, ROOT, SCHEMAS, scratchRepo, tempDir, unexpectedFindings, writeAnswers, type Run } from './helpers.ts';

const test = suite('generators: component');

const { schema, example: EXAMPLE, valid } = generatorSchema('component');
/** `npx plop component -- <args>` in-process, with `cwd` the repository to change. */
const plop = (cwd: string, args: string[]) => generate(cwd, 'component', args);

const output = (r: Run) => `${r.stdout}\n${r.stderr}`;

/** One scratch repository, copied (with its .git) for each test: the copy is cheap, the first is not. */
let base: string;
test.before(async () => {
  base = await scratchRepo();
});
const fresh = (): string => {
  const dir = tempDir('k8s-ops-repo-');
  copyPath(base, dir);
  return dir;
};
const DIR = `${LIBRARY}/${EXAMPLE.name}`;

test('the schema documents every field and its example is valid', async () => {
  const visit = (node: any, path: string) => {
    for (const [key, field] of Object.entries<any>(node.properties ?? {})) {
      assert.ok(field.title && field.description, `${path}${key} has a title and a description`);
      if (field.items?.properties) visit(field.items, `${path}${key}[].`);
    }
  };
  visit(schema, '');
  valid(EXAMPLE);
});

test('the generators\' reference shows the schema\'s example', () => {
  const readme = readFileSync(join(ROOT, 'docs', 'toolkit', 'generators.md'), 'utf8');
  assert.ok(readme.includes(`\`\`\`yaml\n${stringify(EXAMPLE, { lineWidth: 0 })}\`\`\``), 'docs/toolkit/generators.md shows the example verbatim');
});

test('good answers write the component, which builds through an app with zero findings; the repository still validates', async () => {
  const root = fresh();
  const r = await plop(root, ['--answers', writeAnswers(EXAMPLE)]);
  assert.is(r.code, 0, output(r));
  assert.match(output(r), `component ${EXAMPLE.name}: 5 files written`);
  assert.equal(
    (await gitStatus(root)).trim().split('\n').sort(),
    [`?? ${DIR}/`],
  );
  const files = walkFiles(join(root, DIR)).map((f) => relative(join(root, DIR), f)).sort();
  assert.equal(files, ['.answers.yaml', 'README.md', 'ciliumnetworkpolicy.yaml', 'configmap.yaml', 'kustomization.yaml']);
  const k = parse(readFileSync(join(root, DIR, 'kustomization.yaml'), 'utf8'));
  assert.equal([k.apiVersion, k.kind, k.resources], ['kustomize.config.k8s.io/v1alpha1', 'Component', ['./ciliumnetworkpolicy.yaml', './configmap.yaml']]);
  const readme = readFileSync(join(root, DIR, 'README.md'), 'utf8');
  for (const v of EXAMPLE.variables) assert.ok(readme.includes(`| \`${v.name}\` | ${v.default === undefined ? '(required)' : `\`${v.default}\``} | ${v.description} |`), v.name);
  assert.equal(parse(readFileSync(join(root, DIR, '.answers.yaml'), 'utf8')), EXAMPLE);

  const clean = await validateRepository({ repo: root, schemaDirs: SCHEMAS });
  assert.equal(unexpectedFindings(uniqueFindings(clean.results)).map(findingLine), []);

  addSampleApp(root, { namespace: 'cache-users', name: 'shop', components: [EXAMPLE.name], substitute: { REDIS_CACHE_PREFIX: 'shop', REDIS_CACHE_TTL: '10m' } });
  const { results } = await validateRepository({ repo: root, schemaDirs: SCHEMAS });
  assert.equal(unexpectedFindings(uniqueFindings(results)).map(findingLine), []);
  const cm = results[0].resources.find((x) => x.obj.kind === 'ConfigMap' && x.obj.metadata.name === 'shop-redis-cache')!.obj;
  assert.equal(cm.data, { REDIS_CACHE_HOST: 'redis.databases.svc.cluster.local', REDIS_CACHE_TTL: '10m', REDIS_CACHE_PREFIX: 'shop' });
  assert.is(cm.metadata.namespace, 'cache-users');
});

test('--dry-run writes nothing and prints the diff', async () => {
  const root = fresh();
  const r = await plop(root, ['--answers', writeAnswers(EXAMPLE), '--dry-run']);
  assert.is(r.code, 0, output(r));
  assert.is((await gitStatus(root)), '');
  assert.match(output(r), 'dry run, nothing written');
  assert.match(output(r), `--- /dev/null\n+++ b/${DIR}/kustomization.yaml`);
  assert.match(output(r), '+  REDIS_CACHE_PREFIX: "${REDIS_CACHE_PREFIX}"');
});

test('a second run, and a run from the kept .answers.yaml, change nothing; other answers update it', async () => {
  const root = fresh();
  assert.is((await plop(root, ['--answers', writeAnswers(EXAMPLE)])).code, 0);
  await commitAll(root);
  for (const file of [writeAnswers(EXAMPLE), join(root, DIR, '.answers.yaml')]) {
    const again = await plop(root, ['--answers', file]);
    assert.is(again.code, 0, output(again));
    assert.match(output(again), `component ${EXAMPLE.name} is up to date: nothing to change`);
    assert.is((await gitStatus(root)), '');
  }
  const changed = { ...EXAMPLE, description: 'Settings for the shared Redis cache.' };
  const updated = await plop(root, ['--answers', writeAnswers(changed)]);
  assert.is(updated.code, 0, output(updated));
  assert.match(output(updated), '+Settings for the shared Redis cache.');
  assert.equal((await gitStatus(root)).trimEnd().split('\n').sort(), [` M ${DIR}/.answers.yaml`, ` M ${DIR}/README.md`, ` M ${DIR}/kustomization.yaml`]);
});

test('a component that would not validate through an app is refused with the findings, and nothing is written', async () => {
  const root = fresh();
  // Without the platform's ClusterSecretStore, an ExternalSecret has nowhere to come from.
  for (const file of walkFiles(join(root, 'kubernetes', 'apps'))) {
    const text = readFileSync(file, 'utf8');
    if (text.includes('kind: ClusterSecretStore')) writeFileSync(file, text.replace(/^(  name: )onepassword$/m, '$1retired-store'));
  }
  await commitAll(root);
  const r = await plop(root, ['--answers', writeAnswers({ name: 'api-keys', description: 'The API keys of an app.', resources: ['externalsecret'] })]);
  assert.is(r.code, 1, output(r));
  assert.match(r.stderr, 'error: component api-keys does not validate when an app uses it; nothing was written:');
  assert.match(r.stderr, /kubernetes\/components\/api-keys\/externalsecret\.yaml:\d+: secret-store \[flux\]: ExternalSecret component-sample\/component-sample-api-keys-secret: ClusterSecretStore onepassword does not exist/);
  assert.is((await gitStatus(root)), '');
});

/** Each bad answers document, and the field its error must name. */
const bad: [string, unknown, string][] = [
  ['upper case', { ...EXAMPLE, name: 'Redis-Cache' }, 'answers.name: must match'],
  ['../ in the name', { ...EXAMPLE, name: '../evil' }, 'answers.name: must match'],
  ['64 characters', { ...EXAMPLE, name: 'a'.repeat(64) }, 'answers.name: must be at most 63 characters'],
  ['an empty name', { ...EXAMPLE, name: '' }, 'answers.name: must not be empty'],
  ['a newline in the description', { ...EXAMPLE, description: 'one\ntwo' }, 'answers.description: must be one non-blank line'],
  ['YAML inside a default', { ...EXAMPLE, variables: [{ name: 'REDIS_CACHE_OPTS', default: 'a: b', description: 'x' }] }, 'answers.variables[0].default: must read as a YAML string'],
  ['a number as a ConfigMap default', { ...EXAMPLE, variables: [{ name: 'REDIS_CACHE_DB', default: '0', description: 'x' }] }, 'answers.variables[0].default: must read as a YAML string'],
  ['a nested default', { ...EXAMPLE, variables: [{ name: 'REDIS_CACHE_HOST', default: '${APP}.svc', description: 'x' }] }, 'answers.variables[0].default: must be one line without $ { }'],
  ['a lower-case variable', { ...EXAMPLE, variables: [{ name: 'redis_db', description: 'x' }] }, 'answers.variables[0].name: must match'],
  ['APP as a variable', { ...EXAMPLE, variables: [{ name: 'APP', description: 'x' }] }, 'answers.variables[0].name: APP is set by every app'],
  ['a cluster-vars key as a variable', { ...EXAMPLE, variables: [{ name: 'CLUSTER_DOMAIN', description: 'x' }] }, 'answers.variables[0].name: CLUSTER_DOMAIN comes from cluster-vars'],
  ['a variable twice', { ...EXAMPLE, variables: [EXAMPLE.variables[1], EXAMPLE.variables[1]] }, 'answers.variables[1].name: REDIS_CACHE_TTL is listed twice'],
  ['an unknown resource kind', { ...EXAMPLE, resources: ['deployment'] }, 'answers.resources[0]: must be one of configmap, externalsecret, ciliumnetworkpolicy (got "deployment")'],
  ['an unknown field', { ...EXAMPLE, replicas: 2 }, 'answers.replicas: unknown field'],
  ['a missing required field', { name: 'redis-cache', description: 'x' }, 'answers.resources: is required'],
  ['a component inside another', { ...EXAMPLE, name: 'cnpg/extra' }, 'answers.name: kubernetes/components/cnpg is a component'],
  ['a folder of components', { ...EXAMPLE, name: 'volsync' }, 'answers.name: kubernetes/components/volsync already holds the components volsync/nfs, volsync/r2'],
  ['an existing component', { ...EXAMPLE, name: 'gatus/external' }, 'answers.name: component gatus/external already exists with other content'],
];

test(`${bad.length} kinds of bad answers exit non-zero, name the field and leave git status clean`, async () => {
  assert.equal(await refusalFailures(bad, fresh, plop), []);
});

test('every component committed with .answers.yaml re-renders without drift', async () => {
  const kept = walkFiles(join(ROOT, LIBRARY)).filter((f) => f.endsWith('/.answers.yaml'));
  for (const file of kept) {
    const answers = valid(parse(readFileSync(file, 'utf8')));
    const rendered = componentFiles(answers).filter((c) => !c.record);
    assert.equal(rendered.flatMap((c) => describes(c.path, c.after, existsSync(join(ROOT, c.path)) ? readFileSync(join(ROOT, c.path), 'utf8') : undefined)), [], `${relative(ROOT, file)} drifted`);
  }
  // The library itself is written by hand; this guards what the generator adds later.
  assert.ok(existsSync(join(ROOT, LIBRARY)) && readdirSync(join(ROOT, LIBRARY)).length > 0);
});

test.run();
