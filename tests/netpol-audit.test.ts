import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { auditCluster } from '../src/audit/netpol.ts';
import { matchNamespace, namespaceLabels } from '../src/audit/selector.ts';
import { defaultConfig } from '../src/validate/config.ts';
import { networkPolicyFindings } from '../src/validate/policy.ts';
import type { KObject, Resource } from '../src/validate/types.ts';
import { invoke } from '../src/lib/cli.ts';
import { main as audit } from '../src/audit/netpol-cli.ts';
import { CACHE, copyPath, FIXTURES, tempDir } from './helpers.ts';

/** The audit's entry point in-process, as `npm run netpol-audit -- <args>` runs it. */
const run = (args: string[]) => invoke(audit, ['--cache-dir', CACHE, ...args]);

const test = suite('netpol-audit');

const res = (obj: KObject): Resource => ({ obj, appliedBy: 'flux-system/test', sops: false });
const ns = (name: string, labels?: Record<string, string>) => res({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, ...(labels ? { labels } : {}) } });
const deployment = (namespace: string) => res({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace } });
const cnp = (namespace: string, spec: KObject) => res({ apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata: { name: 'web', namespace }, spec });
const ccnp = (name: string, spec: KObject) => res({ apiVersion: 'cilium.io/v2', kind: 'CiliumClusterwideNetworkPolicy', metadata: { name }, spec });
const denyAllBut = (...excluded: string[]) =>
  ccnp('default-deny-all', {
    endpointSelector: { matchExpressions: [{ key: 'io.kubernetes.pod.namespace', operator: 'NotIn', values: excluded }] },
    ingress: [{}],
    egress: [{}],
  });

test('selectors are evaluated against a namespace: decided by namespace keys, "some" for pod labels', () => {
  const demo = namespaceLabels('demo', { 'monosense.dev/tier': '1' });
  assert.is(matchNamespace({}, demo), 'all');
  assert.is(matchNamespace({ matchLabels: { 'io.cilium.k8s.namespace.labels.monosense.dev/tier': '1' } }, demo), 'all');
  assert.is(matchNamespace({ matchLabels: { 'k8s:io.kubernetes.pod.namespace': 'other' } }, demo), 'none');
  assert.is(matchNamespace({ matchExpressions: [{ key: 'io.kubernetes.pod.namespace', operator: 'NotIn', values: ['kube-system'] }] }, demo), 'all');
  assert.is(matchNamespace({ matchExpressions: [{ key: 'io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name', operator: 'In', values: ['demo'] }] }, demo), 'all');
  assert.is(matchNamespace({ matchLabels: { app: 'web' } }, demo), 'some');
});

test('a tier-2 namespace with workloads: covered with a policy is clean; each gap is one finding', () => {
  const config = defaultConfig();
  const allow = cnp('demo', { endpointSelector: {}, ingress: [{ toPorts: [{ ports: [{ port: '80', protocol: 'TCP' }] }] }] });
  const clean = auditCluster('test', [ns('demo'), deployment('demo'), allow, denyAllBut('kube-system', 'flux-system')], config);
  assert.equal(clean.findings, []);
  const demo = clean.namespaces.find((n) => n.name === 'demo')!;
  assert.equal(demo, { name: 'demo', tier: 2, workloads: ['Deployment web'], defaultDeny: { ingress: 'all', egress: 'all', by: ['default-deny-all'] }, policies: ['web'] });
  assert.equal(clean.namespaces.find((n) => n.name === 'kube-system')?.defaultDeny, { ingress: 'none', egress: 'none', by: [] });
  // An L4-only rule takes any peer; the default-deny idiom allows nothing.
  assert.equal(clean.policies[0].ingress, [{ peers: ['any'], ports: ['80/TCP'], l7: [] }]);
  assert.equal(clean.clusterwide[0].ingress, [{ peers: [], ports: [], l7: [] }]);

  const excluded = auditCluster('test', [ns('demo'), deployment('demo'), allow, denyAllBut('kube-system', 'demo')], config);
  assert.equal(excluded.findings, [
    { cluster: 'test', namespace: 'demo', rule: 'default-deny', message: 'namespace demo is tier 2 and runs workloads, but the cluster-wide default deny does not cover all its pods (ingress: none, egress: none)' },
  ]);

  const noPolicy = auditCluster('test', [ns('demo'), deployment('demo'), denyAllBut('kube-system')], config);
  assert.equal(noPolicy.findings.map((f) => f.rule), ['network-cut-off', 'network-policy']);
  assert.match(noPolicy.findings[1].message, 'namespace demo is tier 2 and runs workloads (Deployment web), but has no CiliumNetworkPolicy');

  // Tier 1 (by label) is not held to either rule.
  assert.equal(auditCluster('test', [ns('demo', { 'monosense.dev/tier': '1' }), deployment('demo')], config).findings, []);
});

