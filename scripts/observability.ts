// Observability operations behind .taskfiles/observability. test-alert sends a synthetic alert through the
// hub's VMAlertmanager (amtool inside its pod, so nothing is exposed) and watches Alertmanager's own
// notification counters until a receiver has delivered it, within the minute alerts are promised in.
import { entryPoint, parseFlags } from '../src/lib/cli.ts';
import { UsageError, UserError } from '../src/lib/errors.ts';
import { io, say } from '../src/lib/io.ts';
import { clusterFlag } from './lib/cluster.ts';
import { connect, R, stamped, type Kube } from './lib/kube.ts';
import { waitFor } from './lib/poll.ts';
import { createRunner, formatDuration } from './lib/steps.ts';

const COMMANDS = ['test-alert'] as const;

/** Where the hub's VMAlertmanager runs (clusters/infra/apps/observability/victoria-metrics). */
export const ALERTMANAGER = { namespace: 'observability', selector: 'app.kubernetes.io/name=vmalertmanager', container: 'alertmanager', url: 'http://localhost:9093' };
export const TEST_ALERT = 'ObservabilityTestAlert';
const SEVERITIES = ['critical', 'warning'] as const;
/** How long the test alert fires before it resolves by itself (a resolved notification follows). */
const FIRING_MS = 5 * 60_000;

const USAGE = `Usage: node --import tsx scripts/observability.ts test-alert --cluster infra [--severity critical|warning] [--timeout SECONDS] [--dry-run]

Sends the alert ${TEST_ALERT} (labels severity, cluster, namespace=observability and a unique test_id,
which the routing groups by, so every test is notified on its own) to the VMAlertmanager of the cluster,
with amtool inside its pod, and waits until Alertmanager reports a notification sent (its counters
alertmanager_notifications_total) or failed (alertmanager_notifications_failed_total). critical goes to
Discord and email, warning to Discord. The alert resolves by itself after five minutes.`;

/** Notifications sent and failed so far, per integration (discord, email, webhook, ...). */
export interface Counters {
  sent: Record<string, number>;
  failed: Record<string, number>;
}

/** Alertmanager's notification counters from its /metrics text. */
export const notificationCounters = (metrics: string): Counters => {
  const out: Counters = { sent: {}, failed: {} };
  for (const line of metrics.split('\n')) {
    const m = /^alertmanager_notifications(_failed)?_total\{([^}]*)\}\s+(\S+)/.exec(line);
    const integration = m && /(?:^|,)integration="([^"]*)"/.exec(m[2])?.[1];
    if (!m || !integration) continue;
    const bucket = m[1] ? out.failed : out.sent;
    bucket[integration] = (bucket[integration] ?? 0) + Number(m[3]);
  }
  return out;
};

/** What changed between two readings: the integrations that sent, and those that failed. */
export const deliveries = (before: Counters, after: Counters): { sent: string[]; failed: string[] } => {
  const grew = (b: Record<string, number>, a: Record<string, number>) => Object.keys(a).filter((k) => a[k] > (b[k] ?? 0)).sort();
  return { sent: grew(before.sent, after.sent), failed: grew(before.failed, after.failed) };
};

/** amtool's arguments for the test alert: labels, annotations and when it ends. */
export const testAlertArgs = (opts: { cluster: string; severity: string; testId: string; now: number }): string[] => [
  `--alertmanager.url=${ALERTMANAGER.url}`,
  'alert',
  'add',
  `alertname=${TEST_ALERT}`,
  `severity=${opts.severity}`,
  `cluster=${opts.cluster}`,
  `namespace=${ALERTMANAGER.namespace}`,
  `test_id=${opts.testId}`,
  `--annotation=summary=Test alert from task observability:test-alert (${opts.testId})`,
  `--annotation=description=Sent by hand to check that ${opts.severity} alerts reach their receivers. Nothing is wrong; it resolves by itself.`,
  `--end=${new Date(opts.now + FIRING_MS).toISOString()}`,
];

