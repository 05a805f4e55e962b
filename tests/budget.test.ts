import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { checkBudgets, nodeCount } from '../src/validate/budget.ts';
import { defaultConfig, loadConfig, type Budget } from '../src/validate/config.ts';
import { validateRepository } from '../src/validate/pipeline.ts';
import { formatCpu, formatMemory, parseQuantity } from '../src/validate/quantity.ts';
import type { KObject, Resource } from '../src/validate/types.ts';
import { demandOf } from '../src/validate/workload-resources.ts';
import { CACHE, SCHEMAS, tempDir } from './helpers.ts';

const test = suite('resource budget');

const Mi = 2 ** 20;
const Gi = 2 ** 30;

const write = (root: string, path: string, text: string) => {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), text);
};

const resource = (obj: KObject, file = `kubernetes/apps/${obj.metadata?.namespace}/${obj.metadata?.name}.yaml`): Resource => ({ obj, appliedBy: 'flux-system/test', origin: { file }, sops: false });

const container = (name: string, resources?: KObject, extra: KObject = {}) => ({ name, image: 'ghcr.io/example/app:1.0.0', ...(resources ? { resources } : {}), ...extra });
const limited = (memory: string, request?: string) => ({ limits: { memory }, ...(request ? { requests: { memory: request } } : {}) });

const workload = (kind: string, name: string, pod: KObject, spec: KObject = {}, namespace = 'monitoring'): KObject => {
  const template = { metadata: { labels: { app: name } }, spec: pod };
  const apiVersion = ['Job', 'CronJob'].includes(kind) ? 'batch/v1' : kind === 'Pod' ? 'v1' : 'apps/v1';
  const body = kind === 'Pod' ? pod : kind === 'CronJob' ? { schedule: '0 * * * *', jobTemplate: { spec: { template } }, ...spec } : { template, ...spec };
  return { apiVersion, kind, metadata: { name, namespace }, spec: body };
};

const cr = (apiVersion: string, kind: string, name: string, spec: KObject, namespace = 'monitoring'): KObject => ({ apiVersion, kind, metadata: { name, namespace }, spec });

const configWith = (...budgets: Budget[]) => ({ ...defaultConfig(), budgets });
const monitoring = (extra: Partial<Budget> = {}): Budget => ({ name: 'monitoring', cluster: 'lab', namespaces: ['monitoring'], memory: '4Gi', ...extra });

/** The findings without the line hints, in a comparable shape. */
const shape = (findings: ReturnType<typeof checkBudgets>) => findings.map((f) => ({ severity: f.severity, file: f.file, message: f.message, path: f.at?.path }));

test('quantities parse as Kubernetes writes them and print back in their largest unit', () => {
  assert.is(parseQuantity('512Mi'), 512 * Mi);
  assert.is(parseQuantity('1.5Gi'), 1.5 * Gi);
  assert.is(parseQuantity('250m'), 0.25);
  assert.is(parseQuantity('2'), 2);
  assert.is(parseQuantity(3), 3);
  assert.is(parseQuantity('1k'), 1000);
  assert.is(parseQuantity('129e6'), 129e6);
  assert.is(parseQuantity('1E'), 1e18);
  assert.is(parseQuantity('.5'), 0.5);
  for (const bad of ['1Gb', '1 Gi', 'lots', '', '1e', null, {}]) assert.is(parseQuantity(bad), undefined, String(bad));
  assert.is(formatMemory(4.5 * Gi), '4.5Gi');
  assert.is(formatMemory(384 * Mi), '384Mi');
  assert.is(formatMemory(1536), '1.5Ki');
  assert.is(formatMemory(100), '100');
  assert.is(formatCpu(0.25), '250m');
  assert.is(formatCpu(1.5), '1.5');
});

