import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import { connectCredentialsPath, hasPlaceholderConnectCredentials } from '../src/lib/connect-credentials.ts';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { generator as cluster } from '../generators/cluster.ts';
import { loadSchema, validateAnswers } from '../generators/lib/answers.ts';
import { formatConflicts } from '../generators/lib/merge.ts';
import { readRepo } from '../generators/lib/repo.ts';
import { driftOf } from '../generators/lib/update.ts';
import { checkRepoFiles } from '../src/validate/repo-files.ts';
import { validateRepository } from '../src/validate/pipeline.ts';
import { findingLine } from '../src/validate/report.ts';
import { commitAll, generate, gitStatus, ROOT, SCHEMAS, scratchRepo, unexpectedFindings, writeAnswers } from './helpers.ts';

const test = suite('generator: cluster');
const lab = structuredClone(loadSchema('cluster').examples[0]);

test('a third cluster validates with zero hand edits', async () => {
  // The whole repository: a new cluster takes every shared app, Connect's credentials among them.
  const repo = await scratchRepo('full');
  const r = await generate(repo, 'cluster', ['--answers', writeAnswers(lab)]);
  assert.is(r.code, 0, r.stderr + r.stdout);
  for (const f of ['flux/kustomization.yaml', 'flux/cluster-vars.yaml', 'flux/config/flux-system.yaml', 'apps/kustomization.yaml', 'talos/talconfig.yaml', 'talos/patches/nodes/lab-1.yaml', '.answers.yaml']) {
    assert.ok(existsSync(join(repo, 'clusters/lab', f)), `missing clusters/lab/${f}`);
  }
  assert.ok(existsSync(join(repo, 'bootstrap/lab/helmfile.d/01-apps.yaml')));
  const { results } = await validateRepository({ repo, schemaDirs: SCHEMAS });
  assert.equal(results.map((x) => x.cluster.name), ['apps', 'infra', 'lab']);
  assert.equal(unexpectedFindings(results.flatMap((x) => x.findings)).map(findingLine), []);
  const lab3 = results.find((x) => x.cluster.name === 'lab')!;
  const vars = lab3.resources.find((x) => x.obj.kind === 'ConfigMap' && x.obj.metadata.name === 'cluster-vars')!.obj.data;
  assert.is(vars.CLUSTER_ID, '3');
  assert.is(vars.CLUSTER_DNS_IP, '10.47.0.10');
  assert.is(vars.CLUSTER_LOGS_IP, '10.47.0.60');
  assert.equal(parse(readFileSync(join(repo, 'clusters/lab/talos/patches/global/machine-logging.yaml'), 'utf8')).machine.logging.destinations, [{ endpoint: 'tcp://10.47.0.60:6050/', format: 'json_lines' }]);
  assert.is(lab3.resources.find((x) => x.obj.kind === 'GitRepository' && x.obj.metadata.name === 'flux-system')!.obj.spec.ref.branch, 'release');
  const talconfig = parse(readFileSync(join(repo, 'clusters/lab/talos/talconfig.yaml'), 'utf8'));
  assert.is(talconfig.clusterName, 'lab');
  assert.is(talconfig.nodes[1].networkInterfaces[0].vip.ip, '10.25.15.10');
  // Connect's credentials start as an encrypted placeholder that the bootstrap refuses until sealed.
  const credentials = lab3.resources.find((x) => x.obj.kind === 'Secret' && x.obj.metadata.name === 'onepassword-connect-secret')!;
  assert.is(credentials.origin?.file, connectCredentialsPath('lab'));
  assert.ok(credentials.sops);
  assert.ok(hasPlaceholderConnectCredentials(repo, 'lab'));
  const files = await checkRepoFiles(repo, SCHEMAS);
  assert.ok(files.checked.includes('clusters/lab/talos/talconfig.yaml'));
  assert.equal(files.findings.map(findingLine), [], 'talconfig.yaml and the helmfiles match their schemas');
});

test('dry run writes nothing; the same answers twice change nothing', async () => {
  const repo = await scratchRepo();
  const dry = await generate(repo, 'cluster', ['--answers', writeAnswers(lab), '--dry-run']);
  assert.is(dry.code, 0, dry.stderr);
  assert.match(dry.stdout + dry.stderr, /create clusters\/lab\/talos\/talconfig\.yaml/);
  assert.is((await gitStatus(repo)), '');
  assert.is((await generate(repo, 'cluster', ['--answers', writeAnswers(lab)])).code, 0);
  await commitAll(repo);
  const again = await generate(repo, 'cluster', ['--answers', writeAnswers(lab)]);
  assert.is(again.code, 0);
  assert.match(again.stdout + again.stderr, /up to date/);
  assert.is((await gitStatus(repo)), '');
});

const bad: [string, Record<string, unknown>, RegExp][] = [
  ['a duplicate id', { id: 1 }, /answers\.id: 1 is already cluster infra's id/],
  ['an id out of range', { id: 256 }, /answers\.id: must be <= 255/],
  ['a pod CIDR overlapping another cluster', { podCidr: '10.42.128.0/17' }, /answers\.podCidr: 10\.42\.128\.0\/17 overlaps cluster infra's CLUSTER_POD_CIDR/],
  ['a pool overlapping its own node network', { loadBalancerPool: '10.25.15.128/25' }, /answers\.nodeCidr: 10\.25\.15\.0\/24 overlaps answers\.loadBalancerPool/],
  ['an existing name', { name: 'infra', id: 9 }, /answers\.name: cluster infra already exists \(id 1\)/],
  ['a node outside the node network', { nodes: [{ hostname: 'lab-1', ip: '10.99.0.1', controlPlane: true }] }, /answers\.nodes\[0\]\.ip: 10\.99\.0\.1 is outside the node network/],
  ['no control plane', { nodes: [{ hostname: 'lab-1', ip: '10.25.15.11' }] }, /answers\.nodes: at least one node must be a control plane/],
  ['a missing cluster-vars key', { vars: undefined }, /answers\.vars\.CLUSTER_GATEWAY_\w+: required/],
  ['not a CIDR', { podCidr: '10.46.0.0' }, /answers\.podCidr: must be an IPv4 CIDR/],
  ['an unknown branch', { branch: 'develop' }, /answers\.branch: must be one of main, release/],
  ['a missing required field', { bgp: undefined }, /answers\.bgp: is required/],
];

let refusals: string;
test.before(async () => {
  refusals = await scratchRepo();
});

for (const [label, change, message] of bad) {
  test(`refused: ${label}`, async () => {
    const answers: Record<string, unknown> = { ...structuredClone(lab), ...change };
    for (const [k, v] of Object.entries(change)) if (v === undefined) delete answers[k];
    const r = await generate(refusals, 'cluster', ['--answers', writeAnswers(answers)]);
    assert.is(r.code, 1, `${label} should be refused with exit code 1`);
    assert.match(r.stderr, message);
    assert.is((await gitStatus(refusals)), '');
  });
}

test('the schema example is complete and valid', async () => {
  await validateAnswers(loadSchema('cluster'), structuredClone(lab));
});

test('infra and apps still say what their answers say', async () => {
  const repo = await readRepo(ROOT);
  for (const name of ['infra', 'apps']) {
    const file = join(ROOT, 'clusters', name, '.answers.yaml');
    const answers = await validateAnswers(loadSchema('cluster'), parse(readFileSync(file, 'utf8')));
    assert.equal(formatConflicts(driftOf(ROOT, await cluster.plan(answers, repo))), '', `clusters/${name} no longer matches its answers`);
  }
});

test.run();
