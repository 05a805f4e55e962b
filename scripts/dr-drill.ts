// Rehearses both recovery paths on loopback with the real tools: VolSync's (restic) and CloudNativePG's
// (Barman Cloud), against a local S3 server standing in for Cloudflare R2. What it runs and why:
// docs/runbooks/disaster-recovery.md, "The drill".
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { readBarmanStore } from './lib/barman.ts';
import { entryPoint, parseFlags } from '../src/lib/cli.ts';
import { CommandError, UserError } from '../src/lib/errors.ts';
import { io, say } from '../src/lib/io.ts';
import { listClusters } from './lib/cluster.ts';
import { formatBytes, formatMarkdownTable, formatTable, parseSizes, sizeLabel, verdict, type DrillResult } from './lib/drill.ts';
import { rehearseCnpg } from './lib/drill-cnpg.ts';
import { rehearseUnlock, rehearseVolsync } from './lib/drill-volsync.ts';
import { clusterVars } from './lib/flux-vars.ts';
import { missingClis } from './lib/preflight.ts';
import { forgetArgs, readVolsyncPolicy, repositoryAt, repositoryLayout, scheduleGapMs, type ResticAccess } from './lib/restic.ts';
import { startS3StandIn, type S3StandIn } from './lib/s3-standin.ts';
import { postgresBinDir, postgresUser, type PostgresUser } from './lib/scratch-postgres.ts';
import { age } from './lib/schedule.ts';
import { createRunner } from './lib/steps.ts';

const USAGE = `Usage: npm run dr-drill [-- --sizes 4M,16M,64M] [--cluster infra] [--markdown]

Backs up and restores data of each size through both recovery paths the clusters use, on loopback:
VolSync's (restic, with the volsync/r2 component's repository layout and retention) and CloudNativePG's
(Barman Cloud WAL archive, base backup and point-in-time recovery, with the shared cluster's
ObjectStore settings), against a local S3 server standing in for R2. Prints the backup time, restore
time (RTO) and data lost (RPO) per size, and exits 1 on any mismatch. Everything it creates lives in
one temporary folder, removed at the end, failure or not.`;

const DEFAULT_SIZES = '4M,16M,64M';
const BUDGET_MS = 5 * 60_000;
const CLIS = ['restic', 'barman-cloud-backup', 'barman-cloud-backup-delete', 'barman-cloud-restore', 'barman-cloud-wal-archive', 'barman-cloud-wal-restore'];

const note = (line: string) => say(`  ${line}`);

/** Prints the last lines of a file (a failing tool's stderr, a server log) before the folder holding it goes. */
const showTail = (title: string, text: string): void => {
  const lines = text.trimEnd().split('\n').slice(-12);
  if (lines.join('').trim()) io().err(`  ${title}:\n${lines.map((l) => `  | ${l}`).join('\n')}\n`);
};

