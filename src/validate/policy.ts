import { basename, join, relative } from 'node:path';
import { toPosix, walkFiles } from '../lib/fsutil.ts';
import { checkBudgets } from './budget.ts';
import type { ValidatorConfig } from './config.ts';
import { apiGroup, describe, finding, type BuiltKustomization, type Finding, type KObject, type Resource } from './types.ts';
import { auditCluster, workloadNamespace } from '../audit/netpol.ts';
import { alertRuleProblems } from './alert-rules.ts';

const KEBAB = /^[a-z0-9]+(-[a-z0-9]+)*(\.[a-z0-9]+(-[a-z0-9]+)*)*$/;
const EXACT_VERSION = /^v?\d+\.\d+\.\d+([-+][0-9A-Za-z.+-]+)?$/;

/** Stage 6: the repository's own rules, with the apiVersions of the pinned stack (docs/stack.md). */
export const checkPolicy = (
  resources: Resource[],
  kustomizations: BuiltKustomization[],
  config: ValidatorConfig,
  repoRoot: string,
  cluster = '',
): Finding[] => {
  const findings: Finding[] = [...kustomizationFileNames(kustomizations, repoRoot)];
  const report = (r: Resource, rule: string, message: string, path?: (string | number)[]) => findings.push(finding(r, rule, message, path));

  for (const r of resources) {
    const o = r.obj;
    const group = apiGroup(String(o.apiVersion ?? ''));
    const kindKey = `${o.kind}.${group}`;
    const version = String(o.apiVersion ?? '').split('/').pop();

    if (config.forbiddenKinds[kindKey]) report(r, 'api-version', `${describe(o)}: ${o.kind} is ${config.forbiddenKinds[kindKey]}`, ['kind']);
    const pinned = config.apiVersions[kindKey];
    if (pinned && version !== pinned) {
      report(r, 'api-version', `${describe(o)}: ${o.apiVersion} is not the pinned version; the pinned stack (docs/stack.md) writes ${group}/${pinned}`, ['apiVersion']);
    }
    for (const [path, advice] of Object.entries(config.deprecatedFields[kindKey] ?? {})) {
      const parts = path.split('.');
      if (parts.reduce<any>((n, p) => n?.[p], o) !== undefined) report(r, 'api-version', `${describe(o)}: ${path} is ${advice}`, parts);
    }

    const name = o.metadata?.name;
    if (typeof name === 'string' && !KEBAB.test(name)) report(r, 'kebab-case', `${describe(o)}: name "${name}" is not kebab-case`, ['metadata', 'name']);

    for (const field of ['labels', 'annotations'] as const) {
      for (const key of Object.keys(o.metadata?.[field] ?? {})) {
        if (!isAllowedKey(key, config)) {
          report(r, 'label-prefix', `${describe(o)}: custom ${field.slice(0, -1)} "${key}" must be under ${config.labelPrefix}`, ['metadata', field, key]);
        }
      }
    }

    if (group === 'helm.toolkit.fluxcd.io' && o.kind === 'HelmRelease') {
      for (const problem of remediationProblems(o.spec)) report(r, 'helmrelease-remediation', `${describe(o)}: ${problem.message}`, problem.path);
      const chart = o.spec?.chart?.spec;
      if (chart && !EXACT_VERSION.test(String(chart.version ?? ''))) {
        report(r, 'pinned-version', `${describe(o)}: chart ${chart.chart} version ${chart.version ? `"${chart.version}" is not an exact version` : 'is not set (means the latest)'}`, ['spec', 'chart', 'spec', 'version']);
      }
    }
    if (group === 'source.toolkit.fluxcd.io' && o.kind === 'OCIRepository') {
      const ref = o.spec?.ref ?? {};
      const tagOk = ref.tag && ref.tag !== 'latest';
      const semverOk = ref.semver && EXACT_VERSION.test(ref.semver);
      if (!ref.digest && !tagOk && !semverOk) {
        report(r, 'pinned-version', `${describe(o)}: ref must pin a tag, exact semver or digest (got ${JSON.stringify(ref)})`, ['spec', 'ref']);
      }
    }
    for (const [path, image] of images(o)) {
      const problem = imageProblem(image);
      if (problem) report(r, 'pinned-version', `${describe(o)}: image ${image} ${problem}`, path);
    }

    if (o.kind === 'Secret' && o.apiVersion === 'v1' && !r.sops && (hasEntries(o.data) || hasEntries(o.stringData))) {
      report(r, 'plaintext-secret', `${describe(o)} holds data outside a SOPS-encrypted file: use an ExternalSecret or a *.sops.yaml`, [hasEntries(o.data) ? 'data' : 'stringData']);
    }

    if (group === 'external-secrets.io' && o.kind === 'ExternalSecret') {
      const interval = o.spec?.refreshInterval;
      const seconds = interval === undefined ? ESO_DEFAULT_REFRESH : goDuration(String(interval));
      if (seconds === undefined || seconds === 0 || seconds > goDuration(config.secretRefreshMax)!) {
        const why = interval === undefined ? 'has no refreshInterval (External Secrets then waits 1h)' : seconds === 0 ? 'never refreshes (refreshInterval 0)' : `refreshes every ${interval}`;
        report(r, 'secret-refresh', `${describe(o)} ${why}: 1Password changes must reach the Secret within ${config.secretRefreshMax}`, interval === undefined ? ['spec'] : ['spec', 'refreshInterval']);
      }
    }

    if ((group === 'operator.victoriametrics.com' && o.kind === 'VMRule') || (group === 'monitoring.coreos.com' && o.kind === 'PrometheusRule')) {
      for (const problem of alertRuleProblems(o)) report(r, 'alert-expr', `${describe(o)}: ${problem.message}`, problem.path);
    }

    // Every Kustomization that substitutes, whatever file declares it: the cluster's values come from cluster-vars.
    if (group === 'kustomize.toolkit.fluxcd.io' && o.kind === 'Kustomization' && o.spec?.postBuild) {
      const from = o.spec.postBuild.substituteFrom ?? [];
      if (!from.some((f: KObject) => f?.kind === 'ConfigMap' && f?.name === 'cluster-vars')) {
        report(r, 'cluster-vars', `${describe(o)}: substitutes, so postBuild.substituteFrom must include ConfigMap cluster-vars`, ['spec', 'postBuild']);
      }
    }
  }
  findings.push(...networkPolicyFindings(resources, config, cluster));
  findings.push(...checkBudgets(resources, config, repoRoot, cluster)); // house rule: resource-budget
  return findings;
};

