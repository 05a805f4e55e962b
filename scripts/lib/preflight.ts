import { existsSync } from 'node:fs';
import { relative } from 'node:path';
import { UserError } from '../../src/lib/errors.ts';
import { query } from '../../src/lib/exec.ts';
import { io } from '../../src/lib/io.ts';

export const missingClis = (clis: readonly string[]): string[] => clis.filter((c) => !io().which(c));

export const requireClis = (clis: readonly string[]): void => {
  const missing = missingClis(clis);
  if (missing.length) throw new UserError(`not on PATH: ${missing.join(', ')} (see docs/runbooks/bootstrap.md, prerequisites)`);
};

export const requireFile = (path: string, hint: string, root = process.cwd()): void => {
  if (!existsSync(path)) throw new UserError(`${relative(root, path) || path} is missing: ${hint}`);
};

/**
 * Refuses to go on when the kubeconfig knows this cluster but its current context is another one.
 * Every command passes --context explicitly as well; this catches the operator's shell pointing
 * elsewhere before anything destructive. Returns whether the kubeconfig has the cluster's context.
 */
export const checkKubeContext = async (cluster: string, env: NodeJS.ProcessEnv): Promise<boolean> => {
  const contexts = await query('kubectl', ['config', 'get-contexts', '--output', 'name'], { env });
  const known = contexts.ok && contexts.stdout.split('\n').map((l) => l.trim()).includes(cluster);
  if (!known) return false;
  const current = await query('kubectl', ['config', 'current-context'], { env });
  const name = current.ok ? current.stdout.trim() : '';
  if (name !== cluster) {
    throw new UserError(`kube-context is "${name || '(none)'}", not "${cluster}": run \`kubectl config use-context ${cluster}\` first`);
  }
  return true;
};
