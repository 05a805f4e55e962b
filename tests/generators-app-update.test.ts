import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { echo, validates } from './app-answers.ts';
import { commitAll, generate, gitStatus, scratchRepo, writeAnswers } from './helpers.ts';

const test = suite('generator: app, updates');

test('the same answers again change nothing; other answers update the app', async () => {
  const repo = await scratchRepo();
  assert.is((await generate(repo, 'app', ['--answers', writeAnswers(echo)])).code, 0);
  await commitAll(repo);
  const again = await generate(repo, 'app', ['--answers', writeAnswers(echo)]);
  assert.is(again.code, 0);
  assert.match(again.stdout, /app demo\/echo is up to date: nothing to change/);
  assert.is((await gitStatus(repo)), '');
  const updated = await generate(repo, 'app', ['--answers', writeAnswers({ ...echo, port: 9090 })]);
  assert.is(updated.code, 0, updated.stderr);
  assert.match(updated.stdout, /-\s+port: 8080\n\+\s+port: 9090/);
  assert.match(readFileSync(join(repo, 'kubernetes/apps/demo/echo/app/httproute.yaml'), 'utf8'), /port: 9090/);
  assert.is(parse(readFileSync(join(repo, 'kubernetes/apps/demo/echo/.answers.yaml'), 'utf8')).port, 9090);
  await validates(repo);
});

