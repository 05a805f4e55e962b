// scripts/bootstrap.ts against stub CLIs (tests/stubs/cli-stub.mjs) that record every call.
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { actions, createStubs, show } from './cli-stubs.ts';

const test = suite('bootstrap script');
const SCRIPT = 'scripts/bootstrap.ts';
const STEPS = ['genconfig', 'apply-config', 'bootstrap', 'kubeconfig', 'wait-nodes', 'crds', 'secrets', 'helmfile-sync', 'flux-sync', 'flux-check'];
const INFRA_IPS = ['10.25.11.11', '10.25.11.12', '10.25.11.13', '10.25.11.14', '10.25.11.15', '10.25.11.16'];

let stubs: ReturnType<typeof createStubs>;
test.before.each(() => {
  stubs = createStubs();
});
test.after.each(() => stubs.cleanup());

/** Paths in the recorded calls, relative to the scratch repository. */
const local = (lines: string[]) => lines.map((l) => l.replaceAll(`${stubs.repo}/`, ''));
const lastLine = (text: string) => text.trimEnd().split('\n').pop() ?? '';

/** A kubeconfig that knows both clusters, current context `current`. */
const existingKubeconfig = (current: string) => {
  writeFileSync(stubs.kubeconfig, 'apiVersion: v1\nkind: Config\n');
  return { STUB_CONTEXTS: 'infra,apps', STUB_CONTEXT: current };
};

test('a fresh cluster runs every step in order, each command once', async () => {
  const r = await stubs.runScript(SCRIPT, ['--cluster', 'infra', '--yes'], { STUB_TALCONFIG: stubs.talconfig('infra'), STUB_NODES_AFTER: '2' });
  assert.is(r.code, 0, r.stderr + r.stdout);
  assert.equal(local(actions(stubs.calls()).filter((a) => !a.startsWith('helmfile') || !a.includes('template'))), [
    'talhelper genconfig --config-file clusters/infra/talos/talconfig.yaml --secret-file clusters/infra/talos/talsecret.sops.yaml --out-dir clusters/infra/talos/clusterconfig',
    ...INFRA_IPS.map((ip, i) => `talosctl apply-config --insecure --nodes ${ip} --file clusters/infra/talos/clusterconfig/infra-k8s-${i + 1}.yaml`),
    'talosctl --talosconfig clusters/infra/talos/clusterconfig/talosconfig --nodes 10.25.11.11 --endpoints 10.25.11.11 bootstrap',
    'talosctl --talosconfig clusters/infra/talos/clusterconfig/talosconfig --nodes 10.25.11.11 --endpoints 10.25.11.11 kubeconfig kubeconfig --force-context-name infra --force',
    'kubectl config use-context infra',
    'kubectl --context infra apply --server-side --force-conflicts --field-manager bootstrap --filename -',
    'op inject --in-file bootstrap/infra/secrets.yaml.tpl',
    'kubectl --context infra apply --server-side --field-manager bootstrap --filename -',
    'helmfile --file bootstrap/infra/helmfile.d/01-apps.yaml --kube-context infra sync --hide-notes',
    'kubectl --context infra apply --server-side --field-manager bootstrap --filename clusters/infra/flux/config/flux-system.yaml',
    'flux --context infra check',
  ]);
  // Every step printed its name and timing, and the total is measured against the 30-minute budget.
  for (const [i, s] of STEPS.entries()) assert.match(r.stdout, new RegExp(`\\[${i + 1}/10\\] ${s}: done in [0-9.]+s`));
  assert.is(stubs.calls().filter((c) => c.args.includes('nodes')).length, 3, 'wait-nodes asked until the nodes registered');
  assert.match(r.stdout, /bootstrap infra: finished in [0-9.]+s, within the 30m00s budget \(the bootstrap target\)/);
});

test('the CRDs step applies only the CustomResourceDefinitions that helmfile rendered', async () => {
  const r = await stubs.runScript(SCRIPT, ['--cluster', 'infra', '--yes'], { STUB_TALCONFIG: stubs.talconfig('infra') });
  assert.is(r.code, 0, r.stderr);
  const template = stubs.calls().find((c) => c.tool === 'helmfile' && c.args.includes('template'));
  assert.equal(local([show(template!)]), ['helmfile --file bootstrap/infra/helmfile.d/00-crds.yaml --quiet template']);
  const applied = stubs.calls().find((c) => c.tool === 'kubectl' && c.args.includes('--force-conflicts'))!;
  const docs = applied.stdin!.split(/^---$/m).map((d) => parse(d)).filter(Boolean);
  assert.equal(docs.map((d: any) => `${d.kind}/${d.metadata.name}`), [
    'CustomResourceDefinition/gateways.gateway.networking.k8s.io',
    'CustomResourceDefinition/httproutes.gateway.networking.k8s.io',
  ]);
});