/**
 * The house rule on Helm remediation, over what Flux does when a field is unset: a failed install is
 * retried 3 times (Flux's default is 0, no retry), and a failed upgrade is rolled back, which needs
 * `upgrade.remediation.retries` (or `remediateLastFailure`): with Flux's default of 0 retries nothing is
 * remediated. The strategy may be left out, since Flux's default is rollback.
 */
export const remediationProblems = (spec: KObject | undefined): { message: string; path: string[] }[] => {
  const problems: { message: string; path: string[] }[] = [];
  if (spec?.install?.remediation?.retries !== 3) {
    problems.push({ message: 'spec.install.remediation.retries must be 3', path: ['spec', 'install'] });
  }
  const upgrade = spec?.upgrade?.remediation ?? {};
  if ((upgrade.strategy ?? 'rollback') !== 'rollback') {
    problems.push({ message: `spec.upgrade.remediation.strategy must be rollback (Flux's default when unset), not ${upgrade.strategy}`, path: ['spec', 'upgrade', 'remediation', 'strategy'] });
  } else if (!upgrade.retries && upgrade.remediateLastFailure !== true) {
    problems.push({ message: 'a failed upgrade is never rolled back: set spec.upgrade.remediation.retries (Flux\'s default of 0 remediates nothing)', path: ['spec', 'upgrade'] });
  }
  return problems;
};

const ESO_DEFAULT_REFRESH = 3600;
const UNIT_SECONDS: Record<string, number> = { ns: 1e-9, us: 1e-6, µs: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };

/** A Go duration (`5m`, `1h30m`, `90s`) in seconds; undefined when it is not one. */
export const goDuration = (text: string): number | undefined => {
  if (text === '0') return 0;
  const parts = [...text.matchAll(/([0-9]+(?:\.[0-9]+)?)(ns|us|µs|ms|s|m|h)/g)];
  if (!parts.length || parts.map((p) => p[0]).join('') !== text) return undefined;
  return parts.reduce((sum, p) => sum + Number(p[1]) * UNIT_SECONDS[p[2]], 0);
};

const hasEntries = (v: unknown): boolean => Boolean(v && typeof v === 'object' && Object.keys(v).length);

const isAllowedKey = (key: string, config: ValidatorConfig): boolean => {
  if (key.startsWith(config.labelPrefix)) return true;
  const slash = key.indexOf('/');
  if (slash < 0) return config.toolLabelKeys.includes(key);
  const domain = key.slice(0, slash);
  return config.toolLabelDomains.some((d) => domain === d || domain.endsWith(`.${d}`));
};

/** Image references: every string `image:` and every `{repository, tag}` pair, HelmRelease values included. */
const images = (obj: KObject): [(string | number)[], string][] => {
  const out: [(string | number)[], string][] = [];
  const visit = (node: unknown, path: (string | number)[]) => {
    if (Array.isArray(node)) return node.forEach((v, i) => visit(v, [...path, i]));
    if (!node || typeof node !== 'object') return;
    const n = node as KObject;
    if (typeof n.repository === 'string' && 'tag' in n && !n.digest) {
      out.push([[...path, 'tag'], `${n.repository}:${n.tag ?? ''}`]);
    }
    for (const [k, v] of Object.entries(n)) {
      if (k === 'image' && typeof v === 'string') out.push([[...path, k], v]);
      else visit(v, [...path, k]);
    }
  };
  visit(obj.spec, ['spec']);
  return out;
};

const imageProblem = (image: string): string | undefined => {
  if (image.includes('@sha256:')) return undefined;
  const lastSlash = image.lastIndexOf('/');
  const colon = image.lastIndexOf(':');
  const tag = colon > lastSlash ? image.slice(colon + 1) : '';
  if (!tag) return 'has no tag (means latest)';
  if (tag === 'latest') return 'uses the tag latest';
  return undefined;
};

/** Any kustomization file not named kustomization.yaml, among those built and those under each path. */
const kustomizationFileNames = (kustomizations: BuiltKustomization[], repoRoot: string): Finding[] => {
  const files = new Set<string>(kustomizations.flatMap((k) => k.inputs));
  for (const k of kustomizations) {
    const path = String(k.ks.spec.path ?? '.').replace(/^\.\//, '');
    for (const f of walkFiles(join(repoRoot, path))) files.add(toPosix(relative(repoRoot, f)));
  }
  return [...files]
    .filter((f) => ['kustomization.yml', 'Kustomization'].includes(basename(f)))
    .sort()
    .map((file) => ({ file, line: 1, rule: 'kustomization-yml', message: `${basename(file)} must be named kustomization.yaml`, severity: 'error' as const }));
};


/**
 * The network-policy audit's findings about the cluster (see src/audit/netpol.ts): a tier-2 namespace that
 * runs workloads without a CiliumNetworkPolicy of its own, and workloads under default deny that no policy
 * allows anything. Reported on the Namespace, or on the first workload when Git has no Namespace.
 */
export const networkPolicyFindings = (resources: Resource[], config: ValidatorConfig, cluster: string): Finding[] => {
  const audit = auditCluster(cluster, resources, config);
  const namespaces = new Map(resources.filter((r) => r.obj.kind === 'Namespace').map((r) => [r.obj.metadata?.name as string, r]));
  return audit.findings
    .filter((f) => f.rule !== 'default-deny')
    .map((f) => {
      const where = namespaces.get(f.namespace) ?? resources.find((r) => workloadNamespace(r.obj) === f.namespace)!;
      return finding(where, f.rule, f.message);
    });
};
