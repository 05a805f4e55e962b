import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { entryPoint, parseFlags } from '../lib/cli.ts';
import { EXIT } from '../lib/errors.ts';
import { io } from '../lib/io.ts';
import { commonFlags } from '../validate/args.ts';
import { prepare, simulateAll } from '../validate/pipeline.ts';
import { fluxGraph, graphPage } from './flux-graph.ts';

const USAGE = `usage: npm run graph -- [--cluster NAME] [--write] [--repo DIR]

Prints each cluster's Flux Kustomization tree as a Mermaid flowchart: which Kustomization applies which,
their dependsOn, the folder each builds and any source other than the cluster's own repository.
--write puts it in docs/clusters/<cluster>.md instead.`;

/** Every cluster's page, as the repository is now. */
export const graphPages = async (repo: string | undefined, cluster?: string, cacheDir?: string): Promise<{ cluster: string; page: string }[]> => {
  const prepared = await prepare({ repo, cluster, cacheDir });
  const simulated = await simulateAll(prepared);
  return simulated.map(({ cluster: c, sim }) => ({ cluster: c.name, page: graphPage(fluxGraph(c.name, sim.kustomizations, sim.resources)) }));
};

export const main = async (argv: string[]): Promise<number> => {
  const args = parseFlags(argv, USAGE, {
    cluster: commonFlags.cluster,
    repo: commonFlags.repo,
    'cache-dir': commonFlags['cache-dir'],
    write: { type: 'boolean', description: 'write docs/clusters/<cluster>.md instead of printing' },
  });
  if (!args) return EXIT.ok;
  const pages = await graphPages(args.repo, args.cluster, args['cache-dir']);
  for (const { cluster, page } of pages) {
    if (!args.write) {
      io().out(`${page}\n`);
      continue;
    }
    const dir = join(args.repo ?? process.cwd(), 'docs', 'clusters');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `${cluster}.md`), page);
    io().out(`wrote docs/clusters/${cluster}.md\n`);
  }
  return EXIT.ok;
};

entryPoint(import.meta.url, main);
