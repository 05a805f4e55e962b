import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { applyField, formatAnswerError, loadAnswersFile, loadSchema, parseGeneratorArgs, validateAnswers } from '../generators/lib/answers.ts';
import { askMissing, questionsFor } from '../generators/lib/prompts.ts';
import { addResource } from '../generators/lib/yaml-edit.ts';
import { render } from '../src/lib/templates.ts';
import { tempDir } from './helpers.ts';

const test = suite('generator machinery');
const schema = loadSchema('app');

test('prompts come from the schema: title, description, default, enum', () => {
  const questions = questionsFor(schema, schema, {});
  const byName = Object.fromEntries(questions.map((q) => [q.name, q]));
  assert.match(byName.name.message, /^App name \(DNS-1123 label/);
  assert.equal(byName['route.gateway'].choices, ['internal', 'external']);
  assert.is(byName['route.gateway'].default, 'internal');
  assert.is(byName['backup.schedule'].default, '0 */8 * * *');
  assert.is(byName.port.type, 'input');
});

test('each typed answer is checked with the same schema', async () => {
  const questions = questionsFor(schema, schema, {});
  const byName = Object.fromEntries(questions.map((q) => [q.name, q]));
  assert.is(await byName.name.validate('gatus'), true);
  assert.match(await byName.name.validate('My_App'), /^must match/);
  assert.match(await byName['chart.version'].validate('latest'), /exact version/);
  assert.match(await byName.port.validate(70000), /<= 65535/);
});

test('a skipped optional field shows nothing once answered, while typing shows what is typed', () => {
  const byName = Object.fromEntries(questionsFor(schema, schema, {}).map((q) => [q.name, q]));
  for (const name of ['port', 'dependsOn', 'chart.name']) {
    assert.is(byName[name].transformer(undefined, {}, { isFinal: true }), '', name);
    assert.is(byName[name].transformer('80', {}, { isFinal: false }), '80', name);
  }
  assert.is(byName.dependsOn.transformer(['a', 'b'], {}, { isFinal: true }), 'a, b');
  const component = loadSchema('component');
  const [variables] = questionsFor(component, component, {}).filter((q) => q.name === 'variables');
  assert.is(variables.transformer([{ name: 'TTL', default: '10m' }], {}, { isFinal: true }), '[ { name: TTL, default: 10m } ]');
});

test('an optional choice without a default can be left unset; a required one cannot', () => {
  const byName = Object.fromEntries(questionsFor(schema, schema, {}).map((q) => [q.name, q]));
  assert.equal(byName.priorityClass.choices[0], { name: '(not set)', value: undefined });
  assert.equal(byName.priorityClass.choices.slice(1), schema.properties.priorityClass.enum);
  assert.equal(byName['route.gateway'].choices, ['internal', 'external'], 'a choice with a default starts on it');
});

test('an answers file that does not parse is named with its line, once', () => {
  const file = join(tempDir(), 'answers.yaml');
  writeFileSync(file, 'name: demo\nchart: [oops\n');
  assert.throws(
    () => loadAnswersFile(file),
    (e: Error) => new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:\\d+: [^\\n]+$`).test(e.message) && !/ at line \d+, column \d+/.test(e.message),
  );
  writeFileSync(file, '- a\n- b\n');
  assert.throws(() => loadAnswersFile(file), /must be a mapping of answers/);
});

test('a list of known values is picked from them, and checked as a whole', async () => {
  const component = loadSchema('component');
  const [resources] = questionsFor(component, component, {}).filter((q) => q.name === 'resources');
  assert.is(resources.type, 'checkbox');
  assert.equal(resources.choices, component.properties.resources.items.enum);
  assert.is(await resources.validate(['configmap']), true);
  assert.type(await resources.validate(['configmap', 'configmap']), 'string');
});

test("a list of objects is asked for as flow YAML, with the schema example's first item to copy", () => {
  const cluster = loadSchema('cluster');
  const [nodes] = questionsFor(cluster, cluster, {}).filter((q) => q.name === 'nodes');
  assert.ok(nodes.message.endsWith(`(YAML flow list, e.g. [ { hostname: ${cluster.examples[0].nodes[0].hostname}, ip: ${cluster.examples[0].nodes[0].ip}, controlPlane: true } ])`), nodes.message);
  assert.equal(nodes.filter('[{hostname: a, ip: 10.0.0.1}]'), [{ hostname: 'a', ip: '10.0.0.1' }]);
  assert.is(nodes.filter('[{hostname: a'), '[{hostname: a', 'what does not parse is kept for the check to name');
});

test('a map without named fields is typed as a flow mapping; an empty required field is required', async () => {
  const cluster = loadSchema('cluster');
  const byName = Object.fromEntries(questionsFor(cluster, cluster, {}).map((q) => [q.name, q]));
  const vars = byName.vars;
  assert.match(vars.message, /\(YAML flow mapping, e\.g\. \{ .+ \}\)$/);
  assert.equal(vars.filter('{ CLUSTER_GATEWAY_INTERNAL_IP: 10.25.16.20 }'), { CLUSTER_GATEWAY_INTERNAL_IP: '10.25.16.20' });
  assert.is(await vars.validate(vars.filter('{ CLUSTER_GATEWAY_INTERNAL_IP: 10.25.16.20 }')), true);
  assert.match(await vars.validate(vars.filter('2')), /must be object/);
  assert.is(await vars.validate(undefined), true);
  assert.is(await byName.podCidr.validate(byName.podCidr.filter('')), 'is required');
});

test('prompted answers are merged by the questions, and a typed map keeps its keys whole', async () => {
  const typed = { name: 'demo', values: { 'ingress.class': 'internal', controllers: { main: { replicas: 2 } } }, __want: { route: false }, port: undefined };
  const inquirer = { prompt: async () => structuredClone(typed) };
  const merged = await askMissing(inquirer, schema, { namespace: 'tools' });
  assert.equal(merged, { namespace: 'tools', name: 'demo', values: typed.values });
});

test('fields already given are not asked again', () => {
  const names = questionsFor(schema, schema, { name: 'x', chart: { version: '1.0.0' } }).map((q) => q.name);
  assert.not.ok(names.includes('name'));
  assert.not.ok(names.includes('chart.version'));
  assert.ok(names.includes('chart.name'));
});

test('command-line fields are typed by the schema', () => {
  const answers: any = {};
  applyField(answers, 'port', '8080', schema);
  applyField(answers, 'clusters', 'infra,apps', schema);
  applyField(answers, 'chart.version', '1.2.3', schema);
  assert.equal(answers, { port: 8080, clusters: ['infra', 'apps'], chart: { version: '1.2.3' } });
  assert.throws(() => applyField({}, 'colour', 'x', schema), /answers\.colour: unknown field/);
});

test('generator arguments after --', () => {
  const args = parseGeneratorArgs(['node', 'plop', 'app', '--', '--answers', 'a.yaml', '--dry-run', '--name=x', '--force']);
  assert.equal(args, { answersFile: 'a.yaml', dryRun: true, force: true, fields: { name: 'x' } });
});

test('errors name the field and the rule', async () => {
  await validateAnswers(schema, { name: 'My_App', namespace: 'x', clusters: ['infra'], chart: { repository: 'x', name: 'x', version: '1.0.0' } }).then(
    () => assert.unreachable(),
    (e) => assert.is(e.message, 'answers.name: must match ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ (got "My_App")'),
  );
  assert.is(formatAnswerError({ keyword: 'required', instancePath: '/chart', params: { missingProperty: 'version' } } as any), 'answers.chart.version: is required');
});

test('defaults are filled in', async () => {
  const a = await validateAnswers(schema, { name: 'x', namespace: 'x', clusters: ['infra'], chart: { repository: 'x', name: 'x', version: '1.0.0' }, backup: { target: 'r2' } });
  assert.equal(a.backup, { target: 'r2', capacity: '5Gi', schedule: '0 */8 * * *', mountPath: '/data' });
});

test('registering in a kustomization keeps comments and order, once', () => {
  const text = '# apps of the namespace\napiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ./namespace.yaml # first\n  - ./alpha/ks.yaml\n  - ./gamma/ks.yaml\n';
  const once = addResource('k.yaml', text, './beta/ks.yaml');
  assert.is(once, '# apps of the namespace\napiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ./namespace.yaml # first\n  - ./alpha/ks.yaml\n  - ./beta/ks.yaml\n  - ./gamma/ks.yaml\n');
  assert.is(addResource('k.yaml', once, './beta/ks.yaml'), once);
  assert.is(addResource('k.yaml', 'resources: []\n', './x'), 'resources:\n  - ./x\n');
});

test('templates leave Helm and ExternalSecret {{ }} alone', () => {
  const out = render('app', 'app/helmrelease.yaml', { name: 'x', oci: true, ociSource: { name: 'x' }, values: 'command: "{{ .Values.x }}"' });
  assert.match(out, /command: "\{\{ \.Values\.x \}\}"/);
});

test.run();
