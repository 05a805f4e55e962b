import * as assert from 'uvu/assert';
import { validateRepository } from '../src/validate/pipeline.ts';
import { findingLine } from '../src/validate/report.ts';
import { SCHEMAS, unexpectedFindings } from './helpers.ts';

/** The app the generator tests make and change: a shared app-template app with a route, a secret and egress. */
export const echo = {
  name: 'echo',
  namespace: 'demo',
  clusters: ['infra', 'apps'],
  chart: { repository: 'oci://ghcr.io/bjw-s-labs/helm', name: 'app-template', version: '4.5.0' },
  image: { repository: 'ghcr.io/mendhak/http-https-echo', tag: '37' },
  port: 8080,
  route: { gateway: 'internal' },
  secrets: ['echo'],
  networkPolicy: { egress: [{ fqdn: 'api.github.com', port: 443 }, { fqdn: '*.githubusercontent.com', port: 443 }] },
};

/** Validates a scratch repository, asserting no finding beyond those it has by design; returns the results. */
export const validates = async (repo: string) => {
  const { results } = await validateRepository({ repo, schemaDirs: SCHEMAS });
  assert.equal(unexpectedFindings(results.flatMap((r) => r.findings)).map(findingLine), [], 'the repository must still validate');
  return results;
};
