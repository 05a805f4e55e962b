import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { writeSyntheticRepo } from '../bench/synthetic.ts';
import { UserError } from '../src/lib/errors.ts';
import { loadConfig } from '../src/validate/config.ts';
import { validateRepository } from '../src/validate/pipeline.ts';
import { CACHE, SCHEMAS, tempDir } from './helpers.ts';

const test = suite('validator config');

const repoWithFluxInstance = () => {
  const repo = tempDir();
  writeSyntheticRepo(repo, 1, 1);
  writeFileSync(join(repo, 'clusters/c1/flux/kustomization.yaml'), 'resources:\n  - vars.yaml\n  - source.yaml\n  - apps.yaml\n  - instance.yaml\n');
  writeFileSync(
    join(repo, 'clusters/c1/flux/instance.yaml'),
    'apiVersion: fluxcd.controlplane.io/v1\nkind: FluxInstance\nmetadata:\n  name: flux\n  namespace: flux-system\nspec:\n  distribution:\n    version: 2.7.x\n',
  );
  return repo;
};

const errors = async (repo: string) => {
  const { results } = await validateRepository({ repo, schemaDirs: SCHEMAS, cacheDir: CACHE });
  return results.flatMap((r) => r.findings).filter((f) => f.severity === 'error');
};

test('a kind without a schema is an error', async () => {
  const found = await errors(repoWithFluxInstance());
  assert.equal(found.map((f) => [f.rule, f.file, f.line]), [['schema-missing', 'clusters/c1/flux/instance.yaml', 1]]);
});

test('unless the config lists it with a reason', async () => {
  const repo = repoWithFluxInstance();
  writeFileSync(join(repo, 'validator.config.yaml'), 'schemaSkips:\n  - kind: FluxInstance\n    reason: the Flux Operator CRDs are not in the bundle\n');
  assert.equal(await errors(repo), []);
});

test('a skip without a reason is refused, naming the field', async () => {
  const repo = tempDir();
  writeFileSync(join(repo, 'validator.config.yaml'), 'schemaSkips:\n  - kind: FluxInstance\n');
  try {
    await loadConfig(repo);
    assert.unreachable('should refuse');
  } catch (e: any) {
    assert.instance(e, UserError);
    assert.is(e.exitCode, 2, 'a broken config is a usage error');
    assert.match(e.message, /^validator\.config\.yaml: schemaSkips\.0: must have required property 'reason'$/);
  }
});

test('unknown keys are refused and maps merge over the defaults', async () => {
  const repo = tempDir();
  writeFileSync(join(repo, 'validator.config.yaml'), 'storageClass: [x]\n');
  await loadConfig(repo).then(
    () => assert.unreachable('should refuse'),
    (e) => assert.match(e.message, /storageClass/),
  );
  writeFileSync(join(repo, 'validator.config.yaml'), 'apiVersions:\n  Widget.example.com: v2\n');
  const config = await loadConfig(repo);
  assert.is(config.apiVersions['Widget.example.com'], 'v2');
  assert.is(config.apiVersions['HelmRelease.helm.toolkit.fluxcd.io'], 'v2');
});

test.run();
