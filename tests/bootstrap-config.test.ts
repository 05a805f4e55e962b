// The Talos and bootstrap configuration of both clusters: consistent with cluster-vars, with the
// shared chart sources, with the pinned stack, and with what the bootstrap script expects.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { checkRepoFiles } from '../src/validate/repo-files.ts';
import { findingLine } from '../src/validate/report.ts';
import { ROOT, SCHEMAS } from './helpers.ts';

const test = suite('talos and bootstrap config');
const CLUSTERS = ['infra', 'apps'] as const;
const CHAIN = ['cilium', 'coredns', 'spegel', 'cert-manager', 'flux-operator', 'flux-instance'];

const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');
const yaml = (path: string): any => parse(read(path));
const vars = (cluster: string): Record<string, string> => yaml(`clusters/${cluster}/flux/cluster-vars.yaml`).data;
const talconfig = (cluster: string): any => yaml(`clusters/${cluster}/talos/talconfig.yaml`);
const patchFile = (cluster: string, ref: string) => join('clusters', cluster, 'talos', ref.replace(/^@\.\//, ''));

const ipInCidr = (ip: string, cidr: string): boolean => {
  const toInt = (a: string) => a.split('.').reduce((n, o) => n * 256 + Number(o), 0);
  const [base, bits] = cidr.split('/');
  const mask = Number(bits) === 0 ? 0 : (0xffffffff << (32 - Number(bits))) >>> 0;
  return ((toInt(ip) & mask) >>> 0) === ((toInt(base) & mask) >>> 0);
};

/** What templates/values.yaml.gotmpl renders: the shared values file with the cluster's variables. */
const renderValues = (cluster: string, release: string): { text: string; values: any } => {
  let text = read(`bootstrap/values/${release}.yaml`);
  for (const [k, v] of Object.entries(vars(cluster))) text = text.replaceAll(`\${${k}}`, String(v));
  return { text, values: parse(text) };
};

for (const cluster of CLUSTERS) {
  test(`${cluster}: talconfig agrees with cluster-vars and pins Talos v1.12.0 / Kubernetes v1.35.0`, () => {
    const t = talconfig(cluster);
    const v = vars(cluster);
    const text = read(`clusters/${cluster}/talos/talconfig.yaml`);
    assert.is(t.clusterName, cluster);
    assert.is(t.endpoint, `https://${v.CLUSTER_API_VIP}:6443`);
    assert.equal(t.clusterPodNets, [v.CLUSTER_POD_CIDR]);
    assert.equal(t.clusterSvcNets, [v.CLUSTER_SVC_CIDR]);
    assert.is(t.talosVersion, 'v1.12.0');
    assert.is(t.kubernetesVersion, 'v1.35.0');
    assert.match(text, /# renovate: datasource=docker depName=ghcr.io\/siderolabs\/installer\ntalosVersion: v1\.12\.0/);
    assert.match(text, /# renovate: datasource=docker depName=ghcr.io\/siderolabs\/kubelet\nkubernetesVersion: v1\.35\.0/);
    assert.is(t.cniConfig.name, 'none');
    const prefix = v.CLUSTER_API_VIP.replace(/\.10$/, '');
    assert.equal(t.nodes.map((n: any) => n.ipAddress), [11, 12, 13, 14, 15, 16].map((i) => `${prefix}.${i}`));
    assert.is(t.nodes.filter((n: any) => n.controlPlane).length, 3);
  });

  test(`${cluster}: every node bonds two NICs with LACP at MTU 9000; only control planes carry the VIP`, () => {
    const v = vars(cluster);
    for (const n of talconfig(cluster).nodes) {
      assert.ok(ipInCidr(n.ipAddress, v.CLUSTER_NODE_CIDR), `${n.hostname} outside ${v.CLUSTER_NODE_CIDR}`);
      assert.ok(n.installDisk || n.installDiskSelector, `${n.hostname} has no install disk`);
      const [bond] = n.networkInterfaces;
      assert.is(bond.bond.mode, '802.3ad', n.hostname);
      assert.is(bond.bond.interfaces.length, 2, n.hostname);
      assert.is(bond.mtu, 9000, n.hostname);
      assert.equal(bond.addresses, [`${n.ipAddress}/${v.CLUSTER_NODE_CIDR.split('/')[1]}`]);
      assert.is(bond.vip?.ip, n.controlPlane ? v.CLUSTER_API_VIP : undefined, n.hostname);
    }
  });

  test(`${cluster}: patches exist, and set what Cilium and Spegel need`, () => {
    const t = talconfig(cluster);
    const refs = [...t.patches, ...t.controlPlane.patches, ...t.worker.patches, ...t.nodes.flatMap((n: any) => n.patches ?? [])];
    for (const ref of refs) assert.ok(existsSync(join(ROOT, patchFile(cluster, ref))), `${ref} is missing`);
    const merged = refs.map((r: string) => read(patchFile(cluster, r))).join('\n');
    assert.match(merged, /\[plugins\."io\.containerd\.cri\.v1\.images"\]\n\s+discard_unpacked_layers = false/);
    const global = yaml(`clusters/${cluster}/talos/patches/global/cluster.yaml`);
    assert.is(global.cluster.proxy.disabled, true);
    assert.is(global.cluster.coreDNS.disabled, true);
    const features = yaml(`clusters/${cluster}/talos/patches/global/machine-features.yaml`).machine.features;
    assert.equal(features.kubePrism, { enabled: true, port: 7445 });
    const v = vars(cluster);
    assert.equal(yaml(`clusters/${cluster}/talos/patches/global/machine-kubelet.yaml`).machine.kubelet.nodeIP.validSubnets, [v.CLUSTER_NODE_CIDR]);
    assert.equal(yaml(`clusters/${cluster}/talos/patches/controller/cluster.yaml`).cluster.etcd.advertisedSubnets, [v.CLUSTER_NODE_CIDR]);
    // The deprecated .machine.network and .machine.registries stay out of our patches (docs/stack.md).
    for (const ref of refs) {
      const machine = yaml(patchFile(cluster, ref)).machine ?? {};
      assert.is(machine.network ?? machine.registries, undefined, ref);
    }
  });

  test(`${cluster}: Talos sends its service logs to the node's own fluent-bit, at the address cluster-vars names`, () => {
    const v = vars(cluster);
    assert.ok(ipInCidr(v.CLUSTER_LOGS_IP, v.CLUSTER_SVC_CIDR), `${v.CLUSTER_LOGS_IP} outside ${v.CLUSTER_SVC_CIDR}`);
    assert.is.not(v.CLUSTER_LOGS_IP, v.CLUSTER_DNS_IP);
    assert.ok(talconfig(cluster).patches.includes('@./patches/global/machine-logging.yaml'), 'every node gets the logging patch');
    const { destinations } = yaml(`clusters/${cluster}/talos/patches/global/machine-logging.yaml`).machine.logging;
    assert.equal(destinations, [{ endpoint: `tcp://${v.CLUSTER_LOGS_IP}:6050/`, format: 'json_lines' }]);
    // The kernel's log goes to the same input through a machine config document of its own.
    assert.ok(talconfig(cluster).patches.includes('@./patches/global/kernel-logging.yaml'), 'every node gets the kernel log patch');
    assert.equal(yaml(`clusters/${cluster}/talos/patches/global/kernel-logging.yaml`), { apiVersion: 'v1alpha1', kind: 'KmsgLogConfig', name: 'fluent-bit', url: `tcp://${v.CLUSTER_LOGS_IP}:6050/` });
    // The receiving end: the Service at that address keeps each node's logs on its node, a TCP input
    // reads them as JSON, and the network policy lets the node in on that port only.
    const dir = `clusters/${cluster}/apps/observability/fluent-bit/app`;
    const values = yaml(`${dir}/helmrelease.yaml`).spec.values;
    assert.equal(values.service, { clusterIP: '${CLUSTER_LOGS_IP}', internalTrafficPolicy: 'Local' });
    assert.equal(values.extraPorts, [{ name: 'talos', port: 6050, containerPort: 6050, protocol: 'TCP' }]);
    assert.match(values.config.inputs, /\[INPUT\]\n\s+Name tcp\n\s+Listen 0\.0\.0\.0\n\s+Port 6050\n\s+Format json\n\s+Tag talos\n/);
    assert.match(values.config.filters, /Match talos\n\s+Add node \$\$\{NODE_NAME\}/, 'escaped from Flux, which would blank ${NODE_NAME}');
    assert.ok(values.env.some((e: any) => e.name === 'NODE_NAME' && e.valueFrom.fieldRef.fieldPath === 'spec.nodeName'));
    const policy = yaml(`${dir}/ciliumnetworkpolicy.yaml`).spec;
    assert.equal(policy.ingress, [{ fromEntities: ['host'], toPorts: [{ ports: [{ port: '6050', protocol: 'TCP' }] }] }]);
  });

  test(`${cluster}: helmfiles use the charts and versions of infrastructure/base/repositories`, () => {
    const sources = new Map<string, { url: string; tag: string }>();
    for (const f of ['cilium', 'coredns', 'spegel', 'cert-manager', 'flux-operator', 'flux-instance', 'envoy-gateway']) {
      const r = yaml(`infrastructure/base/repositories/oci/${f}.yaml`);
      sources.set(f, { url: r.spec.url, tag: r.spec.ref.tag });
    }
    for (const file of ['00-crds.yaml', '01-apps.yaml']) {
      for (const rel of yaml(`bootstrap/${cluster}/helmfile.d/${file}`).releases) {
        const src = sources.get(rel.name);
        assert.ok(src, `${file}: ${rel.name} has no source in infrastructure/base/repositories`);
        assert.equal({ url: rel.chart, tag: rel.version }, src, `${file}: ${rel.name}`);
      }
    }
  });

  test(`${cluster}: 01-apps installs ${CHAIN.join(' → ')}, each needing the one before`, () => {
    const h = yaml(`bootstrap/${cluster}/helmfile.d/01-apps.yaml`);
    assert.is(h.helmDefaults.kubeContext, cluster);
    assert.equal(h.releases.map((r: any) => r.name), CHAIN);
    h.releases.forEach((r: any, i: number) => {
      const before = h.releases[i - 1];
      assert.equal(r.needs, before ? [`${before.namespace}/${before.name}`] : undefined, r.name);
      assert.equal(r.values, ['./templates/values.yaml.gotmpl'], r.name);
      assert.ok(existsSync(join(ROOT, 'bootstrap', 'values', `${r.name}.yaml`)), `bootstrap/values/${r.name}.yaml`);
    });
    const crds = yaml(`bootstrap/${cluster}/helmfile.d/00-crds.yaml`);
    assert.equal(crds.helmDefaults.args, ['--include-crds', '--no-hooks']);
  });

  test(`${cluster}: the values template reads the shared values with this cluster's variables`, () => {
    const gotmpl = read(`bootstrap/${cluster}/helmfile.d/templates/values.yaml.gotmpl`);
    assert.ok(gotmpl.includes(`{{- $cluster := "${cluster}" -}}`));
    const other = cluster === 'infra' ? 'apps' : 'infra';
    assert.is(gotmpl.replace(`"${cluster}"`, `"${other}"`), read(`bootstrap/${other}/helmfile.d/templates/values.yaml.gotmpl`));
    // Its paths are relative to the template's folder.
    const dir = join(ROOT, 'bootstrap', cluster, 'helmfile.d', 'templates');
    assert.ok(existsSync(join(dir, '../../../../clusters', cluster, 'flux', 'cluster-vars.yaml')));
    assert.ok(existsSync(join(dir, '../../../values', 'cilium.yaml')));
    for (const release of CHAIN) {
      const { text } = renderValues(cluster, release);
      assert.not.match(text, /\$\{/, `${release}: a variable cluster-vars does not define`);
    }
  });

  test(`${cluster}: Cilium, CoreDNS and Spegel values as the cluster needs them`, () => {
    const v = vars(cluster);
    const cilium = renderValues(cluster, 'cilium').values;
    assert.equal(cilium.cluster, { name: cluster, id: cluster === 'infra' ? 1 : 2 });
    assert.is(cilium.routingMode, 'native');
    assert.is(cilium.autoDirectNodeRoutes, true);
    assert.is(cilium.ipv4NativeRoutingCIDR, v.CLUSTER_POD_CIDR);
    assert.is(cilium.kubeProxyReplacement, true);
    assert.is(cilium.bpf.masquerade, true);
    assert.is(cilium.k8sServiceHost, '127.0.0.1');
    assert.is(cilium.k8sServicePort, 7445);
    const dnsIp = v.CLUSTER_SVC_CIDR.replace(/\.0\/\d+$/, '.10');
    assert.is(v.CLUSTER_DNS_IP, dnsIp, 'Talos points the kubelets at the tenth address of the service range');
    assert.is(renderValues(cluster, 'coredns').values.service.clusterIP, dnsIp);
    assert.is(renderValues(cluster, 'spegel').values.spegel.containerdRegistryConfigPath, '/etc/cri/conf.d/hosts');
    assert.is(renderValues(cluster, 'flux-instance').values.instance.distribution.version, '2.7.5');
  });

  test(`${cluster}: secrets.yaml.tpl holds 1Password references and nothing else`, () => {
    const docs = parseAllDocuments(read(`bootstrap/${cluster}/secrets.yaml.tpl`)).map((d) => d.toJS() as any);
    const secrets = docs.filter((d) => d.kind === 'Secret');
    assert.equal(secrets.map((s) => `${s.metadata.namespace}/${s.metadata.name}`), [
      'flux-system/sops-age',
      'flux-system/github-deploy-key',
      'cert-manager/cloudflare-api-token',
    ]);
    for (const s of secrets) {
      for (const value of [...Object.values(s.data ?? {}), ...Object.values(s.stringData ?? {})]) {
        assert.match(String(value), /^op:\/\/k8s-ops\/[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/, `${s.metadata.name}`);
      }
    }
    // Flux's GitRepository reads the deploy key by this name.
    assert.match(read(`clusters/${cluster}/flux/config/flux-system.yaml`), /secretRef:\n\s+name: github-deploy-key/);
    const namespaces = docs.filter((d) => d.kind === 'Namespace').map((d) => d.metadata.name);
    for (const s of secrets) assert.ok(namespaces.includes(s.metadata.namespace), `namespace ${s.metadata.namespace} is not created first`);
  });

  test(`${cluster}: Talos secrets are encrypted whole by SOPS, generated configs never committed`, () => {
    const rules = yaml('.sops.yaml').creation_rules;
    const file = `clusters/${cluster}/talos/talsecret.sops.yaml`;
    const rule = rules.find((r: any) => new RegExp(r.path_regex).test(file));
    assert.ok(rule && !rule.encrypted_regex, 'the first matching rule must encrypt the whole file');
    const ignored = spawnSync('git', ['check-ignore', '--no-index', `clusters/${cluster}/talos/clusterconfig/${cluster}-k8s-1.yaml`, `clusters/${cluster}/talos/clusterconfig/talosconfig`], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    assert.is(ignored.stdout.trim().split('\n').length, 2, ignored.stdout + ignored.stderr);
  });
}

test('talconfig and helmfile.d files validate against their SchemaStore schemas', async () => {
  const { checked, findings } = await checkRepoFiles(ROOT, SCHEMAS);
  for (const c of CLUSTERS) {
    for (const f of [`clusters/${c}/talos/talconfig.yaml`, `bootstrap/${c}/helmfile.d/00-crds.yaml`, `bootstrap/${c}/helmfile.d/01-apps.yaml`]) {
      assert.ok(checked.includes(f), `${f} was not checked`);
    }
  }
  assert.equal(findings.filter((f) => /^(clusters|bootstrap)\//.test(f.file)).map(findingLine), []);
});

test('a wrong talconfig or helmfile is caught with the field at fault', async () => {
  const talconfig = await checkRepoFiles(join(ROOT, 'tests', 'fixtures', 'talconfig-unknown-field'), SCHEMAS);
  assert.equal(talconfig.findings.map(findingLine), [
    'clusters/demo/talos/talconfig.yaml: schema [flux]: talhelper.json: clusterName: required field missing',
    'clusters/demo/talos/talconfig.yaml: schema [flux]: talhelper.json: clustername: unknown field',
  ]);
  const helmfile = await checkRepoFiles(join(ROOT, 'tests', 'fixtures', 'helmfile-needs-not-a-list'), SCHEMAS);
  assert.equal(helmfile.findings.map(findingLine), ['bootstrap/demo/helmfile.d/01-apps.yaml: schema [flux]: helmfile.json: releases[0].needs: must be array (got "kube-system/cilium")']);
});

test.run();

