// OpenBao's day-one operations behind .taskfiles/openbao, for the servers of
// clusters/infra/apps/arsipq-platform/openbao (StatefulSet openbao, static key seal):
//   init    initialise OpenBao once: recovery keys and root token into the 1Password item openbao, a
//           periodic token for the configuration job (policy openbao-config, from Git) into the same
//           item, then one run of the job
//   unseal  a server that reports sealed started without the right seal key: refresh the key's Secret
//           from 1Password and restart each sealed server, which then unseals itself
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { entryPoint, parseCommand } from '../src/lib/cli.ts';
import { UserError } from '../src/lib/errors.ts';
import { query, run } from '../src/lib/exec.ts';
import { io, say } from '../src/lib/io.ts';
import { listClusters, repoRoot } from './lib/cluster.ts';
import { confirmTyped } from './lib/confirm.ts';
import { condition, connect, R, requireName, stamped, type Kube } from './lib/kube.ts';
import { editItem, fieldValue, getItem, withFields } from './lib/op-item.ts';
import { waitFor } from './lib/poll.ts';
import { createRunner } from './lib/steps.ts';

const COMMANDS = ['init', 'unseal'] as const;

const USAGE = `Usage: node --import tsx scripts/openbao.ts <init|unseal> [--cluster infra] [flags]

Commands:
  init    initialise OpenBao (once), after a typed confirmation (--yes skips it): bao operator init on
          the first server, its recovery keys and root token stored in the 1Password item --item; a
          periodic token with the policy openbao-config (config/policies/openbao-config.hcl) stored
          there as BAO_CONFIG_TOKEN; then one run of the CronJob openbao-config. Each step is skipped
          when already done, so a failed run is simply run again.
  unseal  restart every server that reports sealed, after a typed confirmation (--yes skips it):
          force External Secrets to fetch the seal key again, delete the sealed pods one at a time and
          wait until each comes back unsealed (the static key seal unseals a server when it starts).

--dry-run prints the plan and runs nothing.`;

const MINUTE = 60_000;
/** The clusters whose own apps include OpenBao. */
const clustersWithOpenBao = (): string[] => listClusters().filter((c) => existsSync(join(repoRoot(), 'clusters', c, 'apps', 'arsipq-platform', 'openbao')));
/** Where the servers run, and the objects of the app (clusters/infra/apps/arsipq-platform/openbao). */
const NAMESPACE = 'arsipq-platform';
const CONTAINER = 'openbao';
const SERVER_SELECTOR = 'app.kubernetes.io/name=openbao,component=server';
const SEAL_SECRET = 'openbao-seal-secret';
const CONFIG_SECRET = 'openbao-config-secret';
const CONFIG_CRONJOB = 'openbao-config';
const CONFIG_POLICY = 'openbao-config';
const POLICY_FILE = 'clusters/infra/apps/arsipq-platform/openbao/config/policies/openbao-config.hcl';
/** The fields of the 1Password item. */
export const FIELDS = { sealKey: 'STATIC_SEAL_KEY', rootToken: 'BAO_ROOT_TOKEN', recoveryKeys: 'BAO_RECOVERY_KEYS', configToken: 'BAO_CONFIG_TOKEN' } as const;
const RECOVERY_SHARES = 5;
const RECOVERY_THRESHOLD = 3;
/** The configuration token's period: renewed by every hourly run of the job, it never expires while the job runs. */
const CONFIG_TOKEN_PERIOD = '768h';

export interface BaoStatus {
  initialized: boolean;
  sealed: boolean;
  type?: string;
}

/** `bao status -format=json` of one server; undefined when it does not answer (pod not running). */
export const parseStatus = (stdout: string): BaoStatus | undefined => {
  try {
    const s = JSON.parse(stdout);
    return typeof s?.initialized === 'boolean' && typeof s?.sealed === 'boolean' ? { initialized: s.initialized, sealed: s.sealed, type: s.type } : undefined;
  } catch {
    return undefined;
  }
};

