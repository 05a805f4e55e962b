// VolSync operations behind .taskfiles/volsync: back an app's volume up now, restore it from the latest
// or a named snapshot, list and unlock its restic repository, and show every backup's state. The app is
// one that uses kubernetes/components/volsync/{r2,nfs}: ReplicationSource <app> backs up the claim
// <app>, ReplicationDestination <app>-dst restores it on a fresh cluster, Secret <app>-volsync-secret
// holds the repository.
import { entryPoint, parseCommand } from '../src/lib/cli.ts';
import { UsageError, UserError } from '../src/lib/errors.ts';
import { run } from '../src/lib/exec.ts';
import { io, say } from '../src/lib/io.ts';
import { clusterFlag } from './lib/cluster.ts';
import { confirmTyped } from './lib/confirm.ts';
import { connect, R, requireName, stamped, type Kube, type KubeObject } from './lib/kube.ts';
import { listSnapshots, moverImage, repositoryFrom, repositoryOf, runRestic, unlockArgs, type ResticRepository } from './lib/restic-job.ts';
import { age, timeOf } from './lib/schedule.ts';
import { createRunner, formatDuration } from './lib/steps.ts';
import { table } from './lib/table.ts';

const COMMANDS = ['snapshot', 'restore', 'unlock', 'list', 'status'] as const;
type Command = (typeof COMMANDS)[number];

const USAGE = `Usage: node --import tsx scripts/volsync.ts <command> --cluster infra|apps [--app APP] [--namespace NS] [flags]

Commands:
  snapshot  back the app's volume up now: trigger its ReplicationSource by hand, wait for the backup,
            then hand the ReplicationSource back to its schedule
  restore   restore the app's volume in place, after a typed confirmation (--yes skips it): suspend its
            Flux Kustomization and HelmRelease, scale what mounts the claim to 0, restore through a
            ReplicationDestination made from <app>-dst, scale back, resume. --snapshot picks the backup:
            latest (default), a number N (the Nth before the latest), a time (the newest at or before
            it, RFC 3339) or a restic snapshot ID (from volsync list)
  unlock    remove stale locks from the app's restic repository (restic unlock, in a Job)
  list      list the snapshots in the app's restic repository (restic snapshots, in a Job)
  status    every ReplicationSource and ReplicationDestination: last sync, result, next sync

--namespace defaults to the one namespace that holds the app's VolSync objects. --dry-run prints the
plan and runs nothing; --from STEP resumes a restore at that step.`;

const MINUTE = 60_000;
const DEFAULT_TIMEOUT_MINUTES: Record<Command, number> = { snapshot: 60, restore: 120, unlock: 15, list: 15, status: 1 };
/** Where a restore keeps a workload's replica count while it is scaled down, so that a resumed run finds it. */
const REPLICAS_ANNOTATION = 'monosense.dev/volsync-restore-replicas';

/** Which backup a restore takes, as the ReplicationDestination's restic fields say it. */
export type SnapshotPick = { kind: 'latest' } | { kind: 'previous'; n: number } | { kind: 'asOf'; time: string } | { kind: 'id'; id: string };

export const parseSnapshot = (value: string | undefined): SnapshotPick => {
  if (value === undefined || value === '' || value === 'latest') return { kind: 'latest' };
  if (/^\d{1,4}$/.test(value)) return Number(value) === 0 ? { kind: 'latest' } : { kind: 'previous', n: Number(value) };
  if (/^[0-9a-f]{8,64}$/.test(value)) return { kind: 'id', id: value };
  if (/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/.test(value) && !Number.isNaN(Date.parse(value))) return { kind: 'asOf', time: new Date(Date.parse(value)).toISOString() };
  throw new UsageError(`--snapshot must be latest, a number, an RFC 3339 time or a restic snapshot ID (8 to 64 hex digits), not "${value}"`);
};

