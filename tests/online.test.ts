import { createHash } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { invoke } from '../src/lib/cli.ts';
import { main as validateMain } from '../src/validate/cli.ts';
import { checkPinsOnline, type OnlineOptions } from '../src/validate/online.ts';
import { validateRepository, type Validation } from '../src/validate/pipeline.ts';
import { findingLine, uniqueFindings } from '../src/validate/report.ts';
import { CACHE, copyPath, FIXTURES, SCHEMAS, tempDir } from './helpers.ts';
import { closedPort, fakeHelmRepository, fakeRegistry, silentServer, type Fake } from './online-fakes.ts';

const test = suite('online pin check');
const REPO = join(FIXTURES, 'online-pins');
const digest = (content: string) => `sha256:${createHash('sha256').update(content).digest('hex')}`;

// What the fakes publish: every pin of tests/fixtures/online-pins exists but the ones the findings name.
const CHARTS = { web: ['1.4.5', '1.4.4'], api: ['1.4.5', '1.4.4', '1.4.3'] };
const IMAGES: Record<string, Record<string, string>> = {
  'acme/web': { '1.0.0': digest('web 1.0.0') },
  'acme/init': { '0.2.0': digest('init 0.2.0') },
  'library/nginx': { '1.27': digest('nginx 1.27') },
  'acme/charts/tools': { '2.0.0': digest('tools 2.0.0') },
  // Five tags, two a page: the exact semver 1.2.3 is only found as v1.2.3 on the third page.
  'acme/charts/widgets': { '1.0.0': digest('w1'), '1.1.0': digest('w2'), '1.2.0': digest('w3'), '2.0.0': digest('w4'), 'v1.2.3': digest('w5') },
  'acme/charts/worker': { '0.1.0': digest('k1'), '0.2.0': digest('k2'), '0.3.0': digest('k3') },
  'acme/charts/sealed': { '1.0.0': digest('sealed') },
};

let validation: Validation;
const fakes: Fake[] = [];
const started = async <F extends Fake>(fake: Promise<F>): Promise<F> => {
  const f = await fake;
  fakes.push(f);
  return f;
};

test.before(async () => {
  validation = await validateRepository({ repo: REPO, schemaDirs: SCHEMAS, cacheDir: CACHE });
});
test.after.each(async () => {
  await Promise.all(fakes.splice(0).map((f) => f.close()));
});

const check = async (opts: OnlineOptions) => {
  const { results } = await checkPinsOnline(REPO, validation.results, undefined, opts);
  return uniqueFindings(results);
};

/** The registries' hosts all lead to one fake; quay.io to a port where nothing listens. */
const endpoints = (registry: Fake, helm: Fake, quay: string) => ({
  'ghcr.io': registry.url,
  'registry-1.docker.io': registry.url,
  'quay.io': quay,
  'charts.acme.test': helm.url,
});

test('the fixture is clean offline: every finding below comes from the online check', () => {
  assert.equal(validation.results.map((r) => r.cluster.name), ['one', 'two']);
  assert.equal(validation.results.flatMap((r) => r.findings).map(findingLine), []);
});

test('a missing chart version, OCI tag, image tag and digest are errors on their lines; an unreachable registry is a warning', async () => {
  const registry = await started(fakeRegistry(IMAGES));
  const helm = await started(fakeHelmRepository(CHARTS));
  const findings = await check({ endpoints: endpoints(registry, helm, await closedPort()) });
  assert.equal(
    findings.map((f) => ({ rule: f.rule, severity: f.severity, file: f.file, line: f.line, clusters: f.clusters })),
    [
      { rule: 'pin-missing', severity: 'error', file: 'kubernetes/apps/demo/api/app/helmrelease.yaml', line: 11, clusters: ['one', 'two'] },
      { rule: 'pin-unchecked', severity: 'warning', file: 'kubernetes/apps/demo/tasks/app/cronjob.yaml', line: 15, clusters: ['one', 'two'] },
      { rule: 'pin-missing', severity: 'error', file: 'kubernetes/apps/demo/tasks/app/deployment.yaml', line: 17, clusters: ['one', 'two'] },
      { rule: 'pin-missing', severity: 'error', file: 'kubernetes/apps/demo/tasks/app/deployment.yaml', line: 20, clusters: ['one', 'two'] },
      { rule: 'pin-missing', severity: 'error', file: 'kubernetes/apps/demo/web/app/helmrelease.yaml', line: 35, clusters: ['one', 'two'] },
      { rule: 'pin-missing', severity: 'error', file: 'kubernetes/apps/sources/ghost.yaml', line: 10, clusters: ['one', 'two'] },
    ],
  );
  const gone = digest('gone');
  assert.equal(findings.map((f) => f.message), [
    'HelmRelease demo/api: chart api 1.5.0 does not exist: https://charts.acme.test/stable/index.yaml lists api 1.4.5, 1.4.4, 1.4.3',
    'CronJob demo/backup: image quay.io/acme/backup:1.0.0 could not be checked: quay.io: no connection (ECONNREFUSED)',
    'Deployment demo/tasks: image ghcr.io/acme/init:0.1.0 does not exist: ghcr.io/acme/init has no manifest 0.1.0',
    `Deployment demo/tasks: image ghcr.io/acme/web:1.0.0@${gone} does not exist: ghcr.io/acme/web has no manifest ${gone}`,
    'HelmRelease demo/web: image ghcr.io/acme/web:1.0.1 does not exist: ghcr.io/acme/web has no manifest 1.0.1',
    'OCIRepository flux-system/ghost: tag 9.9.9 of oci://ghcr.io/acme/charts/ghost does not exist: ghcr.io/acme/charts/ghost has no manifest 9.9.9',
  ]);
});

