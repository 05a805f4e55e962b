// Day-2 Talos operations behind .taskfiles/talos: apply a node's config, roll Talos or Kubernetes
// upgrades one node at a time with health checks in between, reset a whole cluster.
import { existsSync, readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { clusterFlag, clusterPaths, readTalconfig, type ClusterName, type TalosNode } from './lib/cluster.ts';
import { confirmTyped } from './lib/confirm.ts';
import { UsageError, UserError } from '../src/lib/errors.ts';
import { entryPoint, parseCommand } from '../src/lib/cli.ts';
import { query, run } from '../src/lib/exec.ts';
import { checkKubeContext, requireClis, requireFile } from './lib/preflight.ts';
import { createRunner } from './lib/steps.ts';
import { genconfig } from './lib/talhelper.ts';

const COMMANDS = ['apply-node', 'upgrade-node', 'upgrade-k8s', 'reset-cluster', 'generate-iso'] as const;
type Command = (typeof COMMANDS)[number];

const USAGE = `Usage: node --import tsx scripts/talos.ts <command> --cluster infra|apps [flags]

Commands:
  apply-node     --node IP [--mode auto|no-reboot|reboot|staged|try]  regenerate the configs, apply one node's
  upgrade-node   [--node IP]  upgrade Talos to talconfig's talosVersion, one node at a time (all without --node):
                 cluster health before each node, the node Ready and the cluster healthy again after it
  upgrade-k8s    upgrade Kubernetes to talconfig's kubernetesVersion (talosctl upgrade-k8s), after a health check
  reset-cluster  wipe every node back to maintenance mode, after a typed confirmation (workers first)
  generate-iso   print the image factory URL of the installer ISO: the cluster's schematic, its talosVersion

--dry-run prints the plan; --from NODE resumes a rolling upgrade at that node (its hostname).`;

const MINUTE = 60_000;

export const main = async (argv: string[]): Promise<void> => {
  const parsed = parseCommand(argv, COMMANDS, USAGE, {
    cluster: clusterFlag('the cluster to act on'),
    node: { type: 'string', description: 'a node IP address from talconfig.yaml' },
    mode: { type: 'string', values: ['auto', 'no-reboot', 'reboot', 'staged', 'try'], description: 'apply-config mode for apply-node' },
    'dry-run': { type: 'boolean', description: 'print the plan and run nothing' },
    from: { type: 'string', description: 'resume at this step' },
  });
  if (!parsed) return;
  const { command, flags } = parsed;
  const cluster = flags.cluster as ClusterName;
  const paths = clusterPaths(cluster);
  const rel = (p: string) => relative(paths.root, p) || p;
  const talos = readTalconfig(paths.talconfig);
  const env = { KUBECONFIG: paths.kubeconfig, TALOSCONFIG: paths.talosconfig };
  const ctx = ['--context', cluster];
  const at = (node: TalosNode) => ['--talosconfig', paths.talosconfig, '--nodes', node.ip, '--endpoints', node.ip];
  const cp1 = talos.controlPlanes[0];

  const pick = (ip: string | undefined): TalosNode[] => {
    if (ip === undefined) return [...talos.controlPlanes, ...talos.workers];
    const node = talos.nodes.find((n) => n.ip === ip);
    if (!node) throw new UserError(`${ip} is not a node of ${cluster} (${rel(paths.talconfig)} lists ${talos.nodes.map((n) => n.ip).join(', ')})`);
    return [node];
  };

  /** The cluster is healthy as Talos sees it: etcd, control plane, nodes Ready (talosctl health). */
  const health = () => run('talosctl', [...at(cp1), 'health', '--wait-timeout', '10m'], { env, stream: true });

  const regenerate = () => genconfig(paths, env);

  /** The installer image talhelper wrote into a node's machine config (schematic and talosVersion). */
  const installerImage = (node: TalosNode): string => {
    const file = paths.machineConfig(talos.name, node.hostname);
    requireFile(file, 'run `task talos:apply-node` or `talhelper genconfig` first', paths.root);
    const image = parseAllDocuments(readFileSync(file, 'utf8'))
      .map((d) => d.toJS() as any)
      .find((d) => d?.machine?.install?.image)?.machine.install.image;
    if (!image) throw new UserError(`${rel(file)} names no machine.install.image`);
    return String(image);
  };

  const runningTalos = async (node: TalosNode): Promise<string | undefined> => {
    const r = await query('talosctl', [...at(node), 'version'], { env });
    // The server part of `talosctl version` follows the client's; its Tag is the last one printed.
    return r.ok ? [...r.stdout.matchAll(/Tag:\s*(\S+)/g)].pop()?.[1] : undefined;
  };

  if (command === 'generate-iso') {
    requireClis(['talhelper']);
    // talhelper defaults to the newest Talos it knows; the ISO must match the cluster's version.
    await run('talhelper', ['genurl', 'iso', '--config-file', paths.talconfig, '--version', talos.talosVersion], { cwd: paths.talosDir, stream: true });
    return;
  }

  const runner = createRunner({
    title: `talos ${command} ${cluster}`,
    dryRun: flags['dry-run'],
    from: flags.from,
    budgetMs: (command === 'upgrade-node' ? pick(flags.node).length * 15 : 30) * MINUTE,
  });
  const clis = ['talosctl', 'talhelper', 'kubectl'];
  let needsContext = true;

  switch (command as Command) {
    case 'apply-node': {
      if (!flags.node) throw new UsageError('apply-node needs --node IP (NODE=<ip> with task)');
      const [node] = pick(flags.node);
      needsContext = false;
      runner.step('genconfig', regenerate, { describe: `talhelper genconfig into ${rel(paths.configDir)}` });
      runner.step(
        'apply',
        async () => {
          const mode = flags.mode ?? 'auto';
          await run('talosctl', [...at(node), 'apply-config', '--mode', mode, '--file', paths.machineConfig(talos.name, node.hostname)], { env, stream: true });
        },
        { describe: `talosctl apply-config --mode ${flags.mode ?? 'auto'} to ${node.hostname} (${node.ip})` },
      );
      break;
    }

    case 'upgrade-node': {
      for (const node of pick(flags.node)) {
        runner.step(
          node.hostname,
          async () => {
            const image = installerImage(node);
            await health();
            // Draining respects PodDisruptionBudgets (Ceph, CloudNativePG) before the node goes away.
            await run('kubectl', [...ctx, 'drain', node.hostname, '--ignore-daemonsets', '--delete-emptydir-data', '--timeout', '10m'], { env, stream: true });
            // --preserve keeps EPHEMERAL (/var): etcd's data and the OpenEBS hostpath volumes.
            await run('talosctl', [...at(node), 'upgrade', '--image', image, '--preserve', '--wait', '--timeout', '10m'], { env, stream: true });
            await run('kubectl', [...ctx, 'wait', `node/${node.hostname}`, '--for', 'condition=Ready', '--timeout', '10m'], { env, stream: true });
            await run('kubectl', [...ctx, 'uncordon', node.hostname], { env, stream: true });
            await health();
          },
          {
            describe: `cluster healthy, drain ${node.hostname} (${node.ip}), upgrade it to Talos ${talos.talosVersion}, wait until Ready, uncordon, cluster healthy`,
            skipIf: async () => ((await runningTalos(node)) === talos.talosVersion ? `${node.hostname} already runs Talos ${talos.talosVersion}` : false),
          },
        );
      }
      break;
    }

    case 'upgrade-k8s': {
      runner.step(
        'upgrade-k8s',
        async () => {
          await health();
          await run('talosctl', [...at(cp1), 'upgrade-k8s', '--to', talos.kubernetesVersion.replace(/^v/, '')], { env, stream: true });
          await health();
        },
        {
          describe: `cluster healthy, talosctl upgrade-k8s --to ${talos.kubernetesVersion} (control plane, then kubelets, one node at a time)`,
          skipIf: async () => {
            const r = await query('kubectl', [...ctx, 'version', '--output', 'json'], { env });
            const server = r.ok ? JSON.parse(r.stdout).serverVersion?.gitVersion : undefined;
            return server === talos.kubernetesVersion ? `the API server already runs Kubernetes ${server}` : false;
          },
        },
      );
      break;
    }

    case 'reset-cluster': {
      const order = [...talos.workers, ...talos.controlPlanes];
      runner.step(
        'reset',
        async () => {
          await confirmTyped(`This wipes ${order.map((n) => n.hostname).join(', ')} (${cluster}) back to maintenance mode; every workload and volume on them is lost.`, cluster);
          for (const node of order) {
            await run(
              'talosctl',
              [...at(node), 'reset', '--graceful=false', '--reboot', '--system-labels-to-wipe', 'STATE', '--system-labels-to-wipe', 'EPHEMERAL', '--wait=false'],
              { env, stream: true },
            );
          }
        },
        { describe: `typed confirmation, then talosctl reset of ${order.map((n) => n.hostname).join(', ')} (workers first)` },
      );
      break;
    }
  }

  runner.selected();
  if (flags['dry-run']) {
    await runner.run();
    return;
  }
  requireClis(clis);
  if (command !== 'apply-node') requireFile(paths.talosconfig, 'run `talhelper genconfig` (or task talos:apply-node) first', paths.root);
  if (needsContext) {
    if (!existsSync(paths.kubeconfig)) throw new UserError(`${rel(paths.kubeconfig)} is missing: run \`task op:pull CLUSTER=${cluster}\` or bootstrap first`);
    if (!(await checkKubeContext(cluster, env))) throw new UserError(`${rel(paths.kubeconfig)} has no context ${cluster}`);
  }
  await runner.run();
};

entryPoint(import.meta.url, main, 'talos: ');
