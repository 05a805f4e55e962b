import type { ValidatorConfig } from '../validate/config.ts';
import { podNamespace, type KObject, type Resource } from '../validate/types.ts';
import { describeSelector, matchNamespace, namespaceLabels, NAMESPACE_KEY, type Match } from './selector.ts';
import { namespaceTier } from '../lib/layout.ts';

/** One rule of a policy: who (peers), on which ports, with which L7 rules. */
export interface RuleSummary {
  peers: string[];
  ports: string[];
  l7: string[];
}

export interface PolicySummary {
  kind: 'CiliumNetworkPolicy' | 'CiliumClusterwideNetworkPolicy';
  name: string;
  namespace?: string;
  file?: string;
  /** The endpoint selector as one line (`{}`: every pod the policy can see). */
  selects: string;
  /** Whether the policy puts the pods it selects into default deny, per direction. */
  defaultDeny: { ingress: boolean; egress: boolean };
  ingress: RuleSummary[];
  egress: RuleSummary[];
  ingressDeny: RuleSummary[];
  egressDeny: RuleSummary[];
}

export interface ClusterwideSummary extends PolicySummary {
  /** The namespaces whose pods the policy selects (all of them, or some). */
  namespaces: { name: string; match: Exclude<Match, 'none'> }[];
}

export interface NamespaceAudit {
  name: string;
  tier: number;
  /** `HelmRelease cert-manager`: what runs pods there. */
  workloads: string[];
  /** How the cluster-wide default deny covers the namespace's pods, per direction, and the policies that do it. */
  defaultDeny: { ingress: Match; egress: Match; by: string[] };
  /** The CiliumNetworkPolicies in the namespace. */
  policies: string[];
}

export interface AuditFinding {
  cluster: string;
  namespace: string;
  rule: 'default-deny' | 'network-policy' | 'network-cut-off';
  message: string;
}

const WORKLOADS = new Set(['HelmRelease', 'Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob', 'Pod', 'ReplicaSet']);

/** The namespace a workload runs pods in (a HelmRelease's release namespace), or undefined for anything else. */
export const workloadNamespace = (obj: KObject): string | undefined => {
  if (!WORKLOADS.has(obj.kind)) return undefined;
  return podNamespace(obj);
};

export interface ClusterAudit {
  cluster: string;
  namespaces: NamespaceAudit[];
  clusterwide: ClusterwideSummary[];
  policies: PolicySummary[];
  findings: AuditFinding[];
}

const CNP = 'CiliumNetworkPolicy';
const CCNP = 'CiliumClusterwideNetworkPolicy';
const isCilium = (o: KObject) => String(o.apiVersion ?? '').startsWith('cilium.io/');

const ports = (rule: KObject): { ports: string[]; l7: string[] } => {
  const out = { ports: [] as string[], l7: [] as string[] };
  for (const tp of rule.toPorts ?? []) {
    for (const p of tp.ports ?? []) out.ports.push(`${p.port ?? '*'}${p.endPort ? `-${p.endPort}` : ''}/${p.protocol ?? 'ANY'}`);
    for (const kind of Object.keys(tp.rules ?? {})) if (!out.l7.includes(kind)) out.l7.push(kind);
  }
  for (const icmp of rule.icmps ?? []) for (const f of icmp.fields ?? []) out.ports.push(`icmp ${f.family ?? 'IPv4'} ${f.type}`);
  return out;
};

/**
 * Cilium scopes a CiliumNetworkPolicy's endpoint peers to its own namespace unless the selector names
 * one; a cluster-wide policy's peers are anywhere.
 */
const peerSelector = (selector: KObject, policyNamespace?: string): string => {
  const names = Object.keys(selector?.matchLabels ?? {}).concat((selector?.matchExpressions ?? []).map((e: KObject) => e.key));
  const scoped = names.some((k) => k.replace(/^(k8s|any):/, '') === NAMESPACE_KEY);
  const text = describeSelector(selector);
  if (!policyNamespace || scoped) return `endpoints ${text}`;
  return `endpoints namespace=${policyNamespace}${text === '{}' ? '' : `, ${text}`}`;
};

