import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../../src/lib/errors.ts';
import { isDir, isFile } from '../../src/lib/fsutil.ts';
import { CONFIG_FILE, loadConfig } from '../../src/validate/config.ts';
import { schemaDirsFrom, validateRepository } from '../../src/validate/pipeline.ts';
import { findingLine, uniqueFindings } from '../../src/validate/report.ts';
import { writePlan, type Plan } from './plan.ts';

/** What Flux and the validator read: everything else (node_modules, docs, .git) stays behind. */
export const TREE = ['clusters', 'kubernetes', 'infrastructure', 'bootstrap', CONFIG_FILE];

/**
 * Validates the tree as it would be after the plan, in a scratch copy: the real tree is not touched
 * unless every affected cluster is clean. Renders of unchanged folders come from the cache.
 */
export const verifyPlan = async (repoRoot: string, plan: Plan): Promise<void> => {
  // The config's schema folders are relative to the real checkout, not to the scratch copy.
  const schemaDirs = schemaDirsFrom([], (await loadConfig(repoRoot)).schemaDirs, repoRoot);
  const scratch = mkdtempSync(join(tmpdir(), 'k8s-ops-plan-'));
  try {
    for (const entry of TREE) {
      const from = join(repoRoot, entry);
      if (isDir(from) || isFile(from)) cpSync(from, join(scratch, entry), { recursive: true });
    }
    writePlan(scratch, plan);
    // One run for every affected cluster: renders and compiled schemas are shared between them.
    const one = plan.clusters.length === 1 ? plan.clusters[0] : undefined;
    const { results } = await validateRepository({ repo: scratch, cluster: one, schemaDirs });
    for (const result of results.filter((r) => plan.clusters.includes(r.cluster.name))) {
      const errors = uniqueFindings([result]).filter((f) => f.severity === 'error');
      if (errors.length) {
        throw new UserError(
          `${plan.target} would leave cluster ${result.cluster.name} invalid; nothing was written:\n${errors.map((f) => `  ${findingLine(f)}`).join('\n')}`,
          1,
        );
      }
    }
  } finally {
    // Removing hundreds of files takes longer than the check; a detached rm does it after we exit.
    spawn('rm', ['-rf', scratch], { detached: true, stdio: 'ignore' }).unref();
  }
};
