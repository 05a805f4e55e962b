import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { entryPoint, parseFlags } from '../lib/cli.ts';
import { EXIT } from '../lib/errors.ts';
import { io } from '../lib/io.ts';
import { commonFlags, progressPrinter } from './args.ts';
import { prepare, simulateAll } from './pipeline.ts';
import { findingLine } from './report.ts';

const USAGE = `usage: npm run render -- --out DIR [--cluster NAME | --path DIR] [--repo DIR]

Writes each Flux Kustomization's final manifests (after build, decryption and substitution) as one
multi-document YAML file, DIR/<namespace>/<name>.yaml (DIR/<cluster>/... when several clusters render).`;

export const main = async (argv: string[]): Promise<number> => {
  const args = parseFlags(argv, USAGE, { ...commonFlags, out: { type: 'string', required: true, description: 'the folder to write into' } });
  if (!args) return EXIT.ok;
  const prepared = await prepare({ cluster: args.cluster, path: args.path, repo: args.repo, cacheDir: args['cache-dir'], noCache: args['no-cache'] });
  const progress = progressPrinter(args.quiet);
  const simulated = await simulateAll(prepared, progress.update);
  progress.done();
  let failed = false;
  for (const { cluster, sim } of simulated) {
    const base = prepared.clusters.length > 1 ? join(resolve(args.out!), cluster.name) : resolve(args.out!);
    for (const built of sim.kustomizations) {
      const dir = join(base, built.ks.namespace);
      mkdirSync(dir, { recursive: true });
      const text = built.resources.map((r) => stringify(r.obj, { lineWidth: 0 })).join('---\n');
      writeFileSync(join(dir, `${built.ks.name}.yaml`), text);
    }
    for (const f of sim.findings.filter((x) => x.severity === 'error')) {
      failed = true;
      io().err(`${findingLine(f)}\n`);
    }
    io().err(`${cluster.name}: ${sim.kustomizations.length} Kustomizations rendered to ${base}\n`);
  }
  return failed ? EXIT.refused : EXIT.ok;
};

entryPoint(import.meta.url, main);
