// What the tools the scripts drive (talosctl, talhelper, kubectl, helmfile, flux, sops, op) answer, as the
// real ones would, from a small state kept as marker files in a folder (a node got its config, etcd runs,
// ...). Tests run the scripts in-process with `fakeExec` as their io's exec; tests/stubs/cli-stub.ts puts
// the same answers behind executables on PATH for the few end-to-end runs.
// Knobs, read from the command's environment: STUB_DONE=1 (everything is already done),
// STUB_FAIL=tool:word=code[,...] (exit with code when the call's arguments contain word),
// STUB_CONTEXT / STUB_CONTEXTS (kubeconfig contexts), STUB_TALCONFIG (nodes for `kubectl get nodes`),
// STUB_NODES_AFTER (they register only after that many questions), STUB_TALOS_VERSION,
// STUB_K8S_VERSION, STUB_OP_VALUES (a JSON object of op:// reference -> value).
// A running cluster's objects and controllers, for the DR scripts, are answered by cluster-state.ts.
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { Command, CommandResult } from '../../src/lib/exec.ts';
import { answerCluster } from './cluster-state.ts';

export const FAKE_TOOLS = ['talosctl', 'talhelper', 'kubectl', 'helmfile', 'flux', 'sops', 'op'] as const;

export interface Call {
  tool: string;
  args: string[];
  stdin?: string;
}

class Exit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

