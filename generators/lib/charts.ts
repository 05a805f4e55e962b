import { UserError } from '../../src/lib/errors.ts';
import { mergePatch } from '../../src/lib/merge-patch.ts';
import type { Answers } from './answers.ts';

/**
 * Where a chart takes what the app's answers say (the image, resources, priority class, ports, probes,
 * volumes, secrets), read from each chart's values.yaml at the version this repository pins. Helm ignores
 * a value the chart does not read, so an answer the chart has no place for is refused instead of being
 * written where nothing reads it.
 */
interface ChartLayout {
  /** Where the layout was read, for the docs and the error messages. */
  source: string;
  image?: (a: Answers) => Values;
  resources?: (a: Answers) => Values;
  priorityClass?: (a: Answers) => Values;
  /** The Service's port (and the pods' when it differs). */
  port?: (a: Answers) => Values;
  probes?: (a: Answers) => Values;
  /** Mounts the volume that `backup` creates. */
  volume?: (a: Answers) => Values;
  /** Hands the app's Secret (`secrets`) to the container as environment variables. */
  secretEnv?: (a: Answers) => Values;
}

type Values = Record<string, unknown>;

const imageOf = (a: Answers) => ({ repository: a.image.repository, tag: a.image.tag });

/** bjw-s app-template 4.x (common library 4.x): one controller named after the app, its container `app`, as home-ops writes them. */
const appTemplate: ChartLayout = {
  source: 'bjw-s app-template 4.5.0 (common library 4.5.0 values.yaml and schemas)',
  image: (a) => container(a, { image: imageOf(a) }),
  resources: (a) => container(a, { resources: a.resources }),
  priorityClass: (a) => ({ defaultPodOptions: { priorityClassName: a.priorityClass } }),
  port: (a) => ({ service: { app: { controller: a.name, ports: { http: { port: a.port, ...(a.containerPort ? { targetPort: a.containerPort } : {}) } } } } }),
  probes: (a) => {
    const probe = { enabled: true, custom: true, spec: { httpGet: { path: a.probes.path, port: a.containerPort ?? a.port } } };
    return container(a, { probes: { liveness: probe, readiness: probe } });
  },
  volume: (a) => ({ persistence: { data: { existingClaim: a.name, globalMounts: [{ path: a.backup.mountPath }] } } }),
  secretEnv: (a) => container(a, { envFrom: [{ secretRef: { name: `${a.name}-secret` } }] }),
};

const container = (a: Answers, fields: Values): Values => ({ controllers: { [a.name]: { containers: { app: fields } } } });

/** Charts whose values put the main container's image, resources and priority class at the top. */
const topLevel = (source: string, extra: Partial<ChartLayout> = {}): ChartLayout => ({
  source,
  image: (a) => ({ image: imageOf(a) }),
  resources: (a) => ({ resources: a.resources }),
  priorityClass: (a) => ({ priorityClassName: a.priorityClass }),
  ...extra,
});

const LAYOUTS: Record<string, ChartLayout> = {
  'app-template': appTemplate,
  gatus: topLevel('twin/helm-charts gatus 1.4.5 values.yaml', {
    port: (a) => ({ service: { port: a.port, ...(a.containerPort ? { targetPort: a.containerPort } : {}) } }),
  }),
  'rook-ceph': topLevel('rook/rook deploy/charts/rook-ceph v1.18.8 values.yaml'),
  'cloudnative-pg': topLevel('cloudnative-pg/charts cloudnative-pg 0.27.0 values.yaml'),
  'external-secrets': topLevel('external-secrets helm-chart-1.0.0 values.yaml'),
  'plugin-barman-cloud': topLevel('cloudnative-pg/charts plugin-barman-cloud 0.3.1 values.yaml', {
    // This chart takes the registry apart from the repository.
    image: (a) => {
      const [registry, ...rest] = String(a.image.repository).split('/');
      return { image: { registry, repository: rest.join('/'), tag: a.image.tag } };
    },
  }),
  connect: {
    source: '1Password/connect-helm-charts connect 2.1.1 values.yaml',
    // One tag for both containers of the pod; the image answer is the API server's.
    image: (a) => ({ connect: { api: { imageRepository: a.image.repository }, version: a.image.tag } }),
    resources: (a) => ({ connect: { api: { resources: a.resources } } }),
    priorityClass: (a) => ({ connect: { priorityClassName: a.priorityClass } }),
  },
};

/** The answers a layout maps, with the answers field each one needs. */
const FIELDS: [keyof Omit<ChartLayout, 'source'>, string, (a: Answers) => boolean][] = [
  ['image', 'image', (a) => Boolean(a.image)],
  ['resources', 'resources', (a) => Boolean(a.resources)],
  ['priorityClass', 'priorityClass', (a) => Boolean(a.priorityClass)],
  ['probes', 'probes', (a) => Boolean(a.probes)],
];

/** Charts the generator knows the values of, for messages and docs. */
export const knownCharts = (): string[] => Object.keys(LAYOUTS).sort();

/** Values laid over values as Helm lays them over a chart's defaults. */
const deepMerge = (a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> => mergePatch(a, b) as Record<string, unknown>;

/**
 * The chart values the answers imply, in the paths of the chart being installed. A field the chart has no
 * known place for is refused, naming it. `port`, `backup` and `secrets` have uses beyond the chart (the
 * route, the policy, the volume, the Secret), so a chart without a place for them just gets none.
 */
export const chartValues = (a: Answers): Values => {
  const layout = LAYOUTS[a.chart.name];
  let values: Values = {};
  for (const [key, field, given] of FIELDS) {
    if (!given(a)) continue;
    const map = layout?.[key];
    if (!map) {
      const where = layout ? `${a.chart.name}'s values (${layout.source}) have no place for it` : `the generator does not know where chart ${a.chart.name} takes it (known: ${knownCharts().join(', ')})`;
      throw new UserError(`answers.${field}: ${where}; leave it out and set it in app/helmrelease.yaml, whose values are yours to edit`);
    }
    values = deepMerge(values, map(a));
  }
  if (a.port && layout?.port) values = deepMerge(values, layout.port(a));
  if (a.backup && layout?.volume) values = deepMerge(values, layout.volume(a));
  if (a.secrets?.length && layout?.secretEnv) values = deepMerge(values, layout.secretEnv(a));
  return values;
};

export { deepMerge };
