// scripts/talos.ts (behind .taskfiles/talos) against stub CLIs that record every call.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createStubs, show, type Call } from './cli-stubs.ts';
import { ROOT } from './helpers.ts';

const test = suite('talos tasks script');
const SCRIPT = 'scripts/talos.ts';
const IMAGE = 'factory.talos.dev/installer/stub:v1.12.0';

let stubs: ReturnType<typeof createStubs>;
test.before.each(() => {
  stubs = createStubs();
});
test.after.each(() => stubs.cleanup());

const local = (lines: string[]) => lines.map((l) => l.replaceAll(`${stubs.repo}/`, ''));
const lastLine = (text: string) => text.trimEnd().split('\n').pop() ?? '';

/** A running infra cluster as the operator's checkout knows it: generated configs and a kubeconfig. */
const running = (context = 'infra') => {
  const dir = stubs.clusterconfig('infra');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'talosconfig'), 'context: infra\n');
  for (let i = 1; i <= 6; i++) writeFileSync(join(dir, `infra-k8s-${i}.yaml`), `version: v1alpha1\nmachine:\n  install:\n    image: ${IMAGE}\n`);
  writeFileSync(stubs.kubeconfig, 'apiVersion: v1\nkind: Config\n');
  return { STUB_CONTEXTS: 'infra,apps', STUB_CONTEXT: context, STUB_TALCONFIG: stubs.talconfig('infra') };
};

/** What the rolling upgrade did, as short words: `health`, `drain k8s-1`, `upgrade 10.25.11.11`, ... */
const story = (calls: Call[]): string[] =>
  calls.flatMap((c) => {
    const a = c.args;
    if (c.tool === 'talosctl' && a.includes('health')) return ['health'];
    if (c.tool === 'talosctl' && a.includes('upgrade')) return [`upgrade ${a[a.indexOf('--nodes') + 1]}`];
    if (c.tool === 'kubectl' && a.includes('drain')) return [`drain ${a[a.indexOf('drain') + 1]}`];
    if (c.tool === 'kubectl' && a.includes('wait')) return [`ready ${a[a.indexOf('wait') + 1].replace('node/', '')}`];
    if (c.tool === 'kubectl' && a.includes('uncordon')) return [`uncordon ${a[a.indexOf('uncordon') + 1]}`];
    return [];
  });

const oneNode = (host: string, ip: string) => ['health', `drain ${host}`, `upgrade ${ip}`, `ready ${host}`, `uncordon ${host}`, 'health'];

test('apply-node regenerates the configs and applies the one node, authenticated', async () => {
  const r = await stubs.runScript(SCRIPT, ['apply-node', '--cluster', 'infra', '--node', '10.25.11.14']);
  assert.is(r.code, 0, r.stderr + r.stdout);
  assert.equal(local(stubs.calls().map(show)), [
    'talhelper genconfig --config-file clusters/infra/talos/talconfig.yaml --secret-file clusters/infra/talos/talsecret.sops.yaml --out-dir clusters/infra/talos/clusterconfig',
    'talosctl --talosconfig clusters/infra/talos/clusterconfig/talosconfig --nodes 10.25.11.14 --endpoints 10.25.11.14 apply-config --mode auto --file clusters/infra/talos/clusterconfig/infra-k8s-4.yaml',
  ]);
});

