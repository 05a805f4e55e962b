// scripts/openbao.ts (behind .taskfiles/openbao) against recording fakes of kubectl and op that answer like
// the infra cluster running OpenBao with the static key seal (tests/fakes/cluster-state.ts).
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CONFIG_TOKEN_SCRIPT, FIELDS, parseInit, parseStatus, parseToken } from '../scripts/openbao.ts';
import { fieldValue, withFields } from '../scripts/lib/op-item.ts';
import { createStubs, show, type Call } from './cli-stubs.ts';
import { opItem, readCluster, seedCluster, type Obj } from './fakes/cluster-state.ts';
import { ROOT, tempDir } from './helpers.ts';

const test = suite('openbao tasks script');
const SCRIPT = 'scripts/openbao.ts';
const NS = 'arsipq-platform';
const APP = 'clusters/infra/apps/arsipq-platform/openbao';
const SERVERS = ['openbao-0', 'openbao-1', 'openbao-2'];
const KEY = 'c2VhbC1rZXktb25lLXRoaXJ0eS10d28tYnl0ZXMtbG9uZyE=';

let stubs: ReturnType<typeof createStubs>;
test.before.each(() => {
  stubs = createStubs();
});
test.after.each(() => stubs.cleanup());

/** The repository's own manifests of the app, as they land in the namespace. */
const manifests = (file: string): Obj[] =>
  parseAllDocuments(readFileSync(join(ROOT, APP, file), 'utf8')).map((d) => ({ ...d.toJS(), metadata: { ...d.toJS().metadata, namespace: NS } }));

const server = (name: string): Obj => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: NS, labels: { 'app.kubernetes.io/name': 'openbao', component: 'server' } } });

/**
 * The infra cluster with OpenBao's three servers up, the operator's shell pointed at `context`: not yet
 * initialised (so sealed) unless `initialized`, the seal key in 1Password, the Secret holding `secretKey`.
 */
const running = (opts: { initialized?: boolean; sealed?: string[]; itemKey?: string; secretKey?: string; context?: string; fields?: Record<string, string> } = {}) => {
  const initialized = opts.initialized ?? false;
  writeFileSync(stubs.kubeconfig, 'apiVersion: v1\nkind: Config\n');
  seedCluster(stubs.state, {
    objects: [
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } },
      ...SERVERS.map(server),
      ...manifests('app/externalsecret.yaml'),
      ...manifests('config/externalsecret.yaml'),
      ...manifests('config/cronjob.yaml'),
    ],
    items: { openbao: opItem('openbao', { ...(opts.itemKey === '' ? {} : { [FIELDS.sealKey]: opts.itemKey ?? KEY }), ...(opts.fields ?? {}) }) },
    secrets: { [`${NS}/openbao-seal-secret`]: { data: { STATIC_SEAL_KEY: opts.secretKey ?? KEY }, previous: {}, readsSinceChange: 0 } },
    bao: { initialized, sealed: opts.sealed ?? (initialized ? [] : [...SERVERS]), sealKey: KEY, tokens: {}, policies: {} },
  });
  return { STUB_CONTEXTS: 'infra,apps', STUB_CONTEXT: opts.context ?? 'infra' };
};

const state = () => readCluster(stubs.state);
const item = () => JSON.stringify(state().items.openbao);
const lastLine = (text: string) => text.trimEnd().split('\n').pop() ?? '';
/** What the run did to the cluster and to 1Password, as short words. */
const story = (calls: Call[]): string[] =>
  calls.flatMap((c) => {
    const a = c.args;
    const cmd = a.includes('--') ? a.slice(a.indexOf('--') + 1) : [];
    if (c.tool === 'kubectl' && cmd[0] === 'bao') return [`bao ${cmd.slice(1, 3).join(' ')} @${a[a.indexOf('exec') + 3]}`.replace(' -format=json', '')];
    if (c.tool === 'kubectl' && cmd[0] === 'sh') return ['config-token'];
    if (c.tool === 'kubectl' && a.includes('annotate')) return [`force-sync ${a[a.indexOf('annotate') + 2]}`];
    if (c.tool === 'kubectl' && a.includes('create')) return ['create job'];
    if (c.tool === 'kubectl' && a.includes('delete')) return [`delete ${a[a.indexOf('delete') + 2]}`];
    if (c.tool === 'op' && a.includes('edit')) return ['op edit'];
    return [];
  });

