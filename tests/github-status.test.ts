// Flux's commit statuses (kubernetes/apps/flux-system/github-status): on each cluster, a GitHub Provider for
// the repository Flux follows, statuses named after the cluster, and an Alert that hears every Kustomization.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { validateRepository } from '../src/validate/pipeline.ts';
import type { KObject } from '../src/validate/types.ts';
import { ROOT, SCHEMAS } from './helpers.ts';

const test = suite('github-status');

test('each cluster posts statuses named after itself, to the repository it follows, for every Kustomization', async () => {
  const { results } = await validateRepository({ repo: ROOT, schemaDirs: SCHEMAS });
  assert.equal(results.map((r) => r.cluster.name), ['apps', 'infra']);
  for (const r of results) {
    const objects = r.resources.map((x) => x.obj);
    const one = (kind: string, name: string): KObject => {
      const found = objects.filter((o) => o.kind === kind && o.metadata?.name === name);
      assert.is(found.length, 1, `${r.cluster.name}: ${kind} ${name}`);
      return found[0];
    };
    const provider = one('Provider', 'github-status');
    const alert = one('Alert', 'github-status');
    const source = one('GitRepository', 'flux-system');
    assert.is(provider.spec.type, 'github');
    assert.is(provider.spec.address, source.spec.url.replace(/^ssh:\/\/git@github\.com\//, 'https://github.com/'));
    assert.match(provider.spec.commitStatusExpr, `'/${r.cluster.name}').lowerAscii()`);
    assert.is(alert.spec.eventMetadata.cluster, r.cluster.name);
    const secret = one('ExternalSecret', 'github-status');
    assert.is(secret.spec.target.name, provider.spec.secretRef.name);
    // Kustomizations only: a HelmRelease event names a chart version, which GitHub would refuse as a commit.
    assert.equal(alert.spec.eventSources, [{ kind: 'Kustomization', name: '*' }]);
  }
});

test.run();
