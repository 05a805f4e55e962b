import { createPool } from '../lib/pool.ts';

/** What every lookup of a pin ends in. */
export type Lookup = { status: 'found' } | { status: 'missing'; detail: string } | { status: 'unreachable'; reason: string };

export interface HttpOptions {
  /** Each request's limit, body included. */
  timeoutMs?: number;
  /** Requests in flight at once, over every registry and Helm repository. */
  concurrency?: number;
  /** Largest body read (a Helm index.yaml is the big one). */
  maxBytes?: number;
  /**
   * Where to send requests for a host instead of `https://host`, e.g. `{ 'registry-1.docker.io': 'http://127.0.0.1:5000' }`:
   * a mirror, or the fakes of the tests.
   */
  endpoints?: Record<string, string>;
}

export interface HttpAnswer {
  status: number;
  headers: Headers;
  /** The URL that answered, after redirects. */
  url: string;
  body: string;
}

/** A host that did not answer, or answered something no client could use; the caller names the host. */
export class Unreachable extends Error {}

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])(:\d+)?$/;

/** Docker and containerd talk plain HTTP to a registry on the loopback interface; so do we. */
export const isLoopback = (host: string): boolean => LOOPBACK.test(host);

const reasonOf = (e: any, timeoutMs: number): string => {
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return `no answer within ${timeoutMs / 1000} s`;
  const cause = e?.cause;
  return cause?.code ? `no connection (${cause.code})` : String(cause?.message ?? e?.message ?? e);
};

/** One fetch client for the online check: a shared limit on requests in flight, a timeout and a size cap on each. */
export class Http {
  readonly timeoutMs: number;
  private readonly maxBytes: number;
  private readonly endpoints: Record<string, string>;
  private readonly schedule: ReturnType<typeof createPool>;

  constructor(opts: HttpOptions = {}) {
    this.timeoutMs = opts.timeoutMs ?? 20_000;
    this.maxBytes = opts.maxBytes ?? 64 * 1024 * 1024;
    this.endpoints = opts.endpoints ?? {};
    this.schedule = createPool(opts.concurrency ?? 8);
  }

  /** `url` with its origin replaced when `endpoints` maps its host. */
  rebase(url: string): string {
    const u = new URL(url);
    const to = this.endpoints[u.host];
    return to ? `${to.replace(/\/$/, '')}${u.pathname}${u.search}` : url;
  }

  /** The base URL of a host's API: the mapped endpoint, else https (http when asked or on the loopback interface). */
  base(host: string, plainHttp = false): string {
    return (this.endpoints[host] ?? `${plainHttp || isLoopback(host) ? 'http' : 'https'}://${host}`).replace(/\/$/, '');
  }

  /** A request whose body is read within the same slot and deadline; a network failure throws Unreachable. */
  request(url: string, init: { method?: string; headers?: Record<string, string> } = {}): Promise<HttpAnswer> {
    return this.schedule(async () => {
      try {
        const res = await fetch(url, { ...init, redirect: 'follow', signal: AbortSignal.timeout(this.timeoutMs) });
        return { status: res.status, headers: res.headers, url: res.url || url, body: await this.read(res) };
      } catch (e) {
        if (e instanceof Unreachable) throw e;
        throw new Unreachable(reasonOf(e, this.timeoutMs));
      }
    });
  }

  private async read(res: Response): Promise<string> {
    if (!res.body) return '';
    const declared = Number(res.headers.get('content-length') ?? 0);
    if (declared > this.maxBytes) {
      await res.body.cancel();
      throw new Unreachable(`an answer of ${declared} bytes is over the ${this.maxBytes}-byte limit`);
    }
    const chunks: Uint8Array[] = [];
    let size = 0;
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      size += chunk.byteLength;
      if (size > this.maxBytes) throw new Unreachable(`an answer is over the ${this.maxBytes}-byte limit`);
      chunks.push(chunk);
    }
    return Buffer.concat(chunks).toString('utf8');
  }
}