test('a pod counts as the scheduler counts it: containers and sidecars together, or a bigger init container', () => {
  const pod = {
    initContainers: [
      container('migrate', limited('1Gi')),
      container('proxy', limited('128Mi'), { restartPolicy: 'Always' }),
      container('warm', limited('700Mi', '600Mi')),
    ],
    containers: [container('app', limited('512Mi', '256Mi')), container('log', { requests: { memory: '64Mi', cpu: '50m' }, limits: { memory: '64Mi' } })],
  };
  const demand = demandOf(workload('Deployment', 'web', pod), { count: 1 })!;
  // Limits: running = 512 + 64 + 128 (sidecar) = 704Mi; migrate alone 1Gi; warm beside the sidecar 828Mi.
  assert.is(demand.limits.memory, 1 * Gi);
  // Requests default to the limit where only a limit is set: migrate 1Gi again wins.
  assert.is(demand.requests.memory, 1 * Gi);
  assert.is(demand.requests.cpu, 0.05);
  assert.equal(demand.unlimited.memory, []);
  // cpu limits are missing everywhere: each container is named with its path.
  assert.equal(demand.unlimited.cpu.map((u) => u.what), ['container app', 'container log', 'init container migrate', 'init container proxy', 'init container warm']);
  assert.equal(demand.unlimited.cpu[0].path, ['spec', 'template', 'spec', 'containers', 0]);

  // Without the big init container, the running set decides; pod-level resources win over the containers'.
  const lean = demandOf(workload('Deployment', 'web', { ...pod, initContainers: [pod.initContainers[1]] }), { count: 1 })!;
  assert.is(lean.limits.memory, 704 * Mi);
  const podLevel = demandOf(workload('Deployment', 'web', { ...pod, resources: { limits: { memory: '2Gi' } } }), { count: 1 })!;
  assert.is(podLevel.limits.memory, 2 * Gi);
});

test('copies: replicas, one pod per Job or CronJob run, a DaemonSet on every node, the operators\' own counts', () => {
  const pod = { containers: [container('app', limited('100Mi'))] };
  const copies = (obj: KObject, nodes = { count: 6, source: 'clusters/lab/talos/talconfig.yaml' }) => {
    const d = demandOf(obj, nodes)!;
    return [d.copies, d.copiesNote];
  };
  assert.equal(copies(workload('Deployment', 'web', pod, { replicas: 3 })), [3, '3 replicas']);
  assert.equal(copies(workload('Deployment', 'web', pod)), [1, '1 replica']);
  assert.equal(copies(workload('StatefulSet', 'db', pod, { replicas: 0 })), [0, '0 replicas']);
  assert.equal(copies(workload('Job', 'once', pod)), [1, 'one pod per run']);
  assert.equal(copies(workload('CronJob', 'nightly', pod)), [1, 'one pod per run']);
  assert.equal(copies(workload('Pod', 'debug', pod)), [1, 'one pod']);
  assert.equal(copies(workload('DaemonSet', 'agent', pod)), [6, '6 nodes (clusters/lab/talos/talconfig.yaml)']);
  assert.equal(copies(workload('DaemonSet', 'agent', pod), { count: 1 } as any), [1, 'once per node (node count unknown)']);
  assert.is(demandOf(workload('CronJob', 'nightly', pod), { count: 1 })!.limits.memory, 100 * Mi);

  const vm = 'operator.victoriametrics.com/v1beta1';
  const res = { resources: limited('1Gi') };
  assert.equal(copies(cr(vm, 'VMSingle', 'vmsingle', res)), [1, '1 replica']);
  assert.equal(copies(cr(vm, 'VMAgent', 'vmagent', { ...res, replicaCount: 2, shardCount: 3 })), [6, '3 shards of 2 replicas']);
  assert.equal(copies(cr(vm, 'VMAgent', 'vmagent', { ...res, daemonSetMode: true })), [6, '6 nodes (clusters/lab/talos/talconfig.yaml)']);
  assert.equal(copies(cr(vm, 'VMAlert', 'vmalert', { ...res, replicaCount: 2 })), [2, '2 replicas']);
  assert.equal(copies(cr(vm, 'VMAlertmanager', 'vmalertmanager', { ...res, replicaCount: 3 })), [3, '3 replicas']);
  assert.equal(copies(cr('operator.victoriametrics.com/v1', 'VLSingle', 'vlsingle', res)), [1, '1 replica']);
  assert.equal(copies(cr('postgresql.cnpg.io/v1', 'Cluster', 'postgres', { ...res, instances: 3 })), [3, '3 instances']);
  assert.equal(copies(cr('dragonflydb.io/v1alpha1', 'Dragonfly', 'cache', { ...res, replicas: 2 })), [2, '2 replicas']);
  assert.equal(copies(cr('kafka.strimzi.io/v1beta2', 'KafkaNodePool', 'brokers', { ...res, replicas: 3 })), [3, '3 replicas']);
  assert.equal(copies(cr('k8s.keycloak.org/v2alpha1', 'Keycloak', 'sso', { ...res, instances: 2 })), [2, '2 instances']);
  assert.is(demandOf(cr(vm, 'VMSingle', 'vmsingle', res), { count: 1 })!.limits.memory, 1 * Gi);
  // Anything else runs nothing this check knows of.
  assert.is(demandOf({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } }, { count: 1 }), undefined);
  assert.is(demandOf(cr('example.com/v1', 'Deployment', 'lookalike', {}), { count: 1 }), undefined);
});

