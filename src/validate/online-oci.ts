import { parse as parseChallenge } from 'auth-header';
import LinkHeader from 'http-link-header';
import { Unreachable, type Http, type HttpAnswer, type Lookup } from './online-http.ts';

/** A repository in an OCI registry, as the distribution API names it. */
export interface OciRepository {
  /** The registry as references spell it (`docker.io`, `ghcr.io`, `127.0.0.1:5000`). */
  registry: string;
  /** The path below the registry (`library/postgres`, `twin/gatus`). */
  repository: string;
  /** Plain HTTP, as Flux's `spec.insecure` asks. */
  insecure?: boolean;
}

/** Docker Hub's references say docker.io; its API answers elsewhere. */
export const apiHost = (registry: string): string => (registry === 'docker.io' || registry === 'index.docker.io' ? 'registry-1.docker.io' : registry);

const MANIFEST_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

/** Error codes of the distribution spec that mean the thing asked for is not there. */
const NOT_FOUND_CODES = new Set(['NAME_UNKNOWN', 'MANIFEST_UNKNOWN', 'TAG_INVALID', 'NOT_FOUND']);
const MAX_TAG_PAGES = 200;

interface BearerChallenge {
  realm: string;
  service?: string;
}

const errorCodes = (body: string): string[] => {
  try {
    return (JSON.parse(body)?.errors ?? []).map((e: any) => String(e?.code ?? ''));
  } catch {
    return [];
  }
};

const first = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);

/**
 * Asks registries whether manifests and tags exist, through the distribution API: anonymous bearer tokens
 * from the `WWW-Authenticate` challenge, tag lists followed through their `Link` pages, and every question
 * asked once however many pins share it.
 */
export class OciClient {
  /** A registry's challenge, once seen: later repositories get their token before the first request. */
  private challenges = new Map<string, BearerChallenge>();
  private tokens = new Map<string, Promise<string | undefined>>();
  private manifests = new Map<string, Promise<Lookup>>();
  private tagLists = new Map<string, Promise<string[] | Lookup>>();

  constructor(private http: Http) {}

  /** Whether a manifest exists for a tag or a digest (`sha256:...`). */
  manifest(repo: OciRepository, reference: string): Promise<Lookup> {
    const key = `${repo.registry}/${repo.repository}@${reference}`;
    if (!this.manifests.has(key)) this.manifests.set(key, this.askManifest(repo, reference));
    return this.manifests.get(key)!;
  }

  /** Every tag of a repository, or why there is no list. */
  tags(repo: OciRepository): Promise<string[] | Lookup> {
    const key = `${repo.registry}/${repo.repository}`;
    if (!this.tagLists.has(key)) this.tagLists.set(key, this.askTags(repo));
    return this.tagLists.get(key)!;
  }

  private where(repo: OciRepository): string {
    return `${repo.registry}/${repo.repository}`;
  }

  private async askManifest(repo: OciRepository, reference: string): Promise<Lookup> {
    const base = this.http.base(apiHost(repo.registry), repo.insecure);
    try {
      const res = await this.get(base, repo.repository, `${base}/v2/${repo.repository}/manifests/${reference}`, 'HEAD', MANIFEST_TYPES);
      if (res.status >= 200 && res.status < 300) return { status: 'found' };
      if (res.status === 404) return { status: 'missing', detail: `${this.where(repo)} has no manifest ${reference}` };
      return this.unexpected(repo, res);
    } catch (e) {
      if (e instanceof Unreachable) return { status: 'unreachable', reason: `${repo.registry}: ${e.message}` };
      throw e;
    }
  }

