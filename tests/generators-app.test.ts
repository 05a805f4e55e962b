import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parse, stringify } from 'yaml';
import { generator as app } from '../generators/app.ts';
import { loadSchema } from '../generators/lib/answers.ts';
import { readRepo } from '../generators/lib/repo.ts';
import { describes, formatConflicts } from '../generators/lib/merge.ts';
import { loadGenerator } from '../generators/lib/run.ts';
import { driftOf } from '../generators/lib/update.ts';
import { walkFiles } from '../src/lib/fsutil.ts';
import { echo, validates } from './app-answers.ts';
import { commitAll, generate, gitStatus, plop, ROOT, scratchRepo, writeAnswers } from './helpers.ts';

const test = suite('generator: app');

test('wait: the Kustomization waits for what it applied, so its status stands for the release', async () => {
  const repo = await scratchRepo();
  const r = await generate(repo, 'app', ['--answers', writeAnswers({ ...echo, wait: true })]);
  assert.is(r.code, 0, r.stderr + r.stdout);
  assert.is(parse(readFileSync(join(repo, 'kubernetes/apps/demo/echo/ks.yaml'), 'utf8')).spec.wait, true);
  const refused = await generate(repo, 'app', ['--answers', writeAnswers({ ...echo, wait: 'yes' })]);
  assert.is(refused.code, 1);
  assert.match(refused.stderr, /wait/);
});

test('a shared app: every file, registered, and the repository validates', async () => {
  const repo = await scratchRepo();
  const r = await generate(repo, 'app', ['--answers', writeAnswers(echo)]);
  assert.is(r.code, 0, r.stderr + r.stdout);
  for (const f of ['ks.yaml', '.answers.yaml', 'app/kustomization.yaml', 'app/helmrelease.yaml', 'app/externalsecret.yaml', 'app/httproute.yaml', 'app/ciliumnetworkpolicy.yaml']) {
    assert.ok(existsSync(join(repo, 'kubernetes/apps/demo/echo', f)), `missing ${f}`);
  }
  // app-template has its shared source in infrastructure/base/repositories/oci: no copy beside the app.
  assert.not.ok(existsSync(join(repo, 'kubernetes/apps/demo/echo/app/ocirepository.yaml')));
  assert.match(readFileSync(join(repo, 'kubernetes/apps/kustomization.yaml'), 'utf8'), /- \.\/demo\n/);
  const ks = parse(readFileSync(join(repo, 'kubernetes/apps/demo/echo/ks.yaml'), 'utf8'));
  assert.equal(ks.spec.dependsOn, [{ name: 'onepassword-store' }]);
  assert.equal(ks.spec.postBuild.substituteFrom, [{ kind: 'ConfigMap', name: 'cluster-vars' }]);
  assert.is(ks.spec.wait, false);
  const hr = parse(readFileSync(join(repo, 'kubernetes/apps/demo/echo/app/helmrelease.yaml'), 'utf8'));
  assert.equal(hr.spec.chartRef, { kind: 'OCIRepository', name: 'app-template', namespace: 'flux-system' });
  // app-template takes the image in its controller's container, the port in its Service.
  assert.equal(hr.spec.values.controllers.echo.containers.app.image, { repository: 'ghcr.io/mendhak/http-https-echo', tag: '37' });
  assert.equal(hr.spec.values.controllers.echo.containers.app.envFrom, [{ secretRef: { name: 'echo-secret' } }]);
  assert.equal(hr.spec.values.service, { app: { controller: 'echo', ports: { http: { port: 8080 } } } });
  assert.is(hr.spec.values.image, undefined);
  // Remediation and interval are the cluster's, set once by a patch on the Kustomizations that apply apps.
  assert.is(hr.spec.install, undefined);
  assert.is(hr.spec.interval, undefined);
  const cnp = parse(readFileSync(join(repo, 'kubernetes/apps/demo/echo/app/ciliumnetworkpolicy.yaml'), 'utf8'));
  assert.equal(cnp.spec.egress.slice(1).map((e: any) => e.toFQDNs[0]), [{ matchName: 'api.github.com' }, { matchPattern: '*.githubusercontent.com' }]);
  const results = await validates(repo);
  for (const r of results) {
    const effective = r.resources.find((x) => x.obj.kind === 'HelmRelease' && x.obj.metadata.name === 'echo')!.obj;
    assert.equal([effective.spec.interval, effective.spec.install.remediation.retries, effective.spec.upgrade.remediation.strategy], ['1h', 3, 'rollback']);
    const route = r.resources.find((x) => x.obj.kind === 'HTTPRoute' && x.obj.metadata.name === 'echo');
    assert.equal(route?.obj.spec.hostnames, [`echo.${r.cluster.name === 'infra' ? 'monosense.dev' : 'monosense.io'}`]);
  }
});