/** One call of a fake tool: records it in $STUB_LOG and answers from $STUB_STATE_DIR. */
export const answer = async (tool: string, args: string[], env: NodeJS.ProcessEnv, input = ''): Promise<CommandResult> => {
  let stdout = '';
  let stderr = '';
  const state = env.STUB_STATE_DIR!;
  const done = env.STUB_DONE === '1';
  const has = (...words: string[]) => words.every((w) => args.includes(w));
  const flag = (...names: string[]): string | undefined => {
    for (const n of names) {
      const i = args.indexOf(n);
      if (i >= 0) return args[i + 1];
      const eq = args.find((a) => a.startsWith(`${n}=`));
      if (eq) return eq.slice(n.length + 1);
    }
    return undefined;
  };
  const mark = (name: string, value = '') => writeFileSync(join(state, name), value);
  const marked = (name: string) => existsSync(join(state, name));
  const read = (name: string) => (marked(name) ? readFileSync(join(state, name), 'utf8') : undefined);
  const out = (text: string) => void (stdout += text.endsWith('\n') ? text : `${text}\n`);
  const fail = (message: string, code = 1): never => {
    stderr += `${message}\n`;
    throw new Exit(code);
  };
  const stdin = tool === 'kubectl' && flag('--filename', '-f') === '-' ? input : undefined;
  appendFileSync(env.STUB_LOG!, `${JSON.stringify(stdin === undefined ? { tool, args } : { tool, args, stdin })}\n`);
  mkdirSync(state, { recursive: true });

  try {
    for (const rule of (env.STUB_FAIL ?? '').split(',').filter(Boolean)) {
      const [, t, word, code] = rule.match(/^([^:]+):([^=]+)=(\d+)$/) ?? [];
      if (t === tool && args.includes(word)) fail(`${tool}: simulated failure of \`${word}\``, Number(code));
    }
    const parseYaml = (file: string): any => parse(readFileSync(file, 'utf8'));
    const nodes = (): { hostname: string }[] => (env.STUB_TALCONFIG ? parseYaml(env.STUB_TALCONFIG).nodes : []);
    const contexts = () => (env.STUB_CONTEXTS ?? read('contexts') ?? '').split(',').filter(Boolean);
    const talosVersion = (ip?: string) => read(`version-${ip}`) ?? env.STUB_TALOS_VERSION ?? 'v1.12.0';

    const talosctl = () => {
      const node = flag('--nodes', '-n');
      if (has('get', 'machineconfig')) return done || marked(`configured-${node}`) ? out(`config ${node}`) : fail('rpc error: code = Unavailable desc = tls: certificate required');
      if (has('apply-config')) return mark(`configured-${node}`);
      if (has('etcd', 'members')) return done || marked('etcd') ? out('ID  HOSTNAME  PEER URLS') : fail('rpc error: etcd is not running');
      if (has('bootstrap')) return marked('etcd') ? fail('rpc error: code = AlreadyExists') : mark('etcd');
      if (has('kubeconfig')) {
        const path = args[args.indexOf('kubeconfig') + 1];
        writeFileSync(path!, 'apiVersion: v1\nkind: Config\n');
        return mark('contexts', [...new Set([...contexts(), flag('--force-context-name')])].join(','));
      }
      if (has('version')) return out(`Server:\n\tNODE:        ${node}\n\tTag:         ${talosVersion(node)}`);
      if (has('upgrade')) return mark(`version-${node}`, flag('--image')!.split(':').pop());
      if (has('upgrade-k8s')) return mark('k8s-version', `v${flag('--to')!.replace(/^v/, '')}`);
      if (has('health') || has('reset')) return out('ok');
      return out('');
    };

    const kubectl = () => {
      if (has('config', 'current-context')) {
        const current = env.STUB_CONTEXT ?? read('current');
        return current ? out(current) : fail('error: current-context is not set');
      }
      if (has('config', 'get-contexts')) {
        const name = args[args.indexOf('get-contexts') + 1];
        if (name && !name.startsWith('-')) return contexts().includes(name) ? out(name) : fail(`error: context ${name} not found`);
        return out(contexts().join('\n'));
      }
      if (has('config', 'use-context')) return mark('current', args[args.indexOf('use-context') + 1]);
      if (has('apply')) {
        if (stdin?.includes('kind: CustomResourceDefinition')) mark('crds');
        if (stdin?.includes('kind: Secret')) mark('secrets');
        if (flag('--filename', '-f')?.endsWith('flux-system.yaml')) mark('flux-sync');
        return out('applied');
      }
      if (has('get', 'nodes')) {
        // The nodes register a while after etcd starts: STUB_NODES_AFTER questions later.
        const asked = Number(read('nodes-asked') ?? 0) + 1;
        mark('nodes-asked', String(asked));
        const registered = done || (marked('etcd') && asked > Number(env.STUB_NODES_AFTER ?? 0));
        return registered ? out(nodes().map((n) => n.hostname).join(' ')) : out('');
      }
      if (has('get', 'customresourcedefinitions')) {
        const flux = args.some((a) => a.endsWith('.toolkit.fluxcd.io'));
        return done || marked(flux ? 'flux' : 'crds') ? out('crds') : fail('Error from server (NotFound)');
      }
      if (has('get', 'secret')) return done || marked('secrets') ? out('secret') : fail('Error from server (NotFound)');
      if (has('get', 'fluxinstances.fluxcd.controlplane.io')) return done || marked('flux') ? out('True') : fail('Error from server (NotFound)');
      if (has('get', 'kustomizations.kustomize.toolkit.fluxcd.io')) return done || marked('flux-sync') ? out('flux-system') : fail('Error from server (NotFound)');
      if (has('get', 'node')) return out('True');
      if (has('version')) return out(JSON.stringify({ serverVersion: { gitVersion: read('k8s-version') ?? env.STUB_K8S_VERSION ?? 'v1.35.0' } }));
      return out('');
    };

    const helmfile = () => {
      if (has('template')) {
        return out(
          [
            '---',
            'apiVersion: apiextensions.k8s.io/v1',
            'kind: CustomResourceDefinition',
            'metadata:',
            '  name: gateways.gateway.networking.k8s.io',
            '---',
            'apiVersion: apps/v1',
            'kind: Deployment',
            'metadata:',
            '  name: envoy-gateway',
            '---',
            'apiVersion: apiextensions.k8s.io/v1',
            'kind: CustomResourceDefinition',
            'metadata:',
            '  name: httproutes.gateway.networking.k8s.io',
          ].join('\n'),
        );
      }
      if (has('sync')) return mark('flux');
      return out('');
    };

    const talhelper = () => {
      if (has('genconfig')) {
        const config = parseYaml(flag('--config-file', '-c')!);
        const dir = flag('--out-dir', '-o')!;
        mkdirSync(dir, { recursive: true });
        writeFileSync(join(dir, 'talosconfig'), 'context: stub\n');
        for (const n of config.nodes as { hostname: string }[]) {
          writeFileSync(join(dir, `${config.clusterName}-${n.hostname}.yaml`), `version: v1alpha1\nmachine:\n  install:\n    image: factory.talos.dev/installer/stub:${config.talosVersion}\n`);
        }
        return out(`generated config for ${config.nodes.length} nodes`);
      }
      if (has('genurl')) return out('https://factory.talos.dev/image/stub/v1.12.0/metal-amd64.iso');
      return out('');
    };

    const op = () => {
      // STUB_OP_VALUES: a JSON object of op:// reference -> value; a reference it lacks is "not found".
      if (has('read') && env.STUB_OP_VALUES) {
        const ref = args[args.indexOf('read') + 1];
        const values = JSON.parse(env.STUB_OP_VALUES);
        return ref in values ? out(values[ref]) : fail(`[ERROR] could not read secret '${ref}': item not found`);
      }
      if (has('read')) return out('AGE-SECRET-KEY-STUB');
      if (has('inject')) return out(readFileSync(flag('--in-file', '-i')!, 'utf8').replace(/op:\/\/[A-Za-z0-9_.\-/?]+/g, 'c3R1Yg=='));
      return out('');
    };

    if (answerCluster(tool, { args, env, input, out, raw: (text) => void (stdout += text), fail })) return { code: 0, stdout, stderr };
    const tools: Record<string, () => unknown> = { talosctl, kubectl, helmfile, talhelper, op, flux: () => out('✔ all checks passed'), sops: () => out('') };
    await tools[tool]();
    return { code: 0, stdout, stderr };
  } catch (e) {
    if (e instanceof Exit) return { code: e.code, stdout, stderr };
    throw e;
  }
};

/** The io's exec for in-process runs: a fake tool answers, anything else is refused as not installed. */
export const fakeExec =
  (tools: readonly string[] = FAKE_TOOLS) =>
  async (c: Command): Promise<CommandResult> =>
    tools.includes(c.cmd) ? answer(c.cmd, c.args, c.env, c.input) : { code: 127, stdout: '', stderr: `${c.cmd}: command not found\n` };