test('init, confirmed: recovery keys and root token into 1Password, the config token from the policy in Git, one configuration run', async () => {
  const r = await stubs.runScript(SCRIPT, ['init'], running(), 'infra\n');
  assert.is(r.code, 0, r.stderr + r.stdout);
  assert.equal(story(stubs.calls()), ['bao status @openbao-0', 'bao status @openbao-0', 'bao operator init @openbao-0', 'op edit', 'config-token', 'op edit', 'force-sync openbao-config-secret', 'create job']);
  const s = state();
  assert.ok(s.bao!.initialized);
  assert.is(fieldValue(item(), FIELDS.rootToken, 'openbao'), s.bao!.rootToken);
  assert.is(fieldValue(item(), FIELDS.recoveryKeys, 'openbao')!.split('\n').length, 5);
  // The token the job uses has the job's policy only, written from the file in Git.
  const configToken = fieldValue(item(), FIELDS.configToken, 'openbao')!;
  assert.equal(s.bao!.tokens[configToken], ['openbao-config']);
  assert.is(s.bao!.policies['openbao-config'], readFileSync(join(ROOT, APP, 'config/policies/openbao-config.hcl'), 'utf8'));
  // The root token went in on stdin, never on a command line nor to the terminal.
  const calls = stubs.calls().map(show).join('\n');
  for (const secret of [s.bao!.rootToken!, configToken]) {
    assert.not.ok(calls.includes(secret), 'a token on a command line');
    assert.not.ok(r.stdout.includes(secret) || r.stderr.includes(secret), 'a token printed');
  }
  const job = s.objects.find((o) => o.kind === 'Job')!;
  assert.match(job.metadata.name, /^openbao-config-\d{8}-\d{6}$/);
  assert.equal(job.status, { succeeded: 1 });
  assert.match(r.stdout, /openbao configured: auth kubernetes, kv-v2 arsipq\/, policies 3/);
  assert.is(lastLine(r.stdout), 'OpenBao on infra is initialised and configured; the root token and recovery keys are in k8s-ops/openbao');
});

test('init again: the done steps are skipped, nothing is asked, the configuration runs once more', async () => {
  const env = running();
  const first = await stubs.runScript(SCRIPT, ['init', '--yes'], env);
  assert.is(first.code, 0, first.stderr);
  const before = stubs.calls().length;
  const r = await stubs.runScript(SCRIPT, ['init'], env);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /initialize: skipped, OpenBao is already initialised/);
  assert.match(r.stdout, /config-token: skipped, k8s-ops\/openbao already has BAO_CONFIG_TOKEN/);
  assert.equal(story(stubs.calls().slice(before)), ['bao status @openbao-0', 'bao status @openbao-0', 'force-sync openbao-config-secret', 'create job']);
  assert.not.match(r.stderr, /Type "/);
});

test('init without the config token but initialised takes the root token from 1Password', async () => {
  const env = running({ initialized: true });
  const s = state();
  s.bao!.rootToken = 's.rootfrom1password';
  s.bao!.tokens['s.rootfrom1password'] = ['root'];
  seedCluster(stubs.state, { ...s, items: { openbao: opItem('openbao', { [FIELDS.sealKey]: KEY, [FIELDS.rootToken]: 's.rootfrom1password' }) } });
  const r = await stubs.runScript(SCRIPT, ['init'], env);
  assert.is(r.code, 0, r.stderr);
  assert.ok(fieldValue(item(), FIELDS.configToken, 'openbao'));
  assert.not.ok(story(stubs.calls()).some((w) => w.startsWith('bao operator init')));
});