test('apply-node refuses an address that is not a node of the cluster', async () => {
  const r = await stubs.runScript(SCRIPT, ['apply-node', '--cluster', 'apps', '--node', '10.25.11.11']);
  assert.is(r.code, 1);
  assert.match(r.stderr.trim(), /^talos: 10\.25\.11\.11 is not a node of apps \(clusters\/apps\/talos\/talconfig\.yaml lists 10\.25\.13\.11, /);
  assert.equal(stubs.calls(), []);
  const missing = await stubs.runScript(SCRIPT, ['apply-node', '--cluster', 'infra']);
  assert.is(missing.code, 2);
  assert.is(missing.stderr.trim(), 'talos: apply-node needs --node IP (NODE=<ip> with task)');
});

test('upgrade-node rolls one node at a time: healthy cluster before, node Ready and cluster healthy after', async () => {
  const r = await stubs.runScript(SCRIPT, ['upgrade-node', '--cluster', 'infra'], { ...running(), STUB_TALOS_VERSION: 'v1.11.5' });
  assert.is(r.code, 0, r.stderr + r.stdout);
  const ips = (i: number) => `10.25.11.1${i}`;
  assert.equal(story(stubs.calls()), [1, 2, 3, 4, 5, 6].flatMap((i) => oneNode(`k8s-${i}`, ips(i))));
  const upgrade = stubs.calls().find((c) => c.args.includes('upgrade'))!;
  assert.ok(show(upgrade).endsWith(`upgrade --image ${IMAGE} --preserve --wait --timeout 10m`), show(upgrade));
});

test('upgrade-node skips the nodes that already run the target version', async () => {
  const env = { ...running(), STUB_TALOS_VERSION: 'v1.11.5' };
  for (const ip of ['10.25.11.11', '10.25.11.12']) writeFileSync(join(stubs.state, `version-${ip}`), 'v1.12.0');
  const r = await stubs.runScript(SCRIPT, ['upgrade-node', '--cluster', 'infra'], env);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /k8s-1: skipped, k8s-1 already runs Talos v1\.12\.0/);
  assert.equal(
    story(stubs.calls()).filter((s) => s.startsWith('upgrade')),
    ['10.25.11.13', '10.25.11.14', '10.25.11.15', '10.25.11.16'].map((ip) => `upgrade ${ip}`),
  );
});

test('upgrade-node --node upgrades just that node', async () => {
  const r = await stubs.runScript(SCRIPT, ['upgrade-node', '--cluster', 'infra', '--node', '10.25.11.15'], { ...running(), STUB_TALOS_VERSION: 'v1.11.5' });
  assert.is(r.code, 0, r.stderr);
  assert.equal(story(stubs.calls()), oneNode('k8s-5', '10.25.11.15'));
});

test('a failure on one node stops the rolling upgrade before the next node', async () => {
  const r = await stubs.runScript(SCRIPT, ['upgrade-node', '--cluster', 'infra'], { ...running(), STUB_TALOS_VERSION: 'v1.11.5', STUB_FAIL: 'kubectl:uncordon=4' });
  assert.is(r.code, 4);
  assert.is(lastLine(r.stderr), 'talos: step k8s-1 failed: kubectl exited with code 4');
  assert.equal(story(stubs.calls()), oneNode('k8s-1', '10.25.11.11').slice(0, 5));
});

test('upgrade-k8s checks health around talosctl upgrade-k8s, and is skipped when already done', async () => {
  const r = await stubs.runScript(SCRIPT, ['upgrade-k8s', '--cluster', 'infra'], { ...running(), STUB_K8S_VERSION: 'v1.34.3' });
  assert.is(r.code, 0, r.stderr);
  assert.equal(
    local(stubs.calls().map(show)).filter((c) => c.startsWith('talosctl')),
    [
      'talosctl --talosconfig clusters/infra/talos/clusterconfig/talosconfig --nodes 10.25.11.11 --endpoints 10.25.11.11 health --wait-timeout 10m',
      'talosctl --talosconfig clusters/infra/talos/clusterconfig/talosconfig --nodes 10.25.11.11 --endpoints 10.25.11.11 upgrade-k8s --to 1.35.0',
      'talosctl --talosconfig clusters/infra/talos/clusterconfig/talosconfig --nodes 10.25.11.11 --endpoints 10.25.11.11 health --wait-timeout 10m',
    ],
  );
  const again = await stubs.runScript(SCRIPT, ['upgrade-k8s', '--cluster', 'infra'], running());
  assert.is(again.code, 0, again.stderr);
  assert.match(again.stdout, /upgrade-k8s: skipped, the API server already runs Kubernetes v1\.35\.0/);
});

test('reset-cluster does nothing unless the cluster name is typed', async () => {
  const r = await stubs.runScript(SCRIPT, ['reset-cluster', '--cluster', 'infra'], running(), 'yes\n');
  assert.is(r.code, 1);
  assert.is(lastLine(r.stderr), 'talos: step reset failed: not confirmed (typed "yes", expected "infra"): nothing was changed');
  assert.not.ok(stubs.calls().some((c) => c.args.includes('reset')));
});