test('a workload under default deny that no policy allows anything is cut off, in any tier', () => {
  const config = defaultConfig();
  const platform = ns('demo', { 'monosense.dev/tier': '1' });
  const cutOff = auditCluster('test', [platform, deployment('demo'), denyAllBut('kube-system')], config);
  assert.equal(cutOff.findings, [
    {
      cluster: 'test',
      namespace: 'demo',
      rule: 'network-cut-off',
      message: 'namespace demo runs workloads (Deployment web) under default deny (ingress: all, egress: all), but no policy allows its pods anything: they are cut off',
    },
  ]);
  // One allow anywhere is enough: a cluster-wide DNS rule, or a policy of the namespace.
  const dns = ccnp('allow-dns', { endpointSelector: {}, enableDefaultDeny: { ingress: false, egress: false }, egress: [{ toEndpoints: [{ matchLabels: { 'k8s-app': 'kube-dns' } }] }] });
  assert.equal(auditCluster('test', [platform, deployment('demo'), denyAllBut('kube-system'), dns], config).findings, []);
  const own = cnp('demo', { endpointSelector: {}, ingress: [{ toPorts: [{ ports: [{ port: '80', protocol: 'TCP' }] }] }] });
  assert.equal(auditCluster('test', [platform, deployment('demo'), denyAllBut('kube-system'), own], config).findings, []);
  // Outside default deny nothing is cut off.
  assert.equal(auditCluster('test', [platform, deployment('demo')], config).findings, []);
});

test('the policy stage reports what the audit finds, on the Namespace', () => {
  const config = defaultConfig();
  const platform = { ...ns('demo', { 'monosense.dev/tier': '1' }), origin: { file: 'kubernetes/apps/demo/namespace.yaml' } };
  const resources = [platform, deployment('demo'), denyAllBut('kube-system')];
  const audit = auditCluster('test', resources, config).findings;
  const policy = networkPolicyFindings(resources, config, 'test');
  assert.equal(policy.map((f) => [f.rule, f.file, f.message]), audit.map((f) => [f.rule, 'kubernetes/apps/demo/namespace.yaml', f.message]));
});

test('only policies that turn default deny on count; a pod-label selector covers some pods', () => {
  const config = defaultConfig();
  const allowOnly = ccnp('allow-dns', { endpointSelector: {}, enableDefaultDeny: { ingress: false, egress: false }, egress: [{ toEntities: ['cluster'] }] });
  const partial = ccnp('partial', { endpointSelector: { matchLabels: { app: 'web' } }, ingress: [{}] });
  const policy = cnp('demo', { endpointSelector: {}, egress: [{ toEndpoints: [{ matchLabels: { app: 'db' } }], toFQDNs: [{ matchName: 'example.com' }] }] });
  const a = auditCluster('test', [ns('demo'), deployment('demo'), policy, allowOnly, partial], config);
  assert.equal(a.namespaces.find((n) => n.name === 'demo')!.defaultDeny, { ingress: 'some', egress: 'none', by: ['partial'] });
  assert.equal(a.findings.map((f) => f.message), ['namespace demo is tier 2 and runs workloads, but the cluster-wide default deny does not cover all its pods (ingress: some, egress: none)']);
  // A namespaced policy's endpoint peers are in its own namespace unless the selector names one.
  assert.equal(a.policies[0].egress, [{ peers: ['endpoints namespace=demo, app=db', 'fqdn example.com'], ports: [], l7: [] }]);
});