test('init is not typed away: nothing is initialised', async () => {
  const r = await stubs.runScript(SCRIPT, ['init'], running(), 'yes\n');
  assert.is(r.code, 1);
  assert.is(lastLine(r.stderr), 'openbao: not confirmed (typed "yes", expected "infra"): nothing was changed');
  assert.not.ok(state().bao!.initialized);
  assert.equal(story(stubs.calls()), ['bao status @openbao-0']);
});

test('init refuses a wrong kube-context before touching anything', async () => {
  const r = await stubs.runScript(SCRIPT, ['init', '--yes'], running({ context: 'apps' }));
  assert.is(r.code, 1);
  assert.is(r.stderr.trim(), 'openbao: kube-context is "apps", not "infra": run `kubectl config use-context infra` first');
  assert.ok(stubs.calls().every((c) => show(c).startsWith('kubectl config ')));
});

test('init refuses when 1Password has no seal key: the servers could never unseal', async () => {
  const r = await stubs.runScript(SCRIPT, ['init', '--yes'], running({ itemKey: '' }));
  assert.is(r.code, 1);
  assert.is(r.stderr.trim(), 'openbao: k8s-ops/openbao has no STATIC_SEAL_KEY: the servers cannot unseal without it (create it with `openssl rand -base64 32`)');
  assert.equal(story(stubs.calls()), []);
});

test('init keeps the keys in a private file when 1Password refuses them, and says where', async () => {
  const r = await stubs.runScript(SCRIPT, ['init', '--yes'], { ...running(), STUB_FAIL: 'op:edit=1' });
  assert.is(r.code, 1);
  const file = /they are in (\S+\/openbao-init-\w+\/init\.json);/.exec(r.stderr)?.[1];
  assert.ok(file && existsSync(file), r.stderr);
  try {
    assert.is(statSync(file!).mode & 0o777, 0o600);
    assert.is(JSON.parse(readFileSync(file!, 'utf8')).root_token, state().bao!.rootToken);
    assert.not.ok(r.stderr.includes(state().bao!.rootToken!), 'the root token printed');
    assert.match(r.stderr, /step initialize failed: OpenBao is initialised, but 1Password did not take its root token and recovery keys/);
  } finally {
    rmSync(dirname(file!), { recursive: true, force: true });
  }
});

test('unseal with every server unsealed does nothing', async () => {
  const r = await stubs.runScript(SCRIPT, ['unseal'], running({ initialized: true }));
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout.trim(), 'all 3 OpenBao servers on infra are unsealed; nothing to do');
  assert.equal(story(stubs.calls()), SERVERS.map((p) => `bao status @${p}`));
});

test('unseal, confirmed: the seal key is fetched again, then each sealed server restarts and comes back unsealed', async () => {
  const r = await stubs.runScript(SCRIPT, ['unseal'], running({ initialized: true, sealed: ['openbao-1', 'openbao-2'], secretKey: 'an-old-key' }), 'infra\n');
  assert.is(r.code, 0, r.stderr + r.stdout);
  assert.equal(story(stubs.calls()).filter((w) => !w.startsWith('bao status')), ['force-sync openbao-seal-secret', 'delete openbao-1', 'delete openbao-2']);
  assert.equal(state().bao!.sealed, []);
  assert.match(r.stderr, /This restarts the sealed OpenBao servers openbao-1, openbao-2 on infra, one at a time\./);
  assert.is(lastLine(r.stdout), 'all 3 OpenBao servers on infra are unsealed');
});

test('unseal stops at the first server that stays sealed, naming the key', async () => {
  const env = running({ initialized: true, sealed: ['openbao-1', 'openbao-2'], itemKey: 'a-wrong-key', secretKey: 'a-wrong-key' });
  const r = await stubs.runScript(SCRIPT, ['unseal', '--yes'], env);
  assert.is(r.code, 1);
  assert.match(lastLine(r.stderr), /^openbao: step restart failed: timed out after 5\.0s waiting for arsipq-platform\/openbao-1 to come back unsealed: is STATIC_SEAL_KEY in k8s-ops\/openbao the key the data was sealed with\?/);
  assert.equal(story(stubs.calls()).filter((w) => w.startsWith('delete')), ['delete openbao-1']);
});