/** What `bao operator init -format=json` printed: the root token and the recovery keys of an auto-unseal. */
export const parseInit = (stdout: string): { rootToken: string; recoveryKeys: string[] } => {
  let out: any;
  try {
    out = JSON.parse(stdout);
  } catch {
    throw new UserError('bao operator init did not print JSON');
  }
  const rootToken = out?.root_token;
  const recoveryKeys = out?.recovery_keys_b64;
  if (typeof rootToken !== 'string' || !rootToken || !Array.isArray(recoveryKeys) || !recoveryKeys.length) {
    throw new UserError('bao operator init printed no root token or recovery keys: is the seal the static key seal (server.ha.raft.config)?');
  }
  return { rootToken, recoveryKeys };
};

/** The client token of `bao token create -format=json`. */
export const parseToken = (stdout: string): string => {
  try {
    const token = JSON.parse(stdout)?.auth?.client_token;
    if (typeof token === 'string' && token) return token;
  } catch {
    // reported below
  }
  throw new UserError('bao token create did not print a client token');
};

/**
 * The shell the config-token step runs in the server: the root token arrives on the first line of stdin
 * and the policy on the rest, so that neither is on a command line. The new token is printed as JSON.
 */
export const CONFIG_TOKEN_SCRIPT = [
  'read -r BAO_TOKEN',
  'export BAO_TOKEN',
  `bao policy write ${CONFIG_POLICY} - >/dev/null`,
  `bao token create -orphan -policy=${CONFIG_POLICY} -period=${CONFIG_TOKEN_PERIOD} -display-name=${CONFIG_POLICY} -format=json`,
].join(' && ');

const bao = (k: Kube, pod: string, args: string[], input?: string) =>
  [...k.ctx, 'exec', ...(input === undefined ? [] : ['--stdin']), '--namespace', NAMESPACE, pod, '--container', CONTAINER, '--', ...args];

/** The server's answer; bao status exits 2 when sealed, which is an answer too. */
const statusOf = async (k: Kube, pod: string): Promise<BaoStatus | undefined> =>
  parseStatus((await query('kubectl', bao(k, pod, ['bao', 'status', '-format=json']), { env: k.env })).stdout);

const serverPods = async (k: Kube): Promise<string[]> => {
  const pods = (await k.list(R.pod, NAMESPACE, SERVER_SELECTOR)).map((p) => p.metadata.name).sort();
  if (!pods.length) throw new UserError(`no OpenBao server pods (${SERVER_SELECTOR}) in ${NAMESPACE} on ${k.cluster}: is the HelmRelease openbao ready?`);
  return pods;
};

/** Has External Secrets fetch the Secret again, and waits until it says it did. */
const refreshSecret = async (k: Kube, name: string, since: number): Promise<void> => {
  await k.kubectl(['annotate', R.externalSecret, name, '--namespace', NAMESPACE, `force-sync=${Math.floor(since / 1000)}`, '--overwrite']);
  await k.waitUntil(`ExternalSecret ${NAMESPACE}/${name} to sync`, R.externalSecret, name, NAMESPACE, (o) => condition(o, 'Ready')?.status === 'True', 5 * MINUTE);
};

export const main = async (argv: string[]): Promise<void> => {
  const parsed = parseCommand(argv, COMMANDS, USAGE, {
    cluster: { type: 'string', values: clustersWithOpenBao(), description: 'the cluster OpenBao runs on (infra)' },
    item: { type: 'string', description: 'the 1Password item of OpenBao (openbao)' },
    vault: { type: 'string', description: 'its vault (k8s-ops)' },
    yes: { type: 'boolean', description: 'no typed confirmation' },
    'dry-run': { type: 'boolean', description: 'print the plan and run nothing' },
  });
  if (!parsed) return;
  const { command, flags } = parsed;
  const cluster = flags.cluster ?? 'infra';
  const item = requireName('item', flags.item ?? 'openbao');
  const vault = flags.vault ?? 'k8s-ops';
  const opts = { cluster, item, vault, yes: flags.yes, dryRun: flags['dry-run'] };
  return command === 'init' ? init(opts) : unseal(opts);
};

interface Options {
  cluster: string;
  item: string;
  vault: string;
  yes: boolean;
  dryRun: boolean;
}