test('a group over budget: the total, the overage and the biggest contributors, at the biggest one', () => {
  const resources = [
    resource(workload('Deployment', 'web', { containers: [container('app', limited('512Mi', '256Mi'))] }, { replicas: 3 })),
    resource(workload('DaemonSet', 'agent', { containers: [container('agent', limited('256Mi', '128Mi'))] })),
    resource(cr('operator.victoriametrics.com/v1beta1', 'VMAgent', 'vmagent', { replicaCount: 2, resources: limited('1Gi', '512Mi') })),
    resource(workload('Deployment', 'elsewhere', { containers: [container('app', limited('8Gi'))] }, {}, 'default')),
  ];
  const findings = checkBudgets(resources, configWith(monitoring()), tempDir(), 'lab');
  // 3 x 512Mi + 1 node x 256Mi + 2 x 1Gi = 3.75Gi of limits: under 4Gi. The requests are lower still.
  assert.equal(findings, []);

  const tight = checkBudgets(resources, configWith(monitoring({ memory: '3Gi' })), tempDir(), 'lab');
  assert.equal(shape(tight), [
    {
      severity: 'error',
      file: 'kubernetes/apps/monitoring/vmagent.yaml',
      message:
        'budget monitoring (lab; namespaces monitoring): memory limits add up to 3.75Gi, over the budget of 3Gi by 768Mi; biggest: VMAgent monitoring/vmagent 2Gi (2 replicas), Deployment monitoring/web 1.5Gi (3 replicas), DaemonSet monitoring/agent 256Mi (once per node (node count unknown))',
      path: ['spec', 'resources'],
    },
  ]);

  // Only the requests: 3 x 256Mi + 128Mi + 2 x 512Mi = 1.875Gi.
  const requests = checkBudgets(resources, configWith(monitoring({ memory: '1Gi', counts: ['requests'] })), tempDir(), 'lab');
  assert.equal(requests.map((f) => f.message.split(';')[1]), [' namespaces monitoring): memory requests add up to 1.88Gi, over the budget of 1Gi by 896Mi']);
  assert.is(requests[0].file, 'kubernetes/apps/monitoring/vmagent.yaml');
});