test('secrets reach kubectl from op inject without a reference left and are never printed', async () => {
  const r = await stubs.runScript(SCRIPT, ['--cluster', 'infra', '--yes'], { STUB_TALCONFIG: stubs.talconfig('infra') });
  assert.is(r.code, 0, r.stderr);
  const applied = stubs.calls().find((c) => c.tool === 'kubectl' && c.stdin?.includes('kind: Secret'))!;
  assert.not.match(applied.stdin!, /op:\/\//);
  assert.match(applied.stdin!, /name: sops-age/);
  assert.not.match(r.stdout + r.stderr, /c3R1Yg==/);
});

test('--dry-run prints the plan and calls no tool at all', async () => {
  const r = await stubs.runScript(SCRIPT, ['--cluster', 'infra', '--dry-run']);
  assert.is(r.code, 0, r.stderr);
  assert.equal(stubs.calls(), []);
  const plan = r.stdout.split('\n').filter((l) => /^\s+\d+\. /.test(l)).map((l) => l.trim().split(/\s+/)[1]);
  assert.equal(plan, STEPS);
  assert.match(r.stdout, /bootstrap infra: plan \(dry run, nothing is executed\)/);
  assert.match(r.stdout, /helmfile sync bootstrap\/infra\/helmfile\.d\/01-apps\.yaml: cilium → coredns → spegel → cert-manager → flux-operator → flux-instance/);
});

test('--dry-run with a wrong kube-context still asks nothing', async () => {
  const r = await stubs.runScript(SCRIPT, ['--cluster', 'infra', '--dry-run', '--from', 'crds'], existingKubeconfig('apps'));
  assert.is(r.code, 0, r.stderr);
  assert.equal(stubs.calls(), []);
  assert.match(r.stdout, /1\. genconfig .*\[before --from: not run\]/);
  assert.not.match(r.stdout, /6\. crds .*not run/);
});

test('--from helmfile-sync resumes there: the earlier steps are not run and not even asked about', async () => {
  const r = await stubs.runScript(SCRIPT, ['--cluster', 'infra', '--from', 'helmfile-sync'], existingKubeconfig('infra'));
  assert.is(r.code, 0, r.stderr + r.stdout);
  const tools = new Set(stubs.calls().map((c) => c.tool));
  for (const t of ['talhelper', 'talosctl', 'op']) assert.not.ok(tools.has(t), `${t} was called`);
  assert.equal(local(actions(stubs.calls())), [
    'helmfile --file bootstrap/infra/helmfile.d/01-apps.yaml --kube-context infra sync --hide-notes',
    'kubectl --context infra apply --server-side --field-manager bootstrap --filename clusters/infra/flux/config/flux-system.yaml',
    'flux --context infra check',
  ]);
  for (const s of STEPS.slice(0, 7)) assert.match(r.stdout, new RegExp(`${s}: not run \\(before --from helmfile-sync\\)`));
});

test('an unknown --from step is a usage error that lists the steps', async () => {
  const r = await stubs.runScript(SCRIPT, ['--cluster', 'infra', '--from', 'flux']);
  assert.is(r.code, 2);
  assert.is(r.stderr.trim(), `bootstrap: --from flux: no such step; the steps are ${STEPS.join(', ')}`);
  assert.equal(stubs.calls(), []);
});

test('a wrong kube-context is refused in one line naming it, before anything runs', async () => {
  const r = await stubs.runScript(SCRIPT, ['--cluster', 'infra', '--yes'], existingKubeconfig('apps'));
  assert.is(r.code, 1);
  assert.is(r.stderr.trim(), 'bootstrap: kube-context is "apps", not "infra": run `kubectl config use-context infra` first');
  assert.not.match(r.stderr, /\n\s+at /);
  const calls = stubs.calls().map(show);
  assert.ok(calls.length > 0 && calls.every((c) => c.startsWith('kubectl config ')), calls.join('\n'));
});

test('a missing CLI is refused before anything runs', async () => {
  stubs.removeTool('helmfile');
  const r = await stubs.runScript(SCRIPT, ['--cluster', 'infra', '--yes']);
  assert.is(r.code, 1);
  assert.is(r.stderr.trim(), 'bootstrap: not on PATH: helmfile (see docs/runbooks/bootstrap.md, prerequisites)');
  assert.equal(stubs.calls(), []);
});

test('a failing step stops the run with its name and the exit code, later steps are not called', async () => {
  const r = await stubs.runScript(SCRIPT, ['--cluster', 'infra', '--yes'], { STUB_TALCONFIG: stubs.talconfig('infra'), STUB_FAIL: 'helmfile:sync=3' });
  assert.is(r.code, 3);
  assert.is(lastLine(r.stderr), 'bootstrap: step helmfile-sync failed: helmfile exited with code 3');
  assert.not.match(r.stderr, /\n\s+at /);
  const calls = stubs.calls().map(show);
  assert.ok(calls.some((c) => c.startsWith('helmfile') && c.includes(' sync')));
  assert.not.ok(calls.some((c) => c.startsWith('flux ') || c.includes('flux-system.yaml')), calls.join('\n'));
  assert.not.match(r.stdout, /finished in/);
});

test('steps the cluster shows as done are skipped; only flux check runs', async () => {
  // Machine configs newer than their inputs, every node configured, etcd up, ... (STUB_DONE).
  const dir = join(stubs.repo, 'clusters', 'infra', 'talos', 'clusterconfig');
  mkdirSync(dir);
  const later = new Date(Date.now() + 60_000);
  for (const f of ['talosconfig', ...[1, 2, 3, 4, 5, 6].map((i) => `infra-k8s-${i}.yaml`)]) {
    writeFileSync(join(dir, f), 'version: v1alpha1\n');
    utimesSync(join(dir, f), later, later);
  }
  const r = await stubs.runScript(SCRIPT, ['--cluster', 'infra'], { ...existingKubeconfig('infra'), STUB_DONE: '1', STUB_TALCONFIG: stubs.talconfig('infra') });
  assert.is(r.code, 0, r.stderr + r.stdout);
  assert.equal(actions(stubs.calls()).filter((a) => !a.includes(' template')), ['flux --context infra check']);
  for (const s of STEPS.slice(0, 9)) assert.match(r.stdout, new RegExp(`\\] ${s}: skipped, `));
  assert.match(r.stdout, /apply-config: skipped, all 6 nodes answer with their config/);
  assert.match(r.stdout, /bootstrap: skipped, etcd is already running on k8s-1/);
  assert.match(r.stdout, /helmfile-sync: skipped, FluxInstance flux is Ready/);
});

test('apply-config skips the nodes that already answer with their config', async () => {
  for (const ip of INFRA_IPS.slice(0, 4)) writeFileSync(join(stubs.state, `configured-${ip}`), '');
  const r = await stubs.runScript(SCRIPT, ['--cluster', 'infra', '--yes'], { STUB_TALCONFIG: stubs.talconfig('infra') });
  assert.is(r.code, 0, r.stderr);
  const applied = actions(stubs.calls()).filter((a) => a.includes('apply-config'));
  assert.equal(applied.map((a) => a.split(' ')[4]), ['10.25.11.15', '10.25.11.16']);
});

test('without --yes, installing Talos waits for the cluster name to be typed', async () => {
  const refused = await stubs.runScript(SCRIPT, ['--cluster', 'infra'], { STUB_TALCONFIG: stubs.talconfig('infra') }, 'yes\n');
  assert.is(refused.code, 1);
  assert.is(lastLine(refused.stderr), 'bootstrap: step apply-config failed: not confirmed (typed "yes", expected "infra"): nothing was changed');
  assert.not.ok(stubs.calls().some((c) => c.args.includes('apply-config')));

  const accepted = await stubs.runScript(SCRIPT, ['--cluster', 'infra', '--from', 'apply-config'], { STUB_TALCONFIG: stubs.talconfig('infra') }, 'infra\n');
  assert.is(accepted.code, 0, accepted.stderr);
  assert.match(accepted.stderr, /wipes their install disks/);
  assert.is(stubs.calls().filter((c) => c.args.includes('apply-config')).length, 6);
});

test('the apps cluster uses its own files, nodes and context', async () => {
  const r = await stubs.runScript(SCRIPT, ['--cluster', 'apps', '--yes'], { STUB_TALCONFIG: stubs.talconfig('apps') });
  assert.is(r.code, 0, r.stderr);
  const acts = local(actions(stubs.calls()));
  assert.ok(acts.includes('talosctl apply-config --insecure --nodes 10.25.13.16 --file clusters/apps/talos/clusterconfig/apps-k8s-6.yaml'), acts.join('\n'));
  assert.ok(acts.includes('helmfile --file bootstrap/apps/helmfile.d/01-apps.yaml --kube-context apps sync --hide-notes'));
  assert.ok(acts.includes('kubectl --context apps apply --server-side --field-manager bootstrap --filename clusters/apps/flux/config/flux-system.yaml'));
  assert.not.ok(acts.some((a) => a.includes('infra')), acts.join('\n'));
});

test('end to end, as the operator runs it: node and tsx print the same plan as the in-process run', async () => {
  const dry = await stubs.runScriptProcess(SCRIPT, ['--cluster', 'infra', '--dry-run']);
  assert.is(dry.code, 0, dry.stderr);
  assert.equal(dry.stdout, (await stubs.runScript(SCRIPT, ['--cluster', 'infra', '--dry-run'])).stdout);
  // A usage error's exit code takes the same way out as the plan's: asked in-process.
  const usage = await stubs.runScript(SCRIPT, ['--cluster', 'prod']);
  assert.is(usage.code, 2);
  assert.is(usage.stderr.trim(), `bootstrap: --cluster must be one of apps, infra, not "prod"`);
});

test.run();