const describePick = (p: SnapshotPick): string =>
  p.kind === 'latest' ? 'the latest snapshot' : p.kind === 'previous' ? `the snapshot ${p.n} before the latest` : p.kind === 'asOf' ? `the newest snapshot at or before ${p.time}` : `snapshot ${p.id}`;

/** The namespace that holds the app's VolSync objects, when the operator did not name one. */
const resolveNamespace = async (k: Kube, app: string, namespace: string | undefined): Promise<string> => {
  if (namespace) return namespace;
  const sources = await k.list(R.replicationSource);
  const destinations = await k.list(R.replicationDestination);
  const found = [
    ...new Set([...sources.filter((o) => o.metadata.name === app), ...destinations.filter((o) => o.metadata.name === `${app}-dst`)].map((o) => String(o.metadata.namespace))),
  ].sort();
  if (found.length === 1) return found[0];
  if (!found.length) throw new UserError(`no ReplicationSource ${app} or ReplicationDestination ${app}-dst on ${k.cluster}: does the app use a volsync component?`);
  throw new UserError(`${app} has VolSync objects in several namespaces (${found.join(', ')}): pass --namespace`);
};

/** The Deployments and StatefulSets whose pods mount the claim. */
const workloadsMounting = async (k: Kube, namespace: string, claim: string): Promise<{ resource: string; object: KubeObject }[]> => {
  const mounts = (o: KubeObject) => (o.spec?.template?.spec?.volumes ?? []).some((v: any) => v?.persistentVolumeClaim?.claimName === claim);
  const found: { resource: string; object: KubeObject }[] = [];
  for (const resource of [R.deployment, R.statefulSet]) for (const object of await k.list(resource, namespace)) if (mounts(object)) found.push({ resource, object });
  return found;
};

const workloadName = (w: { resource: string; object: KubeObject }) => `${w.resource.split('.')[0]}/${w.object.metadata.name}`;

/** The restic fields a ReplicationDestination takes for a pick (a snapshot ID is resolved to its time first). */
const pickFields = (p: SnapshotPick, idTime?: string): Record<string, unknown> =>
  p.kind === 'previous' ? { previous: p.n } : p.kind === 'asOf' ? { restoreAsOf: p.time } : p.kind === 'id' ? { restoreAsOf: idTime } : {};

/**
 * The ReplicationDestination of a restore: <app>-dst's restic settings (repository, mover labels and
 * user, cache), restoring straight into the app's claim (copyMethod Direct, destinationPVC), removing
 * files the snapshot does not have. <app>-dst itself is Flux's and stays as Git has it.
 */
export const restoreDestination = (dst: KubeObject, opts: { name: string; claim: string; trigger: string; pick: Record<string, unknown> }): KubeObject => {
  const { copyMethod, volumeSnapshotClassName, storageClassName, accessModes, capacity, cleanupTempPVC, destinationPVC, previous, restoreAsOf, ...kept } = dst.spec?.restic ?? {};
  return {
    apiVersion: 'volsync.backube/v1alpha1',
    kind: 'ReplicationDestination',
    metadata: { name: opts.name, namespace: dst.metadata.namespace, labels: { 'monosense.dev/volsync-restore': dst.metadata.name } },
    spec: {
      trigger: { manual: opts.trigger },
      restic: { ...kept, destinationPVC: opts.claim, copyMethod: 'Direct', enableFileDeletion: true, cleanupCachePVC: true, ...opts.pick },
    },
  };
};

/** The snapshot ID the restic mover logged as restored, or undefined when it found none to restore. */
export const restoredSnapshotId = (logs: string): string | undefined => /Selected restic snapshot with id:\s*([0-9a-f]+)/.exec(logs)?.[1];

