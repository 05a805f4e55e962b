import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import S3rver from 's3rver';
import { generate } from 'selfsigned';

export interface S3StandIn {
  /** https://127.0.0.1:<port> */
  endpoint: string;
  /** The CA that signed the server's certificate: restic `--cacert`, barman-cloud `AWS_CA_BUNDLE`. */
  caFile: string;
  /** The credentials every client uses (the stand-in accepts any). */
  accessKeyId: string;
  secretAccessKey: string;
  close: () => Promise<void>;
}

const DAY = 24 * 3600_000;

/**
 * A CA and a server certificate for 127.0.0.1 signed by it, made for this run only. restic (Go) and
 * boto3 (OpenSSL) both verify the address against the subjectAltName and want a real CA as the anchor.
 */
const loopbackCertificate = async (): Promise<{ ca: string; key: string; cert: string }> => {
  const notBeforeDate = new Date(Date.now() - 60_000);
  const notAfterDate = new Date(Date.now() + DAY);
  const ca = await generate([{ name: 'commonName', value: 'k8s-ops dr-drill CA' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  const server = await generate([{ name: 'commonName', value: '127.0.0.1' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    ca: { key: ca.private, cert: ca.cert },
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] },
    ],
  });
  return { ca: ca.cert, key: server.private, cert: server.cert };
};

/**
 * An S3-compatible server on 127.0.0.1 that stands in for Cloudflare R2, storing objects under `dir`,
 * with `buckets` created up front (as terraform creates the R2 buckets). It serves HTTPS only: restic
 * signs plain-HTTP uploads in a streamed form that s3rver would store verbatim, corrupting objects.
 */
export const startS3StandIn = async (dir: string, buckets: readonly string[]): Promise<S3StandIn> => {
  const tls = await loopbackCertificate();
  mkdirSync(dir, { recursive: true });
  const caFile = join(dir, 'ca.crt');
  writeFileSync(caFile, tls.ca);
  // PostgreSQL's archive_command runs as another user and must read it.
  chmodSync(caFile, 0o644);
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    key: tls.key,
    cert: tls.cert,
    silent: true,
    directory: join(dir, 'objects'),
    configureBuckets: buckets.map((name) => ({ name, configs: [] })),
  });
  const address = await server.run();
  return {
    endpoint: `https://127.0.0.1:${address.port}`,
    caFile,
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    close: () => server.close(),
  };
};