test('each question is asked once: one index, one token per repository, one authorized request per manifest and tag page', async () => {
  const registry = await started(fakeRegistry(IMAGES));
  const helm = await started(fakeHelmRepository(CHARTS));
  await check({ endpoints: endpoints(registry, helm, await closedPort()) });
  const count = (requests: { method: string; path: string }[]) => {
    const out: Record<string, number> = {};
    for (const r of requests) out[`${r.method} ${r.path}`] = (out[`${r.method} ${r.path}`] ?? 0) + 1;
    return out;
  };
  assert.equal(count(helm.requests), { 'GET /stable/index.yaml': 1 });
  const tokens = count(registry.requests.filter((r) => r.path.startsWith('/token')));
  assert.ok(Object.values(tokens).every((n) => n === 1), JSON.stringify(tokens));
  assert.is(Object.keys(tokens).length, 8, JSON.stringify(tokens));
  assert.equal(count(registry.requests.filter((r) => r.authorized)), {
    'HEAD /v2/acme/charts/ghost/manifests/9.9.9': 1,
    [`HEAD /v2/acme/charts/sealed/manifests/${digest('sealed')}`]: 1,
    'HEAD /v2/acme/charts/tools/manifests/2.0.0': 1,
    'GET /v2/acme/charts/widgets/tags/list': 1,
    'GET /v2/acme/charts/widgets/tags/list?n=2&last=1.1.0': 1,
    'GET /v2/acme/charts/widgets/tags/list?n=2&last=2.0.0': 1,
    'GET /v2/acme/charts/worker/tags/list': 1,
    'GET /v2/acme/charts/worker/tags/list?n=2&last=0.2.0': 1,
    'HEAD /v2/library/nginx/manifests/1.27': 1,
    [`HEAD /v2/acme/web/manifests/${digest('gone')}`]: 1,
    'HEAD /v2/acme/init/manifests/0.1.0': 1,
    'HEAD /v2/acme/web/manifests/1.0.1': 1,
    'HEAD /v2/acme/web/manifests/1.0.0': 1,
  });
});

test('a Helm repository that refuses connections or never answers is a warning on each chart it serves', async () => {
  const registry = await started(fakeRegistry(IMAGES));
  const silent = await started(silentServer());
  for (const [helm, reason] of [
    [await closedPort(), 'no connection (ECONNREFUSED)'],
    [silent.url, 'no answer within 0.5 s'],
  ]) {
    const findings = await check({ timeoutMs: 500, endpoints: { ...endpoints(registry, registry, await closedPort()), 'charts.acme.test': helm } });
    const charts = findings.filter((f) => f.message.includes(' chart '));
    assert.equal(
      charts.map((f) => [f.rule, f.severity, `${f.file}:${f.line}`, f.message]),
      [
        ['pin-unchecked', 'warning', 'kubernetes/apps/demo/api/app/helmrelease.yaml:11', `HelmRelease demo/api: chart api 1.5.0 could not be checked: https://charts.acme.test/stable: ${reason}`],
        ['pin-unchecked', 'warning', 'kubernetes/apps/demo/web/app/helmrelease.yaml:11', `HelmRelease demo/web: chart web 1.4.5 could not be checked: https://charts.acme.test/stable: ${reason}`],
      ],
    );
  }
});

test('a registry that refuses anonymous tokens is a warning, not a missing pin', async () => {
  const registry = await started(fakeRegistry(IMAGES, { denyAnonymous: true }));
  const helm = await started(fakeHelmRepository(CHARTS));
  const findings = await check({ endpoints: endpoints(registry, helm, await closedPort()) });
  const fromRegistry = findings.filter((f) => !f.file.includes('cronjob') && !f.message.includes(' chart api '));
  assert.ok(fromRegistry.length >= 10, findings.map(findingLine).join('\n'));
  assert.ok(fromRegistry.every((f) => f.rule === 'pin-unchecked' && f.severity === 'warning'), findings.map(findingLine).join('\n'));
  assert.ok(
    fromRegistry.some((f) => f.message === 'OCIRepository flux-system/tools: tag 2.0.0 of oci://ghcr.io/acme/charts/tools could not be checked: ghcr.io refused anonymous access (HTTP 401)'),
    findings.map(findingLine).join('\n'),
  );
});