export const main = async (argv: string[]): Promise<void> => {
  const parsed = parseCommand(argv, COMMANDS, USAGE, {
    cluster: clusterFlag('the cluster to act on'),
    app: { type: 'string', description: 'the app (its ReplicationSource <app>, ReplicationDestination <app>-dst)' },
    namespace: { type: 'string', description: "the app's namespace (default: found from its VolSync objects)" },
    snapshot: { type: 'string', description: 'restore: latest, N back, a time, or a restic snapshot ID' },
    image: { type: 'string', description: "image of the restic Jobs (default: the VolSync operator's)" },
    timeout: { type: 'string', description: 'minutes to wait for VolSync or restic' },
    yes: { type: 'boolean', description: 'restore without the typed confirmation' },
    'dry-run': { type: 'boolean', description: 'print the plan and run nothing' },
    from: { type: 'string', description: 'restore: resume at this step' },
  });
  if (!parsed) return;
  const { command, flags } = parsed;
  const cmd = command as Command;
  const cluster = flags.cluster!;
  const dryRun = flags['dry-run'];
  const app = cmd === 'status' ? (flags.app === undefined ? undefined : requireName('app', flags.app)) : requireName('app', flags.app);
  if (flags.namespace !== undefined) requireName('namespace', flags.namespace);
  const pick = parseSnapshot(flags.snapshot);
  if (flags.snapshot !== undefined && cmd !== 'restore') throw new UsageError('--snapshot is for restore only');
  if (flags.from !== undefined && cmd !== 'restore') throw new UsageError('--from is for restore only');
  const minutes = flags.timeout === undefined ? DEFAULT_TIMEOUT_MINUTES[cmd] : Number(flags.timeout);
  if (!(minutes > 0)) throw new UsageError(`--timeout must be a number of minutes, not "${flags.timeout}"`);
  const timeoutMs = minutes * MINUTE;
  const now = () => io().now();
  const nsText = flags.namespace ?? '<namespace>';

  if (cmd === 'status') {
    if (dryRun) return say(`volsync status ${cluster}: plan (dry run, nothing is executed)`, `  kubectl get ReplicationSources and ReplicationDestinations${flags.namespace ? ` in ${flags.namespace}` : ''} and print their state`);
    const k = await connect(cluster, { changes: false });
    return printStatus(k, flags.namespace, app, now());
  }

  if (cmd === 'list' || cmd === 'unlock') {
    const args = cmd === 'list' ? ['snapshots', '--json'] : unlockArgs();
    if (dryRun) {
      return say(
        `volsync ${cmd} ${app} on ${cluster}: plan (dry run, nothing is executed)`,
        `  a Job in ${nsText} runs \`restic ${args.join(' ')}\` with the app's restic Secret (the VolSync mover's image and labels), prints its output, and is deleted`,
      );
    }
    const k = await connect(cluster, { changes: true });
    const namespace = await resolveNamespace(k, app!, flags.namespace);
    const repo = await repositoryOf(k, namespace, app!);
    const image = flags.image ?? (await moverImage(k));
    if (cmd === 'unlock') {
      const out = await runRestic(k, repo, args, { image, timeoutMs, now: now() });
      return say(out.trimEnd() || 'restic unlock: done', `unlocked the restic repository of ${namespace}/${app} (Secret ${repo.secret})`);
    }
    const snapshots = await listSnapshots(k, repo, { image, timeoutMs, now: now() });
    if (!snapshots.length) return say(`no snapshots in the restic repository of ${namespace}/${app} yet`);
    return say(
      table([['ID', 'TIME', 'AGE', 'HOST', 'PATHS'], ...snapshots.map((s) => [s.shortId, s.time, age(now() - Date.parse(s.time)), s.hostname, s.paths.join(',')])]),
      `${snapshots.length} snapshots, newest first. Restore one: task volsync:restore CLUSTER=${cluster} APP=${app} SNAPSHOT=<ID>`,
    );
  }

  if (cmd === 'snapshot') {
    const runner = createRunner({ title: `volsync snapshot ${app} on ${cluster}`, dryRun, budgetMs: timeoutMs });
    let k: Kube | undefined;
    let namespace = flags.namespace ?? '';
    let previous: string | null = null;
    const trigger = stamped('snapshot', now());
    let triggered = false;
    runner.step(
      'trigger',
      async () => {
        const source = await k!.get(R.replicationSource, app!, namespace);
        if (!source) throw new UserError(`no ReplicationSource ${app} in namespace ${namespace} on ${cluster}`);
        previous = source.spec?.trigger?.manual ?? null;
        await k!.patch(R.replicationSource, app!, namespace, { spec: { trigger: { manual: trigger } } });
        triggered = true;
      },
      { describe: `set the manual trigger of ReplicationSource ${nsText}/${app} to ${trigger}` },
    );
    runner.step('wait', async () => void (await waitForSync(k!, R.replicationSource, app!, namespace, trigger, timeoutMs)), {
      describe: `wait until VolSync reports lastManualSync ${trigger} and a successful mover run`,
    });
    if (dryRun) {
      await runner.run();
      return say(`Afterwards the manual trigger is removed again, so that the schedule applies (a manual trigger stops the schedule).`);
    }
    k = await connect(cluster, { changes: true });
    namespace = await resolveNamespace(k, app!, flags.namespace);
    try {
      await runner.run();
    } finally {
      // VolSync runs nothing on schedule while spec.trigger.manual is set: hand the schedule back.
      if (triggered) await k.patch(R.replicationSource, app!, namespace, { spec: { trigger: { manual: previous } } });
    }
    const source = await k.get(R.replicationSource, app!, namespace);
    return say(`backed up ${namespace}/${app} in ${source?.status?.lastSyncDuration ?? 'an unknown time'}; the schedule applies again`);
  }

  // restore
  const runner = createRunner({ title: `volsync restore ${app} on ${cluster}`, dryRun, from: flags.from, budgetMs: timeoutMs });
  const ctx = ['--context', cluster];
  let k: Kube | undefined;
  let namespace = flags.namespace ?? '';
  let claim = app!;
  let dst: KubeObject | undefined;
  let ks: KubeObject | undefined;
  let hr: KubeObject | undefined;
  let workloads: { resource: string; object: KubeObject }[] = [];
  let idTime: string | undefined;
  const trigger = stamped('restore', now());
  const restoreName = `${app}-restore`;
  const flux = (verb: 'suspend' | 'resume', kind: string, name: string, ns: string) => run('flux', [...ctx, verb, kind, name, '--namespace', ns], { env: k!.env, stream: true });

  runner.step(
    'suspend',
    async () => {
      if (ks) await flux('suspend', 'kustomization', app!, 'flux-system');
      if (hr) await flux('suspend', 'helmrelease', app!, namespace);
    },
    { describe: `flux suspend the Kustomization flux-system/${app} and the HelmRelease ${nsText}/${app} (those that exist), so that nothing scales the app back up` },
  );
  runner.step(
    'scale-down',
    async () => {
      for (const w of workloads) {
        const current = await k!.get(w.resource, w.object.metadata.name, namespace);
        const replicas = Number(current?.spec?.replicas ?? 0);
        if (replicas > 0) {
          await k!.patch(w.resource, w.object.metadata.name, namespace, { metadata: { annotations: { [REPLICAS_ANNOTATION]: String(replicas) } } });
          await k!.kubectl(['scale', workloadName(w), '--replicas', '0', '--namespace', namespace]);
        }
      }
      for (const w of workloads) {
        await k!.waitUntil(`${workloadName(w)} to have no pods`, w.resource, w.object.metadata.name, namespace, (o) => Number(o.status?.replicas ?? 0) === 0, 10 * MINUTE);
      }
    },
    { describe: `scale the Deployments and StatefulSets that mount the claim to 0 (their replica counts kept in the annotation ${REPLICAS_ANNOTATION}) and wait for their pods to go` },
  );
  runner.step(
    'restore',
    async () => {
      await k!.apply([restoreDestination(dst!, { name: restoreName, claim, trigger, pick: pickFields(pick, idTime) })]);
      const done = await waitForSync(k!, R.replicationDestination, restoreName, namespace, trigger, timeoutMs);
      const id = restoredSnapshotId(done.status?.latestMoverStatus?.logs ?? '');
      if (!id) throw new UserError(`VolSync found no snapshot that is ${describePick(pick)} in the repository of ${namespace}/${app}: the volume was left as it was`);
      if (pick.kind === 'id' && !id.startsWith(pick.id) && !pick.id.startsWith(id)) throw new UserError(`VolSync restored snapshot ${id}, not ${pick.id}`);
      say(`restored snapshot ${id} into ${namespace}/${claim}`);
      await k!.remove(R.replicationDestination, restoreName, namespace);
    },
    {
      describe: `create ReplicationDestination ${nsText}/${restoreName} from ${app}-dst's restic settings (restore into the claim, copyMethod Direct, ${describePick(pick)}), wait for it, check the snapshot restored, delete it`,
    },
  );
  runner.step(
    'scale-up',
    async () => {
      const scaled: { resource: string; name: string; replicas: number }[] = [];
      for (const w of workloads) {
        const current = await k!.get(w.resource, w.object.metadata.name, namespace);
        const kept = current?.metadata?.annotations?.[REPLICAS_ANNOTATION];
        if (kept === undefined) continue;
        await k!.kubectl(['scale', workloadName(w), '--replicas', kept, '--namespace', namespace]);
        await k!.patch(w.resource, w.object.metadata.name, namespace, { metadata: { annotations: { [REPLICAS_ANNOTATION]: null } } });
        scaled.push({ resource: w.resource, name: w.object.metadata.name, replicas: Number(kept) });
      }
      for (const s of scaled) {
        await k!.waitUntil(`${s.resource.split('.')[0]}/${s.name} to be ready with ${s.replicas} replicas`, s.resource, s.name, namespace, (o) => Number(o.status?.readyReplicas ?? 0) >= s.replicas, 15 * MINUTE);
      }
    },
    { describe: `scale them back to the replica counts kept in ${REPLICAS_ANNOTATION} and wait until they are ready on the restored data` },
  );
  runner.step(
    'resume',
    async () => {
      if (hr) await flux('resume', 'helmrelease', app!, namespace);
      if (ks) await flux('resume', 'kustomization', app!, 'flux-system');
    },
    { describe: `flux resume the HelmRelease and the Kustomization: Flux manages the app again` },
  );

  runner.selected();
  if (dryRun) return runner.run();

  k = await connect(cluster, { changes: true, clis: ['kubectl', 'flux'] });
  namespace = await resolveNamespace(k, app!, flags.namespace);
  dst = await k.get(R.replicationDestination, `${app}-dst`, namespace);
  if (!dst?.spec?.restic?.repository) throw new UserError(`no ReplicationDestination ${app}-dst with a restic repository in namespace ${namespace} on ${cluster}: does the app use a volsync component?`);
  const source = await k.get(R.replicationSource, app!, namespace);
  claim = String(source?.spec?.sourcePVC ?? app);
  if (!(await k.get('persistentvolumeclaims', claim, namespace))) throw new UserError(`no PersistentVolumeClaim ${claim} in namespace ${namespace} on ${cluster} to restore into`);
  if (pick.kind === 'id') {
    const repo: ResticRepository = repositoryFrom(namespace, app!, dst.spec.restic);
    const snapshots = await listSnapshots(k, repo, { image: flags.image ?? (await moverImage(k)), timeoutMs: 15 * MINUTE, now: now() });
    const matches = snapshots.filter((s) => s.id.startsWith(pick.id));
    if (matches.length !== 1) {
      throw new UserError(`${matches.length ? 'several snapshots' : 'no snapshot'} with ID ${pick.id} in the repository of ${namespace}/${app} (task volsync:list CLUSTER=${cluster} APP=${app} lists them)`);
    }
    idTime = matches[0].time;
  }
  workloads = await workloadsMounting(k, namespace, claim);
  ks = await k.get(R.kustomization, app!, 'flux-system');
  hr = await k.get(R.helmRelease, app!, namespace);
  if (!flags.yes) {
    const names = workloads.map(workloadName).join(', ') || 'nothing mounts it now';
    await confirmTyped(
      `This restores the volume ${namespace}/${claim} on ${cluster} from ${describePick(pick)}; whatever was written to it since is lost. Scaled to 0 meanwhile: ${names}.`,
      app!,
    );
  }
  const started = now();
  try {
    await runner.run();
  } catch (e) {
    io().err(`The app may be left suspended and scaled down: fix the cause and run again with --from <step> (the steps are ${runner.names().join(', ')}).\n`);
    throw e;
  }
  say(`restore of ${namespace}/${app} finished in ${formatDuration(now() - started)}`);
};