test('reset-cluster, confirmed, wipes the workers first, then the control planes', async () => {
  const r = await stubs.runScript(SCRIPT, ['reset-cluster', '--cluster', 'infra'], running(), 'infra\n');
  assert.is(r.code, 0, r.stderr);
  const resets = stubs.calls().filter((c) => c.args.includes('reset'));
  assert.equal(
    resets.map((c) => c.args[c.args.indexOf('--nodes') + 1]),
    ['10.25.11.14', '10.25.11.15', '10.25.11.16', '10.25.11.11', '10.25.11.12', '10.25.11.13'],
  );
  assert.ok(show(resets[0]).includes('reset --graceful=false --reboot --system-labels-to-wipe STATE --system-labels-to-wipe EPHEMERAL'));
});

test('reset-cluster refuses a wrong kube-context before asking anything', async () => {
  const r = await stubs.runScript(SCRIPT, ['reset-cluster', '--cluster', 'infra'], running('apps'), 'infra\n');
  assert.is(r.code, 1);
  assert.is(r.stderr.trim(), 'talos: kube-context is "apps", not "infra": run `kubectl config use-context infra` first');
  assert.ok(stubs.calls().every((c) => show(c).startsWith('kubectl config ')));
});

test('generate-iso asks talhelper for the ISO of the cluster\'s schematic and Talos version', async () => {
  const r = await stubs.runScript(SCRIPT, ['generate-iso', '--cluster', 'apps']);
  assert.is(r.code, 0, r.stderr);
  assert.equal(local(stubs.calls().map(show)), ['talhelper genurl iso --config-file clusters/apps/talos/talconfig.yaml --version v1.12.0']);
  assert.match(r.stdout, /^https:\/\/factory\.talos\.dev\/image\/.+\.iso$/m);
});

test('--dry-run prints the rolling plan and calls nothing', async () => {
  const r = await stubs.runScript(SCRIPT, ['upgrade-node', '--cluster', 'apps', '--dry-run', '--from', 'k8s-4']);
  assert.is(r.code, 0, r.stderr);
  assert.equal(stubs.calls(), []);
  assert.match(r.stdout, /1\. k8s-1 .*10\.25\.13\.11.*\[before --from: not run\]/);
  assert.match(r.stdout, /6\. k8s-6 .*10\.25\.13\.16/);
});

test('the Taskfiles call the scripts with CLUSTER, and are included under their namespaces', async () => {
  const taskfile = (name: string) => parse(readFileSync(join(ROOT, '.taskfiles', name, 'Taskfile.yaml'), 'utf8'));
  const talos = taskfile('talos');
  assert.equal(Object.keys(talos.tasks), ['apply-node', 'upgrade-node', 'upgrade-k8s', 'reset-cluster', 'generate-iso']);
  for (const [name, task] of Object.entries<any>(talos.tasks)) {
    assert.ok(task.cmd.startsWith(`{{.TALOS_SCRIPT}} ${name} --cluster {{.CLUSTER}}`), `talos:${name}: ${task.cmd}`);
    assert.equal(task.requires.vars[0], 'CLUSTER', `talos:${name}`);
  }
  assert.equal(talos.tasks['apply-node'].requires.vars[1], 'NODE');
  const bootstrap = taskfile('bootstrap');
  for (const c of ['infra', 'apps']) assert.is(bootstrap.tasks[c].cmd, `node --import tsx scripts/bootstrap.ts --cluster ${c} {{.CLI_ARGS}}`);
  const op = taskfile('op');
  assert.equal(Object.keys(op.tasks), ['push', 'pull', 'seal-connect']);
  assert.is(op.tasks['seal-connect'].cmd, 'node --import tsx scripts/seal-connect.ts --cluster {{.CLUSTER}} {{.CLI_ARGS}}');
  assert.equal(op.tasks['seal-connect'].requires.vars, ['CLUSTER']);
  const root = parse(readFileSync(join(ROOT, 'Taskfile.yaml'), 'utf8'));
  for (const ns of ['bootstrap', 'talos', 'op']) assert.is(root.includes[ns], `.taskfiles/${ns}`);
});

test('end to end, as the operator runs it: a real stdin, the stub executables on PATH', async () => {
  const refused = await stubs.runScriptProcess(SCRIPT, ['reset-cluster', '--cluster', 'infra'], running(), 'apps\n');
  assert.is(refused.code, 1, refused.stderr);
  assert.is(lastLine(refused.stderr), 'talos: step reset failed: not confirmed (typed "apps", expected "infra"): nothing was changed');
  assert.equal(stubs.calls().map(show), ['kubectl config get-contexts --output name', 'kubectl config current-context']);
});

test.run();
