// generators/lib/merge.ts: the three-way merge that lets an update keep the operator's edits.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parse, parseAllDocuments } from 'yaml';
import { describes, formatConflicts, mergeFile } from '../generators/lib/merge.ts';

const test = suite('three-way merge');

const base = `apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: echo
spec:
  values:
    controllers:
      echo:
        containers:
          app:
            image:
              repository: ghcr.io/mendhak/http-https-echo
              tag: "37"
`;

test('a hand edit elsewhere in the file survives an update, with its comment; the update lands', () => {
  const theirs = base.replace('  values:\n', '  values:\n    # the operator wants debug logs\n    env:\n      LOG_LEVEL: debug\n');
  const ours = base.replace('tag: "37"', 'tag: "38"');
  const m = mergeFile('helmrelease.yaml', base, theirs, ours);
  assert.equal(m.conflicts, []);
  assert.match(m.text!, /# the operator wants debug logs\n {4}env:\n {6}LOG_LEVEL: debug/);
  const v = parse(m.text!);
  assert.is(v.spec.values.controllers.echo.containers.app.image.tag, '38');
  assert.is(v.spec.values.env.LOG_LEVEL, 'debug');
});

test('the same node changed on both sides is a conflict naming file, path and both values; --force takes the update', () => {
  const theirs = base.replace('tag: "37"', 'tag: "37-hotfix"');
  const ours = base.replace('tag: "37"', 'tag: "38"');
  const m = mergeFile('app/helmrelease.yaml', base, theirs, ours);
  assert.equal(m.conflicts, [{ file: 'app/helmrelease.yaml', path: 'spec.values.controllers.echo.containers.app.image.tag', theirs: '37-hotfix', ours: '38' }]);
  assert.is(m.text, theirs, 'nothing is changed while a conflict stands');
  assert.is(formatConflicts(m.conflicts), '  app/helmrelease.yaml: spec.values.controllers.echo.containers.app.image.tag: yours 37-hotfix, the update\'s 38');
  const forced = mergeFile('app/helmrelease.yaml', base, theirs, ours, true);
  assert.equal(forced.conflicts, []);
  assert.is(parse(forced.text!).spec.values.controllers.echo.containers.app.image.tag, '38');
});

test('the same change on both sides, or a change only the operator made, is no conflict', () => {
  const edited = base.replace('tag: "37"', 'tag: "38"');
  assert.equal(mergeFile('hr.yaml', base, edited, edited), { text: edited, conflicts: [] });
  assert.equal(mergeFile('hr.yaml', base, edited, base), { text: edited, conflicts: [] });
});

test('lists: the update adds and removes its items, the operator\'s own items stay', () => {
  const b = 'resources:\n  - ./helmrelease.yaml\n  - ./ciliumnetworkpolicy.yaml\n';
  const theirs = 'resources:\n  - ./helmrelease.yaml\n  - ./ciliumnetworkpolicy.yaml\n  - ./my-configmap.yaml # mine\n';
  const ours = 'resources:\n  - ./helmrelease.yaml\n  - ./httproute.yaml\n';
  const m = mergeFile('kustomization.yaml', b, theirs, ours);
  assert.equal(m.conflicts, []);
  assert.equal(parse(m.text!).resources, ['./helmrelease.yaml', './httproute.yaml', './my-configmap.yaml']);
  assert.match(m.text!, /my-configmap\.yaml # mine/);
});

test('comments the operator left alone survive an update of the list or map they sit in', () => {
  const k = (r: string[]) => `# yaml-language-server: $schema=x\napiVersion: v1\nkind: Kustomization\nresources:\n${r.map((x) => `  - ${x}\n`).join('')}`;
  assert.match(mergeFile('k.yaml', k(['./a.yaml']), k(['./a.yaml']), k(['./a.yaml', './b.yaml'])).text!, /^# yaml-language-server: \$schema=x\n/);
  const m = 'spec:\n  # why this host\n  host: a\n  port: 1\n';
  assert.match(mergeFile('m.yaml', m, m, m.replace('port: 1', 'port: 2')).text!, /# why this host\n {2}host: a\n {2}port: 2/);
});

test('named list items merge inside: a container the operator extended gets the new image', () => {
  const b = 'containers:\n  - name: app\n    image: a:1\n';
  const theirs = 'containers:\n  - name: app\n    image: a:1\n    args: [--debug]\n  - name: sidecar\n    image: s:1\n';
  const ours = 'containers:\n  - name: app\n    image: a:2\n';
  const m = mergeFile('x.yaml', b, theirs, ours);
  assert.equal(m.conflicts, []);
  assert.equal(parse(m.text!).containers, [{ name: 'app', image: 'a:2', args: ['--debug'] }, { name: 'sidecar', image: 's:1' }]);
});

test('a new key goes where the render puts it, not at the end', () => {
  const b = 'spec:\n  targetNamespace: demo\n  path: ./app\n  interval: 1h\n';
  const ours = 'spec:\n  targetNamespace: demo\n  path: ./app\n  components:\n    - ../c\n  interval: 1h\n';
  const m = mergeFile('ks.yaml', b, b, ours);
  assert.is(m.text, ours);
});

test('a file the new answers no longer write goes when untouched, and is a conflict when edited', () => {
  const route = 'kind: HTTPRoute\nmetadata:\n  name: echo\nspec:\n  hostnames: [echo.example.com]\n';
  assert.equal(mergeFile('httproute.yaml', route, route, undefined), { text: undefined, conflicts: [] });
  const edited = route.replace('echo.example.com', 'echo2.example.com');
  const m = mergeFile('httproute.yaml', route, edited, undefined);
  assert.is(m.text, edited);
  assert.equal(m.conflicts.map((c) => c.file), ['httproute.yaml']);
  assert.is(mergeFile('httproute.yaml', route, edited, undefined, true).text, undefined);
});

test('other documents of a multi-document file are left alone', () => {
  const mine = 'apiVersion: v1\nkind: Kustomization\nmetadata:\n  name: echo\nspec:\n  path: ./a\n';
  const other = '---\n# the cluster part\napiVersion: v1\nkind: Kustomization\nmetadata:\n  name: echo-cluster\nspec:\n  path: ./b\n';
  const m = mergeFile('ks.yaml', mine, mine + other, mine.replace('./a', './c'));
  assert.equal(m.conflicts, []);
  const docs = parseAllDocuments(m.text!).map((d) => d.toJS());
  assert.equal(docs.map((d) => d.spec.path), ['./c', './b']);
  assert.match(m.text!, /# the cluster part/);
});

test('no old render (a first run over existing files): missing nodes are added, differing ones are conflicts', () => {
  const theirs = 'spec:\n  a: 1\n  b: 2\n';
  const m = mergeFile('x.yaml', undefined, theirs, 'spec:\n  a: 1\n  b: 3\n  c: 4\n');
  assert.equal(m.conflicts.map((c) => c.path), ['spec.b']);
});

test('describes: hand-added values are allowed; a changed or missing rendered node is drift', () => {
  assert.equal(describes('hr.yaml', base, base.replace('  values:\n', '  values:\n    env:\n      A: b\n')), []);
  assert.equal(describes('hr.yaml', base, base.replace('tag: "37"', 'tag: "36"')).map((c) => c.path), ['spec.values.controllers.echo.containers.app.image.tag']);
  assert.equal(describes('hr.yaml', base, base.replace(/ {12}image:[\s\S]*$/, '            args: []\n')).map((c) => c.path), ['spec.values.controllers.echo.containers.app.image']);
  assert.equal(describes('k.yaml', 'resources:\n  - ./a.yaml\n', 'resources:\n  - ./b.yaml\n').map((c) => c.path), ['resources[0]']);
  assert.equal(describes('x.yaml', 'a: 1\n', undefined).length, 1);
});

test.run();
