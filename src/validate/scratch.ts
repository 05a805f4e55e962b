import { copyFileSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { copyTree, isDir, isFile, scratchParent } from '../lib/fsutil.ts';
import { launchInBackground } from '../lib/spawner.ts';
import { loadConfig } from './config.ts';
import { schemaDirsFrom, validateRepository, type RunOptions, type Validation } from './pipeline.ts';
import { FLUX_TREE } from '../lib/layout.ts';

export type ScratchOptions = Pick<RunOptions, 'cluster' | 'prewarm' | 'repoFiles' | 'schemaDirs' | 'cacheDir' | 'noCache' | 'crdDirs' | 'kubernetesVersion'>;

/**
 * Validates a scratch copy of what the validator reads, after `change` has written into it: the real tree
 * is never touched. Renders of unchanged folders come from the cache. `cluster` limits the run to one.
 */
export const validateScratch = async (root: string, change: (scratch: string) => void, opts: ScratchOptions = {}): Promise<Validation> => {
  // The config's schema folders are relative to the real checkout, not to the scratch copy.
  const schemaDirs = schemaDirsFrom(opts.schemaDirs, (await loadConfig(root)).schemaDirs, root);
  const scratch = mkdtempSync(join(scratchParent(256 * 1024 ** 2), 'k8s-ops-scratch-'));
  try {
    // .sops.yaml too: SOPS files are checked against its creation rules.
    for (const entry of [...FLUX_TREE, '.sops.yaml']) {
      const from = join(root, entry);
      if (isDir(from)) copyTree(from, join(scratch, entry));
      else if (isFile(from)) copyFileSync(from, join(scratch, entry));
    }
    change(scratch);
    return await validateRepository({ ...opts, repo: scratch, schemaDirs });
  } finally {
    // Removing hundreds of files takes longer than the check; a detached rm does it after we exit.
    await launchInBackground('rm', ['-rf', scratch]);
  }
};
