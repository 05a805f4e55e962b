import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parse, parseAllDocuments } from 'yaml';
import { addSampleApp, type SampleApp } from '../src/validate/sample-app.ts';
import { validateRepository } from '../src/validate/pipeline.ts';
import { findingLine, uniqueFindings } from '../src/validate/report.ts';
import type { ClusterResult, KObject } from '../src/validate/types.ts';
import { ROOT, SCHEMAS, scratchRepo, unexpectedFindings } from './helpers.ts';

const test = suite('components');

const LIBRARY = join(ROOT, 'kubernetes', 'components');
const COMPONENTS = ['cnpg', 'volsync/r2', 'volsync/nfs', 'gatus/external', 'gatus/internal', 'dragonfly', 'secpol'];
const DOMAIN: Record<string, string> = { infra: 'monosense.dev', apps: 'monosense.io' };

const deployment = (name: string): KObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name },
  spec: {
    replicas: 1,
    selector: { matchLabels: { 'app.kubernetes.io/name': name } },
    template: {
      metadata: { labels: { 'app.kubernetes.io/name': name } },
      spec: { containers: [{ name: 'app', image: 'ghcr.io/stefanprodan/podinfo:6.9.2' }] },
    },
  },
});

/** One sample app per component: its namespace, its name (APP), what it needs set. */
const samples: Record<string, Omit<SampleApp, 'components'>> = {
  cnpg: { namespace: 'sample-cnpg', name: 'cnpg-demo', substitute: { CNPG_DATABASE: 'cnpg_demo' } },
  'volsync/r2': { namespace: 'sample-volsync-r2', name: 'r2-demo' },
  'volsync/nfs': { namespace: 'sample-volsync-nfs', name: 'nfs-demo' },
  'gatus/external': { namespace: 'sample-gatus-external', name: 'gatus-ext' },
  'gatus/internal': { namespace: 'sample-gatus-internal', name: 'gatus-int' },
  dragonfly: { namespace: 'sample-dragonfly', name: 'df-demo' },
  // A workload in a tier-2 namespace with no policy of its own: secpol must be enough.
  secpol: { namespace: 'sample-secpol', name: 'secpol-demo', manifests: [deployment('secpol-demo')] },
};

const overrides: Record<string, Record<string, string>> = {
  cnpg: { CNPG_CLUSTER: 'pg-main', CNPG_NAMESPACE: 'databases', CNPG_DUMP_SCHEDULE: '0 4 * * 0', CNPG_DUMP_SUSPEND: 'true' },
  'volsync/r2': { VOLSYNC_SCHEDULE: '0 * * * *', VOLSYNC_CAPACITY: '20Gi', VOLSYNC_STORAGECLASS: 'openebs-hostpath', VOLSYNC_PUID: '568', VOLSYNC_PGID: '568' },
  'volsync/nfs': { VOLSYNC_SCHEDULE: '15 */6 * * *', VOLSYNC_CAPACITY: '50Gi' },
  'gatus/external': { GATUS_PATH: '/healthz', GATUS_INTERVAL: '5m', GATUS_STATUS: '204' },
  'gatus/internal': { GATUS_PORT: '8080', GATUS_PATH: '/ready' },
  dragonfly: { DRAGONFLY_REPLICAS: '3', DRAGONFLY_MEMORY: '2Gi' },
  secpol: {},
};

const validateWith = async (apps: SampleApp[]): Promise<ClusterResult[]> => {
  const root = await scratchRepo();
  for (const app of apps) addSampleApp(root, app);
  return (await validateRepository({ repo: root, schemaDirs: SCHEMAS })).results;
};

const appsFor = (withOverrides: boolean): SampleApp[] =>
  COMPONENTS.map((c) => ({ ...samples[c], components: [c], substitute: { ...samples[c].substitute, ...(withOverrides ? overrides[c] : {}) } }));

let defaults: ClusterResult[] = [];
let overridden: ClusterResult[] = [];

test.before(async () => {
  [defaults, overridden] = await Promise.all([validateWith(appsFor(false)), validateWith(appsFor(true))]);
});