test('the repository: every namespace listed with its tier, the baseline policies, no findings', async () => {
  const r = await run(['--format', 'json']);
  assert.is(r.code, 0, r.stderr + r.stdout);
  const report = JSON.parse(r.stdout);
  assert.equal(report.clusters.map((c: KObject) => c.cluster), ['apps', 'infra']);
  assert.equal(report.findings, []);
  for (const c of report.clusters) {
    const byName = Object.fromEntries(c.namespaces.map((n: KObject) => [n.name, n]));
    for (const system of ['kube-system', 'flux-system']) {
      assert.is(byName[system].tier, 0);
      assert.equal(byName[system].defaultDeny, { ingress: 'none', egress: 'none', by: [] }, `${c.cluster}: ${system} is outside default deny`);
    }
    assert.is(byName.security.tier, 1);
    assert.equal(byName.security.defaultDeny, { ingress: 'all', egress: 'all', by: ['default-deny-all'] });
    const names = c.clusterwide.map((p: KObject) => p.name).sort();
    for (const p of ['allow-dns', 'allow-kube-apiserver', 'allow-metrics-scraping', 'debug-bypass', 'default-deny-all']) assert.ok(names.includes(p), `${c.cluster}: ${p}`);
    const deny = c.clusterwide.find((p: KObject) => p.name === 'default-deny-all');
    assert.equal(deny.defaultDeny, { ingress: true, egress: true });
    for (const p of c.clusterwide.filter((x: KObject) => x.name !== 'default-deny-all')) assert.equal(p.defaultDeny, { ingress: false, egress: false }, p.name);
  }
  // The cross-cluster observability flows: the apps cluster's agents leave only for the hub's write
  // endpoints; on infra only the internal Gateway's proxies reach the hub's stores from outside the namespace.
  const flows = (cluster: string, name: string) => {
    const p = report.clusters.find((c: KObject) => c.cluster === cluster).policies.find((x: KObject) => x.namespace === 'observability' && x.name === name);
    return { ingress: p.ingress.map((r: KObject) => `${r.peers.join(' + ')} ${r.ports.join(',')}`), egress: p.egress.map((r: KObject) => `${r.peers.join(' + ')} ${r.ports.join(',')}`) };
  };
  assert.ok(flows('apps', 'vmagent').egress.includes('fqdn metrics-write.monosense.dev 443/TCP'));
  assert.ok(flows('apps', 'fluent-bit').egress.includes('fqdn logs-write.monosense.dev 443/TCP'));
  assert.equal(flows('apps', 'fluent-bit').egress.filter((e: string) => !e.includes('kube-dns')), ['fqdn logs-write.monosense.dev 443/TCP']);
  const gateway = 'endpoints gateway.envoyproxy.io/owning-gateway-name=internal, namespace=networking';
  assert.equal(flows('infra', 'vmsingle-hub').ingress, [`${gateway} 8429/TCP`]);
  assert.equal(flows('infra', 'vlsingle-hub').ingress, [`${gateway} 9428/TCP`]);
  const one = await run(['--cluster', 'infra']);
  assert.is(one.code, 0, one.stderr);
  assert.match(one.stdout, /^cluster infra\n/);
  assert.not.match(one.stdout, /cluster apps/);
  assert.match(one.stdout, /\nno findings\n$/);
});

test('a fixture whose tier-2 namespace is not under default deny fails, with the namespace named', async () => {
  const repo = tempDir();
  copyPath(join(FIXTURES, 'clean'), repo);
  const uncovered = await run(['--repo', repo]);
  assert.is(uncovered.code, 1, uncovered.stdout);
  assert.match(uncovered.stdout, 'test: default-deny: namespace demo is tier 2 and runs workloads, but the cluster-wide default deny does not cover all its pods (ingress: none, egress: none)');
  // The same tree with a cluster-wide default deny: clean.
  const policy = join(repo, 'kubernetes/apps/network/default-deny-all.yaml');
  writeFileSync(
    policy,
    'apiVersion: cilium.io/v2\nkind: CiliumClusterwideNetworkPolicy\nmetadata:\n  name: default-deny-all\nspec:\n  endpointSelector:\n    matchExpressions:\n      - key: io.kubernetes.pod.namespace\n        operator: NotIn\n        values: [kube-system]\n  ingress:\n    - {}\n  egress:\n    - {}\n',
  );
  const k = join(repo, 'kubernetes/apps/network/kustomization.yaml');
  writeFileSync(k, `${readFileSync(k, 'utf8')}  - ./default-deny-all.yaml\n`);
  const covered = await run(['--repo', repo, '--format', 'json']);
  assert.is(covered.code, 0, covered.stdout + covered.stderr);
  assert.equal(JSON.parse(covered.stdout).findings, []);
});

test('usage errors exit 2', async () => {
  const r = await run(['--format', 'xml']);
  assert.is(r.code, 2);
  assert.match(r.stderr, 'error: --format must be one of text, json, not "xml"');
});

test.run();