const testAlert = async (cluster: string, opts: { severity: string; timeoutMs: number; dryRun: boolean }): Promise<void> => {
  const runner = createRunner({ title: `observability test-alert ${cluster}`, dryRun: opts.dryRun, budgetMs: opts.timeoutMs + 30_000, budgetSource: 'alerts within a minute' });
  const testId = stamped('test', io().now());
  let k: Kube | undefined;
  let pod = '';
  let before: Counters = { sent: {}, failed: {} };
  let sentAt = 0;
  let result: { sent: string[]; failed: string[] } = { sent: [], failed: [] };
  const amtool = (args: string[]) => k!.exec(ALERTMANAGER.namespace, pod, ALERTMANAGER.container, ['amtool', ...args]);
  const counters = async () => notificationCounters(await k!.exec(ALERTMANAGER.namespace, pod, ALERTMANAGER.container, ['wget', '-qO-', `${ALERTMANAGER.url}/metrics`]));

  runner.step(
    'alertmanager',
    async () => {
      const pods = await k!.list(R.pod, ALERTMANAGER.namespace, ALERTMANAGER.selector);
      const running = pods.filter((p) => p.status?.phase === 'Running').map((p) => p.metadata.name).sort();
      if (!running.length) throw new UserError(`no running Alertmanager pod (${ALERTMANAGER.selector}) in ${ALERTMANAGER.namespace} on ${cluster}: is the VMAlertmanager hub there and ready?`);
      pod = running[0];
      before = await counters();
    },
    { describe: `find the running VMAlertmanager pod in ${ALERTMANAGER.namespace} and read its notification counters` },
  );
  runner.step(
    'send',
    async () => {
      sentAt = io().now();
      await amtool(testAlertArgs({ cluster, severity: opts.severity, testId, now: sentAt }));
    },
    { describe: `amtool alert add ${TEST_ALERT} severity=${opts.severity} cluster=${cluster} test_id=${testId} (resolves after 5 minutes)` },
  );
  runner.step(
    'received',
    () =>
      waitFor(
        `Alertmanager to list ${TEST_ALERT} test_id=${testId}`,
        async () => {
          const alerts = JSON.parse((await amtool([`--alertmanager.url=${ALERTMANAGER.url}`, 'alert', 'query', `test_id=${testId}`, '--output', 'json'])) || '[]');
          return Array.isArray(alerts) && alerts.some((a: any) => a?.labels?.test_id === testId);
        },
        30_000,
      ),
    { describe: 'amtool alert query: the alert is active (not silenced, not inhibited by a critical one)' },
  );
  runner.step(
    'delivered',
    async () => {
      await waitFor(
        `a notification of ${TEST_ALERT} (alertmanager_notifications_total)`,
        async () => {
          result = deliveries(before, await counters());
          return result.sent.length > 0 || result.failed.length > 0;
        },
        opts.timeoutMs,
      );
      if (result.failed.length) {
        throw new UserError(`Alertmanager failed to notify ${result.failed.join(', ')}: kubectl --context ${cluster} -n ${ALERTMANAGER.namespace} logs ${pod} -c ${ALERTMANAGER.container} shows why (the receiver's address or credentials in the 1Password item alertmanager)`);
      }
    },
    { describe: `wait up to ${formatDuration(opts.timeoutMs)} until Alertmanager counts a notification sent (or failed)` },
  );

  if (opts.dryRun) {
    await runner.run();
    return say('Afterwards the script says which receivers were notified and how to check that the messages arrived.');
  }
  k = await connect(cluster, { changes: true });
  await runner.run();
  say(
    `${TEST_ALERT} (test_id ${testId}) was delivered through ${result.sent.join(', ')} ${formatDuration(io().now() - sentAt)} after it was sent.`,
    'Check that it arrived: the Discord channel of the alertmanager item\'s webhook shows "[FIRING:1] ObservabilityTestAlert"' +
      (opts.severity === 'critical' ? ', and the address in its email_to field received the same alert.' : '.'),
    `Alertmanager counts a notification as sent once the receiver accepted it; a message that never shows up is lost after that (check the channel's webhook and the mailbox's spam folder).`,
    `It resolves by itself in 5 minutes (a "[RESOLVED]" message follows).`,
  );
};

export const main = async (argv: string[]): Promise<void> => {
  const [command, ...rest] = argv;
  if (command === '--help' || command === '-h') {
    io().out(`${USAGE}\n`);
    return;
  }
  if (!COMMANDS.includes(command as (typeof COMMANDS)[number])) {
    throw new UsageError(`${command ? `unknown command "${command}"` : 'a command is required'}: one of ${COMMANDS.join(', ')} (see --help)`);
  }
  const flags = parseFlags(rest, USAGE, {
    cluster: clusterFlag('the cluster whose VMAlertmanager sends (the hub: infra)'),
    severity: { type: 'string', values: SEVERITIES, description: 'the test alert\'s severity, which picks the receivers (default critical: Discord and email)' },
    timeout: { type: 'string', description: 'seconds to wait for the notification (default 60)' },
    'dry-run': { type: 'boolean', description: 'print the plan and run nothing' },
  });
  if (!flags) return;
  const seconds = flags.timeout === undefined ? 60 : Number(flags.timeout);
  if (!(seconds > 0)) throw new UsageError(`--timeout must be a number of seconds, not "${flags.timeout}"`);
  await testAlert(flags.cluster!, { severity: flags.severity ?? 'critical', timeoutMs: seconds * 1000, dryRun: flags['dry-run'] });
};

entryPoint(import.meta.url, main, 'observability: ');