test('unseal before init points at init', async () => {
  const r = await stubs.runScript(SCRIPT, ['unseal', '--yes'], running());
  assert.is(r.code, 1);
  assert.is(r.stderr.trim(), 'openbao: OpenBao on infra is not initialised: run `task openbao:init` first');
  assert.not.ok(stubs.calls().some((c) => c.args.includes('delete')));
});

test('--dry-run prints each plan and calls nothing', async () => {
  const init = await stubs.runScript(SCRIPT, ['init', '--dry-run']);
  assert.is(init.code, 0, init.stderr);
  assert.match(init.stdout, /^openbao init on infra: plan \(dry run, nothing is executed\)$/m);
  assert.match(init.stdout, /1\. initialize +bao operator init on the first server \(5 recovery keys, 3 to use them\)/);
  assert.match(init.stdout, /2\. config-token +write the policy openbao-config from clusters\/infra\/apps\/arsipq-platform\/openbao\/config\/policies\/openbao-config\.hcl/);
  assert.match(init.stdout, /3\. configure /);
  const unseal = await stubs.runScript(SCRIPT, ['unseal', '--dry-run']);
  assert.is(unseal.code, 0, unseal.stderr);
  assert.match(unseal.stdout, /1\. seal-key +have External Secrets fetch openbao-seal-secret again from k8s-ops\/openbao \(STATIC_SEAL_KEY\)/);
  assert.equal(stubs.calls(), []);
});

test('mistakes on the command line: one line, exit 2', async () => {
  const none = await stubs.runScript(SCRIPT, []);
  assert.is(none.code, 2);
  assert.is(none.stderr.trim(), 'openbao: a command is required: one of init, unseal (see --help)');
  const cluster = await stubs.runScript(SCRIPT, ['init', '--cluster', 'lab']);
  assert.is(cluster.code, 2);
  assert.is(cluster.stderr.trim(), 'openbao: --cluster must be one of infra, not "lab"');
  // The apps cluster runs no OpenBao: refused before anything is asked of it.
  const apps = await stubs.runScript(SCRIPT, ['unseal', '--cluster', 'apps']);
  assert.is(apps.code, 2);
  assert.is(apps.stderr.trim(), 'openbao: --cluster must be one of infra, not "apps"');
});

test('what OpenBao prints is read strictly', () => {
  assert.equal(parseStatus('{"type":"static","initialized":true,"sealed":false}'), { initialized: true, sealed: false, type: 'static' });
  assert.is(parseStatus('Error checking seal status: connection refused'), undefined);
  assert.equal(parseInit('{"root_token":"s.x","recovery_keys_b64":["a","b"]}'), { rootToken: 's.x', recoveryKeys: ['a', 'b'] });
  // A Shamir seal prints unseal keys and no recovery keys: the static seal is not configured.
  assert.throws(() => parseInit('{"root_token":"s.x","unseal_keys_b64":["a"],"recovery_keys_b64":[]}'), /printed no root token or recovery keys: is the seal the static key seal/);
  assert.is(parseToken('{"auth":{"client_token":"s.y"}}'), 's.y');
  assert.throws(() => parseToken('{}'), /did not print a client token/);
  assert.match(CONFIG_TOKEN_SCRIPT, /^read -r BAO_TOKEN && export BAO_TOKEN && bao policy write openbao-config - >\/dev\/null && bao token create -orphan -policy=openbao-config -period=768h /);
});

