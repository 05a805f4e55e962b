import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { UserError } from '../src/lib/errors.ts';
import { isDir, toPosix, walkFiles } from '../src/lib/fsutil.ts';
import { TOOLKIT_ROOT } from '../src/validate/pipeline.ts';
import type { Answers } from './lib/answers.ts';
import { contains, ip, nth, overlaps } from './lib/ipv4.ts';
import { connectCredentialsPath, placeholderConnectCredentials } from '../src/lib/connect-credentials.ts';
import { readIfExists, settle, type Plan } from './lib/plan.ts';
import { render } from '../src/lib/templates.ts';
import { yamlWithRenovate } from './lib/yaml-edit.ts';
import type { RepoFacts } from './lib/repo.ts';
import type { Generator } from './lib/run.ts';

const G = 'cluster';

/** cluster-vars keys the template writes from the answers; any other key comes from answers.vars. */
const KNOWN_VARS = [
  'CLUSTER_NAME', 'CLUSTER_ID', 'CLUSTER_DOMAIN', 'CLUSTER_API_VIP', 'CLUSTER_NODE_CIDR', 'CLUSTER_POD_CIDR',
  'CLUSTER_SVC_CIDR', 'CLUSTER_DNS_IP', 'CLUSTER_LOGS_IP', 'CLUSTER_LB_POOL', 'CLUSTER_BGP_ASN', 'BGP_PEER_ASN', 'BGP_PEER_ADDRESS', 'TIMEZONE',
];

/** Ranges that must not meet another cluster's: answers field -> cluster-vars key. */
const RANGES: [string, string][] = [
  ['nodeCidr', 'CLUSTER_NODE_CIDR'],
  ['podCidr', 'CLUSTER_POD_CIDR'],
  ['serviceCidr', 'CLUSTER_SVC_CIDR'],
  ['loadBalancerPool', 'CLUSTER_LB_POOL'],
];

const check = (a: Answers, repo: RepoFacts): void => {
  // The same name with the same id is a re-render of that cluster; with another id, a second cluster.
  const same = repo.clusters.find((c) => c.name === a.name);
  if (same && String(same.vars.CLUSTER_ID) !== String(a.id)) {
    throw new UserError(`answers.name: cluster ${a.name} already exists (id ${same.vars.CLUSTER_ID}); choose another name, or give its own answers to re-render it`);
  }
  const others = repo.clusters.filter((c) => c.name !== a.name);
  for (const c of others) {
    if (String(c.vars.CLUSTER_ID) === String(a.id)) throw new UserError(`answers.id: ${a.id} is already cluster ${c.name}'s id`);
  }
  // The new cluster's own ranges must not meet each other, nor any range of another cluster.
  for (const [i, [field]] of RANGES.entries()) {
    for (const [other] of RANGES.slice(i + 1)) {
      if (overlaps(a[field], a[other])) throw new UserError(`answers.${field}: ${a[field]} overlaps answers.${other} ${a[other]}`);
    }
    for (const c of others) {
      for (const [, key] of RANGES) {
        if (c.vars[key] && overlaps(a[field], c.vars[key])) {
          throw new UserError(`answers.${field}: ${a[field]} overlaps cluster ${c.name}'s ${key} ${c.vars[key]}`);
        }
      }
    }
  }
  if (!contains(a.nodeCidr, a.endpoint)) throw new UserError(`answers.endpoint: ${a.endpoint} is outside the node network ${a.nodeCidr}`);
  if (a.gateway && !contains(a.nodeCidr, a.gateway)) throw new UserError(`answers.gateway: ${a.gateway} is outside the node network ${a.nodeCidr}`);
  if (a.dnsIp && !contains(a.serviceCidr, a.dnsIp)) throw new UserError(`answers.dnsIp: ${a.dnsIp} is outside the service CIDR ${a.serviceCidr}`);
  const seen = new Map<string, number>();
  a.nodes.forEach((n: Answers, i: number) => {
    if (!contains(a.nodeCidr, n.ip)) throw new UserError(`answers.nodes[${i}].ip: ${n.ip} is outside the node network ${a.nodeCidr}`);
    if (n.ip === a.endpoint) throw new UserError(`answers.nodes[${i}].ip: ${n.ip} is the control-plane endpoint (the VIP)`);
    for (const key of [`ip:${n.ip}`, `hostname:${n.hostname}`]) {
      if (seen.has(key)) throw new UserError(`answers.nodes[${i}].${key.split(':')[0]}: ${key.split(':')[1]} is also nodes[${seen.get(key)}]'s`);
      seen.set(key, i);
    }
  });
  if (!a.nodes.some((n: Answers) => n.controlPlane)) throw new UserError('answers.nodes: at least one node must be a control plane');
  // Shared apps substitute every key the other clusters define: the new cluster must define them too.
  for (const c of others) {
    for (const key of Object.keys(c.vars)) {
      if (!KNOWN_VARS.includes(key) && a.vars?.[key] === undefined) {
        throw new UserError(`answers.vars.${key}: required, cluster ${c.name} defines it and shared manifests may use it`);
      }
    }
  }
};

/** `10.25.11.11–16` when the addresses run on in one /24, else a list. */
const ipRange = (ips: string[]): string => {
  const nums = ips.map(ip);
  const run = nums.every((n, i) => i === 0 || n === nums[i - 1] + 1) && Math.floor(nums[0] / 256) === Math.floor(nums.at(-1)! / 256);
  return run && ips.length > 1 ? `${ips[0]}–${ips.at(-1)!.split('.')[3]}` : ips.join(', ');
};