test('end to end through plop, as the operator runs it: the app is written, a refusal exits 1 with one line', async () => {
  const repo = await scratchRepo();
  const r = await plop(repo, 'app', ['--answers', writeAnswers(echo)]);
  assert.is(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stdout + r.stderr, /app demo\/echo: \d+ files written/);
  assert.ok(existsSync(join(repo, 'kubernetes/apps/demo/echo/app/helmrelease.yaml')));
  const refused = await plop(repo, 'app', ['--answers', writeAnswers({ ...echo, name: 'Bad_Name' })]);
  assert.is(refused.code, 1);
  assert.match(refused.stderr, /^error: answers\.name: must match/m);
  assert.not.match(refused.stderr, /\n\s+at .+:\d+:\d+/);
  // Usage errors take the same path as the refusal: asked in-process, which costs no plop start.
  const usage = await generate(repo, 'app', ['--answers']);
  assert.is(usage.code, 2);
  assert.match(usage.stderr, /error: --answers needs a value/);
});

test('dry run prints the plan with diffs and writes nothing', async () => {
  const repo = await scratchRepo();
  const r = await generate(repo, 'app', ['--answers', writeAnswers(echo), '--dry-run']);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout + r.stderr, /create kubernetes\/apps\/demo\/echo\/app\/helmrelease\.yaml/);
  assert.match(r.stdout + r.stderr, /\+\+\+ b\/kubernetes\/apps\/demo\/echo\/ks\.yaml/);
  assert.match(r.stdout + r.stderr, /update kubernetes\/apps\/kustomization\.yaml/);
  assert.match(r.stdout + r.stderr, /checked: the affected clusters still validate/);
  assert.is((await gitStatus(repo)), '');
});

test('a dry run that the real run would refuse shows the plan, the reason, and exits 1', async () => {
  const repo = await scratchRepo();
  // An error already in the tree: the real run refuses to write beside it, so the dry run says so.
  const file = join(repo, 'kubernetes', 'apps', 'stub-databases', 'cloudnative-pg-cluster', 'app', 'cluster.yaml');
  writeFileSync(file, readFileSync(file, 'utf8').replace(/^spec:\n/m, 'spec:\n  bogusField: 1\n'));
  await commitAll(repo);
  const r = await generate(repo, 'app', ['--answers', writeAnswers(echo), '--dry-run']);
  assert.is(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /dry run, nothing written; app demo\/echo would change/);
  assert.match(r.stderr, /would leave cluster (infra|apps) invalid/);
  assert.match(r.stderr, /bogusField/);
  assert.is((await gitStatus(repo)), '');
});

