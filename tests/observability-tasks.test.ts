// scripts/observability.ts (behind .taskfiles/observability) against recording fakes of kubectl that answer
// like the infra cluster's VMAlertmanager pod (tests/fakes/alertmanager.ts through cluster-state.ts).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { deliveries, notificationCounters, testAlertArgs, TEST_ALERT } from '../scripts/observability.ts';
import { createStubs } from './cli-stubs.ts';
import { seedCluster } from './fakes/cluster-state.ts';
import { ROOT } from './helpers.ts';

const test = suite('observability tasks script');
const SCRIPT = 'scripts/observability.ts';
const POD = 'vmalertmanager-hub-0';

let stubs: ReturnType<typeof createStubs>;
test.before.each(() => {
  stubs = createStubs();
  writeFileSync(stubs.kubeconfig, 'apiVersion: v1\nkind: Config\n');
  seedCluster(stubs.state, {
    objects: [
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'observability' } },
      { apiVersion: 'v1', kind: 'Pod', metadata: { name: POD, namespace: 'observability', labels: { 'app.kubernetes.io/name': 'vmalertmanager' } }, status: { phase: 'Running' } },
    ],
  });
});
test.after.each(() => stubs.cleanup());

const ON_INFRA = { STUB_CONTEXTS: 'infra,apps', STUB_CONTEXT: 'infra' };
/** The amtool and wget calls made inside the Alertmanager pod, as the words after `--`. */
const inPod = () =>
  stubs
    .calls()
    .filter((c) => c.tool === 'kubectl' && c.args.includes('exec'))
    .map((c) => {
      assert.equal(c.args.slice(0, c.args.indexOf('--')), ['--context', 'infra', 'exec', '--namespace', 'observability', POD, '--container', 'alertmanager']);
      return c.args.slice(c.args.indexOf('--') + 1);
    });

test('a critical test alert is added in the Alertmanager pod and reported delivered through Discord and email', async () => {
  const r = await stubs.runScript(SCRIPT, ['test-alert', '--cluster', 'infra'], ON_INFRA);
  assert.is(r.code, 0, r.stderr + r.stdout);
  const calls = inPod();
  const add = calls.find((c) => c[0] === 'amtool' && c.includes('add'))!;
  const testId = add.find((a) => a.startsWith('test_id='))!.slice('test_id='.length);
  assert.match(testId, /^test-\d{8}-\d{6}$/);
  assert.equal(add.slice(0, 9), ['amtool', '--alertmanager.url=http://localhost:9093', 'alert', 'add', `alertname=${TEST_ALERT}`, 'severity=critical', 'cluster=infra', 'namespace=observability', `test_id=${testId}`]);
  // Counters first, then the alert, then Alertmanager's own word that it is active, then the counters again.
  assert.equal(calls.map((c) => (c[0] === 'wget' ? 'metrics' : c[3])), ['metrics', 'add', 'query', 'metrics', 'metrics']);
  assert.match(r.stdout, new RegExp(`${TEST_ALERT} \\(test_id ${testId}\\) was delivered through discord, email `));
  assert.match(r.stdout, /the address in its email_to field received the same alert/);
});

test('a warning goes to Discord only; a failing receiver is named and the run fails', async () => {
  const warning = await stubs.runScript(SCRIPT, ['test-alert', '--cluster', 'infra', '--severity', 'warning'], ON_INFRA);
  assert.is(warning.code, 0, warning.stderr);
  assert.match(warning.stdout, /was delivered through discord /);
  assert.not.match(warning.stdout, /email_to/);
  const failing = await stubs.runScript(SCRIPT, ['test-alert', '--cluster', 'infra'], { ...ON_INFRA, STUB_ALERTMANAGER_FAIL: 'email' });
  assert.is(failing.code, 1);
  assert.match(failing.stderr, /^observability: step delivered failed: Alertmanager failed to notify email: kubectl --context infra -n observability logs vmalertmanager-hub-0 -c alertmanager shows why/m);
});