/** `k8s-1–3 control planes, k8s-4–6 workers` when the hostnames number on, else lists. */
const roleSummary = (nodes: Answers[]): string => {
  const names = (list: Answers[]) => {
    const m = list.map((n) => /^(.*?)(\d+)$/.exec(n.hostname));
    const run = m.every((x, i) => x && x[1] === m[0]![1] && (i === 0 || Number(x[2]) === Number(m[i - 1]![2]) + 1));
    return run && list.length > 1 ? `${list[0].hostname}–${m.at(-1)![2]}` : list.map((n) => n.hostname).join(', ');
  };
  const cps = nodes.filter((n) => n.controlPlane);
  const workers = nodes.filter((n) => !n.controlPlane);
  return [cps.length && `${names(cps)} control plane${cps.length > 1 ? 's' : ''}`, workers.length && `${names(workers)} worker${workers.length > 1 ? 's' : ''}`]
    .filter(Boolean)
    .join(', ');
};

const SEALED_TEMPLATE = 'secrets/onepassword-connect/onepassword-connect-secret.sops.yaml';

const templateFiles = (): string[] =>
  walkFiles(join(TOOLKIT_ROOT, 'templates', G)).map((f) => toPosix(relative(join(TOOLKIT_ROOT, 'templates', G), f)));

const plan = async (a: Answers, repo: RepoFacts): Promise<Plan> => {
  const zones = ['zone-a', 'zone-b', 'zone-c'];
  const nodes = a.nodes.map((n: Answers, i: number) => ({ controlPlane: false, ...n, zone: n.zone ?? zones[i % zones.length] }));
  const dns = a.dnsIp ?? nth(a.serviceCidr, 10);
  // Where Talos sends its service logs: fluent-bit's Service, at a fixed address of the service range
  // (the sixtieth, or the sixty-first when DNS took the sixtieth), which the machine config needs literally.
  const logs = nth(a.serviceCidr, dns === nth(a.serviceCidr, 60) ? 61 : 60);
  const ctx = {
    name: a.name,
    id: a.id,
    domain: a.domain,
    branch: a.branch,
    timezone: a.timezone,
    talos: { version: a.talosVersion, kubernetes: a.kubernetesVersion },
    network: {
      nodes: a.nodeCidr,
      prefix: a.nodeCidr.split('/')[1],
      vip: a.endpoint,
      gateway: a.gateway ?? nth(a.nodeCidr, 1),
      pods: a.podCidr,
      services: a.serviceCidr,
      dns,
      logs,
      loadBalancers: a.loadBalancerPool,
      mtu: a.mtu,
      bond: a.bondInterfaces,
      nameservers: a.nameservers,
    },
    bgp: a.bgp,
    vars: a.vars ?? {},
    nodes,
    controlPlanes: nodes.filter((n: Answers) => n.controlPlane),
    workers: nodes.filter((n: Answers) => !n.controlPlane),
    firstControlPlane: nodes.find((n: Answers) => n.controlPlane)?.hostname,
    nodeRange: ipRange(nodes.map((n: Answers) => n.ip)),
    roleSummary: roleSummary(nodes),
  };
  const changes = [];
  for (const file of templateFiles()) {
    if (file === 'talos/patches/node.yaml' || file === SEALED_TEMPLATE) continue;
    const target = file.startsWith('bootstrap/') ? `bootstrap/${a.name}/${file.slice('bootstrap/'.length)}` : `clusters/${a.name}/${file}`;
    changes.push({ path: target, after: render(G, file, ctx), owned: true });
  }
  for (const node of nodes) {
    changes.push({ path: `clusters/${a.name}/talos/patches/nodes/${node.hostname}.yaml`, after: render(G, 'talos/patches/node.yaml', { ...ctx, node }), owned: true });
  }
  // Encrypted, so never the same twice: written once, until `task op:seal-connect` replaces it.
  if (!readIfExists(repo.root, connectCredentialsPath(a.name))) {
    changes.push({ path: connectCredentialsPath(a.name), after: await placeholderConnectCredentials(repo.root, a.name), owned: false });
  }
  changes.push({
    path: `clusters/${a.name}/.answers.yaml`,
    after: `# Answers \`npx plop cluster\` was given for this cluster. Change them here, then update the\n# cluster's files (your edits of them are kept) with:\n#   npx plop cluster -- --answers clusters/${a.name}/.answers.yaml\n${yamlWithRenovate(a, {
      // The same names as talconfig.yaml's, so one pull request updates both.
      talosVersion: 'datasource=docker depName=ghcr.io/siderolabs/installer',
      kubernetesVersion: 'datasource=docker depName=ghcr.io/siderolabs/kubelet',
    })}\n`,
    owned: true,
  });
  // Node patches of nodes no longer listed are stale: a re-render with fewer nodes removes nothing by
  // itself, so refuse rather than leave them behind.
  const nodeDir = join(repo.root, 'clusters', a.name, 'talos', 'patches', 'nodes');
  if (isDir(nodeDir)) {
    const stale = readdirSync(nodeDir).filter((f) => !nodes.some((n: Answers) => `${n.hostname}.yaml` === f));
    if (stale.length) throw new UserError(`answers.nodes: clusters/${a.name}/talos/patches/nodes/ has ${stale.join(', ')} for nodes not in the answers; remove them first`);
  }
  return { target: `cluster ${a.name}`, changes: settle(repo.root, changes), clusters: [a.name] };
};

export const generator: Generator = {
  name: G,
  check,
  plan,
};
