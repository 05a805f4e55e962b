import { spawn } from 'node:child_process';
import { accessSync, constants, copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../../src/lib/errors.ts';
import { copyTree, isDir, isFile } from '../../src/lib/fsutil.ts';
import { loadConfig } from '../../src/validate/config.ts';
import { schemaDirsFrom, validateRepository } from '../../src/validate/pipeline.ts';
import { FILE_RULES } from '../../src/validate/repo-files.ts';
import { findingLine, uniqueFindings } from '../../src/validate/report.ts';
import { FLUX_TREE } from '../../src/validate/snapshot.ts';
import type { ClusterResult } from '../../src/validate/types.ts';
import { writePlan, type Plan } from './plan.ts';

/** Memory-backed where the machine has it: on a disk, creating hundreds of small files can take 300 ms. */
const scratchParent = (): string => {
  try {
    accessSync('/dev/shm', constants.W_OK);
    return isDir('/dev/shm') ? '/dev/shm' : tmpdir();
  } catch {
    return tmpdir();
  }
};

/**
 * Validates a scratch copy of what the validator reads, after `change` has written into it: the real tree
 * is never touched. Renders of unchanged folders come from the cache. `cluster` limits the run to one.
 */
export const validateScratch = async (
  root: string,
  change: (scratch: string) => void,
  { cluster, prewarm = [], repoFiles = false }: { cluster?: string; prewarm?: string[]; repoFiles?: boolean } = {},
): Promise<ClusterResult[]> => {
  // The config's schema folders are relative to the real checkout, not to the scratch copy.
  const schemaDirs = schemaDirsFrom([], (await loadConfig(root)).schemaDirs, root);
  const scratch = mkdtempSync(join(scratchParent(), 'k8s-ops-scratch-'));
  try {
    // .sops.yaml too: SOPS files are checked against its creation rules.
    for (const entry of [...FLUX_TREE, '.sops.yaml']) {
      const from = join(root, entry);
      if (isDir(from)) copyTree(from, join(scratch, entry));
      else if (isFile(from)) copyFileSync(from, join(scratch, entry));
    }
    change(scratch);
    return (await validateRepository({ repo: scratch, cluster, schemaDirs, prewarm, repoFiles })).results;
  } finally {
    // Removing hundreds of files takes longer than the check; a detached rm does it after we exit.
    spawn('rm', ['-rf', scratch], { detached: true, stdio: 'ignore' }).unref();
  }
};

/** Refuses a plan that would leave any affected cluster with an error; one validator run for all of them. */
export const verifyPlan = async (repoRoot: string, plan: Plan): Promise<void> => {
  const one = plan.clusters.length === 1 ? plan.clusters[0] : undefined;
  const fluxFiles = plan.changes.filter((c) => /(^|\/)ks\.ya?ml$/.test(c.path)).map((c) => c.path);
  // A talconfig, a helmfile or a SOPS file is checked too when the plan writes one (the cluster generator).
  const repoFiles = plan.changes.some((c) => FILE_RULES.some((r) => r.matches(c.path)) || /\.sops\.ya?ml$/.test(c.path));
  const results = await validateScratch(repoRoot, (scratch) => writePlan(scratch, plan), { cluster: one, prewarm: fluxFiles, repoFiles });
  for (const result of results.filter((r) => plan.clusters.includes(r.cluster.name))) {
    const errors = uniqueFindings([result]).filter((f) => f.severity === 'error');
    if (errors.length) {
      throw new UserError(
        `${plan.target} would leave cluster ${result.cluster.name} invalid; nothing was written:\n${errors.map((f) => `  ${findingLine(f)}`).join('\n')}`,
        1,
      );
    }
  }
};
