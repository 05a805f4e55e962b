import { join } from 'node:path';
import { isFile } from '../lib/fsutil.ts';
import { MAX_CONFIG_BYTES, readYaml } from '../lib/yaml-safe.ts';
import { CONFIG_FILE, type Budget, type ValidatorConfig } from './config.ts';
import { formatCpu, formatMemory, parseQuantity } from './quantity.ts';
import { describe, podNamespace, type Finding, type Resource } from './types.ts';
import { demandOf, RESOURCES, type Demand, type NodeCount, type ResourceName } from './workload-resources.ts';

const RULE = 'resource-budget';
const DEFAULT_COUNTS: NonNullable<Budget['counts']> = ['requests', 'limits'];
const format: Record<ResourceName, (n: number) => string> = { cpu: formatCpu, memory: formatMemory };

/** The nodes a DaemonSet runs on: every node of the cluster's talconfig.yaml (an upper bound), else unknown. */
export const nodeCount = (repoRoot: string, cluster: string): NodeCount => {
  const file = `clusters/${cluster}/talos/talconfig.yaml`;
  if (!isFile(join(repoRoot, file))) return { count: 1 };
  try {
    const nodes = readYaml(join(repoRoot, file), MAX_CONFIG_BYTES)?.nodes;
    return Array.isArray(nodes) && nodes.length ? { count: nodes.length, source: file } : { count: 1 };
  } catch {
    return { count: 1 };
  }
};


interface Counted {
  r: Resource;
  demand: Demand;
}

/** `VMAgent observability/vmagent 1Gi (2 replicas)`: a contributor to a total. */
const contribution = ({ r, demand }: Counted, amount: number, res: ResourceName) =>
  `${describe(r.obj)} ${format[res](amount)}${demand.copies === 1 && !/node/.test(demand.copiesNote) ? '' : ` (${demand.copiesNote})`}`;

interface Group {
  budget: Budget;
  /** `budgets.<index>` in validator.config.yaml. */
  index: number;
  label: string;
  counts: NonNullable<Budget['counts']>;
  counted: Counted[];
  releases: Resource[];
}

const error = (r: Resource, message: string, path: (string | number)[]): Finding => ({
  file: r.origin?.file ?? '',
  rule: RULE,
  severity: 'error',
  message,
  at: { obj: r.obj, path },
});

/** A finding on the budget's own entry in validator.config.yaml. */
const onBudget = (severity: Finding['severity'], message: string, path: (string | number)[]): Finding => ({ file: CONFIG_FILE, rule: RULE, severity, message, at: { path } });

/** Quantities that do not parse, and every place without a limit the budget needs. */
const limitFindings = (g: Group): Finding[] => {
  const required: ResourceName[] = ['memory', ...(g.counts.includes('limits') ? RESOURCES.filter((res) => res !== 'memory' && g.budget[res] !== undefined) : [])];
  return g.counted.flatMap(({ r, demand }) => [
    ...demand.invalid.map((bad) => error(r, `${describe(r.obj)}: ${JSON.stringify(bad.value)} is not a resource quantity`, bad.path)),
    ...required.flatMap((res) =>
      demand.unlimited[res].map((place) => error(r, `${describe(r.obj)}: ${place.what} sets no ${res} limit; every workload under ${g.label} must, or its sum is no bound`, place.path)),
    ),
  ]);
};

/** Each sum over its cap: the total, the overage and the three biggest contributors, at the biggest. */
const capFindings = (g: Group): Finding[] =>
  RESOURCES.flatMap((res) => {
    const cap = parseQuantity(g.budget[res]);
    if (cap === undefined) return [];
    return g.counts.flatMap((kind) => {
      const shares = g.counted.map((c) => ({ c, amount: c.demand[kind][res] * c.demand.copies })).filter((s) => s.amount > 0);
      const total = shares.reduce((sum, s) => sum + s.amount, 0);
      if (total <= cap) return [];
      shares.sort((a, b) => b.amount - a.amount);
      const message =
        `${g.label}: ${res} ${kind} add up to ${format[res](total)}, over the budget of ${g.budget[res]} by ${format[res](total - cap)}; ` +
        `biggest: ${shares.slice(0, 3).map((s) => contribution(s.c, s.amount, res)).join(', ')}`;
      const { r, demand } = shares[0].c;
      return [r.origin ? error(r, message, demand.path) : onBudget('error', message, ['budgets', g.index])];
    });
  });

/** HelmReleases the budget does not list as uncounted, and entries that name none of the group's. */
const uncountedFindings = (g: Group): Finding[] => {
  const listed = g.budget.uncounted ?? [];
  const unexplained = g.releases.filter((r) => !listed.some((u) => u.name === r.obj.metadata?.name));
  return [
    ...(unexplained.length
      ? [onBudget('warning', `${g.label} does not count ${unexplained.map((r) => describe(r.obj)).join(', ')}: a chart's workloads are not rendered offline (list each under uncounted with the reason)`, ['budgets', g.index])]
      : []),
    ...listed.flatMap((entry, i) =>
      g.releases.some((r) => r.obj.metadata?.name === entry.name) ? [] : [onBudget('warning', `${g.label}: uncounted names HelmRelease ${entry.name}, which is not in the group`, ['budgets', g.index, 'uncounted', i])],
    ),
  ];
};

/**
 * The resource budgets of validator.config.yaml that apply to `cluster`: per group of namespaces, the
 * rendered workloads' and operator CRs' requests and limits (times their replicas, shards, instances or
 * nodes) must stay within the budget, and every one of them must set memory limits (and a limit for every
 * resource the budget caps by limits), else the sums prove nothing. HelmReleases are not rendered offline,
 * so never counted: a warning names each one the budget does not list as uncounted, with its reason.
 */
export const checkBudgets = (resources: Resource[], config: ValidatorConfig, repoRoot: string, cluster: string): Finding[] => {
  const applying = config.budgets.map((budget, index) => ({ budget, index })).filter(({ budget }) => budget.cluster === undefined || budget.cluster === cluster);
  if (!applying.length) return [];
  const nodes = nodeCount(repoRoot, cluster);
  return applying.flatMap(({ budget, index }) => {
    const inGroup = resources.filter((r) => budget.namespaces.includes(podNamespace(r.obj) ?? ''));
    const group: Group = {
      budget,
      index,
      label: `budget ${budget.name} (${cluster}; namespaces ${budget.namespaces.join(', ')})`,
      counts: budget.counts ?? DEFAULT_COUNTS,
      releases: inGroup.filter((r) => r.obj.kind === 'HelmRelease'),
      counted: inGroup.flatMap((r) => {
        const demand = r.obj.kind === 'HelmRelease' ? undefined : demandOf(r.obj, nodes);
        return demand ? [{ r, demand }] : [];
      }),
    };
    return [...limitFindings(group), ...capFindings(group), ...uncountedFindings(group)];
  });
};