const rulePeers = (rule: KObject, direction: 'from' | 'to', policyNamespace?: string): string[] => {
  const peers: string[] = [];
  for (const s of rule[`${direction}Endpoints`] ?? []) peers.push(peerSelector(s, policyNamespace));
  for (const s of rule[`${direction}Requires`] ?? []) peers.push(`requires ${describeSelector(s)}`);
  for (const e of rule[`${direction}Entities`] ?? []) peers.push(`entity ${e}`);
  for (const c of rule[`${direction}CIDR`] ?? []) peers.push(`cidr ${c}`);
  for (const c of rule[`${direction}CIDRSet`] ?? []) {
    peers.push(c.cidr ? `cidr ${c.cidr}${c.except?.length ? ` except ${c.except.join(', ')}` : ''}` : `cidr-group ${c.cidrGroupRef ?? describeSelector(c.cidrGroupSelector)}`);
  }
  for (const s of rule[`${direction}Nodes`] ?? []) peers.push(`nodes ${describeSelector(s)}`);
  for (const g of rule[`${direction}Groups`] ?? []) peers.push(`group ${JSON.stringify(g)}`);
  if (direction === 'to') {
    for (const f of rule.toFQDNs ?? []) peers.push(f.matchName ? `fqdn ${f.matchName}` : `fqdn-pattern ${f.matchPattern}`);
    for (const s of rule.toServices ?? []) {
      const svc = s.k8sService;
      peers.push(svc ? `service ${svc.namespace ?? policyNamespace ?? '?'}/${svc.serviceName}` : `services ${describeSelector(s.k8sServiceSelector?.selector)}`);
    }
  }
  return peers;
};

const rules = (list: KObject[] | undefined, direction: 'from' | 'to', policyNamespace?: string): RuleSummary[] =>
  (list ?? []).map((rule) => {
    const p = ports(rule);
    const peers = rulePeers(rule ?? {}, direction, policyNamespace);
    // A rule with ports but no peer takes any peer; one with neither allows nothing (the default-deny idiom).
    return { peers: peers.length ? peers : p.ports.length ? ['any'] : [], ...p };
  });

const defaultDenyOf = (spec: KObject): { ingress: boolean; egress: boolean } => ({
  ingress: spec.enableDefaultDeny?.ingress ?? Boolean(spec.ingress?.length || spec.ingressDeny?.length),
  egress: spec.enableDefaultDeny?.egress ?? Boolean(spec.egress?.length || spec.egressDeny?.length),
});

/** A policy's specs: `spec`, `specs`, or both. */
const specsOf = (o: KObject): KObject[] => [...(o.spec ? [o.spec] : []), ...(o.specs ?? [])];

const summarize = (r: Resource): PolicySummary[] => {
  const o = r.obj;
  const ns = o.kind === CNP ? o.metadata?.namespace : undefined;
  return specsOf(o).map((spec) => ({
    kind: o.kind,
    name: o.metadata?.name,
    ...(ns ? { namespace: ns } : {}),
    ...(r.origin?.file ? { file: r.origin.file } : {}),
    selects: spec.nodeSelector ? `nodes ${describeSelector(spec.nodeSelector)}` : describeSelector(spec.endpointSelector),
    defaultDeny: defaultDenyOf(spec),
    ingress: rules(spec.ingress, 'from', ns),
    egress: rules(spec.egress, 'to', ns),
    ingressDeny: rules(spec.ingressDeny, 'from', ns),
    egressDeny: rules(spec.egressDeny, 'to', ns),
  }));
};

/** Whether a policy allows some peer in some direction (the default-deny idiom allows none). */
const allowsSomething = (p: PolicySummary): boolean => [...p.ingress, ...p.egress].some((rule) => rule.peers.length > 0);

const best = (a: Match, b: Match): Match => (a === 'all' || b === 'all' ? 'all' : a === 'some' || b === 'some' ? 'some' : 'none');


/**
 * Every namespace's tier and default-deny coverage, and what every Cilium policy allows. The
 * validator's policy stage reports the same `network-policy` and `network-cut-off` findings from it.
 */
