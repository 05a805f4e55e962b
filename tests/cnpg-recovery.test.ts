// The recovery Cluster manifest of CloudNativePG (kubernetes/apps/databases/cloudnative-pg/recovery/):
// no Flux Kustomization builds it, so the validator never sees it as a resource. This suite checks it
// against the schema bundle as the validator would, against what `task dr:test-cnpg-restore` expects of
// it, and against the shared cluster and the monthly recovery test that use it.
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parse, parseAllDocuments } from 'yaml';
import { walkFiles } from '../src/lib/fsutil.ts';
import { SchemaValidator } from '../src/validate/schema.ts';
import { RECOVERY_MANIFEST, recoveryPlan } from '../scripts/dr.ts';
import { ROOT, SCHEMAS, tempDir } from './helpers.ts';

const test = suite('cnpg recovery manifest');

const CNPG = join(ROOT, 'kubernetes/apps/databases/cloudnative-pg');
const FILE = join(ROOT, RECOVERY_MANIFEST);
const docs = (file: string) => parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS());
const manifest = () => parse(readFileSync(FILE, 'utf8'));

test('it is the file dr:test-cnpg-restore reads, one Cluster that validates against the bundle schema', async () => {
  assert.is(FILE, join(CNPG, 'recovery/cluster.yaml'));
  const all = docs(FILE);
  assert.is(all.length, 1);
  const validator = new SchemaValidator({ dirs: SCHEMAS, cacheDir: tempDir(), kubernetesVersion: '1.35.0' });
  assert.equal(await validator.check(all[0]), { kind: 'valid' });
  const typo = structuredClone(all[0]);
  typo.spec.bootstrap.recovery.recoveryTarget.targetTme = typo.spec.bootstrap.recovery.recoveryTarget.targetTime;
  const verdict = await validator.check(typo);
  assert.is(verdict.kind, 'invalid', 'the schema is strict enough to catch a misspelt field');
});

test('dr:test-cnpg-restore accepts it: recovery from the plugin, no WAL archiving, the target time set', () => {
  const plan = recoveryPlan(FILE, ROOT, 'dr-pitr-test', '2026-01-31 09:59:00.000000+00');
  assert.is(plan.name, 'postgres-pitr');
  assert.is(plan.objectStore, 'postgres-r2');
  assert.is(plan.serverName, 'postgres');
  const [cluster] = plan.objects;
  assert.is(cluster.metadata.namespace, 'dr-pitr-test');
  assert.is(cluster.spec.bootstrap.recovery.recoveryTarget.targetTime, '2026-01-31 09:59:00.000000+00');
  assert.is(cluster.spec.plugins, undefined, 'a restore never archives into the store');
  assert.match(manifest().spec.bootstrap.recovery.recoveryTarget.targetTime, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d+)?\+00$/, 'a placeholder in the format the task writes');
});

test('it recovers what the shared cluster archives, with the same PostgreSQL image', () => {
  const live = docs(join(CNPG, 'cluster/cluster.yaml'))[0];
  const store = docs(join(CNPG, 'cluster/objectstore.yaml'))[0];
  const archiver = live.spec.plugins.find((p: any) => p.isWALArchiver);
  const origin = manifest().spec.externalClusters.find((e: any) => e.name === manifest().spec.bootstrap.recovery.source);
  assert.equal(origin.plugin, { name: archiver.name, parameters: { barmanObjectName: store.metadata.name, serverName: archiver.parameters.serverName } });
  assert.is(manifest().spec.imageName, live.spec.imageName);
  assert.equal(manifest().spec.storage, live.spec.storage, 'room for everything the shared cluster holds');
});

test('no Kustomization lists it as a resource; the monthly test reads it as a ConfigMap and restores the Cluster it names', () => {
  const kustomizations = walkFiles(ROOT).filter((f) => f.endsWith('/kustomization.yaml') && !f.includes('/node_modules/') && !f.includes('/tests/'));
  const listing = kustomizations.filter((k) =>
    (parse(readFileSync(k, 'utf8'))?.resources ?? []).some((r: string) => [FILE, dirname(FILE)].includes(resolve(dirname(k), r))),
  );
  assert.equal(listing.map((k) => relative(ROOT, k)), []);

  const pitr = join(CNPG, 'pitr-test');
  const k = parse(readFileSync(join(pitr, 'kustomization.yaml'), 'utf8'));
  const generated = k.configMapGenerator.find((g: any) => g.name === 'cnpg-pitr-test-manifest');
  assert.equal(generated.files.map((f: string) => resolve(pitr, f.split('=').pop()!)), [FILE]);
  const name = manifest().metadata.name;
  const cron = docs(join(pitr, 'cronjob.yaml'))[0];
  const script = cron.spec.jobTemplate.spec.template.spec.containers[0].args[0] as string;
  assert.match(script, new RegExp(`^cluster=${name}$`, 'm'));
  assert.ok(script.includes('kubectl apply -f /tmp/cluster.yaml'));
  const policy = docs(join(pitr, 'ciliumnetworkpolicy.yaml'))[0];
  assert.equal(policy.spec.endpointSelector.matchLabels, { 'cnpg.io/cluster': name });
  // What the recovery reads from: the shared cluster's store and credentials, the store without retention.
  assert.ok(k.resources.includes('../cluster/objectstore.yaml') && k.resources.includes('../cluster/externalsecret.yaml'));
  assert.ok(k.patches.some((p: any) => p.target?.kind === 'ObjectStore' && /op: remove\s+path: \/spec\/retentionPolicy/.test(p.patch)));
});

test('the operator may reach the instance manager of a cluster restored in any namespace', () => {
  const policy = docs(join(CNPG, 'app/ciliumnetworkpolicy.yaml'))[0];
  const anywhere = policy.spec.egress.find((r: any) =>
    (r.toEndpoints ?? []).some((e: any) => (e.matchExpressions ?? []).some((m: any) => m.key === 'cnpg.io/cluster' && m.operator === 'Exists')),
  );
  assert.ok(anywhere, 'an egress rule to cnpg.io/cluster pods');
  assert.ok(anywhere.toEndpoints[0].matchExpressions.some((m: any) => m.key === 'io.kubernetes.pod.namespace' && m.operator === 'Exists'), 'in every namespace');
  assert.equal(anywhere.toPorts, [{ ports: [{ port: '8000', protocol: 'TCP' }] }]);
});

test.run();
