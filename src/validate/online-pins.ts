import { parseFamiliarName } from '@swimlane/docker-reference';
import type { OciRepository } from './online-oci.ts';
import { apiGroup, describe, type Finding, type KObject, type Resource } from './types.ts';

/** What a registry or a Helm repository is asked about one pin. */
export type Question =
  | { kind: 'helm-index'; url: string; chart: string; version: string }
  | { kind: 'manifest'; repo: OciRepository; reference: string }
  | { kind: 'tagged-version'; repo: OciRepository; version: string };

/** A pin found in a resource: what it is, where it is written, and the question that proves it exists. */
export interface PinUse {
  resource: Resource;
  path: (string | number)[];
  /** How the message names it: `chart gatus 1.4.5`, `image ghcr.io/twin/gatus:v5.23.2`, ... */
  what: string;
  question: Question;
}

export const questionKey = (q: Question): string =>
  q.kind === 'helm-index' ? `helm ${q.url} ${q.chart} ${q.version}` : `${q.kind} ${q.repo.registry}/${q.repo.repository} ${q.kind === 'manifest' ? q.reference : q.version}`;

// Ranges and missing versions are the policy stage's findings; only exact pins are looked up.
const EXACT_VERSION = /^v?\d+\.\d+\.\d+([-+][0-9A-Za-z.+-]+)?$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;
const UNRESOLVED = /\$\{|\{\{/;

const isSource = (o: KObject, kind: string) => apiGroup(String(o.apiVersion ?? '')) === 'source.toolkit.fluxcd.io' && o.kind === kind;

/** `oci://host/path` as a registry repository (docker.io's one-part names under `library/`). */
export const ociRepositoryOf = (url: string, insecure?: boolean): OciRepository | undefined => {
  if (!url.startsWith('oci://')) return undefined;
  try {
    const ref = parseFamiliarName(url.slice('oci://'.length).replace(/\/+$/, ''));
    return { registry: ref.domain ?? 'docker.io', repository: ref.repository ?? '', insecure: insecure || undefined };
  } catch {
    return undefined;
  }
};

/** An image reference as the container runtime reads it; a digest, when pinned, is what is pulled. */
const imageQuestion = (image: string): { question?: Question; error?: string } => {
  try {
    const ref = parseFamiliarName(image);
    const reference = ref.digest ?? ref.tag;
    if (!reference || (!ref.digest && reference === 'latest')) return {};
    return { question: { kind: 'manifest', repo: { registry: ref.domain ?? 'docker.io', repository: ref.repository ?? '' }, reference } };
  } catch (e) {
    return { error: String((e as Error).message) };
  }
};

/** Image references in a spec: `image: repo:tag` (and CloudNativePG's `imageName`), `{registry?, repository, tag|digest}` objects. */
const imagesIn = (spec: unknown): { path: (string | number)[]; image: string }[] => {
  const out: { path: (string | number)[]; image: string }[] = [];
  const visit = (node: unknown, path: (string | number)[]) => {
    if (Array.isArray(node)) return node.forEach((v, i) => visit(v, [...path, i]));
    if (!node || typeof node !== 'object') return;
    const n = node as KObject;
    const scalar = (v: unknown) => typeof v === 'string' || typeof v === 'number';
    if (typeof n.repository === 'string' && (scalar(n.tag) || typeof n.digest === 'string')) {
      const name = typeof n.registry === 'string' && n.registry ? `${n.registry.replace(/\/$/, '')}/${n.repository}` : n.repository;
      const digest = typeof n.digest === 'string' && n.digest ? n.digest : undefined;
      if (digest) out.push({ path: [...path, 'digest'], image: `${name}@${digest}` });
      else if (String(n.tag) !== '') out.push({ path: [...path, 'tag'], image: `${name}:${n.tag}` });
    }
    for (const [k, v] of Object.entries(n)) {
      if ((k === 'image' || k === 'imageName') && typeof v === 'string') out.push({ path: [...path, k], image: v });
      else visit(v, [...path, k]);
    }
  };
  visit(spec, ['spec']);
  return out.filter(({ image }) => image && !UNRESOLVED.test(image));
};

/**
 * Every pin of these resources that can be looked up: chart versions of HelmReleases and HelmCharts
 * through their HelmRepository (an http(s) index or `type: oci`), OCIRepository refs, and image tags and
 * digests anywhere in a spec (pod templates, init containers, chart values). A reference no runtime
 * could parse is a finding right away.
 */
export const collectPins = (resources: Resource[]): { uses: PinUse[]; invalid: Finding[] } => {
  const uses: PinUse[] = [];
  const invalid: Finding[] = [];
  const helmRepositories = new Map(
    resources.filter((r) => isSource(r.obj, 'HelmRepository')).map((r) => [`${r.obj.metadata?.namespace ?? ''}/${r.obj.metadata?.name}`, r.obj]),
  );

  const chartPin = (r: Resource, spec: KObject | undefined, path: (string | number)[]) => {
    const version = String(spec?.version ?? '');
    if (!spec?.chart || spec.sourceRef?.kind !== 'HelmRepository' || !EXACT_VERSION.test(version) || UNRESOLVED.test(String(spec.chart))) return;
    const source = helmRepositories.get(`${spec.sourceRef.namespace ?? r.obj.metadata?.namespace ?? ''}/${spec.sourceRef.name}`);
    const url = String(source?.spec?.url ?? '');
    const what = `chart ${spec.chart} ${version}`;
    if (source?.spec?.type === 'oci') {
      const repo = ociRepositoryOf(`${url.replace(/\/+$/, '')}/${spec.chart}`, source.spec.insecure);
      if (repo) uses.push({ resource: r, path, what, question: { kind: 'tagged-version', repo, version } });
    } else if (/^https?:\/\//.test(url)) {
      uses.push({ resource: r, path, what, question: { kind: 'helm-index', url: url.replace(/\/+$/, ''), chart: String(spec.chart), version } });
    }
  };

  for (const r of resources) {
    const o = r.obj;
    if (apiGroup(String(o.apiVersion ?? '')) === 'helm.toolkit.fluxcd.io' && o.kind === 'HelmRelease') {
      chartPin(r, o.spec?.chart?.spec, ['spec', 'chart', 'spec', 'version']);
    }
    if (isSource(o, 'HelmChart')) chartPin(r, o.spec, ['spec', 'version']);
    if (isSource(o, 'OCIRepository')) {
      const url = String(o.spec?.url ?? '');
      const repo = ociRepositoryOf(url, o.spec?.insecure);
      const ref = o.spec?.ref ?? {};
      if (repo && DIGEST.test(String(ref.digest ?? ''))) {
        uses.push({ resource: r, path: ['spec', 'ref', 'digest'], what: `digest ${ref.digest} of ${url}`, question: { kind: 'manifest', repo, reference: ref.digest } });
      } else if (repo && EXACT_VERSION.test(String(ref.semver ?? ''))) {
        uses.push({ resource: r, path: ['spec', 'ref', 'semver'], what: `version ${ref.semver} of ${url}`, question: { kind: 'tagged-version', repo, version: String(ref.semver) } });
      } else if (repo && ref.tag && ref.tag !== 'latest' && !UNRESOLVED.test(String(ref.tag))) {
        uses.push({ resource: r, path: ['spec', 'ref', 'tag'], what: `tag ${ref.tag} of ${url}`, question: { kind: 'manifest', repo, reference: String(ref.tag) } });
      }
    }
    for (const { path, image } of imagesIn(o.spec)) {
      const { question, error } = imageQuestion(image);
      if (question) uses.push({ resource: r, path, what: `image ${image}`, question });
      else if (error) {
        invalid.push({ file: r.origin?.file || r.appliedBy, rule: 'pin-missing', severity: 'error', message: `${describe(o)}: image ${image} is not a valid reference (${error})`, at: { obj: o, path } });
      }
    }
  }
  return { uses, invalid };
};
