import { join, posix } from 'node:path';
import { isFile } from '../src/lib/fsutil.ts';
import { stringify } from 'yaml';
import { UserError } from '../src/lib/errors.ts';
import type { Answers } from './lib/answers.ts';
import { readIfExists, type Plan, type Rendered } from './lib/plan.ts';
import { PLATFORM } from './lib/platform.ts';
import { render } from '../src/lib/templates.ts';
import { hasObject, type ClusterFacts, type RepoFacts } from './lib/repo.ts';
import type { KObject } from '../src/validate/types.ts';
import type { Generator } from './lib/run.ts';
import { addResource, allowPodSecurity, yamlWithRenovate } from './lib/yaml-edit.ts';
import { chartValues, deepMerge } from './lib/charts.ts';
import { LAYOUT, namespaceTier } from '../src/lib/layout.ts';

const G = 'app';

const everyCluster = (a: Answers, repo: RepoFacts): boolean => a.clusters.length === repo.clusters.length && repo.clusters.length > 1;

/** Where the app lives: infrastructure/base or kubernetes/apps for every cluster, clusters/<c>/apps for one. */
const baseDir = (a: Answers, repo: RepoFacts): string =>
  a.layer === 'infrastructure' ? 'infrastructure/base' : everyCluster(a, repo) ? 'kubernetes/apps' : `clusters/${a.clusters[0]}/apps`;

const targets = (a: Answers, repo: RepoFacts): ClusterFacts[] => repo.clusters.filter((c) => a.clusters.includes(c.name));
const ksExists = (c: ClusterFacts, name: string) => hasObject(c, 'Kustomization', name, 'flux-system');

/** A namespace that exists before Flux (kube-system, flux-system, ...): tier 0, never declared in Git. */
const isSystem = (a: Answers, repo: RepoFacts): boolean => repo.config.builtinNamespaces.includes(a.namespace);
/** The answer, else what the namespace says of itself (its tier label) or the validator's settings say. */
const tierOf = (a: Answers, repo: RepoFacts): number => {
  const declared = repo.clusters.flatMap((c) => c.objects).find((o) => o.kind === 'Namespace' && o.metadata?.name === a.namespace);
  return a.tier ?? namespaceTier(a.namespace, declared?.metadata?.labels, repo.config);
};

/** Where Renovate finds new versions of the chart, named as its Flux manager names the HelmRelease's. */
const renovateAnnotations = (a: Answers, clusters: ClusterFacts[]): Record<string, string> => {
  const out: Record<string, string> = {};
  if (/^oci:\/\//.test(a.chart.repository)) {
    out['chart.version'] = `datasource=docker depName=${ociUrlOf(a).replace(/^oci:\/\//, '')}`;
  } else {
    const source = clusters.flatMap((c) => c.objects).find((o) => o.kind === 'HelmRepository' && o.metadata?.name === a.chart.repository);
    const url = String(source?.spec?.url ?? '');
    if (source?.spec?.type === 'oci') out['chart.version'] = `datasource=docker depName=${url.replace(/^oci:\/\//, '')}/${a.chart.name}`;
    else if (url) out['chart.version'] = `datasource=helm depName=${a.chart.name} registryUrl=${url}`;
  }
  // image.repository and image.tag need no comment: Renovate's helm-values manager reads that shape itself.
  return out;
};

const ociUrlOf = (a: Answers): string => (a.chart.repository.endsWith(`/${a.chart.name}`) ? a.chart.repository : `${a.chart.repository}/${a.chart.name}`);

/**
 * The shared OCIRepository of the chart (infrastructure/base/repositories/oci, in flux-system) when every
 * target cluster has one with the chart's URL: the HelmRelease references it, so a chart version lives
 * in one place (with the bootstrap helmfiles that read the same versions).
 */