export const auditCluster = (cluster: string, resources: Resource[], config: ValidatorConfig): ClusterAudit => {
  const nsLabels = new Map<string, Record<string, string>>();
  for (const name of config.builtinNamespaces) nsLabels.set(name, {});
  for (const { obj } of resources) {
    if (obj.kind === 'Namespace' && obj.apiVersion === 'v1') nsLabels.set(obj.metadata?.name, { ...(obj.metadata?.labels ?? {}) });
  }
  const workloads = new Map<string, string[]>();
  for (const { obj } of resources) {
    const where = workloadNamespace(obj);
    if (where) workloads.set(where, [...(workloads.get(where) ?? []), `${obj.kind} ${obj.metadata?.name}`]);
    const ns = obj.metadata?.namespace;
    if (ns && !nsLabels.has(ns) && !config.clusterScopedKinds.includes(obj.kind)) nsLabels.set(ns, {});
    if (where && !nsLabels.has(where)) nsLabels.set(where, {});
  }

  const cilium = resources.filter((r) => isCilium(r.obj));
  const policies = cilium.filter((r) => r.obj.kind === CNP).flatMap(summarize);
  const clusterwideSpecs = cilium.filter((r) => r.obj.kind === CCNP).flatMap((r) => specsOf(r.obj).map((spec, i) => ({ spec, summary: summarize(r)[i] })));

  const names = [...nsLabels.keys()].sort();
  const clusterwide: ClusterwideSummary[] = clusterwideSpecs.map(({ spec, summary }) => ({
    ...summary,
    namespaces: spec.nodeSelector
      ? []
      : names
          .map((name) => ({ name, match: matchNamespace(spec.endpointSelector, namespaceLabels(name, nsLabels.get(name))) }))
          .filter((m): m is { name: string; match: Exclude<Match, 'none'> } => m.match !== 'none'),
  }));

  const namespaces: NamespaceAudit[] = names.map((name) => {
    const coverage = { ingress: 'none' as Match, egress: 'none' as Match, by: [] as string[] };
    for (const c of clusterwide) {
      const m = c.namespaces.find((n) => n.name === name)?.match ?? 'none';
      if (m === 'none' || (!c.defaultDeny.ingress && !c.defaultDeny.egress)) continue;
      if (c.defaultDeny.ingress) coverage.ingress = best(coverage.ingress, m);
      if (c.defaultDeny.egress) coverage.egress = best(coverage.egress, m);
      if (!coverage.by.includes(c.name)) coverage.by.push(c.name);
    }
    return {
      name,
      tier: namespaceTier(name, nsLabels.get(name), config),
      workloads: (workloads.get(name) ?? []).sort(),
      defaultDeny: coverage,
      policies: [...new Set(policies.filter((p) => p.namespace === name).map((p) => p.name))].sort(),
    };
  });

  const findings: AuditFinding[] = [];
  for (const ns of namespaces) {
    if (ns.workloads.length === 0) continue;
    const denied = (['ingress', 'egress'] as const).filter((d) => ns.defaultDeny[d] !== 'none');
    const allowing = [
      ...policies.filter((p) => p.namespace === ns.name),
      ...clusterwide.filter((c) => c.namespaces.some((n) => n.name === ns.name)),
    ].filter(allowsSomething);
    if (denied.length && !allowing.length) {
      findings.push({
        cluster,
        namespace: ns.name,
        rule: 'network-cut-off',
        message: `namespace ${ns.name} runs workloads (${ns.workloads.join(', ')}) under default deny (${denied.map((d) => `${d}: ${ns.defaultDeny[d]}`).join(', ')}), but no policy allows its pods anything: they are cut off`,
      });
    }
    if (ns.tier < 2) continue;
    const gaps = (['ingress', 'egress'] as const).filter((d) => ns.defaultDeny[d] !== 'all');
    if (gaps.length) {
      findings.push({
        cluster,
        namespace: ns.name,
        rule: 'default-deny',
        message: `namespace ${ns.name} is tier 2 and runs workloads, but the cluster-wide default deny does not cover all its pods (${gaps.map((d) => `${d}: ${ns.defaultDeny[d]}`).join(', ')})`,
      });
    }
    if (ns.policies.length === 0) {
      findings.push({ cluster, namespace: ns.name, rule: 'network-policy', message: `namespace ${ns.name} is tier 2 and runs workloads (${ns.workloads.join(', ')}), but has no CiliumNetworkPolicy` });
    }
  }
  return { cluster, namespaces, clusterwide, policies, findings };
};