export const main = async (argv: string[]): Promise<void> => {
  const clusters = listClusters();
  const flags = parseFlags(argv, USAGE, {
    sizes: { type: 'string', description: `data sizes to rehearse, comma-separated (default ${DEFAULT_SIZES})` },
    cluster: { type: 'string', values: clusters, description: 'the cluster whose cluster-vars name the buckets (default infra)' },
    markdown: { type: 'boolean', description: 'also print the table in Markdown, as the disaster-recovery runbook shows it' },
  });
  if (!flags) return;
  // Everything waited for here is local and quick: ask every 200 ms, not every 5 s as for a cluster.
  io().env.K8S_OPS_POLL_SECONDS ??= '0.2';
  const sizes = parseSizes(flags.sizes ?? DEFAULT_SIZES);
  const cluster = flags.cluster ?? (clusters.includes('infra') ? 'infra' : clusters[0]);
  const vars = clusterVars(cluster);
  // Read up front, so that a manifest the drill cannot follow fails before anything starts.
  const apps = sizes.map((s) => `dr-drill-${sizeLabel(s)}`);
  const volsync = new Map(apps.map((app) => [app, readVolsyncPolicy({ ...vars, APP: app })]));
  const policy = volsync.get(apps[0])!;
  const gapMs = scheduleGapMs(policy.schedule);
  const volsyncBucket = repositoryLayout(policy.repositoryTemplate).bucket;
  const store = readBarmanStore(vars);

  const results: DrillResult[] = [];
  const cleanups: (() => Promise<void>)[] = [];
  let work = '';
  let s3: S3StandIn | undefined;
  let pgUser: PostgresUser | undefined;
  let pgBin = '';
  const repositories = new Map<string, ResticAccess>();

  const runner = createRunner({ title: 'dr-drill', dryRun: false, budgetMs: BUDGET_MS, budgetSource: "CI's limit for the drill" });
  /** A step whose failing tool has its stderr printed: the step's error names only the command. */
  const step: typeof runner.step = (name, fn, options) =>
    runner.step(
      name,
      async () => {
        try {
          await fn();
        } catch (e) {
          if (e instanceof CommandError) showTail(`${e.command} said`, e.stderr);
          throw e;
        }
      },
      options,
    );

  step(
    'stand-in',
    async () => {
      const missing = missingClis(CLIS);
      if (missing.length) throw new UserError(`not on PATH: ${missing.join(', ')} (apt-get install -y restic barman-cli-cloud postgresql)`);
      pgBin = postgresBinDir();
      pgUser = await postgresUser();
      work = mkdtempSync(join(tmpdir(), 'k8s-ops-dr-drill-'));
      // The PostgreSQL user reads the CA and writes its own folders under it.
      chownSync(work, pgUser.uid, pgUser.gid);
      s3 = await startS3StandIn(join(work, 's3'), [volsyncBucket, store.bucket]);
      note(`S3 stand-in at ${s3.endpoint}`);
    },
    { describe: `an S3 server on 127.0.0.1 (HTTPS, with a CA made for this run) holding the buckets ${volsyncBucket} and ${store.bucket}` },
  );

  for (const [i, size] of sizes.entries()) {
    const app = apps[i];
    const { retain, repositoryTemplate, pruneIntervalDays } = volsync.get(app)!;
    step(
      `volsync-${sizeLabel(size)}`,
      async () => {
        const repo: ResticAccess = {
          env: {
            RESTIC_REPOSITORY: repositoryAt(repositoryTemplate, s3!.endpoint),
            RESTIC_PASSWORD: randomBytes(16).toString('hex'),
            AWS_ACCESS_KEY_ID: s3!.accessKeyId,
            AWS_SECRET_ACCESS_KEY: s3!.secretAccessKey,
          },
          cacert: s3!.caFile,
          cacheDir: join(work, 'restic-cache', app),
        };
        repositories.set(app, repo);
        results.push(await rehearseVolsync(repo, join(work, 'volsync', app), size, retain, gapMs, note));
      },
      {
        describe: `restic: ${formatBytes(size)} of files into ${volsyncBucket}/${app}, two scheduled runs ${age(gapMs)} apart (forget ${forgetArgs(retain).join(' ')}), prune (every ${pruneIntervalDays} days in the clusters), check; destroyed; restored from latest and from the earlier snapshot; checksums compared`,
      },
    );
  }

  step('volsync-unlock', async () => rehearseUnlock(repositories.get(apps[0])!, policy.retain, note), {
    describe: `a backup to ${apps[0]} holds its lock: unlock keeps it; killed, its stale lock blocks forget until unlock removes it`,
  });

  for (const [i, size] of sizes.entries()) {
    const label = sizeLabel(size);
    // Each size has a folder of its own in the bucket, holding the same <serverName>/{base,wals} layout.
    const destinationPath = `${store.destinationPath.replace(/\/?$/, '/')}${apps[i]}`;
    step(
      `cnpg-${label}`,
      async () => {
        const root = join(work, `cnpg-${label}`);
        try {
          results.push(
            await rehearseCnpg({
              store: { ...store, destinationPath },
              // The ObjectStore leaves endpointURL empty and gives the sidecar AWS_ENDPOINT_URL_S3, which
              // Debian's boto3 (1.26) predates: the stand-in goes in as --endpoint-url, as a store that
              // sets endpointURL would have it, and in the variable too.
              endpoint: s3!.endpoint,
              s3Env: {
                AWS_ENDPOINT_URL_S3: s3!.endpoint,
                AWS_ACCESS_KEY_ID: s3!.accessKeyId,
                AWS_SECRET_ACCESS_KEY: s3!.secretAccessKey,
                AWS_CA_BUNDLE: s3!.caFile,
                // boto3 1.36 and later checksum requests in a way the stand-in does not answer.
                AWS_REQUEST_CHECKSUM_CALCULATION: 'when_required',
                AWS_RESPONSE_CHECKSUM_VALIDATION: 'when_required',
              },
              root,
              user: pgUser!,
              bin: pgBin,
              bytes: size,
              backupName: apps[i],
              onCleanup: (fn) => cleanups.push(fn),
              say: note,
            }),
          );
        } catch (e) {
          for (const log of ['source.log', 'restored.log']) if (existsSync(join(root, log))) showTail(basename(log), readFileSync(join(root, log), 'utf8'));
          throw e;
        }
      },
      {
        describe: `Barman Cloud: a ${formatBytes(size)} database archiving WAL (${store.walCompression ?? 'uncompressed'}) to ${destinationPath}/${store.serverName}, a base backup (${store.dataCompression ?? 'uncompressed'}, retention ${store.retentionPolicy}), rows around a target time, the server destroyed, point-in-time recovery`,
      },
    );
  }

  step(
    'report',
    async () => {
      say('', ...formatTable(results), '');
      if (flags.markdown) say(...formatMarkdownTable(results), '');
      const failure = verdict(results);
      if (failure) throw new UserError(failure);
    },
    { describe: 'the table: data size, backup time, restore time (RTO), data lost (RPO); any mismatch fails the drill' },
  );

  const cleanUp = async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
    await s3?.close().catch(() => undefined);
    s3 = undefined;
    if (work) rmSync(work, { recursive: true, force: true });
    work = '';
  };
  const onSignal = (signal: NodeJS.Signals) => void cleanUp().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await runner.run();
  } finally {
    await cleanUp();
  }
};

entryPoint(import.meta.url, main, 'dr-drill: ');