test('a DaemonSet counts once per node of the cluster\'s talconfig.yaml', () => {
  const repo = tempDir();
  write(repo, 'clusters/lab/talos/talconfig.yaml', 'clusterName: lab\nnodes:\n  - hostname: a\n  - hostname: b\n  - hostname: c\n  - hostname: d\n');
  assert.equal(nodeCount(repo, 'lab'), { count: 4, source: 'clusters/lab/talos/talconfig.yaml' });
  assert.equal(nodeCount(repo, 'other'), { count: 1 });
  const agent = resource(workload('DaemonSet', 'agent', { containers: [container('agent', limited('1Gi'))] }));
  assert.equal(
    checkBudgets([agent], configWith(monitoring({ memory: '3Gi', counts: ['limits'] })), repo, 'lab').map((f) => f.message),
    ['budget monitoring (lab; namespaces monitoring): memory limits add up to 4Gi, over the budget of 3Gi by 1Gi; biggest: DaemonSet monitoring/agent 4Gi (4 nodes (clusters/lab/talos/talconfig.yaml))'],
  );
});

test('every workload of a budgeted group sets memory limits, and cpu limits when the budget caps them', () => {
  const resources = [
    resource(workload('Deployment', 'web', { initContainers: [container('init')], containers: [container('app', limited('128Mi')), container('sidecar', { requests: { memory: '32Mi' } })] })),
    resource(cr('postgresql.cnpg.io/v1', 'Cluster', 'postgres', { instances: 2 })),
    resource(cr('operator.victoriametrics.com/v1beta1', 'VMSingle', 'vmsingle', { resources: { requests: { memory: '1Gi' } } })),
    resource(workload('Deployment', 'bad', { containers: [container('app', { limits: { memory: '1Gb' } })] })),
  ];
  const findings = checkBudgets(resources, configWith(monitoring()), tempDir(), 'lab');
  const under = 'every workload under budget monitoring (lab; namespaces monitoring) must, or its sum is no bound';
  assert.equal(shape(findings), [
    { severity: 'error', file: 'kubernetes/apps/monitoring/web.yaml', message: `Deployment monitoring/web: container sidecar sets no memory limit; ${under}`, path: ['spec', 'template', 'spec', 'containers', 1] },
    { severity: 'error', file: 'kubernetes/apps/monitoring/web.yaml', message: `Deployment monitoring/web: init container init sets no memory limit; ${under}`, path: ['spec', 'template', 'spec', 'initContainers', 0] },
    { severity: 'error', file: 'kubernetes/apps/monitoring/postgres.yaml', message: `Cluster monitoring/postgres: spec.resources sets no memory limit; ${under}`, path: ['spec'] },
    { severity: 'error', file: 'kubernetes/apps/monitoring/vmsingle.yaml', message: `VMSingle monitoring/vmsingle: spec.resources sets no memory limit; ${under}`, path: ['spec', 'resources'] },
    { severity: 'error', file: 'kubernetes/apps/monitoring/bad.yaml', message: 'Deployment monitoring/bad: "1Gb" is not a resource quantity', path: ['spec', 'template', 'spec', 'containers', 0, 'resources', 'limits', 'memory'] },
    { severity: 'error', file: 'kubernetes/apps/monitoring/bad.yaml', message: `Deployment monitoring/bad: container app sets no memory limit; ${under}`, path: ['spec', 'template', 'spec', 'containers', 0] },
  ]);

  // A cpu cap on limits needs cpu limits; a cpu cap on requests does not.
  const app = resource(workload('Deployment', 'app', { containers: [container('app', { requests: { cpu: '500m' }, limits: { memory: '64Mi' } })] }, { replicas: 5 }));
  const cpuLimits = checkBudgets([app], configWith(monitoring({ memory: undefined, cpu: '2' })), tempDir(), 'lab');
  assert.equal(cpuLimits.map((f) => f.message), [
    `Deployment monitoring/app: container app sets no cpu limit; ${under}`,
    'budget monitoring (lab; namespaces monitoring): cpu requests add up to 2.5, over the budget of 2 by 500m; biggest: Deployment monitoring/app 2.5 (5 replicas)',
  ]);
  assert.equal(checkBudgets([app], configWith(monitoring({ memory: undefined, cpu: '3', counts: ['requests'] })), tempDir(), 'lab'), []);
});