test('no more requests in flight than the concurrency limit', async () => {
  const registry = await started(fakeRegistry(IMAGES, { delayMs: 30 }));
  const helm = await started(fakeHelmRepository(CHARTS));
  await check({ concurrency: 2, endpoints: endpoints(registry, helm, await closedPort()) });
  assert.is(registry.maxInFlight, 2);
});

test('the component library\'s own files are read for pins no cluster renders; values with variables are left out', async () => {
  const registry = await started(fakeRegistry({ 'acme/cache': { '1.0.0': digest('cache 1.0.0') } }));
  const host = new URL(registry.url).host;
  const repo = tempDir();
  const file = 'kubernetes/components/cache/deployment.yaml';
  mkdirSync(join(repo, 'kubernetes/components/cache'), { recursive: true });
  writeFileSync(
    join(repo, file),
    ['apiVersion: apps/v1', 'kind: Deployment', 'metadata:', '  name: ${APP}-cache', 'spec:', '  template:', '    spec:', '      containers:',
      `        - image: ${host}/acme/cache:1.0.0`, `        - image: ${host}/acme/cache:1.0.9`, '        - image: ${CACHE_IMAGE}', '        - image: ghcr.io/Acme/Cache:1.0.0', ''].join('\n'),
  );
  const library = { cluster: { name: 'components', entry: 'kubernetes/components' }, kustomizations: [], findings: [], seconds: 0,
    resources: [{ obj: { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'sample-cache-cache' } }, appliedBy: 'flux-system/sample-cache', origin: { file }, sops: false }] };
  const checked = await checkPinsOnline(repo, [], library);
  assert.equal(uniqueFindings([checked.library!]).map(findingLine), [
    `${file}:10: pin-missing [flux]: Deployment \${APP}-cache: image ${host}/acme/cache:1.0.9 does not exist: ${host}/acme/cache has no manifest 1.0.9`,
    `${file}:12: pin-missing [flux]: Deployment \${APP}-cache: image ghcr.io/Acme/Cache:1.0.0 is not a valid reference (invalid reference format: repository name must be lowercase)`,
  ]);
});

test('validate --online reports a missing pin with its line and exits 1; --help documents it', async () => {
  const registry = await started(fakeRegistry({ 'acme/charts/tools': { '2.0.0': digest('tools 2.0.0') } }));
  const repo = tempDir();
  copyPath(join(REPO, 'clusters', 'one'), join(repo, 'clusters', 'one'));
  const flux = join(repo, 'clusters', 'one', 'flux');
  rmSync(join(flux, 'cluster-apps.yaml'));
  // A registry on the loopback interface is spoken to over plain HTTP, as Docker does.
  writeFileSync(
    join(flux, 'ocirepository.yaml'),
    ['apiVersion: source.toolkit.fluxcd.io/v1', 'kind: OCIRepository', 'metadata:', '  name: tools', '  namespace: flux-system', 'spec:',
      `  url: oci://${new URL(registry.url).host}/acme/charts/tools`, '  ref:', '    tag: 2.0.1', '  interval: 12h', ''].join('\n'),
  );
  writeFileSync(join(flux, 'kustomization.yaml'), 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ./cluster-vars.yaml\n  - ./flux-system.yaml\n  - ./ocirepository.yaml\n');
  const run = (args: string[]) => invoke(validateMain, [...args, ...SCHEMAS.flatMap((d) => ['--schema-dir', d])]);
  const offline = await run(['--repo', repo, '--cache-dir', CACHE, '--quiet']);
  assert.is(offline.code, 0, offline.stdout);
  assert.is(registry.requests.length, 0, 'no request without --online');
  const online = await run(['--repo', repo, '--cache-dir', CACHE, '--quiet', '--online']);
  assert.is(online.code, 1, online.stdout);
  assert.ok(
    online.stdout.includes(
      `clusters/one/flux/ocirepository.yaml:9: pin-missing [flux]: OCIRepository flux-system/tools: tag 2.0.1 of oci://${new URL(registry.url).host}/acme/charts/tools does not exist: ${new URL(registry.url).host}/acme/charts/tools has no manifest 2.0.1`,
    ),
    online.stdout,
  );
  const help = await run(['--help']);
  assert.match(help.stdout, /--online/);
});

test.run();