const get = (results: ClusterResult[], cluster: string, kind: string, name: string, namespace: string): KObject => {
  const r = results.find((x) => x.cluster.name === cluster)!;
  const found = r.resources.find((x) => x.obj.kind === kind && x.obj.metadata?.name === name && x.obj.metadata?.namespace === namespace);
  assert.ok(found, `${cluster}: ${kind} ${namespace}/${name} was not rendered`);
  return found!.obj;
};

const inNamespace = (results: ClusterResult[], namespace: string): KObject[] =>
  results.flatMap((r) => r.resources.filter((x) => x.obj.metadata?.namespace === namespace).map((x) => x.obj));

// ---------------------------------------------------------------- the library's shape

/** `${VAR:=default}` and `${VAR}` uses in a component's files: variable -> default (undefined: required). */
const variablesOf = (dir: string): Map<string, string | undefined> => {
  const vars = new Map<string, string | undefined>();
  for (const f of readdirSync(dir).filter((f) => f.endsWith('.yaml'))) {
    for (const m of readFileSync(join(dir, f), 'utf8').matchAll(/\$\{([A-Z_][A-Z0-9_]*)(?::=((?:[^{}]|\$\{[^}]*\})*))?\}/g)) {
      if (!vars.has(m[1]) || vars.get(m[1]) === undefined) vars.set(m[1], m[2]);
    }
  }
  return vars;
};

