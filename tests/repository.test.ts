import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import { parse } from 'yaml';
import * as assert from 'uvu/assert';
import { connectCredentialsPath } from '../src/lib/connect-credentials.ts';
import { creationRule } from '../src/lib/sops.ts';
import { validateRepository } from '../src/validate/pipeline.ts';
import { findingLine } from '../src/validate/report.ts';
import { CACHE, EXTERNAL_SOURCES, ROOT, SCHEMAS } from './helpers.ts';

const test = suite('repository');

test('the repository validates clean for both clusters, its own files included', async () => {
  const { results } = await validateRepository({ repo: ROOT, schemaDirs: SCHEMAS, cacheDir: CACHE, repoFiles: true });
  assert.equal(results.map((r) => r.cluster.name), ['apps', 'infra']);
  // ArsipQ's manifests live in its own repository: the one Kustomization that reads them is named, as a
  // warning, and not followed.
  const external: Record<string, string[][]> = { apps: EXTERNAL_SOURCES.map((f) => [f, 'warning']), infra: [] };
  for (const r of results) {
    const notFollowed = r.findings.filter((f) => f.rule === 'source-not-followed');
    assert.equal(notFollowed.map((f) => [f.file, f.severity]), external[r.cluster.name], `${r.cluster.name}: sources not followed`);
    assert.equal(r.findings.filter((f) => !notFollowed.includes(f)).map(findingLine), [], `${r.cluster.name} has findings`);
    const names = r.kustomizations.map((k) => k.ks.name);
    for (const ks of ['flux-system', 'cluster-infrastructure', 'cluster-apps', 'cluster-local']) {
      assert.ok(names.includes(ks), `${r.cluster.name} lacks ${ks}`);
    }
  }
});

test('1Password Connect takes its credentials from the cluster\'s SOPS file, which Flux decrypts first', async () => {
  const { results } = await validateRepository({ repo: ROOT, schemaDirs: SCHEMAS, cacheDir: CACHE });
  for (const r of results) {
    const file = connectCredentialsPath(r.cluster.name);
    const secret = r.resources.find((x) => x.obj.kind === 'Secret' && x.obj.metadata.name === 'onepassword-connect-secret');
    assert.is(secret?.origin?.file, file, `${r.cluster.name}: the Secret comes from ${secret?.origin?.file}`);
    assert.ok(secret?.sops, 'and was encrypted');
    assert.equal(Object.keys(secret!.obj.stringData).sort(), ['1password-credentials.json', 'token']);
    const builder = r.kustomizations.find((k) => `${k.ks.namespace}/${k.ks.name}` === secret!.appliedBy)!;
    assert.is(builder.ks.spec.decryption?.provider, 'sops');
    const release = r.resources.find((x) => x.obj.kind === 'HelmRelease' && x.obj.metadata.name === 'onepassword-connect')!;
    assert.is(release.obj.spec.values.connect.credentialsName, 'onepassword-connect-secret');
    const connect = r.kustomizations.find((k) => `${k.ks.namespace}/${k.ks.name}` === release.appliedBy)!;
    assert.ok(connect.ks.spec.dependsOn.some((d: any) => `flux-system/${d.name}` === secret!.appliedBy), 'Connect waits for its credentials');
    // On disk: every value is SOPS ciphertext for the recipients .sops.yaml gives that path.
    const onDisk = parse(readFileSync(join(ROOT, file), 'utf8'));
    for (const v of Object.values(onDisk.stringData)) assert.match(String(v), /^ENC\[AES256_GCM,data:[^,]+,iv:[^,]+,tag:[^,]+,type:str\]$/);
    assert.equal(onDisk.sops.age.map((a: any) => a.recipient), creationRule(ROOT, file).recipients);
  }
});

test('each cluster tracks its own branch and identity', async () => {
  const { results } = await validateRepository({ repo: ROOT, schemaDirs: SCHEMAS, cacheDir: CACHE });
  const expected: Record<string, { branch: string; id: string; domain: string }> = {
    infra: { branch: 'main', id: '1', domain: 'monosense.dev' },
    apps: { branch: 'release', id: '2', domain: 'monosense.io' },
  };
  for (const r of results) {
    const find = (kind: string, name: string) => r.resources.find((x) => x.obj.kind === kind && x.obj.metadata.name === name)?.obj;
    const vars = find('ConfigMap', 'cluster-vars');
    assert.is(vars?.data.CLUSTER_NAME, r.cluster.name);
    assert.is(vars?.data.CLUSTER_ID, expected[r.cluster.name].id);
    assert.is(vars?.data.CLUSTER_DOMAIN, expected[r.cluster.name].domain);
    assert.is(find('GitRepository', 'flux-system')?.spec.ref.branch, expected[r.cluster.name].branch);
  }
});

test('every HelmRelease takes its chart from a source in infrastructure/base/repositories', async () => {
  const { results } = await validateRepository({ repo: ROOT, schemaDirs: SCHEMAS, cacheDir: CACHE });
  for (const r of results) {
    const releases = r.resources.filter((x) => x.obj.kind === 'HelmRelease');
    assert.ok(releases.length > 0);
    for (const hr of releases) {
      const ref = hr.obj.spec.chartRef ?? hr.obj.spec.chart?.spec?.sourceRef;
      const source = r.resources.find(
        (x) => x.obj.kind === ref.kind && x.obj.metadata.name === ref.name && x.obj.metadata.namespace === (ref.namespace ?? hr.obj.metadata.namespace),
      );
      assert.ok(source?.origin?.file.startsWith('infrastructure/base/repositories/'), `${r.cluster.name}: HelmRelease ${hr.obj.metadata.name} takes its chart from ${source?.origin?.file}`);
    }
  }
});

test('the deploy-key SOPS templates hold placeholders only, with how to encrypt them', () => {
  for (const cluster of ['infra', 'apps']) {
    const file = join(ROOT, 'bootstrap', cluster, 'github-deploy-key.sops.yaml');
    const text = readFileSync(file, 'utf8');
    assert.match(text, new RegExp(`sops --encrypt --in-place bootstrap/${cluster}/github-deploy-key\\.sops\\.yaml`));
    const secret = parse(text);
    assert.is(secret.kind, 'Secret');
    for (const [key, value] of Object.entries<string>(secret.stringData)) assert.match(value, /^<[^>]+>$/, `${cluster}: ${key} must be a placeholder`);
  }
});

test.run();
