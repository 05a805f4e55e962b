// The hub's Alertmanager as `kubectl exec <pod> -c alertmanager -- amtool ...|wget ...` reaches it, for
// scripts/observability.ts: `amtool alert add` stores an alert, `amtool alert query` lists the active ones
// whose labels match, and /metrics counts the notifications the receivers sent. As the routing of the
// VMAlertmanager config does, critical alerts notify Discord and email, warning ones Discord; a
// notification is counted on the STUB_ALERTMANAGER_DELAY-th read of /metrics after the alert (group_wait).
// Knobs: STUB_ALERTMANAGER_FAIL=<integration> (that receiver fails), STUB_ALERTMANAGER_SILENT=1 (nothing
// is ever sent), STUB_ALERTMANAGER_INHIBITED=1 (added alerts never show as active).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

interface Alert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  endsAt: string;
  readsUntilSent: number;
  notified: boolean;
}

interface State {
  alerts: Alert[];
  sent: Record<string, number>;
  failed: Record<string, number>;
}

const FILE = 'alertmanager.json';
const ROUTES: Record<string, string[]> = { critical: ['discord', 'email'], warning: ['discord'] };

const load = (dir: string): State => (existsSync(join(dir, FILE)) ? JSON.parse(readFileSync(join(dir, FILE), 'utf8')) : { alerts: [], sent: { discord: 0, email: 0 }, failed: { discord: 0, email: 0 } });

/** Answers one amtool or wget call inside the Alertmanager container; `fail` ends it with an error. */
export const answerAlertmanager = (command: string[], stateDir: string, env: NodeJS.ProcessEnv, fail: (message: string) => never): string => {
  const s = load(stateDir);
  const save = () => writeFileSync(join(stateDir, FILE), JSON.stringify(s));
  const [tool, ...args] = command;
  if (tool === 'wget') {
    if (!args.includes('http://localhost:9093/metrics')) fail(`wget: bad address '${args.at(-1)}'`);
    for (const a of s.alerts.filter((x) => !x.notified)) {
      if (--a.readsUntilSent > 0 || env.STUB_ALERTMANAGER_SILENT === '1') continue;
      a.notified = true;
      for (const integration of ROUTES[a.labels.severity] ?? ['discord']) {
        if (env.STUB_ALERTMANAGER_FAIL === integration) s.failed[integration] = (s.failed[integration] ?? 0) + 1;
        else s.sent[integration] = (s.sent[integration] ?? 0) + 1;
      }
    }
    save();
    const lines = ['# HELP alertmanager_notifications_total The total number of attempted notifications.', '# TYPE alertmanager_notifications_total counter'];
    for (const [i, n] of Object.entries(s.sent)) lines.push(`alertmanager_notifications_total{integration="${i}"} ${n}`);
    for (const [i, n] of Object.entries(s.failed)) lines.push(`alertmanager_notifications_failed_total{integration="${i}",reason="other"} ${n}`);
    return `${lines.join('\n')}\nalertmanager_alerts{state="active"} ${s.alerts.length}\n`;
  }
  if (tool !== 'amtool' || !args.includes('--alertmanager.url=http://localhost:9093')) fail(`amtool: error: ${args.join(' ')}`);
  const pairs = (prefix: string) => Object.fromEntries(args.filter((a) => a.startsWith(prefix)).map((a) => a.slice(prefix.length).split(/=(.*)/s).slice(0, 2)));
  if (args.includes('add')) {
    const labels = Object.fromEntries(args.filter((a) => !a.startsWith('--') && a.includes('=')).map((a) => a.split(/=(.*)/s).slice(0, 2)));
    if (!labels.alertname) fail('amtool: error: no alertname');
    s.alerts.push({ labels, annotations: pairs('--annotation='), endsAt: args.find((a) => a.startsWith('--end='))?.slice(6) ?? '', readsUntilSent: Number(env.STUB_ALERTMANAGER_DELAY ?? 2), notified: false });
    save();
    return '';
  }
  if (args.includes('query')) {
    const matchers = args.slice(args.indexOf('query') + 1).filter((a) => !a.startsWith('--') && a.includes('=')).map((a) => a.split(/=(.*)/s));
    const active = env.STUB_ALERTMANAGER_INHIBITED === '1' ? [] : s.alerts.filter((a) => matchers.every(([k, v]) => a.labels[k] === v));
    return JSON.stringify(active.map((a) => ({ labels: a.labels, annotations: a.annotations, endsAt: a.endsAt, status: { state: 'active' } })));
  }
  return fail(`amtool: error: unknown command ${args.join(' ')}`);
};
