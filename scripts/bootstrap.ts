// Takes freshly installed Talos nodes (maintenance mode) to a cluster that Flux manages on its own.
// The steps and what each one checks before doing anything: docs/runbooks/bootstrap.md.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { connectCredentialsPath, hasPlaceholderConnectCredentials } from '../src/lib/connect-credentials.ts';
import { listClusters, clusterPaths, readTalconfig, type ClusterName, type TalosNode } from './lib/cluster.ts';
import { confirmTyped } from './lib/confirm.ts';
import { UserError } from '../src/lib/errors.ts';
import { entryPoint, parseFlags } from '../src/lib/cli.ts';
import { io } from '../src/lib/io.ts';
import { query, run } from '../src/lib/exec.ts';
import { crdsOnly, helmfileReleases, secretsIn } from './lib/manifests.ts';
import { waitFor } from './lib/poll.ts';
import { checkKubeContext, missingClis, requireClis, requireFile } from './lib/preflight.ts';
import { createRunner } from './lib/steps.ts';
import { genconfig } from './lib/talhelper.ts';

const USAGE = `Usage: node --import tsx scripts/bootstrap.ts --cluster infra|apps [--dry-run] [--from STEP] [--yes]
       task bootstrap:infra -- [--dry-run] [--from STEP] [--yes]

Bootstraps a cluster from Talos nodes in maintenance mode to Flux: genconfig, apply-config, bootstrap,
kubeconfig, wait-nodes, crds, secrets, helmfile-sync, flux-sync, flux-check. Each step is skipped when
the cluster shows it is done, so running it again resumes where it stopped.`;

const CLIS = ['talosctl', 'talhelper', 'kubectl', 'helmfile', 'flux', 'sops', 'op'] as const;
const BUDGET_MS = 30 * 60_000;
const MINUTE = 60_000;

/** The newest modification time under a path (a file, or a folder's files recursively). */
const newestMtime = (path: string): number => {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  return Math.max(0, ...readdirSync(path).map((e) => newestMtime(join(path, e))));
};