  private async askTags(repo: OciRepository): Promise<string[] | Lookup> {
    const base = this.http.base(apiHost(repo.registry), repo.insecure);
    const tags: string[] = [];
    let url: string | undefined = `${base}/v2/${repo.repository}/tags/list`;
    try {
      for (let page = 0; url; page++) {
        if (page === MAX_TAG_PAGES) return { status: 'unreachable', reason: `${this.where(repo)}: more than ${MAX_TAG_PAGES} pages of tags` };
        const res = await this.get(base, repo.repository, url, 'GET', 'application/json');
        if (res.status === 404) return { status: 'missing', detail: `${this.where(repo)} does not exist` };
        if (res.status >= 300) return this.unexpected(repo, res);
        const list = JSON.parse(res.body || '{}')?.tags;
        if (Array.isArray(list)) tags.push(...list.map(String));
        const next = res.headers.get('link');
        const ref = next ? LinkHeader.parse(next).rel('next')[0] : undefined;
        url = ref ? this.http.rebase(new URL(ref.uri, res.url).href) : undefined;
      }
    } catch (e) {
      if (e instanceof Unreachable) return { status: 'unreachable', reason: `${repo.registry}: ${e.message}` };
      if (e instanceof SyntaxError) return { status: 'unreachable', reason: `${this.where(repo)}: the tag list is not JSON` };
      throw e;
    }
    return tags;
  }

  /** A 404 with a not-found code is missing; a refusal or a server error means we could not tell. */
  private unexpected(repo: OciRepository, res: HttpAnswer): Lookup {
    const codes = errorCodes(res.body);
    if (codes.some((c) => NOT_FOUND_CODES.has(c))) return { status: 'missing', detail: `${this.where(repo)}: ${codes.join(', ')}` };
    const why = res.status === 401 || res.status === 403 ? 'refused anonymous access' : res.status === 429 ? 'is rate-limiting us' : 'answered';
    return { status: 'unreachable', reason: `${repo.registry} ${why} (HTTP ${res.status}${codes.length ? ` ${codes.join(', ')}` : ''})` };
  }

  /** A request with the registry's anonymous token: taken from the challenge of a 401, then reused for the host. */
  private async get(base: string, repository: string, url: string, method: string, accept: string): Promise<HttpAnswer> {
    const scope = `repository:${repository}:pull`;
    const known = this.challenges.get(base);
    const headers = (token?: string): Record<string, string> => ({ Accept: accept, ...(token ? { Authorization: `Bearer ${token}` } : {}) });
    let res = await this.http.request(url, { method, headers: headers(known && (await this.token(known, scope))) });
    if (res.status !== 401) return res;
    const challenge = this.bearerChallenge(res.headers.get('www-authenticate'));
    // Refused with the token this challenge gives: asking again would get the same answer.
    if (!challenge || (known && known.realm === challenge.realm && known.service === challenge.service)) return res;
    this.challenges.set(base, challenge);
    const token = await this.token(challenge, scope);
    if (!token) return res;
    // The challenge may come from where a redirect led (registry.k8s.io sends pulls on to its mirrors).
    res = await this.http.request(res.url, { method, headers: headers(token) });
    return res;
  }

  private bearerChallenge(header: string | null): BearerChallenge | undefined {
    if (!header) return undefined;
    try {
      const parsed = parseChallenge(header);
      const realm = first(parsed.params.realm);
      if (parsed.scheme.toLowerCase() !== 'bearer' || !realm) return undefined;
      return { realm, service: first(parsed.params.service) };
    } catch {
      return undefined;
    }
  }

  private token(challenge: BearerChallenge, scope: string): Promise<string | undefined> {
    const key = `${challenge.realm}|${challenge.service ?? ''}|${scope}`;
    if (!this.tokens.has(key)) this.tokens.set(key, this.askToken(challenge, scope));
    return this.tokens.get(key)!;
  }

  private async askToken(challenge: BearerChallenge, scope: string): Promise<string | undefined> {
    const url = new URL(this.http.rebase(challenge.realm));
    if (challenge.service) url.searchParams.set('service', challenge.service);
    url.searchParams.set('scope', scope);
    const res = await this.http.request(url.href, { headers: { Accept: 'application/json' } });
    if (res.status !== 200) return undefined;
    try {
      const answer = JSON.parse(res.body);
      return answer?.token ?? answer?.access_token ?? undefined;
    } catch {
      return undefined;
    }
  }
}