/** Waits until a VolSync object reports the manual sync `trigger` done, and checks that its mover succeeded. */
const waitForSync = async (k: Kube, resource: string, name: string, namespace: string, trigger: string, timeoutMs: number): Promise<KubeObject> => {
  let last: KubeObject | undefined;
  await k.waitUntil(
    `${resource.split('.')[0].replace(/s$/, '')} ${namespace}/${name} to finish the manual sync ${trigger}`,
    resource,
    name,
    namespace,
    (o) => {
      last = o;
      return o.status?.lastManualSync === trigger;
    },
    timeoutMs,
  );
  const result = last?.status?.latestMoverStatus?.result;
  if (result !== 'Successful') {
    const tail = String(last?.status?.latestMoverStatus?.logs ?? '').trim().split('\n').slice(-3).join(' | ');
    throw new UserError(`the mover of ${namespace}/${name} ended ${result ?? 'without a result'}${tail ? `: ${tail}` : ''}`);
  }
  return last!;
};

const printStatus = async (k: Kube, namespace: string | undefined, app: string | undefined, now: number): Promise<void> => {
  const sources = (await k.list(R.replicationSource, namespace)).filter((o) => !app || o.metadata.name === app);
  const destinations = (await k.list(R.replicationDestination, namespace)).filter((o) => !app || o.metadata.name === `${app}-dst` || o.metadata.name === `${app}-restore`);
  const when = (stamp: unknown) => {
    const t = timeOf(stamp);
    return t === undefined ? '-' : `${String(stamp)} (${t > now ? `in ${age(t - now)}` : `${age(now - t)} ago`})`;
  };
  const rows = (objects: KubeObject[], trigger: (o: KubeObject) => string) =>
    objects.map((o) => [
      String(o.metadata.namespace),
      o.metadata.name,
      trigger(o),
      when(o.status?.lastSyncTime),
      String(o.status?.lastSyncDuration ?? '-'),
      String(o.status?.latestMoverStatus?.result ?? '-'),
      when(o.status?.nextSyncTime),
    ]);
  const header = ['NAMESPACE', 'NAME', 'TRIGGER', 'LAST SYNC', 'DURATION', 'RESULT', 'NEXT SYNC'];
  const triggerOf = (o: KubeObject) => (o.spec?.trigger?.manual ? `manual ${o.spec.trigger.manual}` : String(o.spec?.trigger?.schedule ?? '-'));
  say(
    `ReplicationSources (backups) on ${k.cluster}:`,
    sources.length ? table([header, ...rows(sources, triggerOf)]) : '  none',
    '',
    `ReplicationDestinations (restores) on ${k.cluster}:`,
    destinations.length ? table([header, ...rows(destinations, triggerOf)]) : '  none',
  );
  const failed = sources.filter((o) => o.status?.latestMoverStatus?.result === 'Failed');
  if (failed.length) throw new UserError(`the last backup failed for ${failed.map((o) => `${o.metadata.namespace}/${o.metadata.name}`).join(', ')}`);
};

entryPoint(import.meta.url, main, 'volsync: ');
