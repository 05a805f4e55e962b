// The sops binary where the operator has it; the in-process implementation (./sops.ts) everywhere else.
import { UserError } from './errors.ts';
import { query, run } from './exec.ts';
import { io } from './io.ts';
import { creationRule, encryptYaml } from './sops.ts';

const sopsOnPath = () => io().which('sops') !== undefined;

/**
 * `plain` encrypted for the repository-relative `path`, as `.sops.yaml` says: by `sops encrypt` when sops is on
 * PATH (the plain text goes through stdin, never to disk), else in-process. Says which one did it.
 */
export const sealForPath = async (repoRoot: string, path: string, plain: string): Promise<{ text: string; by: 'sops' | 'toolkit' }> => {
  if (!sopsOnPath()) return { text: await encryptYaml(plain, creationRule(repoRoot, path), { file: path }), by: 'toolkit' };
  const args = ['encrypt', '--filename-override', path, '--input-type', 'yaml', '--output-type', 'yaml'];
  return { text: await run('sops', args, { cwd: repoRoot, input: plain }), by: 'sops' };
};

/** What sops itself says of an encrypted file (`sops filestatus`); undefined when sops is not on PATH. */
export const sopsFileStatus = async (repoRoot: string, path: string): Promise<'encrypted' | 'not-encrypted' | 'unreadable' | undefined> => {
  if (!sopsOnPath()) return undefined;
  // A repository's file named `-x.sops.yaml` must reach sops as a file, not as an option.
  const r = await query('sops', ['filestatus', path.startsWith('-') ? `./${path}` : path], { cwd: repoRoot });
  if (!r.ok) return 'unreadable';
  try {
    return JSON.parse(r.stdout).encrypted === true ? 'encrypted' : 'not-encrypted';
  } catch {
    throw new UserError(`sops filestatus ${path}: unexpected answer ${r.stdout.trim().slice(0, 80)}`);
  }
};
