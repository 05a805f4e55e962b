// restic against an app's repository from inside the cluster: a one-off Job in the app's namespace that
// runs the VolSync mover's own restic with the app's restic Secret, labelled like the mover so that the
// same network policy (R2) and, for volsync/nfs, the same NFS mount apply to it. Used by
// volsync:unlock, volsync:list, volsync:restore (a snapshot ID) and dr:verify-backups.
import { UserError } from '../../src/lib/errors.ts';
import { R, stamped, type Kube, type KubeObject } from './kube.ts';

/** Everything a Job needs to reach one app's restic repository, read from its VolSync objects. */
export interface ResticRepository {
  namespace: string;
  app: string;
  /** The Secret with RESTIC_REPOSITORY, RESTIC_PASSWORD and the backend's credentials. */
  secret: string;
  /** The mover pods' labels: the network policy and the NFS mount select on them. */
  labels: Record<string, string>;
  /** The mover's PodSecurityContext (the user that owns the repository's files on NFS). */
  securityContext: Record<string, unknown>;
}

export interface ResticSnapshot {
  id: string;
  shortId: string;
  /** RFC 3339, as restic records it. */
  time: string;
  hostname: string;
  paths: string[];
}

// The restic command that unlocks a repository (stale locks, as a killed mover leaves them): the one
// the local drill (npm run dr-drill) runs against its stand-in, so it rehearses what volsync:unlock runs.
export { unlockArgs } from './restic.ts';

/** The app's repository, from its ReplicationSource `<app>` or, failing that, ReplicationDestination `<app>-dst`. */
export const repositoryOf = async (k: Kube, namespace: string, app: string): Promise<ResticRepository> => {
  const source = await k.get(R.replicationSource, app, namespace);
  const destination = source ? undefined : await k.get(R.replicationDestination, `${app}-dst`, namespace);
  const restic = (source ?? destination)?.spec?.restic;
  if (!restic?.repository) {
    throw new UserError(`no ReplicationSource ${app} or ReplicationDestination ${app}-dst with a restic repository in namespace ${namespace} on ${k.cluster}: does the app use a volsync component?`);
  }
  return repositoryFrom(namespace, app, restic);
};

export const repositoryFrom = (namespace: string, app: string, restic: any): ResticRepository => ({
  namespace,
  app,
  secret: String(restic.repository),
  labels: { ...(restic.moverPodLabels ?? {}) },
  securityContext: { ...(restic.moverSecurityContext ?? {}) },
});

/**
 * The image VolSync runs its movers with: the operator's own (it carries restic), read from its
 * Deployment so that these Jobs use the very restic that wrote the repository.
 */
export const moverImage = async (k: Kube): Promise<string> => {
  const deployments = await k.list(R.deployment, undefined, 'app.kubernetes.io/name=volsync');
  const images = deployments.flatMap((d) => (d.spec?.template?.spec?.containers ?? []).map((c: any) => String(c.image)));
  const image = images.find((i) => /\/volsync[:@]/.test(i)) ?? images[0];
  if (!image) throw new UserError(`no VolSync operator (Deployment labelled app.kubernetes.io/name=volsync) on ${k.cluster}: pass --image with a VolSync image`);
  return image;
};

const JOB_LABEL = 'monosense.dev/restic-job';

/** The Job that runs `restic <args>` once against the repository. */
export const resticJob = (repo: ResticRepository, name: string, args: string[], image: string, deadlineSeconds: number): KubeObject => {
  const labels = { ...repo.labels, [JOB_LABEL]: args[0] };
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, namespace: repo.namespace, labels },
    spec: {
      backoffLimit: 0,
      activeDeadlineSeconds: deadlineSeconds,
      ttlSecondsAfterFinished: 3600,
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: 'Never',
          automountServiceAccountToken: false,
          securityContext: { runAsNonRoot: true, ...repo.securityContext, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [
            {
              name: 'restic',
              image,
              command: ['restic', ...args],
              envFrom: [{ secretRef: { name: repo.secret } }],
              env: [
                { name: 'RESTIC_CACHE_DIR', value: '/tmp/cache' },
                { name: 'TMPDIR', value: '/tmp' },
              ],
              securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
              volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
            },
          ],
          volumes: [{ name: 'tmp', emptyDir: {} }],
        },
      },
    },
  };
};

/**
 * Runs `restic <args>` in a Job and returns its output; the Job is deleted afterwards, whatever
 * happened. A failed Job is a UserError carrying restic's last lines.
 */
export const runRestic = async (k: Kube, repo: ResticRepository, args: string[], opts: { image: string; timeoutMs: number; now: number }): Promise<string> => {
  const name = stamped(`restic-${args[0]}-${repo.app}`.slice(0, 40).replace(/-+$/, ''), opts.now);
  await k.apply([resticJob(repo, name, args, opts.image, Math.ceil(opts.timeoutMs / 1000))]);
  try {
    let failed = false;
    await k.waitUntil(
      `Job ${repo.namespace}/${name} (restic ${args.join(' ')})`,
      R.job,
      name,
      repo.namespace,
      (job) => {
        failed = (job.status?.failed ?? 0) > 0;
        return failed || (job.status?.succeeded ?? 0) > 0;
      },
      opts.timeoutMs,
    );
    const logs = await k.kubectl(['logs', `job/${name}`, '--namespace', repo.namespace]);
    if (failed) {
      const tail = logs.trim().split('\n').slice(-3).join(' | ');
      throw new UserError(`restic ${args.join(' ')} failed for ${repo.namespace}/${repo.app}: ${tail || 'no output'}`);
    }
    return logs;
  } finally {
    await k.remove(R.job, name, repo.namespace);
  }
};

/** `restic snapshots --json` output, newest first. */
export const parseSnapshots = (json: string, where: string): ResticSnapshot[] => {
  let raw: unknown;
  try {
    raw = JSON.parse(json.trim() || '[]');
  } catch {
    throw new UserError(`restic snapshots for ${where} did not print JSON: ${json.trim().split('\n')[0]}`);
  }
  if (!Array.isArray(raw)) throw new UserError(`restic snapshots for ${where} did not print a list`);
  return raw
    .map((s: any) => ({ id: String(s.id), shortId: String(s.short_id ?? String(s.id).slice(0, 8)), time: String(s.time), hostname: String(s.hostname ?? ''), paths: (s.paths ?? []).map(String) }))
    .sort((a, b) => Date.parse(b.time) - Date.parse(a.time));
};

export const listSnapshots = async (k: Kube, repo: ResticRepository, opts: { image: string; timeoutMs: number; now: number }): Promise<ResticSnapshot[]> =>
  parseSnapshots(await runRestic(k, repo, ['snapshots', '--json'], opts), `${repo.namespace}/${repo.app}`);