const init = async (o: Options): Promise<void> => {
  const now = () => io().now();
  const runner = createRunner({ title: `openbao init on ${o.cluster}`, dryRun: o.dryRun, budgetMs: 15 * MINUTE });
  let k: Kube | undefined;
  let pod = 'openbao-0';
  let rootToken: string | undefined;
  const item = () => getItem(o.item, o.vault);

  runner.step(
    'initialize',
    async () => {
      const out = await run('kubectl', bao(k!, pod, ['bao', 'operator', 'init', '-format=json', `-recovery-shares=${RECOVERY_SHARES}`, `-recovery-threshold=${RECOVERY_THRESHOLD}`]), { env: k!.env });
      const keys = parseInit(out);
      rootToken = keys.rootToken;
      try {
        await editItem(o.item, o.vault, withFields(await item(), { [FIELDS.rootToken]: keys.rootToken, [FIELDS.recoveryKeys]: keys.recoveryKeys.join('\n') }, o.item));
      } catch (e) {
        // The keys exist nowhere else now: keep them in a file only this user can read, never on the terminal.
        const file = join(mkdtempSync(join(tmpdir(), 'openbao-init-')), 'init.json');
        writeFileSync(file, out, { mode: 0o600 });
        throw new UserError(
          `OpenBao is initialised, but 1Password did not take its root token and recovery keys (${(e as Error).message}): they are in ${file}; ` +
            `put them into ${o.vault}/${o.item} as ${FIELDS.rootToken} and ${FIELDS.recoveryKeys}, delete the file, and run again`,
        );
      }
    },
    {
      describe: `bao operator init on the first server (${RECOVERY_SHARES} recovery keys, ${RECOVERY_THRESHOLD} to use them); root token and recovery keys into ${o.vault}/${o.item} (${FIELDS.rootToken}, ${FIELDS.recoveryKeys}), never printed`,
      skipIf: async () => ((await statusOf(k!, pod))?.initialized ? 'OpenBao is already initialised' : false),
    },
  );
  runner.step(
    'config-token',
    async () => {
      const token = rootToken ?? fieldValue(await item(), FIELDS.rootToken, o.item);
      if (!token) throw new UserError(`${o.vault}/${o.item} has no ${FIELDS.rootToken}: create a root token with \`bao operator generate-root\` and the recovery keys, store it there, and run again`);
      const policy = readFileSync(join(repoRoot(), POLICY_FILE), 'utf8');
      const out = await run('kubectl', bao(k!, pod, ['sh', '-c', CONFIG_TOKEN_SCRIPT], ''), { env: k!.env, input: `${token}\n${policy}` });
      await editItem(o.item, o.vault, withFields(await item(), { [FIELDS.configToken]: parseToken(out) }, o.item));
    },
    {
      describe: `write the policy ${CONFIG_POLICY} from ${POLICY_FILE} and create a periodic token (${CONFIG_TOKEN_PERIOD}) with it; into ${o.vault}/${o.item} as ${FIELDS.configToken}`,
      skipIf: async () => (fieldValue(await item(), FIELDS.configToken, o.item) ? `${o.vault}/${o.item} already has ${FIELDS.configToken}` : false),
    },
  );
  runner.step(
    'configure',
    async () => {
      await refreshSecret(k!, CONFIG_SECRET, now());
      const job = stamped(CONFIG_CRONJOB, now());
      await k!.kubectl(['create', 'job', job, `--from=cronjob/${CONFIG_CRONJOB}`, '--namespace', NAMESPACE]);
      let failed = false;
      await k!.waitUntil(`Job ${NAMESPACE}/${job} to finish`, R.job, job, NAMESPACE, (j) => {
        failed = Number(j.status?.failed ?? 0) > 0 && !Number(j.status?.succeeded ?? 0);
        return failed || Number(j.status?.succeeded ?? 0) > 0;
      }, 10 * MINUTE);
      const logs = await query('kubectl', [...k!.ctx, 'logs', `job/${job}`, '--namespace', NAMESPACE], { env: k!.env });
      if (failed) throw new UserError(`the configuration job ${job} failed: ${logs.stdout.trim().split('\n').slice(-3).join(' | ') || 'no logs'}`);
      say(logs.stdout.trim());
    },
    { describe: `have External Secrets fetch ${CONFIG_SECRET} again, run the CronJob ${CONFIG_CRONJOB} once (kubectl create job --from) and wait for it: Kubernetes auth, the KV v2 mount arsipq, the policies` },
  );

  if (o.dryRun) return runner.run();
  k = await connect(o.cluster, { changes: true, clis: ['kubectl', 'op'] });
  if (!(await query('op', ['whoami'])).ok) throw new UserError('sign in to 1Password first: eval $(op signin)');
  if (!fieldValue(await item(), FIELDS.sealKey, o.item)) {
    throw new UserError(`${o.vault}/${o.item} has no ${FIELDS.sealKey}: the servers cannot unseal without it (create it with \`openssl rand -base64 32\`)`);
  }
  pod = (await serverPods(k))[0];
  const status = await statusOf(k, pod);
  if (!status) throw new UserError(`OpenBao on ${pod} does not answer bao status: is the pod running?`);
  if (!status.initialized && !o.yes) {
    await confirmTyped(`This initialises OpenBao on ${o.cluster} (${NAMESPACE}/${pod}); its root token and recovery keys go to 1Password ${o.vault}/${o.item}.`, o.cluster);
  }
  await runner.run();
  say(`OpenBao on ${o.cluster} is initialised and configured; the root token and recovery keys are in ${o.vault}/${o.item}`);
};

