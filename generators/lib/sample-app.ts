import { join } from 'node:path';
import { isSeq, parseDocument, stringify } from 'yaml';
import { UserError } from '../../src/lib/errors.ts';
import { findingLine, uniqueFindings } from '../../src/validate/report.ts';
import type { Finding, KObject } from '../../src/validate/types.ts';
import { readIfExists, writePlan, type FileChange } from './plan.ts';
import { validateScratch } from './verify.ts';

/**
 * A component is only ever built through an app's Flux Kustomization, so it is checked the same way:
 * a small app in `kubernetes/apps/<namespace>/<name>/` whose ks.yaml lists the component, built and
 * validated on every cluster. Used by the component generator before it writes, and by the tests.
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

/** The files that add the sample app to the repository at `root` (a scratch copy). */
export const sampleAppFiles = (root: string, app: SampleApp): FileChange[] => {
  const nsDir = `kubernetes/apps/${app.namespace}`;
  const appDir = `${nsDir}/${app.name}`;
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
  const change = (path: string, after: string): FileChange => ({ path, before: readIfExists(root, path), after, owned: true });
  return [
    change('kubernetes/apps/kustomization.yaml', withResource(readIfExists(root, 'kubernetes/apps/kustomization.yaml'), `./${app.namespace}`)),
    change(`${nsDir}/kustomization.yaml`, withResource(readIfExists(root, `${nsDir}/kustomization.yaml`) ?? kustomization(['./namespace.yaml']), `./${app.name}/ks.yaml`)),
    change(`${nsDir}/namespace.yaml`, stringify(namespace)),
    change(`${appDir}/ks.yaml`, `${HEADER.ks}${stringify(ks)}`),
    change(`${appDir}/app/kustomization.yaml`, kustomization(['./manifests.yaml'])),
    change(`${appDir}/app/manifests.yaml`, manifests.map((m) => stringify(m)).join('---\n')),
  ];
};

/** Writes the sample app into `root` (which must be a scratch copy, never the operator's tree). */
export const addSampleApp = (root: string, app: SampleApp): void =>
  writePlan(root, { target: `sample app ${app.name}`, changes: sampleAppFiles(root, app), clusters: [] });

/**
 * Validates `changes` (a new component) as an app would use it, in a scratch copy of the tree: the
 * real tree is never touched. Returns the error findings, empty when the component is clean.
 */
export const validateThroughSampleApp = async (root: string, changes: FileChange[], app: SampleApp): Promise<Finding[]> => {
  const results = await validateScratch(root, (scratch) => {
    writePlan(scratch, { target: 'component', changes, clusters: [] });
    addSampleApp(scratch, app);
  });
  return uniqueFindings(results).filter((f) => f.severity === 'error');
};

export const describeFindings = (findings: Finding[]): string => findings.map((f) => `  ${findingLine(f)}`).join('\n');