const sharedSource = (a: Answers, repo: RepoFacts): KObject | undefined => {
  if (!a.chart.repository.startsWith('oci://')) return undefined;
  const url = ociUrlOf(a);
  const found = targets(a, repo).map((c) =>
    c.objects.find((o) => o.kind === 'OCIRepository' && o.metadata?.namespace === PLATFORM.sourcesNamespace && o.spec?.url === url),
  );
  if (!found.length || found.some((o) => !o) || new Set(found.map((o) => o!.metadata?.name)).size > 1) return undefined;
  return found[0];
};

const check = (a: Answers, repo: RepoFacts): void => {
  const known = repo.clusters.map((c) => c.name);
  for (const c of a.clusters) {
    if (!known.includes(c)) throw new UserError(`answers.clusters: unknown cluster "${c}" (known: ${known.join(', ')})`);
  }
  if (a.clusters.length > 1 && a.clusters.length < known.length) {
    throw new UserError(`answers.clusters: list one cluster or all of them (${known.join(', ')}), got ${a.clusters.join(', ')}`);
  }
  if (a.layer === 'infrastructure' && !everyCluster(a, repo)) {
    throw new UserError(`answers.layer: infrastructure is shared by every cluster; list all of them (${known.join(', ')})`);
  }
  if (a.health === 'external' && !a.route) throw new UserError('answers.health: external checks the app through its route; give route (or health: internal)');
  if ((a.route || a.health === 'internal' || a.networkPolicy?.ingress?.some((r: Answers) => !r.port)) && !a.port) {
    throw new UserError(`answers.port: is required with ${a.route ? 'route' : a.health === 'internal' ? 'an internal health check' : 'an ingress rule without port'}`);
  }
  if (a.tier === 0 && !isSystem(a, repo)) {
    throw new UserError(`answers.tier: 0 is for the system namespaces (${repo.config.builtinNamespaces.join(', ')}), not ${a.namespace}`);
  }
  if (isSystem(a, repo) && tierOf(a, repo) !== 0) throw new UserError(`answers.tier: ${a.namespace} is a system namespace, tier 0 (got ${a.tier})`);
  if (tierOf(a, repo) === 0 && a.networkPolicy) {
    throw new UserError(`answers.networkPolicy: ${a.namespace} is tier 0, outside the default deny; no CiliumNetworkPolicy is written (one would put its pods into default deny)`);
  }
  const shared = sharedSource(a, repo);
  if (shared && shared.spec?.ref?.tag !== a.chart.version) {
    throw new UserError(
      `answers.chart.version: the shared source ${PLATFORM.sourcesNamespace}/${shared.metadata?.name} of ${ociUrlOf(a)} pins ${shared.spec?.ref?.tag ?? 'no tag'} (got ${a.chart.version}); change the version there, in infrastructure/base/repositories/oci/, or give that one`,
    );
  }
  if (a.valuesFile && !isFile(join(repo.root, a.valuesFile))) throw new UserError(`answers.valuesFile: ${a.valuesFile} does not exist`);
  if (a.clusterValues) {
    if (!everyCluster(a, repo)) throw new UserError('answers.clusterValues: only for an app on every cluster (one cluster takes values)');
    for (const c of Object.keys(a.clusterValues)) {
      if (!a.clusters.includes(c)) throw new UserError(`answers.clusterValues.${c}: not one of the app's clusters`);
    }
  }
  for (const c of targets(a, repo)) {
    const inCluster = ` in cluster ${c.name}`;
    // An app's Kustomization is named after the app; another one by that name is another app.
    const existing = c.objects.find((o) => o.kind === 'Kustomization' && o.metadata?.name === a.name && o.metadata?.namespace === 'flux-system');
    if (existing && existing.spec?.targetNamespace !== a.namespace) {
      throw new UserError(`answers.name: a Kustomization ${a.name} already exists${inCluster} for namespace ${existing.spec?.targetNamespace ?? '?'}`);
    }
    for (const d of a.dependsOn ?? []) {
      if (!ksExists(c, d)) throw new UserError(`answers.dependsOn: no Kustomization "${d}"${inCluster}`);
    }
    if (a.route) {
      const domain = c.vars.CLUSTER_DOMAIN;
      const host: string | undefined = a.route.host;
      if (host && !host.endsWith('.${CLUSTER_DOMAIN}') && !(domain && host.endsWith(`.${domain}`))) {
        throw new UserError(`answers.route.host: must be under the cluster domain ${domain ?? '${CLUSTER_DOMAIN}'} (got "${host}")`);
      }
      if (!hasObject(c, 'Gateway', a.route.gateway, PLATFORM.gateways.namespace)) {
        throw new UserError(`answers.route.gateway: no Gateway ${PLATFORM.gateways.namespace}/${a.route.gateway}${inCluster}`);
      }
    }
    if (a.secrets?.length && !ksExists(c, PLATFORM.secretStore.kustomization)) {
      throw new UserError(`answers.secrets: the ${PLATFORM.secretStore.kind} ${PLATFORM.secretStore.name} (Kustomization ${PLATFORM.secretStore.kustomization}) is not${inCluster}`);
    }
    if (a.database && !ksExists(c, PLATFORM.database.kustomization)) {
      throw new UserError(`answers.database: the shared postgres cluster (Kustomization ${PLATFORM.database.kustomization}) is not${inCluster}`);
    }
    if (!/^oci:\/\//.test(a.chart.repository) && !hasObject(c, 'HelmRepository', a.chart.repository)) {
      const repos = c.objects.filter((o) => o.kind === 'HelmRepository').map((o) => o.metadata?.name);
      throw new UserError(`answers.chart.repository: no HelmRepository "${a.chart.repository}"${inCluster} (known: ${repos.join(', ') || 'none'}; or give an oci:// URL)`);
    }
  }
};