test('1Password fields are replaced or added, concealed', () => {
  const json = JSON.stringify(opItem('openbao', { STATIC_SEAL_KEY: 'k' }));
  const edited = JSON.parse(withFields(json, { STATIC_SEAL_KEY: 'k2', BAO_ROOT_TOKEN: 's.r' }, 'openbao'));
  assert.equal(edited.fields.map((f: any) => [f.label, f.value]), [['STATIC_SEAL_KEY', 'k2'], ['BAO_ROOT_TOKEN', 's.r']]);
  assert.is(edited.fields[1].type, 'CONCEALED');
  assert.is(fieldValue(json, 'BAO_ROOT_TOKEN', 'openbao'), undefined);
  assert.throws(() => withFields('not json', {}, 'openbao'), /op item get openbao did not print JSON/);
});

test('the Taskfile runs the script for CLUSTER (infra by default) and is included as openbao', () => {
  const tasks = parse(readFileSync(join(ROOT, '.taskfiles', 'openbao', 'Taskfile.yaml'), 'utf8'));
  assert.equal(Object.keys(tasks.tasks), ['init', 'unseal']);
  for (const name of ['init', 'unseal']) {
    assert.is(tasks.tasks[name].cmd, `node --import tsx scripts/openbao.ts ${name} --cluster {{.CLUSTER | default "infra"}} {{.CLI_ARGS}}`);
    assert.ok(tasks.tasks[name].interactive, `openbao:${name} asks for a confirmation`);
  }
  assert.is(parse(readFileSync(join(ROOT, 'Taskfile.yaml'), 'utf8')).includes.openbao, '.taskfiles/openbao');
});

// ---------------------------------------------------------------- configure.sh, the CronJob's script

/**
 * The bao CLI as configure.sh uses it, answering like OpenBao: its state in files under $BAO_FAKE (the
 * token it accepts, enabled auth methods and mounts, policies, written paths), every call appended to
 * $BAO_FAKE/calls. Enabling a path that is in use fails as the real server does; so does a wrong token.
 */
const FAKE_BAO = `#!/bin/sh
state=$BAO_FAKE
echo "$*" >> "$state/calls"
fail() { printf 'Error making API request.\\n\\nCode: %s. Errors:\\n\\n* %s\\n' "$1" "$2" >&2; exit 2; }
[ "$BAO_TOKEN" = "$(cat "$state/token")" ] || fail 403 'permission denied'
case "$1 $2" in
  "token renew") echo 'Key Value' ;;
  "auth list")
    printf '{"token/":{"type":"token"}'
    while read -r a; do printf ',"%s/":{"type":"%s"}' "$a" "$a"; done < "$state/auths"
    echo '}' ;;
  "auth enable")
    grep -qx "$3" "$state/auths" && fail 400 "path is already in use at $3/"
    echo "$3" >> "$state/auths" ;;
  "secrets list")
    printf '{"cubbyhole/":{"type":"cubbyhole"},"identity/":{"type":"identity"},"sys/":{"type":"system"}'
    while read -r m v; do printf ',"%s/":{"type":"kv","options":{"version":"%s"}}' "$m" "$v"; done < "$state/mounts"
    echo '}' ;;
  "secrets enable")
    path=$(echo "$3" | sed 's/^-path=//'); version=$(echo "$4" | sed 's/^-version=//')
    [ "$5" = kv ] || fail 400 "unknown secrets engine $5"
    grep -q "^$path " "$state/mounts" && fail 400 "path is already in use at $path/"
    echo "$path $version" >> "$state/mounts" ;;
  "policy write") cp "$4" "$state/policies/$3" ;;
  "write auth/kubernetes/"*)
    grep -qx kubernetes "$state/auths" || fail 404 "no handler for route \\"$2\\""
    file=$(echo "$2" | tr / _); shift 2; echo "$*" > "$state/paths/$file" ;;
  *) fail 405 "unsupported path" ;;
esac
`;

const CONFIG_DIR = join(ROOT, APP, 'config');

/** The ConfigMap openbao-config as the CronJob mounts it at /config: each configMapGenerator file under its base name. */
const mountConfig = (into: string): string => {
  const generator = parse(readFileSync(join(CONFIG_DIR, 'kustomization.yaml'), 'utf8')).configMapGenerator.find((g: any) => g.name === 'openbao-config');
  mkdirSync(into);
  for (const file of generator.files as string[]) copyFileSync(join(CONFIG_DIR, file), join(into, basename(file)));
  return into;
};

