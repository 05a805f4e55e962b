// A Helm repository and an OCI registry on 127.0.0.1, speaking real HTTP, for the online pin check.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { stringify } from 'yaml';

export interface Recorded {
  method: string;
  path: string;
  authorized: boolean;
}

export interface Fake {
  url: string;
  requests: Recorded[];
  /** The most requests the fake was answering at one moment. */
  maxInFlight: number;
  close(): Promise<void>;
}

const listen = async (handle: (req: IncomingMessage, res: ServerResponse, fake: Fake) => boolean | Promise<boolean>, delayMs = 0): Promise<Fake> => {
  let inFlight = 0;
  const fake: Fake = { url: '', requests: [], maxInFlight: 0, close: async () => {} };
  const server: Server = createServer(async (req, res) => {
    inFlight++;
    fake.maxInFlight = Math.max(fake.maxInFlight, inFlight);
    if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
    const authorized = await handle(req, res, fake);
    fake.requests.push({ method: req.method ?? '', path: req.url ?? '', authorized });
    inFlight--;
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  fake.close = () => {
    server.closeAllConnections();
    return new Promise((r) => server.close(() => r()));
  };
  return fake;
};

const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
};

/** A Helm repository serving `/stable/index.yaml` with these charts and versions (newest first). */
export const fakeHelmRepository = (charts: Record<string, string[]>): Promise<Fake> =>
  listen((req, res) => {
    if (req.url !== '/stable/index.yaml') {
      res.writeHead(404).end();
      return false;
    }
    const entries = Object.fromEntries(Object.entries(charts).map(([name, versions]) => [name, versions.map((version) => ({ apiVersion: 'v2', name, version, urls: [`${name}-${version}.tgz`] }))]));
    res.writeHead(200, { 'Content-Type': 'application/x-yaml' }).end(stringify({ apiVersion: 'v1', entries }));
    return false;
  });

export interface RegistryOptions {
  /** Tags per page of a tag list. */
  pageSize?: number;
  /** Hold every answer this long, so that requests overlap. */
  delayMs?: number;
  /** Refuse every token: a registry that wants credentials. */
  denyAnonymous?: boolean;
}

/**
 * An OCI distribution registry: `repositories` maps each repository to its tags and their digests.
 * Every `/v2/` request needs the bearer token of its repository's pull scope; without it the answer is
 * 401 with a `WWW-Authenticate` challenge pointing at `/token`. Tag lists come in pages linked by `Link`.
 */
export const fakeRegistry = (repositories: Record<string, Record<string, string>>, opts: RegistryOptions = {}): Promise<Fake> =>
  listen((req, res, fake) => {
    const url = new URL(req.url ?? '/', fake.url);
    if (url.pathname === '/token') {
      const scope = url.searchParams.get('scope') ?? '';
      if (opts.denyAnonymous) json(res, 200, { token: 'anonymous' });
      else json(res, 200, { token: `token-for:${scope}` });
      return false;
    }
    const m = /^\/v2\/(.+)\/(manifests|tags)\/(.+)$/.exec(url.pathname);
    if (!m) {
      json(res, 404, { errors: [{ code: 'NOT_FOUND' }] });
      return false;
    }
    const [, name, what, ref] = m;
    const scope = `repository:${name}:pull`;
    if (req.headers.authorization !== `Bearer token-for:${scope}`) {
      json(res, 401, { errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }, {
        'WWW-Authenticate': `Bearer realm="${fake.url}/token",service="fake-registry",scope="${scope}"`,
      });
      return false;
    }
    const tags = repositories[name];
    if (!tags) {
      json(res, 404, { errors: [{ code: 'NAME_UNKNOWN', message: 'repository name not known to registry' }] });
      return true;
    }
    if (what === 'manifests') {
      const digest = ref.startsWith('sha256:') ? (Object.values(tags).includes(ref) ? ref : undefined) : tags[ref];
      if (!digest) json(res, 404, { errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' }] });
      else json(res, 200, { schemaVersion: 2 }, { 'Docker-Content-Digest': digest, 'Content-Type': 'application/vnd.oci.image.index.v1+json' });
      return true;
    }
    const all = Object.keys(tags).sort();
    const n = Number(url.searchParams.get('n') ?? opts.pageSize ?? 2);
    const last = url.searchParams.get('last');
    const from = last ? all.indexOf(last) + 1 : 0;
    const page = all.slice(from, from + n);
    const more = from + n < all.length;
    json(res, 200, { name, tags: page }, more ? { Link: `</v2/${name}/tags/list?n=${n}&last=${encodeURIComponent(page[page.length - 1])}>; rel="next"` } : {});
    return true;
  }, opts.delayMs);

/** A port on 127.0.0.1 with nothing listening: connections are refused. */
export const closedPort = async (): Promise<string> => {
  const fake = await listen(() => false);
  await fake.close();
  return fake.url;
};

/** A server that accepts connections and never answers. */
export const silentServer = (): Promise<Fake> => listen(() => new Promise<boolean>(() => {}));
