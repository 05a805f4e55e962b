import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { writeSyntheticRepo } from '../bench/synthetic.ts';
import { createPool } from '../src/lib/pool.ts';
import { findKustomize } from '../src/validate/kustomize.ts';
import { simulateCluster } from '../src/validate/simulate.ts';
import { tempDir } from './helpers.ts';

const test = suite('simulate');
const ctx = (repoRoot: string) => ({ repoRoot, cacheDir: tempDir(), kustomize: findKustomize(), schedule: createPool(), renders: new Map() });
const cluster = { name: 'c1', entry: 'clusters/c1/flux' };

const selfManaged = (postBuild: boolean) => {
  const repo = tempDir();
  writeSyntheticRepo(repo, 1, 1);
  writeFileSync(join(repo, 'clusters/c1/flux/kustomization.yaml'), 'resources:\n  - vars.yaml\n  - source.yaml\n  - apps.yaml\n  - self.yaml\n  - greeting.yaml\n');
  writeFileSync(
    join(repo, 'clusters/c1/flux/self.yaml'),
    `apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: flux-system
  namespace: flux-system
spec:
  interval: 1h
  path: ./clusters/c1/flux
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
${postBuild ? '  postBuild:\n    substituteFrom:\n      - kind: ConfigMap\n        name: cluster-vars\n        optional: true\n' : ''}`,
  );
  writeFileSync(join(repo, 'clusters/c1/flux/greeting.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: greeting\n  namespace: flux-system\ndata:\n  hello: ${CLUSTER_NAME}\n');
  return repo;
};

test('the root takes the spec the entry folder declares for it, and its own cluster-vars', async () => {
  const sim = await simulateCluster(ctx(selfManaged(true)), cluster);
  assert.equal(sim.findings, []);
  const greeting = sim.resources.find((r) => r.obj.metadata.name === 'greeting');
  assert.is(greeting?.obj.data.hello, 'c1');
  assert.is(sim.kustomizations.filter((k) => k.ks.name === 'flux-system').length, 1, 'the root is not followed twice');
});

test('without postBuild the root substitutes nothing, as Flux', async () => {
  const sim = await simulateCluster(ctx(selfManaged(false)), cluster);
  const greeting = sim.resources.find((r) => r.obj.metadata.name === 'greeting');
  assert.is(greeting?.obj.data.hello, '${CLUSTER_NAME}');
});

test('a Kustomization waits for the substituteFrom source another one renders', async () => {
  const repo = tempDir();
  writeSyntheticRepo(repo, 1, 1);
  // Move cluster-vars out of the root into a Kustomization of its own that the app Kustomizations need.
  writeFileSync(join(repo, 'clusters/c1/flux/kustomization.yaml'), 'resources:\n  - source.yaml\n  - apps.yaml\n  - vars-ks.yaml\n');
  writeFileSync(
    join(repo, 'clusters/c1/flux/vars-ks.yaml'),
    'apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: vars\n  namespace: flux-system\nspec:\n  interval: 1h\n  path: ./vars\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n',
  );
  const { mkdirSync } = await import('node:fs');
  mkdirSync(join(repo, 'vars'));
  writeFileSync(join(repo, 'vars/vars.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cluster-vars\n  namespace: flux-system\ndata:\n  CLUSTER_NAME: c1\n  CLUSTER_DOMAIN: c1.example.dev\n');
  const sim = await simulateCluster(ctx(repo), cluster);
  assert.equal(sim.findings, []);
  const hr = sim.resources.find((r) => r.obj.kind === 'HelmRelease');
  assert.is(hr?.obj.spec.values.ingress.hosts[0].host, 'app0.c1.example.dev');
});

test.run();