test('HelmReleases are never counted: a warning names each one the budget does not list as uncounted', () => {
  const release = resource({ apiVersion: 'helm.toolkit.fluxcd.io/v2', kind: 'HelmRelease', metadata: { name: 'grafana', namespace: 'flux-system' }, spec: { targetNamespace: 'monitoring' } });
  const local = resource({ apiVersion: 'helm.toolkit.fluxcd.io/v2', kind: 'HelmRelease', metadata: { name: 'agent', namespace: 'monitoring' }, spec: {} });
  const other = resource({ apiVersion: 'helm.toolkit.fluxcd.io/v2', kind: 'HelmRelease', metadata: { name: 'web', namespace: 'default' }, spec: {} });
  const findings = checkBudgets([release, local, other], configWith(monitoring()), tempDir(), 'lab');
  assert.equal(shape(findings), [
    {
      severity: 'warning',
      file: 'validator.config.yaml',
      message:
        "budget monitoring (lab; namespaces monitoring) does not count HelmRelease flux-system/grafana, HelmRelease monitoring/agent: a chart's workloads are not rendered offline (list each under uncounted with the reason)",
      path: ['budgets', 0],
    },
  ]);
  // Listed with a reason, a release is no news; a listed name that matches no release of the group is.
  const listed = monitoring({ uncounted: [{ name: 'grafana', reason: 'one pod, 512Mi' }, { name: 'agent', reason: 'a DaemonSet, 64Mi a node' }, { name: 'web', reason: 'not in the group' }] });
  assert.equal(shape(checkBudgets([release, local, other], configWith(listed), tempDir(), 'lab')), [
    { severity: 'warning', file: 'validator.config.yaml', message: 'budget monitoring (lab; namespaces monitoring): uncounted names HelmRelease web, which is not in the group', path: ['budgets', 0, 'uncounted', 2] },
  ]);

  // A budget of another cluster does not apply; one without a cluster applies to every cluster.
  assert.equal(checkBudgets([release], configWith(monitoring({ cluster: 'prod' })), tempDir(), 'lab'), []);
  assert.is(checkBudgets([release], configWith(monitoring({ cluster: undefined })), tempDir(), 'any').length, 1);
});

test('budgets in validator.config.yaml are checked against their schema, naming the field', async () => {
  const repo = tempDir();
  const refused = async (yaml: string) => {
    write(repo, 'validator.config.yaml', yaml);
    return loadConfig(repo).then(
      () => 'accepted',
      (e) => `${e.name}: ${e.message}`,
    );
  };
  assert.is(await refused('budgets:\n  - name: obs\n    namespaces: [observability]\n    memory: 4GB\n'), 'UsageError: validator.config.yaml: budgets.0.memory: must match pattern "^[0-9]+(\\.[0-9]+)?(m|Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$"');
  assert.is(await refused('budgets:\n  - name: obs\n    memory: 4Gi\n'), "UsageError: validator.config.yaml: budgets.0: must have required property 'namespaces'");
  assert.is(await refused('budgets:\n  - name: obs\n    namespaces: [observability]\n    counts: [usage]\n    memory: 1Gi\n'), 'UsageError: validator.config.yaml: budgets.0.counts.0: must be equal to one of the allowed values');
  assert.is(await refused('budgets:\n  - name: obs\n    namespaces: [observability]\n'), "UsageError: validator.config.yaml: budgets.0: must have required property 'memory'");
  assert.is(await refused('budgets:\n  - name: obs\n    namespaces: [observability]\n    memory: 1Gi\n    uncounted:\n      - name: grafana\n'), "UsageError: validator.config.yaml: budgets.0.uncounted.0: must have required property 'reason'");
  assert.is(await refused('budgets:\n  - name: obs\n    cluster: lab\n    namespaces: [observability]\n    cpu: 1500m\n    counts: [requests]\n'), 'accepted');
});