for (const c of COMPONENTS) {
  test(`${c}: a Component whose files all exist, each YAML with its schema line, every variable documented`, () => {
    const dir = join(LIBRARY, c);
    const k = parse(readFileSync(join(dir, 'kustomization.yaml'), 'utf8'));
    assert.is(k.apiVersion, 'kustomize.config.k8s.io/v1alpha1');
    assert.is(k.kind, 'Component');
    const yamls = readdirSync(dir).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml' && f !== 'kustomizeconfig.yaml');
    assert.equal([...k.resources].map((r: string) => r.replace(/^\.\//, '')).sort(), yamls.sort(), 'kustomization.yaml lists exactly the resource files');
    for (const f of readdirSync(dir).filter((f) => f.endsWith('.yaml') && f !== 'kustomizeconfig.yaml')) {
      assert.match(readFileSync(join(dir, f), 'utf8').split('\n')[0], /^# yaml-language-server: \$schema=https:\/\//, `${c}/${f} first line`);
    }
    const readme = readFileSync(join(dir, 'README.md'), 'utf8');
    assert.match(readme, /## What it creates/);
    assert.match(readme, /## Variables/);
    assert.match(readme, /```yaml\n# kubernetes\/apps\/<namespace>\/<app>\/ks\.yaml\nspec:\n {2}(targetNamespace: \S+\n {2})?components:\n {4}- \.\.\/\.\.\/\.\.\/\.\.\/components\//);
    for (const [name, def] of variablesOf(dir)) {
      const row = readme.split('\n').find((l) => l.startsWith(`| \`${name}\` |`));
      assert.ok(row, `${c}/README.md documents ${name}`);
      if (def !== undefined && !['TIMEZONE'].includes(name)) assert.ok(row!.includes(`\`${def}\``), `${c}/README.md gives ${name}'s default ${def}: ${row}`);
      if (def === undefined && !['CLUSTER_NAME', 'CLUSTER_DOMAIN'].includes(name)) assert.ok(row!.includes('(required)'), `${c}/README.md says ${name} is required: ${row}`);
    }
  });
}

test('the library README lists every component', () => {
  const readme = readFileSync(join(LIBRARY, 'README.md'), 'utf8');
  for (const c of COMPONENTS) assert.ok(readme.includes(`[\`${c}/\`](${c}/README.md)`), c);
});

// ---------------------------------------------------------------- built through sample apps

test('every component, with its defaults, builds through a sample app on both clusters with zero findings', () => {
  assert.equal(defaults.map((r) => r.cluster.name).sort(), ['apps', 'infra']);
  assert.equal(unexpectedFindings(uniqueFindings(defaults)).map(findingLine), []);
});

test('every component, with overrides, builds with zero findings', () => {
  assert.equal(unexpectedFindings(uniqueFindings(overridden)).map(findingLine), []);
});

test('nothing is left unsubstituted, and External Secrets templates stay literal', () => {
  for (const c of COMPONENTS) {
    const text = JSON.stringify(inNamespace(defaults, samples[c].namespace));
    assert.not.match(text, /\$\{/, `${c} left a \${...}`);
  }
  const es = get(defaults, 'infra', 'ExternalSecret', 'cnpg-demo-initdb-secret', 'sample-cnpg');
  assert.is(es.spec.target.template.data.INIT_POSTGRES_PASS, '{{ .password }}');
});

test('cnpg: initdb and pguser secrets, the dump job and its policies', () => {
  const ns = 'sample-cnpg';
  const initdb = get(defaults, 'infra', 'ExternalSecret', 'cnpg-demo-initdb-secret', ns);
  assert.equal(initdb.spec.secretStoreRef, { kind: 'ClusterSecretStore', name: 'onepassword' });
  assert.is(initdb.apiVersion, 'external-secrets.io/v1');
  assert.equal(initdb.spec.target.template.data, {
    INIT_POSTGRES_HOST: 'postgres-rw.databases.svc.cluster.local',
    INIT_POSTGRES_PORT: '5432',
    INIT_POSTGRES_DBNAME: 'cnpg_demo',
    INIT_POSTGRES_USER: 'cnpg_demo',
    INIT_POSTGRES_PASS: '{{ .password }}',
    INIT_POSTGRES_SUPER_PASS: '{{ .superPassword }}',
  });
  assert.equal(initdb.spec.data.map((d: KObject) => d.remoteRef), [
    { key: 'cnpg-demo', property: 'POSTGRES_PASSWORD' },
    { key: 'cloudnative-pg', property: 'POSTGRES_SUPER_PASS' },
  ]);
  const pguser = get(defaults, 'infra', 'ExternalSecret', 'cnpg-demo-pguser-secret', ns);
  assert.equal(Object.keys(pguser.spec.target.template.data).sort(), ['dbname', 'host', 'password', 'port', 'uri', 'user']);
  assert.is(pguser.spec.target.template.data.uri, 'postgresql://cnpg_demo:{{ .password | urlquery }}@postgres-rw.databases.svc.cluster.local:5432/cnpg_demo');
  for (const cluster of ['infra', 'apps']) {
    const dump = get(defaults, cluster, 'ExternalSecret', 'cnpg-demo-pgdump-secret', ns);
    assert.ok(dump.spec.target.template.data.RESTIC_REPOSITORY.endsWith(`/k8s-ops-cnpg-${cluster}/pgdump/cnpg-demo`));
  }
  const cron = get(defaults, 'infra', 'CronJob', 'cnpg-demo-pgdump', ns);
  assert.is(cron.spec.schedule, '30 2 * * *');
  assert.is(cron.spec.timeZone, 'Asia/Jakarta');
  assert.is(cron.spec.suspend, false);
  const pod = cron.spec.jobTemplate.spec.template;
  assert.is(pod.metadata.labels['app.kubernetes.io/name'], 'cnpg-demo');
  assert.match(pod.spec.initContainers[0].image, /^docker\.io\/library\/postgres:\d+\.\d+-alpine$/);
  const cnp = get(defaults, 'infra', 'CiliumNetworkPolicy', 'cnpg-demo-cnpg', ns);
  assert.equal(cnp.spec.egress[1].toEndpoints[0].matchLabels, { 'io.kubernetes.pod.namespace': 'databases', 'cnpg.io/cluster': 'postgres' });
  get(defaults, 'infra', 'CiliumNetworkPolicy', 'cnpg-demo-pgdump', ns);

  const over = get(overridden, 'infra', 'ExternalSecret', 'cnpg-demo-pguser-secret', ns);
  assert.is(over.spec.target.template.data.host, 'pg-main-rw.databases.svc.cluster.local');
  const overCron = get(overridden, 'infra', 'CronJob', 'cnpg-demo-pgdump', ns);
  assert.is(overCron.spec.schedule, '0 4 * * 0');
  assert.is(overCron.spec.suspend, true);
  assert.is(get(overridden, 'infra', 'CiliumNetworkPolicy', 'cnpg-demo-cnpg', ns).spec.egress[1].toEndpoints[0].matchLabels['cnpg.io/cluster'], 'pg-main');
});

test('volsync/r2: claim, source every 8 hours with 24 hourly and 7 daily, destination, R2 repository per cluster', () => {
  const ns = 'sample-volsync-r2';
  const rs = get(defaults, 'infra', 'ReplicationSource', 'r2-demo', ns);
  assert.is(rs.apiVersion, 'volsync.backube/v1alpha1');
  assert.is(rs.spec.sourcePVC, 'r2-demo');
  assert.is(rs.spec.trigger.schedule, '0 */8 * * *');
  assert.equal(rs.spec.restic.retain, { hourly: 24, daily: 7 });
  assert.is(rs.spec.restic.copyMethod, 'Snapshot');
  assert.is(rs.spec.restic.volumeSnapshotClassName, 'csi-ceph-blockpool');
  assert.is(rs.spec.restic.repository, 'r2-demo-volsync-secret');
  const mover = { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000, fsGroupChangePolicy: 'OnRootMismatch', seccompProfile: { type: 'RuntimeDefault' } };
  assert.equal(rs.spec.restic.moverSecurityContext, mover);
  const pvc = get(defaults, 'infra', 'PersistentVolumeClaim', 'r2-demo', ns);
  assert.is(pvc.spec.resources.requests.storage, '5Gi');
  assert.is(pvc.spec.storageClassName, 'ceph-block');
  assert.equal(pvc.spec.dataSourceRef, { apiGroup: 'volsync.backube', kind: 'ReplicationDestination', name: 'r2-demo-dst' });
  const rd = get(defaults, 'infra', 'ReplicationDestination', 'r2-demo-dst', ns);
  assert.equal(rd.spec.trigger, { manual: 'restore-once' });
  assert.is(rd.spec.restic.capacity, '5Gi');
  assert.equal(rd.spec.restic.moverSecurityContext, mover);
  const check = get(defaults, 'infra', 'CronJob', 'r2-demo-volsync-check', ns);
  assert.is(check.spec.schedule, '30 4 * * 0');
  assert.is(check.spec.timeZone, 'Asia/Jakarta');
  const checkPod = check.spec.jobTemplate.spec.template;
  assert.equal(checkPod.metadata.labels, rs.spec.restic.moverPodLabels, 'the check is labelled like the mover, so the R2 policy applies to it');
  assert.equal(checkPod.spec.containers[0].command, ['restic', 'check', '--read-data-subset=5%']);
  assert.equal(checkPod.spec.containers[0].envFrom, [{ secretRef: { name: 'r2-demo-volsync-secret' } }]);
  assert.is(checkPod.spec.securityContext.runAsUser, 1000);
  for (const cluster of ['infra', 'apps']) {
    const es = get(defaults, cluster, 'ExternalSecret', 'r2-demo-volsync-secret', ns);
    assert.is(es.spec.target.template.data.RESTIC_REPOSITORY, `s3:https://{{ .R2_ACCOUNT_ID }}.r2.cloudflarestorage.com/k8s-ops-volsync-${cluster}/r2-demo`);
  }
  get(defaults, 'infra', 'CiliumNetworkPolicy', 'r2-demo-volsync', ns);

  const over = get(overridden, 'infra', 'ReplicationSource', 'r2-demo', ns);
  assert.is(over.spec.trigger.schedule, '0 * * * *');
  assert.is(over.spec.restic.storageClassName, 'openebs-hostpath');
  assert.is(over.spec.restic.moverSecurityContext.runAsUser, 568);
  assert.is(get(overridden, 'infra', 'PersistentVolumeClaim', 'r2-demo', ns).spec.resources.requests.storage, '20Gi');
  assert.is(get(overridden, 'infra', 'ReplicationDestination', 'r2-demo-dst', ns).spec.restic.capacity, '20Gi');
  const overCheck = get(overridden, 'infra', 'CronJob', 'r2-demo-volsync-check', ns).spec.jobTemplate.spec.template.spec.securityContext;
  assert.equal([overCheck.runAsUser, overCheck.runAsGroup], [568, 568]);
});

test('volsync/nfs: a repository path on the share, movers labelled for the NFS mount, no R2', () => {
  const ns = 'sample-volsync-nfs';
  const es = get(defaults, 'apps', 'ExternalSecret', 'nfs-demo-volsync-secret', ns);
  assert.equal(es.spec.target.template.data, { RESTIC_REPOSITORY: '/repository/apps/nfs-demo', RESTIC_PASSWORD: '{{ .RESTIC_PASSWORD }}' });
  assert.equal(es.spec.dataFrom, [{ extract: { key: 'volsync-nfs' } }]);
  for (const [kind, name] of [['ReplicationSource', 'nfs-demo'], ['ReplicationDestination', 'nfs-demo-dst']]) {
    assert.is(get(defaults, 'infra', kind, name, ns).spec.restic.moverPodLabels['monosense.dev/volsync-repository'], 'nfs');
  }
  assert.is(get(defaults, 'infra', 'ReplicationSource', 'nfs-demo', ns).spec.trigger.schedule, '0 */8 * * *');
  assert.is(get(overridden, 'infra', 'ReplicationSource', 'nfs-demo', ns).spec.trigger.schedule, '15 */6 * * *');
  assert.is(get(overridden, 'infra', 'PersistentVolumeClaim', 'nfs-demo', ns).spec.resources.requests.storage, '50Gi');
  assert.not.ok(JSON.stringify(inNamespace(defaults, ns)).includes('r2.cloudflarestorage.com'));
  const check = get(defaults, 'infra', 'CronJob', 'nfs-demo-volsync-check', ns);
  assert.is(check.spec.jobTemplate.spec.template.metadata.labels['monosense.dev/volsync-repository'], 'nfs', 'the check gets the share mounted like the movers');
  assert.is(get(overridden, 'infra', 'CronJob', 'nfs-demo-volsync-check', ns).spec.schedule, '30 4 * * 0');
  const cnp = get(defaults, 'infra', 'CiliumNetworkPolicy', 'nfs-demo-volsync', ns);
  assert.equal([cnp.spec.ingress, cnp.spec.egress], [[], []], 'the movers need no network: the policy allows nothing');
});

const endpointOf = (cm: KObject, app: string) => parse(cm.data[`${app}.yaml`]).endpoints[0];

test('gatus/external: an endpoint ConfigMap for the sidecar, host under each cluster domain', () => {
  const ns = 'sample-gatus-external';
  for (const cluster of ['infra', 'apps']) {
    const cm = get(defaults, cluster, 'ConfigMap', 'gatus-ext-gatus-ep', ns);
    assert.equal(cm.metadata.labels, { 'gatus.io/enabled': 'true' });
    assert.equal(endpointOf(cm, 'gatus-ext'), {
      name: 'gatus-ext',
      group: 'external',
      url: `https://gatus-ext.${DOMAIN[cluster]}/`,
      interval: '1m',
      client: { 'dns-resolver': 'tcp://1.1.1.1:53' },
      conditions: ['[STATUS] == 200'],
    });
  }
  const over = endpointOf(get(overridden, 'infra', 'ConfigMap', 'gatus-ext-gatus-ep', ns), 'gatus-ext');
  assert.is(over.url, 'https://gatus-ext.monosense.dev/healthz');
  assert.is(over.interval, '5m');
  assert.equal(over.conditions, ['[STATUS] == 204']);
});

test('gatus/internal: the Service URL carries the targetNamespace; Gatus is let in', () => {
  const ns = 'sample-gatus-internal';
  const ep = endpointOf(get(defaults, 'infra', 'ConfigMap', 'gatus-int-gatus-ep', ns), 'gatus-int');
  assert.is(ep.group, 'internal');
  assert.is(ep.url, 'http://gatus-int.sample-gatus-internal.svc.cluster.local:80/');
  assert.equal(ep.conditions, ['[STATUS] == 200']);
  const over = endpointOf(get(overridden, 'infra', 'ConfigMap', 'gatus-int-gatus-ep', ns), 'gatus-int');
  assert.is(over.url, 'http://gatus-int.sample-gatus-internal.svc.cluster.local:8080/ready');
  const cnp = get(defaults, 'infra', 'CiliumNetworkPolicy', 'gatus-int-gatus', ns);
  assert.equal(cnp.spec.ingress[0].fromEndpoints[0].matchLabels, { 'io.kubernetes.pod.namespace': 'observability', 'app.kubernetes.io/name': 'gatus' });
});

test('dragonfly: a pinned instance with two replicas by default, reachable from the app only', () => {
  const ns = 'sample-dragonfly';
  const df = get(defaults, 'infra', 'Dragonfly', 'df-demo-dragonfly', ns);
  assert.is(df.apiVersion, 'dragonflydb.io/v1alpha1');
  assert.is(df.spec.replicas, 2);
  assert.match(df.spec.image, /^docker\.dragonflydb\.io\/dragonflydb\/dragonfly:v\d+\.\d+\.\d+$/);
  assert.equal(df.spec.resources.limits, { memory: '1Gi' });
  assert.ok(df.spec.args.includes('--maxmemory=$(MAX_MEMORY)Mi'), 'the kubelet expansion is left to the kubelet');
  const client = get(defaults, 'infra', 'CiliumNetworkPolicy', 'df-demo-dragonfly-client', ns);
  assert.equal(client.spec.endpointSelector.matchLabels, { 'app.kubernetes.io/name': 'df-demo' });
  assert.equal(client.spec.egress[0].toEndpoints[0].matchLabels, { 'monosense.dev/dragonfly': 'df-demo' });
  get(defaults, 'infra', 'CiliumNetworkPolicy', 'df-demo-dragonfly', ns);
  const over = get(overridden, 'infra', 'Dragonfly', 'df-demo-dragonfly', ns);
  assert.is(over.spec.replicas, 3);
  assert.equal(over.spec.resources.limits, { memory: '2Gi' });
});

test('secpol: DNS and intra-app traffic for the app pods', () => {
  const cnp = get(defaults, 'apps', 'CiliumNetworkPolicy', 'secpol-demo-default', 'sample-secpol');
  assert.equal(cnp.spec.endpointSelector.matchLabels, { 'app.kubernetes.io/name': 'secpol-demo' });
  assert.equal(cnp.spec.egress[0].toEndpoints[0].matchLabels, { 'io.kubernetes.pod.namespace': 'kube-system', 'k8s-app': 'kube-dns' });
  assert.equal(cnp.spec.egress[1].toEndpoints[0].matchLabels, { 'app.kubernetes.io/name': 'secpol-demo' });
  assert.equal(cnp.spec.ingress[0].fromEndpoints[0].matchLabels, { 'app.kubernetes.io/name': 'secpol-demo' });
});

test('what the components cannot cover is reported: a missing required knob, an unknown storage class, a workload without secpol', async () => {
  const results = await validateWith([
    { namespace: 'neg-cnpg', name: 'neg-cnpg', components: ['cnpg'] },
    { namespace: 'neg-volsync', name: 'neg-volsync', components: ['volsync/r2'], substitute: { VOLSYNC_STORAGECLASS: 'fast-nvme' } },
    { namespace: 'neg-secpol', name: 'neg-secpol', components: [], manifests: [deployment('neg-secpol')] },
  ]);
  // Only what the three sample apps and the components bring; the rest of the tree is not this test's.
  const findings = uniqueFindings(results).filter((f) => /^kubernetes\/(components\/|apps\/neg-)/.test(f.file));
  const got = findings.map((f) => `${f.rule} ${f.file}`).sort();
  assert.equal(
    [...new Set(got)],
    [
      'network-policy kubernetes/apps/neg-secpol/namespace.yaml',
      'storage-class kubernetes/components/volsync/r2/persistentvolumeclaim.yaml',
      'storage-class kubernetes/components/volsync/r2/replicationdestination.yaml',
      'storage-class kubernetes/components/volsync/r2/replicationsource.yaml',
      'unresolved-variable kubernetes/components/cnpg/externalsecret.yaml',
    ],
    findings.map(findingLine).join('\n'),
  );
  assert.ok(findings.some((f) => f.rule === 'unresolved-variable' && f.message.includes('CNPG_DATABASE')), findings.map(findingLine).join('\n'));
});

test('each component file parses as YAML documents', () => {
  for (const c of COMPONENTS) {
    for (const f of readdirSync(join(LIBRARY, c)).filter((f) => f.endsWith('.yaml'))) {
      for (const d of parseAllDocuments(readFileSync(join(LIBRARY, c, f), 'utf8'))) assert.equal(d.errors, [], `${c}/${f}`);
    }
  }
});

test.run();