const unseal = async (o: Options): Promise<void> => {
  const now = () => io().now();
  const runner = createRunner({ title: `openbao unseal on ${o.cluster}`, dryRun: o.dryRun, budgetMs: 20 * MINUTE });
  let k: Kube | undefined;
  let sealed: string[] = [];

  runner.step('seal-key', async () => refreshSecret(k!, SEAL_SECRET, now()), {
    describe: `have External Secrets fetch ${SEAL_SECRET} again from ${o.vault}/${o.item} (${FIELDS.sealKey}) and wait until it is synced`,
  });
  runner.step(
    'restart',
    async () => {
      for (const pod of sealed) {
        await k!.remove(R.pod, pod, NAMESPACE);
        await waitFor(`${NAMESPACE}/${pod} to come back unsealed`, async () => (await statusOf(k!, pod))?.sealed === false, 10 * MINUTE).catch((e) => {
          throw new UserError(`${(e as Error).message}: is ${FIELDS.sealKey} in ${o.vault}/${o.item} the key the data was sealed with? (kubectl logs ${pod} -n ${NAMESPACE})`);
        });
        say(`${pod} is unsealed`);
      }
    },
    { describe: 'delete each sealed server pod, one at a time, and wait until the StatefulSet has it back and bao status says unsealed' },
  );

  if (o.dryRun) return runner.run();
  k = await connect(o.cluster, { changes: true });
  const pods = await serverPods(k);
  const statuses = new Map<string, BaoStatus | undefined>();
  for (const pod of pods) statuses.set(pod, await statusOf(k, pod));
  const silent = pods.filter((p) => !statuses.get(p));
  if (silent.length) throw new UserError(`${silent.join(', ')} do not answer bao status: look at the pods first (kubectl get pods -n ${NAMESPACE})`);
  if (pods.some((p) => !statuses.get(p)!.initialized)) throw new UserError(`OpenBao on ${o.cluster} is not initialised: run \`task openbao:init\` first`);
  sealed = pods.filter((p) => statuses.get(p)!.sealed);
  if (!sealed.length) return say(`all ${pods.length} OpenBao servers on ${o.cluster} are unsealed; nothing to do`);
  if (!o.yes) await confirmTyped(`This restarts the sealed OpenBao servers ${sealed.join(', ')} on ${o.cluster}, one at a time.`, o.cluster);
  await runner.run();
  say(`all ${pods.length} OpenBao servers on ${o.cluster} are unsealed`);
};

entryPoint(import.meta.url, main, 'openbao: ');