/** A one-cluster repository with a monitoring namespace, its talconfig.yaml and the given budget. */
const budgetRepo = (budget: string): string => {
  const repo = tempDir();
  write(repo, 'clusters/lab/flux/kustomization.yaml', 'resources:\n  - vars.yaml\n  - source.yaml\n  - apps.yaml\n');
  write(repo, 'clusters/lab/flux/vars.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cluster-vars\n  namespace: flux-system\ndata:\n  CLUSTER_NAME: lab\n');
  write(repo, 'clusters/lab/flux/source.yaml', 'apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: flux-system\n  namespace: flux-system\nspec:\n  interval: 1h\n  url: https://example.com/repo\n  ref:\n    branch: main\n');
  write(
    repo,
    'clusters/lab/flux/apps.yaml',
    'apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: cluster-apps\n  namespace: flux-system\nspec:\n  path: ./kubernetes/apps\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n  postBuild:\n    substituteFrom:\n      - kind: ConfigMap\n        name: cluster-vars\n  interval: 1h\n  prune: true\n',
  );
  write(repo, 'clusters/lab/talos/talconfig.yaml', 'clusterName: lab\nnodes:\n  - hostname: lab-1\n  - hostname: lab-2\n  - hostname: lab-3\n');
  write(repo, 'kubernetes/apps/kustomization.yaml', 'resources:\n  - namespace.yaml\n  - agent.yaml\n  - vmsingle.yaml\n');
  write(repo, 'kubernetes/apps/namespace.yaml', 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: monitoring\n  labels:\n    monosense.dev/tier: "1"\n');
  write(
    repo,
    'kubernetes/apps/agent.yaml',
    [
      'apiVersion: apps/v1',
      'kind: DaemonSet',
      'metadata:',
      '  name: agent',
      '  namespace: monitoring',
      'spec:',
      '  selector:',
      '    matchLabels:',
      '      app.kubernetes.io/name: agent',
      '  template:',
      '    metadata:',
      '      labels:',
      '        app.kubernetes.io/name: agent',
      '    spec:',
      '      containers:',
      '        - name: agent',
      '          image: ghcr.io/example/agent:1.0.0',
      '          resources:',
      '            limits:',
      '              memory: 512Mi',
      '',
    ].join('\n'),
  );
  write(
    repo,
    'kubernetes/apps/vmsingle.yaml',
    'apiVersion: operator.victoriametrics.com/v1beta1\nkind: VMSingle\nmetadata:\n  name: vmsingle\n  namespace: monitoring\nspec:\n  retentionPeriod: 90d\n  resources:\n    requests:\n      memory: 1Gi\n    limits:\n      memory: 2Gi\n',
  );
  write(repo, 'validator.config.yaml', `budgets:\n  - name: monitoring\n    cluster: lab\n    namespaces:\n      - monitoring\n${budget}`);
  return repo;
};

const budgetFindings = async (repo: string) => {
  const { results } = await validateRepository({ repo, schemaDirs: SCHEMAS, cacheDir: CACHE });
  return results.flatMap((r) => r.findings).map((f) => [f.rule, f.file, f.line, f.severity, f.message]);
};

test('npm run validate: a repository over budget fails on the biggest contributor\'s line; under budget it is clean', async () => {
  // 3 nodes x 512Mi + 2Gi = 3.5Gi of limits.
  assert.equal(await budgetFindings(budgetRepo('    memory: 3Gi\n')), [
    [
      'resource-budget',
      'kubernetes/apps/vmsingle.yaml',
      8,
      'error',
      'budget monitoring (lab; namespaces monitoring): memory limits add up to 3.5Gi, over the budget of 3Gi by 512Mi; biggest: VMSingle monitoring/vmsingle 2Gi, DaemonSet monitoring/agent 1.5Gi (3 nodes (clusters/lab/talos/talconfig.yaml))',
    ],
  ]);
  assert.equal(await budgetFindings(budgetRepo('    memory: 3584Mi\n')), []);
});

test.run();
