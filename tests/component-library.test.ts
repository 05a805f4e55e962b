import { appendFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cacheArea } from '../src/lib/cache.ts';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { checkComponentLibrary, LIBRARY, listComponents, sampleApps } from '../src/validate/components.ts';
import { validateRepository } from '../src/validate/pipeline.ts';
import { findingLine } from '../src/validate/report.ts';
import { CACHE, ownCache, ROOT, SCHEMAS, scratchRepo } from './helpers.ts';

const test = suite('component library');

const check = async (root: string, cacheDir = ownCache()) => {
  const { results, treeKey } = await validateRepository({ repo: root, schemaDirs: SCHEMAS, cacheDir: CACHE });
  return checkComponentLibrary(root, { results, treeKey, schemaDirs: SCHEMAS, cacheDir });
};

test('every Component under kubernetes/components is found, wherever it nests', () => {
  assert.equal(listComponents(ROOT), [
    'cnpg',
    'dragonfly',
    'gatus/external',
    'gatus/internal',
    'limitrange',
    'resourcequota',
    'secpol',
    'volsync/nfs',
    'volsync/r2',
  ]);
});

test('a sample app sets the variables a component requires, and leaves cluster-vars and APP alone', () => {
  const [cnpg] = sampleApps(ROOT, ['cnpg'], new Set(['CLUSTER_NAME', 'CLUSTER_DOMAIN', 'TIMEZONE']));
  assert.equal(cnpg.app.substitute, { CNPG_DATABASE: 'sample' });
  assert.is(cnpg.app.namespace, 'sample-cnpg');
  const [r2] = sampleApps(ROOT, ['volsync/r2'], new Set());
  assert.ok('CLUSTER_NAME' in r2.app.substitute!, 'without cluster-vars the sample app must set CLUSTER_NAME itself');
  assert.not.ok('APP' in r2.app.substitute!);
  assert.not.ok('VOLSYNC_SCHEDULE' in r2.app.substitute!, 'a variable with a default is left to its default');
});

test("the repository's library is clean on every cluster, and an unchanged tree is not checked again", async () => {
  const root = await scratchRepo();
  const cacheDir = ownCache();
  const first = await check(root, cacheDir);
  assert.ok(first);
  assert.equal(first!.findings.map(findingLine), []);
  assert.is(first!.kustomizations.length, listComponents(root).length);
  assert.ok(first!.resources.some((r) => r.obj.kind === 'ReplicationDestination'), 'volsync is built although no app uses it');
  // The kept result is what the next run of the same tree reports: doctor it to see that it is read.
  const [kept] = readdirSync(cacheArea(cacheDir, 'components').dir);
  const file = join(cacheArea(cacheDir, 'components').dir, kept);
  const entry = JSON.parse(readFileSync(file, 'utf8'));
  assert.ok(entry.schemaFiles.some((f: string) => f.includes('replicationdestination')), 'the kept result names the schema files it used');
  entry.result.findings = [{ file: `${LIBRARY}/cnpg/kustomization.yaml`, rule: 'marker', message: 'from the cache', severity: 'warning' }];
  writeFileSync(file, JSON.stringify(entry));
  const again = await check(root, cacheDir);
  assert.equal(again!.findings.map((f) => f.rule), ['marker']);
  // A schema file that is not as it was makes the kept result stale.
  writeFileSync(file, JSON.stringify({ ...entry, schemaFiles: entry.schemaFiles.map((f: string, i: number) => (i === 0 ? f.replace(/:[^:]*$/, ':1') : f)) }));
  assert.equal((await check(root, cacheDir))!.findings, []);
  writeFileSync(file, JSON.stringify(entry));
  assert.equal((await check(root, cacheDir))!.findings.map((f) => f.rule), ['marker']);
  // Any change to the tree is another key.
  appendFileSync(join(root, 'kubernetes', 'apps', 'kustomization.yaml'), '\n');
  const changed = await check(root, cacheDir);
  assert.equal(changed!.findings, []);
});

test('a broken component is reported on its own files, used by no app or not', async () => {
  const root = await scratchRepo();
  const r2 = join(root, LIBRARY, 'volsync', 'r2', 'replicationsource.yaml');
  writeFileSync(r2, readFileSync(r2, 'utf8').replace(/^  trigger:$/m, '  triggr:'));
  const dragonfly = join(root, LIBRARY, 'dragonfly', 'kustomization.yaml');
  writeFileSync(dragonfly, readFileSync(dragonfly, 'utf8').replace(/^resources:\n/m, 'resources:\n  - ./missing.yaml\n'));
  // A new component whose knob has no default: the sample app gives it one, so only the real typo shows.
  mkdirSync(join(root, LIBRARY, 'extra'));
  writeFileSync(
    join(root, LIBRARY, 'extra', 'kustomization.yaml'),
    'apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources:\n  - ./configmap.yaml\n',
  );
  writeFileSync(
    join(root, LIBRARY, 'extra', 'configmap.yaml'),
    'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${APP}-extra\ndata:\n  knob: ${EXTRA_KNOB}\nimmutable: "yes"\n',
  );
  const result = await check(root);
  const lines = result!.findings.map(findingLine);
  assert.ok(
    lines.some((l) => /^kubernetes\/components\/volsync\/r2\/replicationsource\.yaml:\d+: schema \[flux\]: .*spec\.triggr: unknown field/.test(l)),
    lines.join('\n'),
  );
  assert.ok(
    lines.some((l) => /^kubernetes\/components\/dragonfly\/kustomization\.yaml: build \[flux\]: through a sample app .*missing\.yaml/.test(l)),
    lines.join('\n'),
  );
  assert.ok(lines.some((l) => /^kubernetes\/components\/extra\/configmap\.yaml:7: schema \[flux\]: .*immutable/.test(l)), lines.join('\n'));
  assert.not.ok(lines.some((l) => l.includes('EXTRA_KNOB')), lines.join('\n'));
  assert.is(lines.filter((l) => !/volsync\/r2|dragonfly|extra/.test(l)).length, 0, lines.join('\n'));
});

test.run();