const configureRig = () => {
  const dir = tempDir('openbao-configure-');
  const bin = join(dir, 'bin');
  const fake = join(dir, 'openbao');
  mkdirSync(bin);
  writeFileSync(join(bin, 'bao'), FAKE_BAO);
  chmodSync(join(bin, 'bao'), 0o755);
  for (const d of ['policies', 'paths']) mkdirSync(join(fake, d), { recursive: true });
  for (const f of ['auths', 'mounts', 'calls']) writeFileSync(join(fake, f), '');
  writeFileSync(join(fake, 'token'), 's.config-token');
  const mount = mountConfig(join(dir, 'config'));
  const run = (token = 's.config-token') => {
    const before = readFileSync(join(fake, 'calls'), 'utf8').split('\n').filter(Boolean).length;
    const r = spawnSync('sh', [join(mount, 'configure.sh')], { encoding: 'utf8', env: { PATH: `${bin}:${process.env.PATH}`, BAO_FAKE: fake, BAO_TOKEN: token } });
    const calls = readFileSync(join(fake, 'calls'), 'utf8').split('\n').filter(Boolean).slice(before);
    return { code: r.status, stdout: r.stdout, stderr: r.stderr, calls };
  };
  const read = (f: string) => readFileSync(join(fake, f), 'utf8');
  const lines = (f: string) => read(f).split('\n').filter(Boolean);
  const state = () => ({
    auths: lines('auths'),
    mounts: lines('mounts'),
    policies: Object.fromEntries(readdirSync(join(fake, 'policies')).sort().map((p) => [p, read(join('policies', p))])),
    paths: Object.fromEntries(readdirSync(join(fake, 'paths')).sort().map((p) => [p, read(join('paths', p)).trim()])),
  });
  return { dir, fake, mount, run, state, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
};

const POLICY_FILES = readdirSync(join(CONFIG_DIR, 'policies')).filter((f) => f.endsWith('.hcl')).sort();

test('configure.sh on a new OpenBao: Kubernetes auth, the KV v2 mount arsipq, every policy file, the role of arsipq-backend', () => {
  const rig = configureRig();
  try {
    const r = rig.run();
    assert.is(r.code, 0, r.stderr);
    const s = rig.state();
    assert.equal(s.auths, ['kubernetes']);
    assert.equal(s.mounts, ['arsipq 2']);
    assert.equal(Object.keys(s.policies), POLICY_FILES.map((f) => f.replace(/\.hcl$/, '')));
    for (const f of POLICY_FILES) assert.is(s.policies[f.replace(/\.hcl$/, '')], readFileSync(join(CONFIG_DIR, 'policies', f), 'utf8'));
    assert.is(s.paths['auth_kubernetes_config'], 'kubernetes_host=https://kubernetes.default.svc:443');
    assert.is(s.paths['auth_kubernetes_role_arsipq-backend'], 'bound_service_account_names=arsipq-backend bound_service_account_namespaces=arsipq token_policies=arsipq-backend token_ttl=1h token_max_ttl=4h');
    assert.is(r.stdout.trim(), `openbao configured: auth kubernetes, kv-v2 arsipq/, policies ${POLICY_FILES.length}`);
  } finally {
    rig.cleanup();
  }
});

test('configure.sh again changes nothing it made, enables nothing twice, and puts back what was removed by hand', () => {
  const rig = configureRig();
  try {
    assert.is(rig.run().code, 0);
    const first = rig.state();
    const again = rig.run();
    assert.is(again.code, 0, again.stderr);
    assert.equal(rig.state(), first);
    assert.equal(again.calls.filter((c) => / enable /.test(` ${c} `)), []);
    rmSync(join(rig.fake, 'policies', 'arsipq-backend'));
    rmSync(join(rig.fake, 'paths', 'auth_kubernetes_role_arsipq-backend'));
    assert.is(rig.run().code, 0);
    assert.equal(rig.state(), first);
  } finally {
    rig.cleanup();
  }
});

test('configure.sh with a token OpenBao refuses fails, and changes nothing', () => {
  const rig = configureRig();
  try {
    const r = rig.run('s.revoked');
    assert.is.not(r.code, 0);
    assert.match(r.stderr, /permission denied/);
    assert.equal(rig.state(), { auths: [], mounts: [], policies: {}, paths: {} });
  } finally {
    rig.cleanup();
  }
});

/** `path "..." { capabilities = [...] }` of an ACL policy file. */
const aclOf = (hcl: string): Map<string, string[]> =>
  new Map([...hcl.matchAll(/path\s+"([^"]+)"\s*\{\s*capabilities\s*=\s*\[([^\]]*)\]/g)].map(([, path, caps]) => [path, [...caps.matchAll(/"([^"]+)"/g)].map((c) => c[1])]));