test('nothing sent within the time, an inhibited alert and no Alertmanager pod are each one clear failure', async () => {
  const silent = await stubs.runScript(SCRIPT, ['test-alert', '--cluster', 'infra'], { ...ON_INFRA, STUB_ALERTMANAGER_SILENT: '1' });
  assert.is(silent.code, 1);
  assert.match(silent.stderr.trim().split('\n').pop()!, /^observability: step delivered failed: timed out after 5\.0s waiting for a notification of ObservabilityTestAlert/);
  const inhibited = await stubs.runScript(SCRIPT, ['test-alert', '--cluster', 'infra'], { ...ON_INFRA, STUB_ALERTMANAGER_INHIBITED: '1' });
  assert.is(inhibited.code, 1);
  assert.match(inhibited.stderr, /step received failed: timed out after 5\.0s waiting for Alertmanager to list ObservabilityTestAlert/);
  seedCluster(stubs.state, { objects: [] });
  const none = await stubs.runScript(SCRIPT, ['test-alert', '--cluster', 'infra'], ON_INFRA);
  assert.is(none.code, 1);
  assert.match(none.stderr, /step alertmanager failed: no running Alertmanager pod \(app\.kubernetes\.io\/name=vmalertmanager\) in observability on infra/);
});

test('another kube-context is refused before anything is sent; --dry-run runs nothing; bad flags exit 2', async () => {
  const elsewhere = await stubs.runScript(SCRIPT, ['test-alert', '--cluster', 'infra'], { STUB_CONTEXTS: 'infra,apps', STUB_CONTEXT: 'apps' });
  assert.is(elsewhere.code, 1);
  assert.match(elsewhere.stderr, /kube-context is "apps", not "infra"/);
  assert.equal(inPod(), []);
  const asked = stubs.calls().length;
  const dry = await stubs.runScript(SCRIPT, ['test-alert', '--cluster', 'infra', '--dry-run'], ON_INFRA);
  assert.is(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /plan \(dry run, nothing is executed\)/);
  assert.is(stubs.calls().length, asked);
  const bad = await stubs.runScript(SCRIPT, ['test-alert', '--cluster', 'infra', '--severity', 'info'], ON_INFRA);
  assert.is(bad.code, 2);
  assert.match(bad.stderr, /--severity must be one of critical, warning, not "info"/);
  assert.is((await stubs.runScript(SCRIPT, ['test-alert', '--cluster', 'infra', '--timeout', 'soon'], ON_INFRA)).code, 2);
});

test('the counters: sent and failed notifications per integration, and what grew between two readings', () => {
  const before = notificationCounters('alertmanager_notifications_total{integration="discord"} 2\nalertmanager_notifications_failed_total{integration="email",reason="other"} 1\n');
  const after = notificationCounters(
    [
      '# TYPE alertmanager_notifications_total counter',
      'alertmanager_notifications_total{integration="discord"} 3',
      'alertmanager_notifications_total{integration="email"} 0',
      'alertmanager_notifications_failed_total{integration="email",reason="clientError"} 1',
      'alertmanager_notifications_failed_total{integration="email",reason="serverError"} 1',
      'alertmanager_notifications_total_bogus 9',
    ].join('\n'),
  );
  assert.equal(after, { sent: { discord: 3, email: 0 }, failed: { email: 2 } });
  assert.equal(deliveries(before, after), { sent: ['discord'], failed: ['email'] });
  const args = testAlertArgs({ cluster: 'infra', severity: 'warning', testId: 't', now: Date.parse('2026-03-10T08:00:00Z') });
  assert.is(args.at(-1), '--end=2026-03-10T08:05:00.000Z');
});

test('the task passes the cluster (infra unless given) and the severity to the script', () => {
  const task = parse(readFileSync(join(ROOT, '.taskfiles/observability/Taskfile.yaml'), 'utf8')).tasks['test-alert'];
  assert.is(task.cmd, '{{.OBSERVABILITY_SCRIPT}} test-alert --cluster {{.CLUSTER}}{{if .SEVERITY}} --severity {{.SEVERITY}}{{end}} {{.CLI_ARGS}}');
  assert.is(task.vars.CLUSTER, '{{.CLUSTER | default "infra"}}');
  assert.match(parse(readFileSync(join(ROOT, 'Taskfile.yaml'), 'utf8')).includes.observability, '.taskfiles/observability');
});

test.run();
