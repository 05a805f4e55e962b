// The sops binary where the operator has it; the in-process implementation (./sops.ts) everywhere else.
import { findOnPath } from '../../scripts/lib/preflight.ts';
import { query, run, type ExecOptions } from '../../scripts/lib/exec.ts';
import { UserError } from './errors.ts';
import { creationRule, encryptYaml } from './sops.ts';

/** How a command is run: scripts/lib/exec.ts, or a recording stand-in in tests. */
export interface Runner {
  run: (cmd: string, args: string[], opts?: ExecOptions) => Promise<string>;
  query: (cmd: string, args: string[], opts?: ExecOptions) => Promise<{ ok: boolean; stdout: string }>;
  onPath: (cmd: string) => boolean;
}

export const defaultRunner: Runner = { run, query, onPath: (cmd) => findOnPath(cmd) !== undefined };

/**
 * `plain` encrypted for the repository-relative `path`, as `.sops.yaml` says: by `sops encrypt` when sops is on
 * PATH (the plain text goes through stdin, never to disk), else in-process. Says which one did it.
 */
export const sealForPath = async (repoRoot: string, path: string, plain: string, runner: Runner = defaultRunner): Promise<{ text: string; by: 'sops' | 'toolkit' }> => {
  if (!runner.onPath('sops')) return { text: await encryptYaml(plain, creationRule(repoRoot, path), { file: path }), by: 'toolkit' };
  const args = ['encrypt', '--filename-override', path, '--input-type', 'yaml', '--output-type', 'yaml'];
  return { text: await runner.run('sops', args, { cwd: repoRoot, input: plain }), by: 'sops' };
};

/** What sops itself says of an encrypted file (`sops filestatus`); undefined when sops is not on PATH. */
export const sopsFileStatus = async (repoRoot: string, path: string, runner: Runner = defaultRunner): Promise<'encrypted' | 'not-encrypted' | 'unreadable' | undefined> => {
  if (!runner.onPath('sops')) return undefined;
  const r = await runner.query('sops', ['filestatus', path], { cwd: repoRoot });
  if (!r.ok) return 'unreadable';
  try {
    return JSON.parse(r.stdout).encrypted === true ? 'encrypted' : 'not-encrypted';
  } catch {
    throw new UserError(`sops filestatus ${path}: unexpected answer ${r.stdout.trim().slice(0, 80)}`);
  }
};