/** The chart values the answers imply, in the chart's own paths, then the operator's own (at creation) on top. */
const valuesOf = (a: Answers): Record<string, unknown> => deepMerge(chartValues(a), a.values ?? {});

const yamlBlock = (v: unknown): string => stringify(v, { lineWidth: 0 }).trimEnd();

const networkRules = (a: Answers) => {
  const ingress: { entity?: string; labels?: Record<string, string>; port: number }[] = [];
  // Policies see pods, after the Service has translated its port to theirs.
  const podPort = a.containerPort ?? a.port;
  if (a.route) {
    ingress.push({
      labels: { 'io.kubernetes.pod.namespace': PLATFORM.gateways.namespace, 'gateway.envoyproxy.io/owning-gateway-name': a.route.gateway },
      port: podPort,
    });
  }
  for (const r of a.networkPolicy?.ingress ?? []) {
    if (!r.namespace === !r.entity) throw new UserError('answers.networkPolicy.ingress: each rule needs either namespace or entity');
    const labels = r.namespace ? { 'io.kubernetes.pod.namespace': r.namespace, ...(r.app ? { 'app.kubernetes.io/name': r.app } : {}) } : undefined;
    ingress.push({ entity: r.entity, labels, port: r.port ?? podPort });
  }
  const egress: Answers[] = [];
  if (a.database) {
    egress.push({ labels: { 'io.kubernetes.pod.namespace': PLATFORM.database.namespace, 'cnpg.io/cluster': PLATFORM.database.cluster }, port: PLATFORM.database.port, protocol: 'TCP' });
  }
  for (const r of a.networkPolicy?.egress ?? []) {
    const labels = r.namespace || r.app ? { ...(r.namespace ? { 'io.kubernetes.pod.namespace': r.namespace } : {}), ...(r.app ? { 'app.kubernetes.io/name': r.app } : {}) } : undefined;
    if ([r.fqdn, r.cidr, r.entity, labels].filter(Boolean).length !== 1) {
      throw new UserError('answers.networkPolicy.egress: each rule needs exactly one of fqdn, cidr, entity, or namespace/app');
    }
    egress.push({ ...r, labels, protocol: r.protocol ?? 'TCP' });
  }
  return { ingress, egress };
};

