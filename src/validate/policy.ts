import { basename, join, relative } from 'node:path';
import { toPosix, walkFiles } from '../lib/fsutil.ts';
import { checkBudgets } from './budget.ts';
import type { ValidatorConfig } from './config.ts';
import { isKsFile } from './simulate.ts';
import { apiGroup, describe, finding, type BuiltKustomization, type Finding, type KObject, type Resource } from './types.ts';
import { namespaceTier } from '../lib/layout.ts';

const KEBAB = /^[a-z0-9]+(-[a-z0-9]+)*(\.[a-z0-9]+(-[a-z0-9]+)*)*$/;
const EXACT_VERSION = /^v?\d+\.\d+\.\d+([-+][0-9A-Za-z.+-]+)?$/;
const WORKLOADS = new Set(['HelmRelease', 'Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob', 'Pod', 'ReplicaSet']);

/** The namespace a workload runs pods in (a HelmRelease's release namespace), or undefined for anything else. */
export const workloadNamespace = (obj: KObject): string | undefined => {
  if (!WORKLOADS.has(obj.kind)) return undefined;
  return obj.kind === 'HelmRelease' ? (obj.spec?.targetNamespace ?? obj.metadata?.namespace) : obj.metadata?.namespace;
};

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
      if (o.spec?.install?.remediation?.retries !== 3) {
        report(r, 'helmrelease-remediation', `${describe(o)}: spec.install.remediation.retries must be 3`, ['spec', 'install']);
      }
      if (o.spec?.upgrade?.remediation?.strategy !== 'rollback') {
        report(r, 'helmrelease-remediation', `${describe(o)}: spec.upgrade.remediation.strategy must be rollback`, ['spec', 'upgrade']);
      }
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

    if (group === 'kustomize.toolkit.fluxcd.io' && o.kind === 'Kustomization' && r.origin && isKsFile(r.origin.file)) {
      const from = o.spec?.postBuild?.substituteFrom ?? [];
      if (!from.some((f: KObject) => f?.kind === 'ConfigMap' && f?.name === 'cluster-vars')) {
        report(r, 'ks-substitute-from', `${describe(o)}: postBuild.substituteFrom must include ConfigMap cluster-vars`, ['spec', 'postBuild']);
      }
    }
  }
  findings.push(...networkPolicyCoverage(resources, config));
  findings.push(...checkBudgets(resources, config, repoRoot, cluster)); // house rule: resource-budget
  return findings;
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
 * Every tier-2 namespace that runs something has a CiliumNetworkPolicy of its own: default deny comes
 * from the cluster-wide policy, and each app declares what it needs.
 */
export const networkPolicyCoverage = (resources: Resource[], config: ValidatorConfig): Finding[] => {
  const namespaces = new Map(resources.filter((r) => r.obj.kind === 'Namespace').map((r) => [r.obj.metadata?.name as string, r]));
  const running = new Set<string>();
  const covered = new Set<string>();
  for (const { obj } of resources) {
    const where = workloadNamespace(obj);
    if (where) running.add(where);
    if (obj.kind === 'CiliumNetworkPolicy' && obj.metadata?.namespace) covered.add(obj.metadata.namespace);
  }
  const findings: Finding[] = [];
  for (const name of [...running].sort()) {
    const nsResource = namespaces.get(name);
    if (namespaceTier(name, nsResource?.obj.metadata?.labels, config) < 2 || covered.has(name)) continue;
    findings.push({
      file: nsResource?.origin?.file ?? '?',
      rule: 'network-policy',
      message: `namespace ${name} is tier 2 and runs workloads but has no CiliumNetworkPolicy`,
      severity: 'error',
      at: { obj: nsResource?.obj },
    });
  }
  return findings;
};