/** The capabilities a path has under an ACL: the exact rule, else the longest glob (`prefix*`) matching it. */
const capabilitiesOf = (acl: Map<string, string[]>, path: string): string[] => {
  if (acl.has(path)) return acl.get(path)!;
  const globs = [...acl.keys()].filter((p) => p.endsWith('*') && path.startsWith(p.slice(0, -1))).sort((a, b) => b.length - a.length);
  return globs.length ? acl.get(globs[0])! : [];
};

/** The API request behind each bao command configure.sh runs, and the capabilities OpenBao checks for it. */
const requestOf = (call: string): [string, string[]] => {
  const [a, b, c, d] = call.split(' ');
  if (a === 'token' && b === 'renew') return ['auth/token/renew-self', ['update']];
  if (a === 'auth' && b === 'list') return ['sys/auth', ['read']];
  if (a === 'auth' && b === 'enable') return [`sys/auth/${c}`, ['update', 'sudo']];
  if (a === 'secrets' && b === 'list') return ['sys/mounts', ['read']];
  if (a === 'secrets' && b === 'enable') return [`sys/mounts/${c.replace(/^-path=/, '')}`, ['update']];
  if (a === 'policy' && b === 'write') return [`sys/policies/acl/${c}`, ['create', 'update']];
  if (a === 'write') return [b, ['create', 'update']];
  throw new Error(`no request known for bao ${call} (${d ?? ''})`);
};

test('the configuration token’s policy (openbao-config.hcl) allows every request configure.sh makes, and reads no secret', () => {
  const rig = configureRig();
  try {
    const r = rig.run();
    assert.is(r.code, 0, r.stderr);
    const acl = aclOf(readFileSync(join(CONFIG_DIR, 'policies', 'openbao-config.hcl'), 'utf8'));
    const denied = r.calls.map(requestOf).filter(([path, need]) => !need.every((c) => capabilitiesOf(acl, path).includes(c)));
    assert.equal(denied, []);
    assert.equal(capabilitiesOf(acl, 'arsipq/data/arsipq-backend'), []);
    // The check can fail: a path outside the policy is denied.
    assert.not.ok(capabilitiesOf(acl, 'sys/policies/acl').includes('update'));
  } finally {
    rig.cleanup();
  }
});

test('the snapshot token’s policy (raft-snapshot.hcl) is written by configure.sh and reads a Raft snapshot, nothing else', () => {
  const rig = configureRig();
  try {
    assert.is(rig.run().code, 0);
    const written = rig.state().policies['raft-snapshot'];
    assert.is(written, readFileSync(join(CONFIG_DIR, 'policies', 'raft-snapshot.hcl'), 'utf8'));
    const acl = aclOf(written);
    assert.equal([...acl], [['sys/storage/raft/snapshot', ['read']]]);
    // `bao operator raft snapshot save` is a GET of that path; a restore (snapshot-force) is not allowed.
    assert.equal(capabilitiesOf(acl, 'sys/storage/raft/snapshot-force'), []);
    assert.equal(capabilitiesOf(acl, 'arsipq/data/application'), []);
  } finally {
    rig.cleanup();
  }
});

test.run();
