import { parse } from 'yaml';
import { Unreachable, type Http, type Lookup } from './online-http.ts';

/** A repository's charts and their versions, as its index.yaml lists them (newest first, as Helm writes it). */
type Index = Map<string, string[]>;

const SHOWN_VERSIONS = 5;

/** Helm matches `1.2.3` and `v1.2.3` alike; an OCI tag spells the `+` of build metadata as `_`. */
export const sameVersion = (a: string, b: string): boolean => {
  const norm = (v: string) => v.replace(/^v/, '').replace(/_/g, '+');
  return norm(a) === norm(b);
};

/** Reads each http(s) Helm repository's index.yaml once and answers whether a chart version is published. */
export class HelmIndexClient {
  private indexes = new Map<string, Promise<Index | Lookup>>();

  constructor(private http: Http) {}

  async version(url: string, chart: string, version: string): Promise<Lookup> {
    const index = await this.index(url);
    if (!(index instanceof Map)) return index;
    const versions = index.get(chart);
    if (!versions) return { status: 'missing', detail: `${url}/index.yaml has no chart ${chart}` };
    if (versions.some((v) => sameVersion(v, version))) return { status: 'found' };
    const shown = versions.slice(0, SHOWN_VERSIONS).join(', ') + (versions.length > SHOWN_VERSIONS ? `, ... (${versions.length} in all)` : '');
    return { status: 'missing', detail: `${url}/index.yaml lists ${chart} ${shown || 'with no versions'}` };
  }

  private index(url: string): Promise<Index | Lookup> {
    const key = url.replace(/\/+$/, '');
    if (!this.indexes.has(key)) this.indexes.set(key, this.fetchIndex(key));
    return this.indexes.get(key)!;
  }

  private async fetchIndex(url: string): Promise<Index | Lookup> {
    try {
      const res = await this.http.request(this.http.rebase(`${url}/index.yaml`), { headers: { Accept: 'application/x-yaml, text/yaml, */*' } });
      if (res.status === 404 || res.status === 410) return { status: 'missing', detail: `${url} is not a Helm repository (index.yaml: HTTP ${res.status})` };
      if (res.status !== 200) return { status: 'unreachable', reason: `${url}/index.yaml: HTTP ${res.status}` };
      const doc = parse(res.body, { maxAliasCount: 100 });
      const entries = doc?.entries;
      if (!entries || typeof entries !== 'object') return { status: 'unreachable', reason: `${url}/index.yaml has no entries` };
      return new Map(Object.entries(entries).map(([chart, list]) => [chart, Array.isArray(list) ? list.map((e: any) => String(e?.version ?? '')) : []]));
    } catch (e) {
      if (e instanceof Unreachable) return { status: 'unreachable', reason: `${url}: ${e.message}` };
      return { status: 'unreachable', reason: `${url}/index.yaml could not be read: ${String((e as Error).message).split('\n')[0]}` };
    }
  }
}
