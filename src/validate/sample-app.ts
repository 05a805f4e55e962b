import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { isSeq, parseDocument, stringify } from 'yaml';
import { UserError } from '../lib/errors.ts';
import { isFile } from '../lib/fsutil.ts';
import type { KObject } from './types.ts';

/**
 * A component is only ever built through an app's Flux Kustomization, so it is checked the same way:
 * a small app in `kubernetes/apps/<namespace>/<name>/` whose ks.yaml lists the component, built and
 * validated on every cluster, in a scratch copy of the tree. Used by `npm run validate` for the whole
 * library, by the component generator before it writes, and by the tests.
 */
export interface SampleApp {
  namespace: string;
  /** The app's name: `APP` in the components. */
  name: string;
  /** Component folders under kubernetes/components, e.g. `volsync/r2`. */
  components: string[];
  /** `postBuild.substitute` besides APP. */
  substitute?: Record<string, string>;
  /** What the app's own folder holds; one ConfigMap when not given. */
  manifests?: KObject[];
}

const HEADER = {
  ks: '# yaml-language-server: $schema=https://raw.githubusercontent.com/datreeio/CRDs-catalog/main/kustomize.toolkit.fluxcd.io/kustomization_v1.json\n',
  kustomization: '# yaml-language-server: $schema=https://json.schemastore.org/kustomization\n',
};

const kustomization = (resources: string[]) =>
  `${HEADER.kustomization}${stringify({ apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources })}`;

/** Adds `entry` to a kustomization file's `resources` once, keeping its comments and order. */
export const withResource = (text: string | undefined, entry: string): string => {
  if (text === undefined) return kustomization([entry]);
  const doc = parseDocument(text);
  if (doc.errors.length) throw new UserError(`cannot add ${entry}: ${doc.errors[0].message.split('\n')[0]}`);
  const seq = doc.get('resources', true);
  if (seq !== undefined && !isSeq(seq)) throw new UserError(`cannot add ${entry}: resources is not a list`);
  const items = isSeq(seq) ? seq.items.map((i: any) => String(i?.value ?? i).replace(/^\.\//, '')) : [];
  if (items.includes(entry.replace(/^\.\//, ''))) return text;
  if (!isSeq(seq)) doc.set('resources', doc.createNode([entry]));
  else {
    seq.flow = false;
    seq.items.push(doc.createNode(entry) as any);
  }
  return doc.toString({ lineWidth: 0 });
};

/** The folder of a sample app, relative to the repository root. */
export const sampleAppDir = (app: Pick<SampleApp, 'namespace' | 'name'>): string => `kubernetes/apps/${app.namespace}/${app.name}`;

const read = (root: string, path: string): string | undefined => (isFile(join(root, path)) ? readFileSync(join(root, path), 'utf8') : undefined);

/** The files that add the sample app to the repository at `root` (a scratch copy), with their new content. */
export const sampleAppFiles = (root: string, app: SampleApp): { path: string; after: string }[] => {
  const nsDir = `kubernetes/apps/${app.namespace}`;
  const appDir = sampleAppDir(app);
  const manifests = app.manifests ?? [
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `${app.name}-sample` }, data: { purpose: 'builds the components listed in ks.yaml' } },
  ];
  const ks = {
    apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
    kind: 'Kustomization',
    metadata: { name: app.name, namespace: 'flux-system' },
    spec: {
      targetNamespace: app.namespace,
      path: `./${appDir}/app`,
      sourceRef: { kind: 'GitRepository', name: 'flux-system' },
      components: app.components.map((c) => `../../../../components/${c}`),
      postBuild: {
        substitute: { APP: app.name, ...app.substitute },
        substituteFrom: [{ kind: 'ConfigMap', name: 'cluster-vars' }],
      },
      interval: '1h',
      prune: true,
      wait: false,
    },
  };
  const namespace = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: app.namespace } };
  return [
    { path: 'kubernetes/apps/kustomization.yaml', after: withResource(read(root, 'kubernetes/apps/kustomization.yaml'), `./${app.namespace}`) },
    { path: `${nsDir}/kustomization.yaml`, after: withResource(read(root, `${nsDir}/kustomization.yaml`) ?? kustomization(['./namespace.yaml']), `./${app.name}/ks.yaml`) },
    { path: `${nsDir}/namespace.yaml`, after: stringify(namespace) },
    { path: `${appDir}/ks.yaml`, after: `${HEADER.ks}${stringify(ks)}` },
    { path: `${appDir}/app/kustomization.yaml`, after: kustomization(['./manifests.yaml']) },
    { path: `${appDir}/app/manifests.yaml`, after: manifests.map((m) => stringify(m)).join('---\n') },
  ];
};

/** Writes the sample app into `root` (which must be a scratch copy, never the operator's tree). */
export const addSampleApp = (root: string, app: SampleApp): void => {
  for (const { path, after } of sampleAppFiles(root, app)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), after);
  }
};
