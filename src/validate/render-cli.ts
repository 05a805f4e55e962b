import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { runMain, UserError } from '../lib/errors.ts';
import { commonOptions, parseCli, progressPrinter } from './args.ts';
import { prepare, simulateAll } from './pipeline.ts';
import { findingLine } from './report.ts';

const USAGE = `usage: npm run render -- --out DIR [--cluster NAME | --path DIR] [--repo DIR]

Writes each Flux Kustomization's final manifests (after build, decryption and substitution) as one
multi-document YAML file, DIR/<namespace>/<name>.yaml (DIR/<cluster>/... when several clusters render).`;

runMain(async () => {
  const args = parseCli(process.argv.slice(2), { ...commonOptions, out: { type: 'string' } });
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (!args.out) throw new UserError('--out DIR is required');
  const prepared = await prepare({ cluster: args.cluster, path: args.path, repo: args.repo, cacheDir: args['cache-dir'], noCache: args['no-cache'] });
  const progress = progressPrinter(args.quiet);
  const simulated = await simulateAll(prepared, progress.update);
  progress.done();
  let failed = false;
  for (const { cluster, sim } of simulated) {
    const base = prepared.clusters.length > 1 ? join(resolve(args.out), cluster.name) : resolve(args.out);
    for (const built of sim.kustomizations) {
      const dir = join(base, built.ks.namespace);
      mkdirSync(dir, { recursive: true });
      const text = built.resources.map((r) => stringify(r.obj, { lineWidth: 0 })).join('---\n');
      writeFileSync(join(dir, `${built.ks.name}.yaml`), text);
    }
    for (const f of sim.findings.filter((x) => x.severity === 'error')) {
      failed = true;
      process.stderr.write(`${findingLine(f)}\n`);
    }
    process.stderr.write(`${cluster.name}: ${sim.kustomizations.length} Kustomizations rendered to ${base}\n`);
  }
  return failed ? 1 : 0;
});
