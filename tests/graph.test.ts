// npm run graph: each cluster's Flux Kustomization tree, and docs/clusters/<cluster>.md kept in step with it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { fluxGraph, toMermaid } from '../src/graph/flux-graph.ts';
import { graphPages } from '../src/graph/graph-cli.ts';
import type { BuiltKustomization, Resource } from '../src/validate/types.ts';
import { CACHE, ROOT } from './helpers.ts';

const test = suite('graph');

const ks = (name: string, spec: Record<string, unknown>, appliedBy?: string): Resource => ({
  obj: { apiVersion: 'kustomize.toolkit.fluxcd.io/v1', kind: 'Kustomization', metadata: { name, namespace: 'flux-system' }, spec },
  appliedBy: appliedBy ?? 'flux-system/flux-system',
  sops: false,
});
const built = (name: string, spec: Record<string, unknown>): BuiltKustomization => ({ ks: { name, namespace: 'flux-system', spec }, resources: [], inputs: [] });

test('applies, dependsOn, the folder built and a source that is not the cluster\'s own', () => {
  const git = { kind: 'GitRepository', name: 'flux-system' };
  const g = fluxGraph(
    'c',
    [built('flux-system', { path: './clusters/c/flux', sourceRef: git }), built('apps', { path: './kubernetes/apps', sourceRef: git })],
    [
      ks('apps', { path: './kubernetes/apps', sourceRef: git }),
      ks('web', { path: './kubernetes/apps/web/app', sourceRef: git, dependsOn: [{ name: 'db' }, { name: 'gone' }] }, 'flux-system/apps'),
      ks('db', { path: './kubernetes/apps/db/app', sourceRef: git }, 'flux-system/apps'),
      ks('upstream', { path: './deploy', sourceRef: { kind: 'GitRepository', name: 'arsipq', namespace: 'flux-system' } }, 'flux-system/apps'),
    ],
  );
  assert.equal(g.applies, [['flux_system', 'apps'], ['apps', 'db'], ['apps', 'upstream'], ['apps', 'web']]);
  assert.equal(g.dependsOn, [['web', 'db']], 'a dependsOn on a Kustomization that does not exist is the validator\'s finding, not an edge');
  const mermaid = toMermaid(g);
  assert.match(mermaid, /^flowchart LR\n/);
  assert.match(mermaid, /upstream\["upstream<br\/><small>\.\/deploy<br\/>from GitRepository flux-system\/arsipq, not followed offline<\/small>"\]/);
  assert.match(mermaid, /web -\. dependsOn \.-> db/);
});

test('docs/clusters/<cluster>.md is the repository as it is (npm run graph -- --write when it is not)', async () => {
  const pages = await graphPages(ROOT, undefined, CACHE);
  assert.equal(pages.map((p) => p.cluster), ['apps', 'infra']);
  for (const { cluster, page } of pages) {
    const committed = readFileSync(join(ROOT, 'docs', 'clusters', `${cluster}.md`), 'utf8');
    assert.ok(committed === page, `docs/clusters/${cluster}.md is stale: run npm run graph -- --write`);
  }
});

test.run();
