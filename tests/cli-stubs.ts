import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { connectCredentialsPath, connectItem, PLACEHOLDER, SEALED_FROM } from '../src/lib/connect-credentials.ts';
import { invoke, type Main } from '../src/lib/cli.ts';
import { spawnCommand } from '../src/lib/exec.ts';
import { io } from '../src/lib/io.ts';
import { answer, fakeExec, FAKE_TOOLS, type Call } from './fakes/cli-tools.ts';
import { listClusters } from '../src/lib/layout.ts';
import { copyPath, ROOT, runProcess, tempDir, type Run } from './helpers.ts';

export type { Call } from './fakes/cli-tools.ts';
export const STUB_TOOLS = FAKE_TOOLS;
const STUB_PROGRAM = join(ROOT, 'tests', 'stubs', 'cli-stub.mjs');
const TSX_LOADER = join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs');

/** A script's main, imported once: importing an entry point does not run it. */
const mains = new Map<string, Promise<Main>>();
const mainOf = (script: string): Promise<Main> => {
  if (!mains.has(script)) mains.set(script, import(pathToFileURL(join(ROOT, script)).href).then((m) => m.main));
  return mains.get(script)!;
};

/** The script names printed before their messages (`bootstrap: ...`). */
const prefixOf = (script: string) => `${script.replace(/^scripts\/|\.ts$/g, '')}: `;

/**
 * What of the repository the scripts read: each cluster's Talos, Flux and secrets folders, OpenBao's app
 * folder where a cluster has one, the bootstrap files and .sops.yaml. The apps are not copied: a test copies
 * this for every run, and hundreds of files it would never read cost more than the run.
 */
const SCRIPT_TREE = (): string[] => [
  ...listClusters(ROOT).flatMap((c) =>
    ['talos', 'flux', 'secrets', 'apps/arsipq-platform/openbao'].map((d) => `clusters/${c}/${d}`).filter((d) => existsSync(join(ROOT, d))),
  ),
  'bootstrap',
  '.sops.yaml',
];

/**
 * A scratch PATH: stub CLIs that record their calls, then a folder with only node, bash and sh, so
 * that no real kubectl (or anything else installed) can be reached by mistake.
 */