/** `status` of `status.${CLUSTER_DOMAIN}` (or of `status.monosense.dev` on a cluster of that domain). */
const subdomainOf = (host: string, clusters: ClusterFacts[]): string | undefined => {
  for (const suffix of ['.${CLUSTER_DOMAIN}', ...clusters.map((c) => `.${c.vars.CLUSTER_DOMAIN}`)]) {
    if (host.endsWith(suffix)) return host.slice(0, -suffix.length);
  }
  return undefined;
};

const plan = (a: Answers, repo: RepoFacts): Plan => {
  const base = baseDir(a, repo);
  const nsDir = `${base}/${a.namespace}`;
  const appDir = `${nsDir}/${a.name}`;
  const overlays = Boolean(a.overlays || a.clusterValues);
  const path = overlays ? `${appDir}/overlays/\${CLUSTER_NAME}` : `${appDir}/app`;
  const fromPath = (target: string) => posix.relative(overlays ? `${appDir}/overlays/x` : `${appDir}/app`, target);
  const oci = a.chart.repository.startsWith('oci://');
  const shared = sharedSource(a, repo);
  const tier = tierOf(a, repo);
  const host = a.route ? (a.route.host ?? `${a.name}.\${CLUSTER_DOMAIN}`) : undefined;

  const components: string[] = [];
  const dependsOn = new Set<string>();
  const substitute: Record<string, string> = {};
  const clusters = targets(a, repo);
  const everywhere = (ks: string) => clusters.every((c) => ksExists(c, ks));
  if (a.database) {
    components.push(fromPath(`${LAYOUT.components}/cnpg`));
    dependsOn.add(PLATFORM.database.kustomization);
    substitute.CNPG_DATABASE = a.database.name ?? a.name.replace(/-/g, '_');
  }
  if (a.backup) {
    components.push(fromPath(`${LAYOUT.components}/volsync/${a.backup.target}`));
    if (everywhere(PLATFORM.volsync.kustomization)) dependsOn.add(PLATFORM.volsync.kustomization);
    substitute.VOLSYNC_CAPACITY = a.backup.capacity;
    substitute.VOLSYNC_SCHEDULE = a.backup.schedule;
  }
  if (a.health) {
    components.push(fromPath(`${LAYOUT.components}/gatus/${a.health}`));
    if (a.health === 'internal') substitute.GATUS_PORT = String(a.port);
    // The external check asks for the route's real host; the component defaults to <app>.
    const subdomain = host && subdomainOf(host, clusters);
    if (a.health === 'external' && subdomain && subdomain !== a.name) substitute.GATUS_SUBDOMAIN = subdomain;
  }
  // The volsync components read the restic repository's credentials through an ExternalSecret too.
  if (a.secrets?.length || a.backup) dependsOn.add(PLATFORM.secretStore.kustomization);
  for (const d of a.dependsOn ?? []) dependsOn.add(d);

  const files = [
    ...(oci && !shared ? ['ocirepository.yaml'] : []),
    'helmrelease.yaml',
    ...(a.secrets?.length ? ['externalsecret.yaml'] : []),
    ...(a.route ? ['httproute.yaml'] : []),
    ...(tier === 0 ? [] : ['ciliumnetworkpolicy.yaml']),
  ];
  const values = valuesOf(a);
  const ctx = {
    ...a,
    oci,
    ociUrl: ociUrlOf(a),
    ociSource: shared ? { name: shared.metadata?.name, namespace: PLATFORM.sourcesNamespace } : { name: a.name },
    path,
    route: a.route ? { ...a.route, host } : undefined,
    components,
    dependsOn: [...dependsOn].sort(),
    substitute,
    files: files.sort(),
    values: Object.keys(values).length ? yamlBlock(values) : '',
    store: PLATFORM.secretStore,
    gatewayNamespace: PLATFORM.gateways.namespace,
    gatewayListener: PLATFORM.gateways.listener,
    ...networkRules(a),
    selectNamespace: a.networkPolicy?.selector === 'namespace',
    valuesFile: a.valuesFile ? posix.relative(`${appDir}/app`, a.valuesFile) : '',
    crds: a.crds,
  };

  const owned = (file: string, text: string): Rendered => ({ path: `${appDir}/${file}`, after: text, owned: true });
  const changes: Rendered[] = [
    owned('ks.yaml', render(G, 'ks.yaml', ctx)),
    owned('app/kustomization.yaml', render(G, 'app/kustomization.yaml', ctx)),
    ...files.map((f) => owned(`app/${f}`, render(G, `app/${f}`, ctx))),
  ];
  if (overlays) {
    for (const c of a.clusters) {
      const v = a.clusterValues?.[c];
      const octx = { name: a.name, cluster: c, values: v && Object.keys(v).length ? yamlBlock(v) : '' };
      changes.push(owned(`overlays/${c}/kustomization.yaml`, render(G, 'overlay/kustomization.yaml', octx)));
      changes.push(owned(`overlays/${c}/helmrelease.yaml`, render(G, 'overlay/helmrelease.yaml', octx)));
    }
  }
  const answersPath = `${appDir}/.answers.yaml`;
  changes.push({ ...owned('.answers.yaml', render(G, 'answers.yaml', { path: answersPath, answers: yamlWithRenovate(recordOf(a), renovateAnnotations(a, clusters)) })), record: true });

  // The namespace folder: created when new, else the app is registered in it.
  const nsKustomization = `${nsDir}/kustomization.yaml`;
  const existingNs = readIfExists(repo.root, nsKustomization);
  if (existingNs !== undefined) {
    changes.push({ path: nsKustomization, after: addResource(nsKustomization, existingNs, `./${a.name}/ks.yaml`), owned: false });
    if (a.podSecurity) {
      const nsFile = `${nsDir}/namespace.yaml`;
      const nsText = readIfExists(repo.root, nsFile);
      if (nsText === undefined) throw new UserError(`answers.podSecurity: ${nsFile} does not exist, so the namespace's labels are not set in this folder`);
      changes.push({ path: nsFile, after: allowPodSecurity(nsFile, nsText, a.podSecurity), owned: false });
    }
  } else {
    // A system namespace exists before Flux; Git never declares (nor could prune) it.
    const declared = tier === 0 ? clusters : clusters.filter((c) => hasObject(c, 'Namespace', a.namespace));
    if (declared.length && declared.length < clusters.length) {
      throw new UserError(`answers.namespace: ${a.namespace} exists in ${declared.map((c) => c.name).join(', ')} but not in every cluster of the app`);
    }
    const createNamespace = declared.length === 0;
    changes.push({ path: nsKustomization, after: render(G, 'namespace/kustomization.yaml', { name: a.name, createNamespace }), owned: true, createOnly: true });
    if (createNamespace) changes.push({ path: `${nsDir}/namespace.yaml`, after: render(G, 'namespace/namespace.yaml', { ...a, tier }), owned: true, createOnly: true });
    else if (a.podSecurity) throw new UserError(`answers.podSecurity: namespace ${a.namespace} is not declared in this folder, so its labels are not set here`);
    const parent = `${base}/kustomization.yaml`;
    const parentText = readIfExists(repo.root, parent);
    if (parentText === undefined) throw new UserError(`${parent}: missing; the cluster layout is incomplete`);
    changes.push({ path: parent, after: addResource(parent, parentText, `./${a.namespace}`), owned: false });
  }

  return { target: `app ${a.namespace}/${a.name}`, changes: changes as Plan['changes'], clusters: a.clusters };
};

/** Free-form chart values are the HelmRelease's once written: the record keeps what shapes the app. */
const CREATION_ONLY = ['values', 'clusterValues'];

const recordOf = (a: Answers): Answers => {
  const { values: _v, clusterValues, ...kept } = a;
  return clusterValues ? { ...kept, overlays: true } : kept;
};

export const generator: Generator = {
  name: G,
  check,
  plan,
  creationOnly: CREATION_ONLY,
};
