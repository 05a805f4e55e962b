// Decommissions a cluster by removing its folders, once nothing else in the repository refers to it.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { isDir } from '../src/lib/fsutil.ts';
import { listClusters, repoRoot } from './lib/cluster.ts';
import { confirmTyped } from './lib/confirm.ts';
import { UsageError, UserError } from '../src/lib/errors.ts';
import { entryPoint, parseFlags } from '../src/lib/cli.ts';
import { io } from '../src/lib/io.ts';
import { findReferences } from './lib/references.ts';

const USAGE = `Usage: node --import tsx scripts/remove-cluster.ts --cluster NAME [--dry-run] [--yes]

Deletes clusters/NAME/ and bootstrap/NAME/ after checking that no other file refers to them (paths,
--cluster/CLUSTER= arguments, kube-contexts, workflow matrices) and after a typed confirmation.`;

export const main = async (argv: string[]): Promise<void> => {
  const flags = parseFlags(argv, USAGE, {
    cluster: { type: 'string', required: true, description: 'the cluster to remove' },
    'dry-run': { type: 'boolean', description: 'print what would be deleted and delete nothing' },
    yes: { type: 'boolean', description: 'skip the typed confirmation' },
  });
  if (!flags) return;
  const cluster = flags.cluster!;
  if (!listClusters().includes(cluster)) throw new UsageError(`--cluster ${cluster}: no such cluster (known: ${listClusters().join(', ')})`);
  if (listClusters().length === 1) throw new UserError(`${cluster} is the repository's only cluster: nothing would be left to validate`);
  const refs = findReferences(repoRoot(), cluster);
  if (refs.length) {
    throw new UserError(`${cluster} is still referred to; change these first, nothing was deleted:\n${refs.map((r) => `  ${r.file}:${r.line}: ${r.text}`).join('\n')}`);
  }
  const folders = [join('clusters', cluster), join('bootstrap', cluster)].filter((f) => isDir(join(repoRoot(), f)));
  io().out(`${flags['dry-run'] ? 'would delete' : 'deleting'}: ${folders.join(', ')}\n`);
  if (flags['dry-run']) return;
  if (!flags.yes) await confirmTyped(`This deletes ${folders.join(' and ')}: cluster ${cluster} leaves the repository (its nodes are not touched; reset them with task talos:reset-cluster first).`, cluster);
  for (const f of folders) rmSync(join(repoRoot(), f), { recursive: true, force: true });
  io().out(`cluster ${cluster} removed; commit the deletion, and delete its 1Password items and R2 buckets if no longer needed\n`);
};

entryPoint(import.meta.url, main, 'remove-cluster: ');