export const createStubs = (tools: readonly string[] = STUB_TOOLS) => {
  const dir = tempDir('k8s-ops-stubs-');
  const bin = join(dir, 'bin');
  const toolbox = join(dir, 'toolbox');
  const state = join(dir, 'state');
  const log = join(dir, 'calls.log');
  // The scripts act on a copy of the repository's cluster and bootstrap files (K8S_OPS_ROOT), with
  // the encrypted Talos secrets that only the operator has replaced by a placeholder.
  const repo = join(dir, 'repo');
  for (const d of [bin, toolbox, state, repo]) mkdirSync(d);
  for (const d of SCRIPT_TREE()) copyPath(join(ROOT, d), join(repo, d));
  for (const c of ['infra', 'apps']) {
    rmSync(join(repo, 'clusters', c, 'talos', 'clusterconfig'), { recursive: true, force: true });
    writeFileSync(join(repo, 'clusters', c, 'talos', 'talsecret.sops.yaml'), 'cluster: {}\nsops: {}\n');
    // Sealed from 1Password, as `task op:seal-connect` leaves them before a bootstrap (the annotation is outside the MAC).
    const sealed = join(repo, connectCredentialsPath(c));
    writeFileSync(sealed, readFileSync(sealed, 'utf8').replace(`${SEALED_FROM}: ${PLACEHOLDER}`, `${SEALED_FROM}: ${connectItem(c)}`));
  }
  writeFileSync(log, '');
  // The stub executables ask this process, which answers each call as the in-process fakes do.
  const socket = join(dir, 'stubs.sock');
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', async () => {
      const call = JSON.parse(body);
      res.end(JSON.stringify(await answer(call.tool, call.args, call.env, call.input)));
    });
  });
  server.listen(socket);
  server.unref();
  for (const t of tools) {
    writeFileSync(join(bin, t), `#!/bin/sh\nexec "${process.execPath}" "${STUB_PROGRAM}" "${socket}" ${t} "$@"\n`);
    chmodSync(join(bin, t), 0o755);
  }
  symlinkSync(process.execPath, join(toolbox, 'node'));
  for (const sh of ['bash', 'sh']) {
    const real = ['/usr/bin', '/bin'].map((d) => join(d, sh)).find(existsSync);
    if (real) symlinkSync(real, join(toolbox, sh));
  }

  const calls = (): Call[] =>
    readFileSync(log, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));

  const scriptEnv = (env: Record<string, string>): NodeJS.ProcessEnv => ({
    HOME: dir,
    PATH: `${bin}:${toolbox}`,
    STUB_LOG: log,
    STUB_STATE_DIR: state,
    K8S_OPS_TIMEOUT_SECONDS: '5',
    K8S_OPS_ROOT: repo,
    KUBECONFIG: join(repo, 'kubeconfig'),
    SOPS_AGE_KEY: 'AGE-SECRET-KEY-TEST',
    ...env,
  });

  /**
   * Runs a script's main in this process, its tools answered by the fakes (only those still in bin/),
   * stdin lines given by `input`, and a clock that a poll's sleep moves on instead of waiting. The tools in
   * `real` are not answered in-process: their executables in bin/ run as processes of their own.
   */
  const runScript = async (script: string, args: string[], env: Record<string, string> = {}, input = '', real: string[] = []): Promise<Run> => {
    const present = () => readdirSync(bin);
    const lines = input.split('\n');
    let clock = Date.now();
    return invoke(
      await mainOf(script),
      args,
      {
        env: scriptEnv(env),
        exec: (c) => (real.includes(c.cmd) ? spawnCommand({ ...c, cmd: join(bin, c.cmd) }) : fakeExec(present())(c)),
        which: (tool) => (present().includes(tool) ? join(bin, tool) : undefined),
        readLine: async (prompt) => {
          // As on a terminal fed by a pipe: the prompt, then a new line, since the answer is not echoed.
          io().err(`${prompt}\n`);
          return (lines.shift() ?? '').trim();
        },
        now: () => clock,
        sleep: async (ms) => void (clock += Math.max(ms, 1000)),
      },
      prefixOf(script),
    );
  };

  /** The same run as the operator's: node and tsx, stub executables on PATH, a real stdin. */
  const runScriptProcess = (script: string, args: string[], env: Record<string, string> = {}, input = ''): Promise<Run> =>
    runProcess(process.execPath, ['--import', TSX_LOADER, join(ROOT, script), ...args], { cwd: ROOT, env: { ...scriptEnv(env), K8S_OPS_POLL_SECONDS: '0' } }, input);

  const removeTool = (tool: string) => rmSync(join(bin, tool));
  const cleanup = () => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  };

  return {
    dir,
    repo,
    state,
    log,
    calls,
    runScript,
    runScriptProcess,
    removeTool,
    cleanup,
    clusterconfig: (cluster: string) => join(repo, 'clusters', cluster, 'talos', 'clusterconfig'),
    kubeconfig: join(repo, 'kubeconfig'),
    talconfig: (cluster: string) => join(repo, 'clusters', cluster, 'talos', 'talconfig.yaml'),
  };
};

/** A call as one readable string: `kubectl --context infra apply ...`. */
export const show = (c: Call): string => [c.tool, ...c.args].join(' ');

/** The calls that change something, as opposed to the questions the scripts ask before acting. */
export const actions = (calls: Call[]): string[] =>
  calls
    .filter((c) => {
      const a = c.args;
      if (c.tool === 'kubectl') return a.includes('apply') || a.includes('use-context') || a.includes('wait');
      if (c.tool === 'talosctl') return ['apply-config', 'bootstrap', 'kubeconfig', 'upgrade', 'upgrade-k8s', 'reset'].some((w) => a.includes(w));
      if (c.tool === 'helmfile') return a.includes('sync') || a.includes('template');
      if (c.tool === 'op') return a.includes('inject') || a.includes('read');
      return true;
    })
    .map(show);
