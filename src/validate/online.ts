import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { HelmIndexClient, sameVersion } from './online-helm.ts';
import { Http, type HttpOptions, type Lookup } from './online-http.ts';
import { OciClient } from './online-oci.ts';
import { collectPins, questionKey, type PinUse, type Question } from './online-pins.ts';
import { Locator } from './locate.ts';
import { resolveLines } from './report.ts';
import { describe, type ClusterResult, type Finding, type KObject, type Resource } from './types.ts';

export interface OnlineOptions extends HttpOptions {
  progress?: (message: string) => void;
}

/** Asks each question once, whoever asks it. */
class Oracle {
  private http: Http;
  private oci: OciClient;
  private helm: HelmIndexClient;
  private answers = new Map<string, Promise<Lookup>>();
  private answered = 0;
  private progress?: (message: string) => void;

  constructor(opts: OnlineOptions, private total: number) {
    this.http = new Http(opts);
    this.oci = new OciClient(this.http);
    this.helm = new HelmIndexClient(this.http);
    this.progress = opts.progress;
  }

  answer(q: Question): Promise<Lookup> {
    const key = questionKey(q);
    if (!this.answers.has(key)) {
      this.answers.set(
        key,
        this.ask(q).then((lookup) => {
          this.progress?.(`online: checked ${++this.answered}/${this.total} pins`);
          return lookup;
        }),
      );
    }
    return this.answers.get(key)!;
  }

  private async ask(q: Question): Promise<Lookup> {
    if (q.kind === 'helm-index') return this.helm.version(q.url, q.chart, q.version);
    if (q.kind === 'manifest') return this.oci.manifest(q.repo, q.reference);
    const tags = await this.oci.tags(q.repo);
    if (!Array.isArray(tags)) return tags;
    if (tags.some((t) => sameVersion(t, q.version))) return { status: 'found' };
    return { status: 'missing', detail: `no tag ${q.version} among the ${tags.length} of ${q.repo.registry}/${q.repo.repository}` };
  }
}

const findingFor = (use: PinUse, lookup: Exclude<Lookup, { status: 'found' }>): Finding => ({
  file: use.resource.origin?.file || use.resource.appliedBy,
  rule: lookup.status === 'missing' ? 'pin-missing' : 'pin-unchecked',
  severity: lookup.status === 'missing' ? 'error' : 'warning',
  message:
    lookup.status === 'missing'
      ? `${describe(use.resource.obj)}: ${use.what} does not exist: ${lookup.detail}`
      : `${describe(use.resource.obj)}: ${use.what} could not be checked: ${lookup.reason}`,
  at: { obj: use.resource.obj, path: use.path },
});

/**
 * The component library's result keeps only the names of what it rendered: its pins are read from the
 * component files themselves, those no cluster has rendered already, values with `${VAR}` left out.
 */
const libraryResources = (repoRoot: string, library: ClusterResult, rendered: Set<string>): Resource[] => {
  const files = [...new Set(library.resources.map((r) => r.origin?.file).filter((f): f is string => Boolean(f) && !rendered.has(f!)))];
  return files.flatMap((file) => {
    try {
      return parseAllDocuments(readFileSync(join(repoRoot, file), 'utf8'))
        .map((d) => d.toJS({ maxAliasCount: 100 }) as KObject)
        .filter((obj) => obj && typeof obj === 'object' && obj.kind)
        .map((obj) => ({ obj, appliedBy: '', origin: { file }, sops: false }));
    } catch {
      return []; // The pipeline has reported a file it cannot read.
    }
  });
};

/**
 * `--online`: after the offline pipeline, asks each Helm repository and OCI registry whether the chart
 * versions, OCIRepository refs and image tags and digests the clusters pin exist. A pin that does not is
 * an error on its line; a host that cannot be asked is a warning. Returns the results with these findings.
 */
export const checkPinsOnline = async (
  repoRoot: string,
  results: ClusterResult[],
  library: ClusterResult | undefined,
  opts: OnlineOptions = {},
): Promise<{ results: ClusterResult[]; library?: ClusterResult }> => {
  const rendered = new Set(results.flatMap((r) => r.resources.map((x) => x.origin?.file ?? '')));
  const targets = [...results, ...(library ? [library] : [])];
  const pins = targets.map((r) => collectPins(r === library ? libraryResources(repoRoot, r, rendered) : r.resources));
  const oracle = new Oracle(opts, new Set(pins.flatMap((p) => p.uses.map((u) => questionKey(u.question)))).size);
  const locator = new Locator(repoRoot);
  const checked = await Promise.all(
    targets.map(async (r, i) => {
      const lookups = await Promise.all(pins[i].uses.map(async (use) => ({ use, lookup: await oracle.answer(use.question) })));
      const found = [
        ...pins[i].invalid,
        ...lookups.flatMap(({ use, lookup }) => (lookup.status === 'found' ? [] : [findingFor(use, lookup)])),
      ];
      return { ...r, findings: [...r.findings, ...resolveLines(found, locator).map((f) => ({ ...f, cluster: r.cluster.name }))] };
    }),
  );
  return { results: checked.slice(0, results.length), library: library ? checked[results.length] : undefined };
};