test('a hand-edited HelmRelease keeps its edit and its comment when the answers add a route', async () => {
  const repo = await scratchRepo();
  const { route: _route, ...unrouted } = echo;
  assert.is((await generate(repo, 'app', ['--answers', writeAnswers(unrouted)])).code, 0);
  const hrFile = join(repo, 'kubernetes/apps/demo/echo/app/helmrelease.yaml');
  const edited = readFileSync(hrFile, 'utf8').replace('  values:\n', '  values:\n    # debug logs until the echo bug is found\n    env:\n      LOG_LEVEL: debug\n');
  writeFileSync(hrFile, edited);
  await commitAll(repo);
  const r = await generate(repo, 'app', ['--answers', writeAnswers(echo)]);
  assert.is(r.code, 0, r.stderr);
  const hr = readFileSync(hrFile, 'utf8');
  assert.match(hr, /# debug logs until the echo bug is found\n {4}env:\n {6}LOG_LEVEL: debug/);
  assert.ok(existsSync(join(repo, 'kubernetes/apps/demo/echo/app/httproute.yaml')));
  assert.ok(parse(readFileSync(join(repo, 'kubernetes/apps/demo/echo/app/kustomization.yaml'), 'utf8')).resources.includes('./httproute.yaml'));
  await validates(repo);
  // The answers still describe the app: the edit is an addition, not a change of what they say.
  await commitAll(repo);
  const again = await generate(repo, 'app', ['--answers', join(repo, 'kubernetes/apps/demo/echo/.answers.yaml')]);
  assert.match(again.stdout, /up to date/);
});

test('an update that changes a node the operator changed too is refused with file, path and both values; --force takes the update', async () => {
  const repo = await scratchRepo();
  assert.is((await generate(repo, 'app', ['--answers', writeAnswers(echo)])).code, 0);
  const hrFile = join(repo, 'kubernetes/apps/demo/echo/app/helmrelease.yaml');
  writeFileSync(hrFile, readFileSync(hrFile, 'utf8').replace('tag: "37"', 'tag: 37-debug'));
  await commitAll(repo);
  const newer = writeAnswers({ ...echo, image: { ...echo.image, tag: '38' } });
  const refused = await generate(repo, 'app', ['--answers', newer]);
  assert.is(refused.code, 1);
  assert.match(refused.stderr, /error: app demo\/echo: the update changes what was edited by hand; nothing was written/);
  assert.match(refused.stderr, /kubernetes\/apps\/demo\/echo\/app\/helmrelease\.yaml: spec\.values\.controllers\.echo\.containers\.app\.image\.tag: yours 37-debug, the update's 38/);
  assert.is((await gitStatus(repo)), '');
  const forced = await generate(repo, 'app', ['--answers', newer, '--force']);
  assert.is(forced.code, 0, forced.stderr);
  assert.is(parse(readFileSync(hrFile, 'utf8')).spec.values.controllers.echo.containers.app.image.tag, '38');
});

test('answers edited in place update from their committed version, and keep their comments', async () => {
  const repo = await scratchRepo();
  const { route: _route, ...unrouted } = echo;
  assert.is((await generate(repo, 'app', ['--answers', writeAnswers(unrouted)])).code, 0);
  await commitAll(repo);
  const file = join(repo, 'kubernetes/apps/demo/echo/.answers.yaml');
  writeFileSync(file, `${readFileSync(file, 'utf8').replace('port: 8080', '# the image listens here\nport: 8080')}route:\n  gateway: internal\n`);
  const r = await generate(repo, 'app', ['--answers', file]);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /create kubernetes\/apps\/demo\/echo\/app\/httproute\.yaml/);
  assert.match(readFileSync(file, 'utf8'), /# the image listens here\nport: 8080/);
  await validates(repo);
  // Other answers given from elsewhere update the record, and its comments stay too.
  await commitAll(repo);
  assert.is((await generate(repo, 'app', ['--answers', writeAnswers({ ...echo, port: 9090 })])).code, 0);
  assert.match(readFileSync(file, 'utf8'), /# the image listens here\nport: 9090/);
});

test('free-form values are written once, at creation, and kept out of the answers', async () => {
  const repo = await scratchRepo();
  const withValues = { ...echo, values: { env: { TZ: 'Asia/Jakarta' } } };
  assert.is((await generate(repo, 'app', ['--answers', writeAnswers(withValues)])).code, 0);
  const dir = join(repo, 'kubernetes/apps/demo/echo');
  assert.equal(parse(readFileSync(join(dir, 'app/helmrelease.yaml'), 'utf8')).spec.values.env, { TZ: 'Asia/Jakarta' });
  assert.is(parse(readFileSync(join(dir, '.answers.yaml'), 'utf8')).values, undefined);
  await commitAll(repo);
  const again = await generate(repo, 'app', ['--answers', writeAnswers(withValues)]);
  assert.is(again.code, 1);
  assert.match(again.stderr, /error: answers\.values: only taken when app demo\/echo is created; it exists, so change these in its files/);
  assert.is((await gitStatus(repo)), '');
});

test('files the new answers no longer need are deleted, and the operator\'s own files kept', async () => {
  const repo = await scratchRepo();
  assert.is((await generate(repo, 'app', ['--answers', writeAnswers(echo)])).code, 0);
  const dir = join(repo, 'kubernetes/apps/demo/echo/app');
  writeFileSync(join(dir, 'notes.md'), 'kept\n');
  await commitAll(repo);
  const { route: _route, secrets: _secrets, ...fewer } = echo;
  const dry = await generate(repo, 'app', ['--answers', writeAnswers(fewer), '--dry-run']);
  assert.is(dry.code, 0, dry.stderr);
  assert.match(dry.stdout + dry.stderr, /delete kubernetes\/apps\/demo\/echo\/app\/httproute\.yaml\n--- a\/kubernetes\/apps\/demo\/echo\/app\/httproute\.yaml\n\+\+\+ \/dev\/null/);
  assert.is((await gitStatus(repo)), '');
  const r = await generate(repo, 'app', ['--answers', writeAnswers(fewer)]);
  assert.is(r.code, 0, r.stderr);
  assert.not.ok(existsSync(join(dir, 'httproute.yaml')));
  assert.not.ok(existsSync(join(dir, 'externalsecret.yaml')));
  assert.ok(existsSync(join(dir, 'notes.md')));
  assert.equal(parse(readFileSync(join(dir, 'kustomization.yaml'), 'utf8')).resources, ['./ciliumnetworkpolicy.yaml', './helmrelease.yaml']);
  await validates(repo);
  await commitAll(repo);
  const again = await generate(repo, 'app', ['--answers', writeAnswers(fewer)]);
  assert.match(again.stdout + again.stderr, /up to date/);
});

test('podSecurity labels a new namespace, and raises (never lowers) an existing one\'s level', async () => {
  const repo = await scratchRepo();
  const first = await generate(repo, 'app', ['--answers', writeAnswers({ ...echo, podSecurity: 'baseline' })]);
  assert.is(first.code, 0, first.stderr);
  const nsFile = join(repo, 'kubernetes/apps/demo/namespace.yaml');
  assert.is(parse(readFileSync(nsFile, 'utf8')).metadata.labels['pod-security.kubernetes.io/enforce'], 'baseline');
  await commitAll(repo);
  const second = { ...echo, name: 'agent', podSecurity: 'privileged', route: undefined, secrets: undefined };
  const r = await generate(repo, 'app', ['--answers', writeAnswers(second)]);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout + r.stderr, /update kubernetes\/apps\/demo\/namespace\.yaml/);
  const ns = readFileSync(nsFile, 'utf8');
  assert.match(ns, /^# yaml-language-server: /, 'the schema line survives the edit');
  assert.is(parse(ns).metadata.labels['pod-security.kubernetes.io/enforce'], 'privileged');
  await commitAll(repo);
  const third = await generate(repo, 'app', ['--answers', writeAnswers({ ...echo, name: 'strict', podSecurity: 'restricted', route: undefined, secrets: undefined })]);
  assert.is(third.code, 0, third.stderr);
  assert.is(parse(readFileSync(nsFile, 'utf8')).metadata.labels['pod-security.kubernetes.io/enforce'], 'privileged', 'the namespace keeps what its other app needs');
  await validates(repo);
});

test('other Kustomizations in the ks.yaml survive a re-render', async () => {
  const repo = await scratchRepo();
  const file = writeAnswers(echo);
  assert.is((await generate(repo, 'app', ['--answers', file])).code, 0);
  const ks = join(repo, 'kubernetes/apps/demo/echo/ks.yaml');
  const extra = '---\n# the echo config, written by hand\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: echo-config\n  namespace: flux-system\nspec:\n  interval: 1h\n  path: ./kubernetes/apps/demo/echo/app\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n';
  writeFileSync(ks, readFileSync(ks, 'utf8') + extra);
  await commitAll(repo);
  const again = await generate(repo, 'app', ['--answers', file]);
  assert.is(again.code, 0, again.stderr);
  assert.match(again.stdout + again.stderr, /up to date/);
  assert.is((await gitStatus(repo)), '');
});

test.run();