export const main = async (argv: string[]): Promise<void> => {
  const flags = parseFlags(argv, USAGE, {
    cluster: { type: 'string', values: listClusters(), required: true, description: 'the cluster to bootstrap' },
    'dry-run': { type: 'boolean', description: 'print the plan and run nothing' },
    from: { type: 'string', description: 'resume at this step; the steps before it are not run' },
    yes: { type: 'boolean', description: 'do not ask before installing Talos on nodes in maintenance mode' },
  });
  if (!flags) return;
  const cluster = flags.cluster as ClusterName;
  const dryRun = flags['dry-run'];
  const paths = clusterPaths(cluster);
  const rel = (p: string) => relative(paths.root, p) || p;
  const talos = readTalconfig(paths.talconfig);
  if (talos.name !== cluster) throw new UserError(`${rel(paths.talconfig)} names cluster "${talos.name}", not "${cluster}"`);
  const cp1 = talos.controlPlanes[0];
  // Every tool gets both configs explicitly, whatever the operator's shell points at.
  const env = { KUBECONFIG: paths.kubeconfig, TALOSCONFIG: paths.talosconfig };
  const ctx = ['--context', cluster];
  const talosctlAt = (node: TalosNode) => ['--talosconfig', paths.talosconfig, '--nodes', node.ip, '--endpoints', node.ip];

  const nodeConfigured = async (node: TalosNode) => (await query('talosctl', [...talosctlAt(node), 'get', 'machineconfig'], { env })).ok;
  const etcdRunning = async () => (await query('talosctl', [...talosctlAt(cp1), 'etcd', 'members'], { env })).ok;
  const registeredNodes = async (): Promise<Set<string>> => {
    const r = await query('kubectl', [...ctx, 'get', 'nodes', '--output', 'jsonpath={.items[*].metadata.name}'], { env });
    return new Set(r.ok ? r.stdout.split(/\s+/).filter(Boolean) : []);
  };
  const allRegistered = async () => {
    const seen = await registeredNodes();
    return talos.nodes.every((n) => seen.has(n.hostname));
  };

  const runner = createRunner({ title: `bootstrap ${cluster}`, dryRun, from: flags.from, budgetMs: BUDGET_MS, budgetSource: 'the bootstrap target' });

  const machineConfigs = talos.nodes.map((n) => paths.machineConfig(talos.name, n.hostname));
  runner.step(
    'genconfig',
    async () => {
      await genconfig(paths, env);
      for (const f of [paths.talosconfig, ...machineConfigs]) requireFile(f, 'talhelper genconfig did not write it', paths.root);
    },
    {
      describe: `talhelper genconfig: ${talos.nodes.length} machine configs and talosconfig in ${rel(paths.configDir)}`,
      skipIf: async () => {
        const outputs = [paths.talosconfig, ...machineConfigs];
        if (!outputs.every(existsSync)) return false;
        const inputs = Math.max(newestMtime(paths.talconfig), newestMtime(paths.talsecret), newestMtime(join(paths.talosDir, 'patches')));
        return Math.min(...outputs.map(newestMtime)) >= inputs ? 'the machine configs are newer than talconfig.yaml, talsecret.sops.yaml and patches/' : false;
      },
    },
  );

  runner.step(
    'apply-config',
    async () => {
      const pending: TalosNode[] = [];
      for (const n of talos.nodes) if (!(await nodeConfigured(n))) pending.push(n);
      if (!flags.yes) {
        await confirmTyped(`Installing Talos on ${pending.map((n) => `${n.hostname} (${n.ip})`).join(', ')} wipes their install disks.`, cluster);
      }
      for (const n of pending) {
        await run('talosctl', ['apply-config', '--insecure', '--nodes', n.ip, '--file', paths.machineConfig(talos.name, n.hostname)], { env, stream: true });
      }
    },
    {
      describe: `talosctl apply-config --insecure to each of the ${talos.nodes.length} nodes that does not answer with its config yet`,
      skipIf: async () => {
        for (const n of talos.nodes) if (!(await nodeConfigured(n))) return false;
        return `all ${talos.nodes.length} nodes answer with their config`;
      },
    },
  );

  runner.step(
    'bootstrap',
    async () => {
      await waitFor(`${cp1.hostname} (${cp1.ip}) to come up with its config`, () => nodeConfigured(cp1), 15 * MINUTE);
      await run('talosctl', [...talosctlAt(cp1), 'bootstrap'], { env, stream: true });
      await waitFor(`etcd on ${cp1.hostname}`, etcdRunning, 10 * MINUTE);
    },
    {
      describe: `talosctl bootstrap on ${cp1.hostname} (${cp1.ip}) once it is up: starts etcd and the control plane`,
      skipIf: async () => ((await etcdRunning()) ? `etcd is already running on ${cp1.hostname}` : false),
    },
  );

  runner.step(
    'kubeconfig',
    async () => {
      await run('talosctl', [...talosctlAt(cp1), 'kubeconfig', paths.kubeconfig, '--force-context-name', cluster, '--force'], { env, stream: true });
      await run('kubectl', ['config', 'use-context', cluster], { env });
    },
    {
      describe: `talosctl kubeconfig into ${rel(paths.kubeconfig)} as context ${cluster}`,
      skipIf: async () => ((await query('kubectl', ['config', 'get-contexts', cluster], { env })).ok ? `${rel(paths.kubeconfig)} has context ${cluster}` : false),
    },
  );

  runner.step(
    'wait-nodes',
    async () => {
      await waitFor(`all ${talos.nodes.length} nodes to register`, allRegistered, 20 * MINUTE);
    },
    {
      describe: `kubectl get nodes until ${talos.nodes.map((n) => n.hostname).join(', ')} are registered (NotReady until Cilium runs)`,
      skipIf: async () => ((await allRegistered()) ? `all ${talos.nodes.length} nodes are registered` : false),
    },
  );

  let rendered: { names: string[]; yaml: string } | undefined;
  const renderCrds = async () => {
    rendered ??= crdsOnly(await run('helmfile', ['--file', paths.crdsHelmfile, '--quiet', 'template'], { env }));
    if (!rendered.names.length) throw new UserError(`${rel(paths.crdsHelmfile)} rendered no CustomResourceDefinition`);
    return rendered;
  };
  runner.step(
    'crds',
    async () => {
      const { yaml } = await renderCrds();
      await run('kubectl', [...ctx, 'apply', '--server-side', '--force-conflicts', '--field-manager', 'bootstrap', '--filename', '-'], { env, input: yaml, stream: true });
    },
    {
      describe: `helmfile template ${rel(paths.crdsHelmfile)}, keep the CustomResourceDefinitions, kubectl apply --server-side`,
      skipIf: async () => {
        const { names } = await renderCrds();
        const r = await query('kubectl', [...ctx, 'get', 'customresourcedefinitions', ...names], { env });
        return r.ok ? `all ${names.length} CRDs of ${rel(paths.crdsHelmfile)} exist` : false;
      },
    },
  );

  const secrets = secretsIn(paths.secretsTemplate);
  runner.step(
    'secrets',
    async () => {
      // The injected manifests hold the secret values: piped straight to kubectl, never printed.
      const manifests = await run('op', ['inject', '--in-file', paths.secretsTemplate]);
      await run('kubectl', [...ctx, 'apply', '--server-side', '--field-manager', 'bootstrap', '--filename', '-'], { env, input: manifests, stream: true });
    },
    {
      describe: `op inject ${rel(paths.secretsTemplate)} | kubectl apply --server-side (${secrets.map((s) => `${s.namespace}/${s.name}`).join(', ')})`,
      skipIf: async () => {
        for (const s of secrets) {
          if (!(await query('kubectl', [...ctx, '--namespace', s.namespace, 'get', 'secret', s.name], { env })).ok) return false;
        }
        return `all ${secrets.length} Secrets exist`;
      },
    },
  );

  runner.step(
    'helmfile-sync',
    async () => {
      await run('helmfile', ['--file', paths.appsHelmfile, '--kube-context', cluster, 'sync', '--hide-notes'], { env, stream: true });
    },
    {
      describe: `helmfile sync ${rel(paths.appsHelmfile)}: ${helmfileReleases(paths.appsHelmfile).join(' → ')}`,
      skipIf: async () => {
        const r = await query(
          'kubectl',
          [...ctx, '--namespace', 'flux-system', 'get', 'fluxinstances.fluxcd.controlplane.io', 'flux', '--output', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'],
          { env },
        );
        return r.ok && r.stdout.trim() === 'True' ? 'FluxInstance flux is Ready, so every release before it is installed' : false;
      },
    },
  );

  const fluxCrds = ['gitrepositories.source.toolkit.fluxcd.io', 'kustomizations.kustomize.toolkit.fluxcd.io'];
  runner.step(
    'flux-sync',
    async () => {
      await waitFor('the Flux controllers to register their CRDs', async () => (await query('kubectl', [...ctx, 'get', 'customresourcedefinitions', ...fluxCrds], { env })).ok, 10 * MINUTE);
      await run('kubectl', [...ctx, 'apply', '--server-side', '--field-manager', 'bootstrap', '--filename', paths.fluxSystem], { env, stream: true });
    },
    {
      describe: `kubectl apply ${rel(paths.fluxSystem)}: Flux starts reconciling Git`,
      skipIf: async () =>
        (await query('kubectl', [...ctx, '--namespace', 'flux-system', 'get', 'kustomizations.kustomize.toolkit.fluxcd.io', 'flux-system'], { env })).ok
          ? 'Kustomization flux-system exists'
          : false,
    },
  );

  runner.step(
    'flux-check',
    async () => {
      await run('flux', [...ctx, 'check'], { env, stream: true });
    },
    { describe: 'flux check: the controllers and their CRDs are healthy (always runs)' },
  );

  const chosen = runner.selected();
  const talosSteps = ['apply-config', 'bootstrap', 'kubeconfig'];
  const kubeSteps = ['wait-nodes', 'crds', 'secrets', 'helmfile-sync', 'flux-sync', 'flux-check'];

  const sealed = !hasPlaceholderConnectCredentials(paths.root, cluster);
  if (dryRun) {
    const missing = missingClis(CLIS);
    io().out(
      [
        `preflight (dry run, nothing is asked): CLIs ${missing.length ? `MISSING ${missing.join(', ')}` : `found: ${CLIS.join(', ')}`}`,
        `  talosconfig ${rel(paths.talosconfig)}${existsSync(paths.talosconfig) ? '' : ' (written by genconfig)'}`,
        `  kubeconfig  ${rel(paths.kubeconfig)}${existsSync(paths.kubeconfig) ? `, its current context must be ${cluster}` : ' (written by the kubeconfig step)'}`,
        `  connect     ${connectCredentialsPath(cluster)}${sealed ? '' : ` is a PLACEHOLDER: run \`task op:seal-connect CLUSTER=${cluster}\`, commit and push before flux-sync`}`,
        '',
      ].join('\n'),
    );
    await runner.run();
    return;
  }

  requireClis(CLIS);
  if (chosen.includes('genconfig')) requireFile(paths.talsecret, 'create it with `talhelper gensecret | sops --encrypt` (clusters/<cluster>/talos/README.md)', paths.root);
  else if (chosen.some((s) => talosSteps.includes(s))) {
    requireFile(paths.talosconfig, 'resume from genconfig (--from genconfig)', paths.root);
  }
  if (chosen.includes('secrets')) requireFile(paths.secretsTemplate, 'it comes with the repository', paths.root);
  // Once Flux runs, External Secrets needs Connect, and Connect the credentials Flux decrypts from Git.
  if (chosen.includes('flux-sync') && !sealed) {
    throw new UserError(`${connectCredentialsPath(cluster)} holds placeholder credentials: run \`task op:seal-connect CLUSTER=${cluster}\`, commit and push, then run this again`);
  }
  let contextKnown = false;
  if (existsSync(paths.kubeconfig)) contextKnown = await checkKubeContext(cluster, env);
  if (!chosen.includes('kubeconfig') && chosen.some((s) => kubeSteps.includes(s)) && !contextKnown) {
    throw new UserError(`${rel(paths.kubeconfig)} has no context ${cluster}: resume from kubeconfig (--from kubeconfig)`);
  }
  io().out(`preflight: ${CLIS.join(', ')} found; talosconfig ${rel(paths.talosconfig)}; kubeconfig ${rel(paths.kubeconfig)}${contextKnown ? ` (context ${cluster})` : ''}\n`);
  await runner.run();
};

entryPoint(import.meta.url, main, 'bootstrap: ');