test('answers a chart has no place for are refused, naming the field', async () => {
  const repo = await scratchRepo();
  const unknownChart = { ...echo, chart: { repository: 'oci://ghcr.io/example/charts', name: 'widget', version: '1.0.0' } };
  const r = await generate(repo, 'app', ['--answers', writeAnswers(unknownChart)]);
  assert.is(r.code, 1);
  assert.match(r.stderr, /error: answers\.image: the generator does not know where chart widget takes it \(known: app-template, /);
  const probes = await generate(repo, 'app', ['--answers', writeAnswers({ ...unknownChart, image: undefined, probes: { path: '/healthz' } })]);
  assert.match(probes.stderr, /error: answers\.probes: /);
  const gatus = await generate(repo, 'app', ['--answers', writeAnswers({ name: 'status', namespace: 'demo', clusters: ['infra'], chart: { repository: 'gatus', name: 'gatus', version: '1.4.5' }, probes: { path: '/health' } })]);
  assert.match(gatus.stderr, /error: answers\.probes: gatus's values \(twin\/helm-charts gatus 1\.4\.5 values\.yaml\) have no place for it/);
  assert.is((await gitStatus(repo)), '');
});

test('an external health check asks for the route\'s real host', async () => {
  const repo = await scratchRepo();
  const answers = { ...echo, route: { host: 'hello.${CLUSTER_DOMAIN}', gateway: 'external' }, health: 'external' };
  const r = await generate(repo, 'app', ['--answers', writeAnswers(answers)]);
  assert.is(r.code, 0, r.stderr);
  const results = await validates(repo);
  for (const x of results) {
    const cm = x.resources.find((y) => y.obj.kind === 'ConfigMap' && y.obj.metadata.name === 'echo-gatus-ep')!;
    const domain = x.cluster.name === 'infra' ? 'monosense.dev' : 'monosense.io';
    assert.match(cm.obj.data['echo.yaml'], new RegExp(`url: https://hello\\.${domain.replace('.', '\\.')}/\n`));
  }
  const unrouted = await generate(repo, 'app', ['--answers', writeAnswers({ ...echo, name: 'other', route: undefined, health: 'external' })]);
  assert.is(unrouted.code, 1);
  assert.match(unrouted.stderr, /error: answers\.health: external checks the app through its route/);
});

test('app-template: probes on the pods\' port, the backed-up volume mounted, the priority class on every pod', async () => {
  const repo = await scratchRepo();
  // No secrets of its own: the secret store comes first for the backup's credentials alone.
  const answers = { ...echo, secrets: undefined, containerPort: 9000, probes: { path: '/healthz' }, backup: { target: 'r2', mountPath: '/config' }, priorityClass: 'application' };
  const r = await generate(repo, 'app', ['--answers', writeAnswers(answers)]);
  assert.is(r.code, 0, r.stderr);
  const values = parse(readFileSync(join(repo, 'kubernetes/apps/demo/echo/app/helmrelease.yaml'), 'utf8')).spec.values;
  const probe = { enabled: true, custom: true, spec: { httpGet: { path: '/healthz', port: 9000 } } };
  assert.equal(values.controllers.echo.containers.app.probes, { liveness: probe, readiness: probe });
  assert.equal(values.persistence, { data: { existingClaim: 'echo', globalMounts: [{ path: '/config' }] } });
  assert.equal(values.defaultPodOptions, { priorityClassName: 'application' });
  assert.equal(values.service.app.ports.http, { port: 8080, targetPort: 9000 });
  const ks = parse(readFileSync(join(repo, 'kubernetes/apps/demo/echo/ks.yaml'), 'utf8'));
  assert.ok(ks.spec.components.includes('../../../../components/volsync/r2'));
  const after = ks.spec.dependsOn.map((d: { name: string }) => d.name);
  assert.ok(after.includes('volsync') && after.includes('onepassword-store'), `the operator and the secret store first: ${after}`);
});

test('a Service port in front of another container port: the route takes the one, the policy the other', async () => {
  const repo = await scratchRepo();
  const r = await generate(repo, 'app', ['--answers', writeAnswers({ ...echo, port: 80, containerPort: 8080, networkPolicy: { ingress: [{ namespace: 'observability' }] } })]);
  assert.is(r.code, 0, r.stderr);
  const route = parse(readFileSync(join(repo, 'kubernetes/apps/demo/echo/app/httproute.yaml'), 'utf8'));
  assert.is(route.spec.rules[0].backendRefs[0].port, 80);
  const cnp = parse(readFileSync(join(repo, 'kubernetes/apps/demo/echo/app/ciliumnetworkpolicy.yaml'), 'utf8'));
  assert.equal(cnp.spec.ingress.map((i: any) => i.toPorts[0].ports[0].port), ['8080', '8080']);
  await validates(repo);
});

test('a chart that names its Service otherwise: the route sends to route.service, else to the app', async () => {
  const { validateAnswers } = await import('../generators/lib/answers.ts');
  const repo = await readRepo(ROOT);
  const answers = { name: 'sso', namespace: 'identity', clusters: ['infra'], chart: { repository: 'gatus', name: 'gatus', version: '1.4.5' }, port: 80, route: { gateway: 'external', service: 'sso-server' } };
  await validateAnswers(loadSchema('app'), structuredClone(answers));
  const backends = async (a: typeof answers | Omit<typeof answers, 'route'> & { route: { gateway: string } }) =>
    parse((await app.plan(a, repo)).changes.find((c) => c.path.endsWith('app/httproute.yaml'))!.after).spec.rules[0].backendRefs;
  assert.equal(await backends(answers), [{ name: 'sso-server', port: 80 }]);
  assert.equal(await backends({ ...answers, route: { gateway: 'external' } }), [{ name: 'sso', port: 80 }]);
  const refused = await validateAnswers(loadSchema('app'), { ...answers, route: { gateway: 'external', service: 'Sso_Server' } }).then(() => '', (e: Error) => e.message);
  assert.match(refused, /^answers\.route\.service: /);
});

test('a one-cluster app from a HelmRepository goes to clusters/<c>/apps', async () => {
  const repo = await scratchRepo();
  // Not named gatus: the real Gatus runs on every cluster (kubernetes/apps/observability/gatus). Not in
  // observability either, whose resource budget on infra would name an uncounted HelmRelease.
  const answers = { name: 'status-page', namespace: 'status', clusters: ['infra'], chart: { repository: 'gatus', name: 'gatus', version: '1.4.4' }, port: 8080, route: { host: 'status.monosense.dev', gateway: 'external' } };
  const r = await generate(repo, 'app', ['--answers', writeAnswers(answers)]);
  assert.is(r.code, 0, r.stderr);
  const hr = parse(readFileSync(join(repo, 'clusters/infra/apps/status/status-page/app/helmrelease.yaml'), 'utf8'));
  assert.equal(hr.spec.chart.spec, { chart: 'gatus', version: '1.4.4', sourceRef: { kind: 'HelmRepository', name: 'gatus', namespace: 'flux-system' } });
  assert.not.ok(existsSync(join(repo, 'clusters/infra/apps/status/status-page/app/ocirepository.yaml')));
  assert.match(readFileSync(join(repo, 'clusters/infra/apps/kustomization.yaml'), 'utf8'), /\.\/status/);
  const results = await validates(repo);
  assert.ok(results.find((x) => x.cluster.name === 'infra')!.resources.some((x) => x.obj.kind === 'HelmRelease' && x.obj.metadata.name === 'status-page'));
  assert.not.ok(results.find((x) => x.cluster.name === 'apps')!.resources.some((x) => x.obj.kind === 'HelmRelease' && x.obj.metadata.name === 'status-page'));
});

test('per-cluster values become overlays chosen by ${CLUSTER_NAME}', async () => {
  const repo = await scratchRepo();
  const answers = { ...echo, secrets: undefined, clusterValues: { infra: { replicas: 1 }, apps: { replicas: 3 } } };
  delete (answers as any).secrets;
  const r = await generate(repo, 'app', ['--answers', writeAnswers(answers)]);
  assert.is(r.code, 0, r.stderr);
  const results = await validates(repo);
  const replicas = Object.fromEntries(results.map((x) => [x.cluster.name, x.resources.find((y) => y.obj.kind === 'HelmRelease' && y.obj.metadata.name === 'echo')?.obj.spec.values.replicas]));
  assert.equal(replicas, { infra: 1, apps: 3 });
  // The per-cluster values are the overlays' now; the answers keep that there are overlays.
  const recorded = parse(readFileSync(join(repo, 'kubernetes/apps/demo/echo/.answers.yaml'), 'utf8'));
  assert.equal([recorded.overlays, recorded.clusterValues], [true, undefined]);
  await commitAll(repo);
  assert.match((await generate(repo, 'app', ['--answers', join(repo, 'kubernetes/apps/demo/echo/.answers.yaml')])).stdout, /up to date/);
});

test('an operator: tier-1 namespace, namespace-wide policy with entities, CRDs replaced on upgrade', async () => {
  const repo = await scratchRepo();
  const answers = {
    name: 'widget-operator',
    namespace: 'widget-system',
    tier: 1,
    clusters: ['infra', 'apps'],
    chart: { repository: 'oci://ghcr.io/example/charts', name: 'widget-operator', version: '1.2.3' },
    crds: 'CreateReplace',
    networkPolicy: { selector: 'namespace', ingress: [{ entity: 'kube-apiserver', port: 9443 }], egress: [{ entity: 'kube-apiserver', port: 6443 }] },
  };
  const r = await generate(repo, 'app', ['--answers', writeAnswers(answers)]);
  assert.is(r.code, 0, r.stderr);
  const dir = join(repo, 'kubernetes/apps/widget-system');
  assert.equal(parse(readFileSync(join(dir, 'namespace.yaml'), 'utf8')).metadata.labels, { 'monosense.dev/tier': '1' });
  const cnp = parse(readFileSync(join(dir, 'widget-operator/app/ciliumnetworkpolicy.yaml'), 'utf8'));
  assert.equal(cnp.spec.endpointSelector, {});
  assert.equal(cnp.spec.ingress, [{ fromEntities: ['kube-apiserver'], toPorts: [{ ports: [{ port: '9443', protocol: 'TCP' }] }] }]);
  assert.equal(cnp.spec.egress[1], { toEntities: ['kube-apiserver'], toPorts: [{ ports: [{ port: '6443', protocol: 'TCP' }] }] });
  const hr = parse(readFileSync(join(dir, 'widget-operator/app/helmrelease.yaml'), 'utf8'));
  assert.is(hr.spec.install.crds, 'CreateReplace');
  assert.is(hr.spec.upgrade.crds, 'CreateReplace');
  await validates(repo);
});

test('the infrastructure layer goes to infrastructure/base, applied by cluster-infrastructure', async () => {
  const repo = await scratchRepo();
  const answers = { name: 'widget', namespace: 'widget-system', layer: 'infrastructure', clusters: ['infra', 'apps'], chart: { repository: 'oci://ghcr.io/example/charts', name: 'widget', version: '1.0.0' } };
  const r = await generate(repo, 'app', ['--answers', writeAnswers(answers)]);
  assert.is(r.code, 0, r.stderr);
  assert.match(readFileSync(join(repo, 'infrastructure/base/kustomization.yaml'), 'utf8'), /- \.\/widget-system\n/);
  // No shared source has this chart's URL: the app brings its own OCIRepository.
  const own = parse(readFileSync(join(repo, 'infrastructure/base/widget-system/widget/app/ocirepository.yaml'), 'utf8'));
  assert.equal([own.spec.url, own.spec.ref.tag], ['oci://ghcr.io/example/charts/widget', '1.0.0']);
  assert.equal(parse(readFileSync(join(repo, 'infrastructure/base/widget-system/widget/app/helmrelease.yaml'), 'utf8')).spec.chartRef, { kind: 'OCIRepository', name: 'widget' });
  const results = await validates(repo);
  for (const x of results) assert.is(x.resources.find((y) => y.obj.kind === 'Kustomization' && y.obj.metadata.name === 'widget')?.appliedBy, 'flux-system/cluster-infrastructure');
  const one = await generate(repo, 'app', ['--answers', writeAnswers({ ...answers, name: 'widget-two', clusters: ['infra'] })]);
  assert.is(one.code, 1);
  assert.match(one.stderr, /answers\.layer: infrastructure is shared by every cluster/);
});

test('a values file shared with the bootstrap reaches the HelmRelease through a ConfigMap', async () => {
  const repo = await scratchRepo();
  const { mkdirSync } = await import('node:fs');
  mkdirSync(join(repo, 'bootstrap/values'), { recursive: true });
  writeFileSync(join(repo, 'bootstrap/values/widget.yaml'), 'cluster:\n  name: ${CLUSTER_NAME}\n');
  const answers = { name: 'widget', namespace: 'kube-system', clusters: ['infra', 'apps'], chart: { repository: 'oci://ghcr.io/example/charts', name: 'widget', version: '1.0.0' }, valuesFile: 'bootstrap/values/widget.yaml' };
  const r = await generate(repo, 'app', ['--answers', writeAnswers(answers)]);
  assert.is(r.code, 0, r.stderr);
  const results = await validates(repo);
  for (const x of results) {
    const cm = x.resources.find((y) => y.obj.kind === 'ConfigMap' && y.obj.metadata.name === 'widget-values');
    assert.is(cm?.obj.data['values.yaml'], `cluster:\n  name: ${x.cluster.name}\n`);
    const hr = x.resources.find((y) => y.obj.kind === 'HelmRelease' && y.obj.metadata.name === 'widget');
    assert.equal(hr?.obj.spec.valuesFrom, [{ kind: 'ConfigMap', name: 'widget-values' }]);
  }
});

test('a system namespace is tier 0: not declared in Git, no CiliumNetworkPolicy', async () => {
  const repo = await scratchRepo();
  const answers = { name: 'widget', namespace: 'kube-system', clusters: ['infra', 'apps'], layer: 'infrastructure', chart: { repository: 'oci://ghcr.io/example/charts', name: 'widget', version: '1.0.0' } };
  const r = await generate(repo, 'app', ['--answers', writeAnswers(answers)]);
  assert.is(r.code, 0, r.stderr);
  const dir = join(repo, 'infrastructure/base/kube-system');
  assert.not.ok(existsSync(join(dir, 'namespace.yaml')));
  const resources: string[] = parse(readFileSync(join(dir, 'kustomization.yaml'), 'utf8')).resources;
  assert.ok(resources.includes('./widget/ks.yaml') && !resources.includes('./namespace.yaml'), resources.join(' '));
  assert.not.ok(existsSync(join(dir, 'widget/app/ciliumnetworkpolicy.yaml')));
  const results = await validates(repo);
  for (const x of results) assert.not.ok(x.resources.some((y) => y.obj.kind === 'Namespace' && y.obj.metadata.name === 'kube-system'));
  for (const [change, message] of [
    [{ tier: 2 }, /answers\.tier: kube-system is a system namespace, tier 0 \(got 2\)/],
    [{ name: 'other', networkPolicy: { egress: [{ entity: 'world', port: 443 }] } }, /answers\.networkPolicy: kube-system is tier 0/],
    [{ name: 'other', namespace: 'widget-system', tier: 0 }, /answers\.tier: 0 is for the system namespaces \(default, kube-system, kube-public, kube-node-lease, flux-system\), not widget-system/],
  ] as const) {
    const refused = await generate(repo, 'app', ['--answers', writeAnswers({ ...answers, ...change })]);
    assert.is(refused.code, 1);
    assert.match(refused.stderr, message);
  }
});

test('a chart with a shared source in infrastructure/base/repositories is referenced there, at its version', async () => {
  const repo = await scratchRepo();
  const answers = { name: 'widget', namespace: 'widget-system', tier: 1, clusters: ['infra', 'apps'], chart: { repository: 'oci://quay.io/jetstack/charts', name: 'cert-manager', version: 'v1.19.2' } };
  const r = await generate(repo, 'app', ['--answers', writeAnswers(answers)]);
  assert.is(r.code, 0, r.stderr);
  const dir = join(repo, 'kubernetes/apps/widget-system/widget/app');
  assert.not.ok(existsSync(join(dir, 'ocirepository.yaml')));
  assert.equal(parse(readFileSync(join(dir, 'helmrelease.yaml'), 'utf8')).spec.chartRef, { kind: 'OCIRepository', name: 'cert-manager', namespace: 'flux-system' });
  await validates(repo);
  const other = await generate(repo, 'app', ['--answers', writeAnswers({ ...answers, name: 'widget-two', chart: { ...answers.chart, version: 'v1.18.0' } })]);
  assert.is(other.code, 1);
  assert.match(other.stderr, /answers\.chart\.version: the shared source flux-system\/cert-manager of oci:\/\/quay\.io\/jetstack\/charts\/cert-manager pins v1\.19\.2 \(got v1\.18\.0\)/);
});

test('refused: an existing app of another namespace', async () => {
  const repo = await scratchRepo();
  assert.is((await generate(repo, 'app', ['--answers', writeAnswers(echo)])).code, 0);
  await commitAll(repo);
  const r = await generate(repo, 'app', ['--answers', writeAnswers({ ...echo, namespace: 'other' })]);
  assert.is(r.code, 1);
  assert.match(r.stderr, /answers\.name: a Kustomization echo already exists in cluster \w+ for namespace demo/);
  assert.is((await gitStatus(repo)), '');
});

test('the schema example is a complete, valid answers document', async () => {
  const schema = loadSchema('app');
  assert.ok(Array.isArray(schema.examples) && schema.examples.length > 0);
  const { validateAnswers } = await import('../generators/lib/answers.ts');
  await validateAnswers(schema, structuredClone(schema.examples[0]));
});

test('the generators\' reference shows the app and cluster examples', () => {
  const readme = readFileSync(join(ROOT, 'docs', 'toolkit', 'generators.md'), 'utf8');
  for (const g of ['app', 'cluster']) {
    assert.ok(readme.includes(`\`\`\`yaml\n${stringify(loadSchema(g).examples[0], { lineWidth: 0 })}\`\`\``), `docs/toolkit/generators.md shows the ${g} example verbatim`);
  }
});

const bad: [string, Record<string, unknown>, RegExp][] = [
  ['upper case', { name: 'My_App' }, /answers\.name: must match/],
  ['../ in a name', { name: '../evil' }, /answers\.name: must match/],
  ['64 characters', { name: 'a'.repeat(64) }, /answers\.name: must be at most 63 characters/],
  ['empty', { name: '' }, /answers\.name: must not be empty/],
  ['a newline in a value', { namespace: 'demo\nkind: Secret' }, /answers\.namespace: must match/],
  ['YAML inside a value', { chart: { ...echo.chart, name: 'x: {y: 1}' } }, /answers\.chart\.name: must match/],
  ['unknown cluster', { clusters: ['prod'] }, /answers\.clusters: unknown cluster "prod"/],
  ['latest as version', { chart: { ...echo.chart, version: 'latest' } }, /answers\.chart\.version: must be an exact version/],
  ['a range as version', { chart: { ...echo.chart, version: '^4.5.0' } }, /answers\.chart\.version: must be an exact version/],
  ['latest as image tag', { image: { repository: 'ghcr.io/x/y', tag: 'latest' } }, /answers\.image\.tag: must be a pinned tag/],
  ['port out of range', { port: 70000 }, /answers\.port: must be <= 65535/],
  ['host outside the cluster domain', { route: { host: 'echo.example.com', gateway: 'internal' } }, /answers\.route\.host: must be under the cluster domain/],
  ['unknown dependsOn', { dependsOn: ['nope'] }, /answers\.dependsOn: no Kustomization "nope"/],
  ['missing required field', { chart: undefined }, /answers\.chart: is required/],
  ['unknown field', { colour: 'blue' }, /answers\.colour: unknown field/],
  ['unknown HelmRepository', { chart: { repository: 'nope', name: 'x', version: '1.0.0' } }, /answers\.chart\.repository: no HelmRepository "nope"/],
  ['route without port', { port: undefined }, /answers\.port: is required with route/],
  ['unknown gateway', { route: { gateway: 'public' } }, /answers\.route\.gateway: must be one of internal, external/],
  ['podSecurity for a namespace Git does not declare', { namespace: 'kube-system', podSecurity: 'privileged', route: undefined, networkPolicy: undefined }, /answers\.podSecurity: namespace kube-system is not declared in this folder/],
  ['a wildcard inside a host name', { networkPolicy: { egress: [{ fqdn: 'api.*.github.com', port: 443 }] } }, /answers\.networkPolicy\.egress\[0\]\.fqdn: must match/],
];

// Every refusal must leave the tree as it was, so one scratch repository serves them all.
let refusals: string;
test.before(async () => {
  refusals = await scratchRepo();
});

for (const [label, change, message] of bad) {
  test(`refused: ${label}`, async () => {
    const repo = refusals;
    const answers: Record<string, unknown> = { ...echo, ...change };
    for (const [k, v] of Object.entries(change)) if (v === undefined) delete answers[k];
    const r = await generate(repo, 'app', ['--answers', writeAnswers(answers)]);
    assert.is(r.code, 1, `${label} should be refused with exit code 1`);
    assert.match(r.stderr, message);
    assert.not.match(r.stderr, /\n\s+at .+:\d+:\d+/, 'no stack trace for a user mistake');
    assert.is((await gitStatus(repo)), '');
  });
}

test('every committed answers file still describes what it generated; hand-added values are allowed', async () => {
  const repo = await readRepo(ROOT);
  const answerFiles = walkFiles(ROOT).filter((f) => f.endsWith('/.answers.yaml') && !f.includes('/tests/') && !f.includes('/node_modules/'));
  const generated = answerFiles.map((f) => [f, readFileSync(f, 'utf8').match(/^# Answers `npx plop (\w+)`/)?.[1]] as const);
  assert.equal(generated.filter(([, g]) => !g).map(([f]) => f), [], 'each answers file says which generator wrote it');
  assert.ok(generated.filter(([, g]) => g === 'app').length > 10, 'the generated apps are found');
  for (const [file, name] of generated) {
    const gen = await loadGenerator(name!);
    const drift = driftOf(ROOT, await gen.plan(parse(readFileSync(file, 'utf8')), repo));
    assert.equal(formatConflicts(drift), '', `${file} no longer describes what it generated`);
  }
  // Hand-added values are fine; a value the answers set, changed by hand, is drift.
  const gatus = join(ROOT, 'kubernetes/apps/observability/gatus');
  const rendered = await app.plan(parse(readFileSync(join(gatus, '.answers.yaml'), 'utf8')), repo);
  const hr = rendered.changes.find((c) => c.path.endsWith('app/helmrelease.yaml'))!;
  const onDisk = readFileSync(join(gatus, 'app/helmrelease.yaml'), 'utf8');
  assert.ok(parse(onDisk).spec.values.env, 'gatus has hand-written values the answers do not hold');
  assert.equal(describes(hr.path, hr.after, onDisk), []);
  assert.equal(describes(hr.path, hr.after, onDisk.replace(/tag: v[\d.]+/, 'tag: v0.0.1')).map((c) => c.path), ['spec.values.image.tag']);
});

test.run();
