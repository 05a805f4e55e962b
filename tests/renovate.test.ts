// Renovate must update a generated app's answers together with what was rendered from them, or the drift
// test fails on its pull requests. This applies renovate.json5's own regex manager to every committed answers
// file, as Renovate would, and checks what it finds against the sources the HelmReleases use.
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import JSON5 from 'json5';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { toPosix, walkFiles } from '../src/lib/fsutil.ts';
import { validateRepository } from '../src/validate/pipeline.ts';
import { CACHE, ROOT, SCHEMAS } from './helpers.ts';

const test = suite('renovate');
const config = JSON5.parse(readFileSync(join(ROOT, 'renovate.json5'), 'utf8'));
const answerFiles = ['clusters', 'kubernetes', 'infrastructure']
  .flatMap((d) => walkFiles(join(ROOT, d)))
  .filter((f) => f.endsWith('/.answers.yaml'))
  .map((f) => toPosix(relative(ROOT, f)));

/** Renovate's managerFilePatterns are `/regex/` strings. */
const matchesFile = (patterns: string[], file: string) => patterns.some((p) => new RegExp(p.slice(1, -1)).test(file));

const extract = (file: string) => {
  const text = readFileSync(join(ROOT, file), 'utf8');
  return config.customManagers
    .filter((m: any) => matchesFile(m.managerFilePatterns, file))
    .flatMap((m: any) => m.matchStrings.flatMap((s: string) => [...text.matchAll(new RegExp(s, 'g'))].map((x) => x.groups!)));
};

test('every answers file is read by the regex manager, and each chart version has a source it names', async () => {
  assert.ok(answerFiles.length >= 16, answerFiles.join(', '));
  const { results } = await validateRepository({ repo: ROOT, schemaDirs: SCHEMAS, cacheDir: CACHE });
  const objects = results.flatMap((r) => r.resources.map((x) => x.obj));
  for (const file of answerFiles.filter((f) => !/^clusters\/[^/]+\/\.answers\.yaml$/.test(f))) {
    const answers = parse(readFileSync(join(ROOT, file), 'utf8'));
    const deps = extract(file);
    assert.is(deps.length, 1, `${file}: ${JSON.stringify(deps)}`);
    const [dep] = deps;
    assert.is(dep.currentValue, answers.chart.version, file);
    const release = objects.find((o) => o.kind === 'HelmRelease' && o.metadata.name === answers.name && o.metadata.namespace === answers.namespace)!;
    // The same package as Renovate's Flux manager sees in the HelmRelease's source, so one pull request moves both.
    if (release.spec.chartRef) {
      const source = objects.find((o) => o.kind === 'OCIRepository' && o.metadata.name === release.spec.chartRef.name)!;
      assert.equal([dep.datasource, dep.depName, source.spec.ref.tag], ['docker', source.spec.url.replace('oci://', ''), dep.currentValue], file);
    } else {
      const ref = release.spec.chart.spec;
      const source = objects.find((o) => o.kind === 'HelmRepository' && o.metadata.name === ref.sourceRef.name)!;
      assert.equal([dep.datasource, dep.depName, dep.registryUrl, ref.version], ['helm', ref.chart, source.spec.url, dep.currentValue], file);
    }
  }
});

test('the cluster answers move with talconfig.yaml', () => {
  for (const cluster of ['infra', 'apps']) {
    const fromAnswers = extract(`clusters/${cluster}/.answers.yaml`);
    const fromTalconfig = extract(`clusters/${cluster}/talos/talconfig.yaml`);
    const key = (d: any) => `${d.datasource} ${d.depName} ${d.currentValue}`;
    assert.equal(fromAnswers.map(key), fromTalconfig.map(key), cluster);
  }
});

test('images in answers have the shape the helm-values manager reads, and no second comment', () => {
  const values = config['helm-values'].managerFilePatterns;
  for (const file of answerFiles) {
    const answers = parse(readFileSync(join(ROOT, file), 'utf8'));
    if (!answers.image) continue;
    assert.ok(matchesFile(values, file), `${file} is not read by helm-values`);
    assert.equal(Object.keys(answers.image).sort(), ['repository', 'tag'], file);
    assert.not.ok(extract(file).some((d: any) => d.depName === answers.image.repository), `${file}: the image would be updated twice`);
  }
});

test.run();
