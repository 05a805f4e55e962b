import { run } from '../../src/lib/exec.ts';
import { io } from '../../src/lib/io.ts';
import type { ClusterPaths } from './cluster.ts';

/**
 * `talhelper genconfig` for one cluster. talhelper decrypts talsecret.sops.yaml: unless the environment
 * already gives SOPS a key, it is read from 1Password and stays in this process's memory only.
 */
export const genconfig = async (paths: ClusterPaths, env: NodeJS.ProcessEnv): Promise<void> => {
  let sopsKey: NodeJS.ProcessEnv = {};
  const { SOPS_AGE_KEY, SOPS_AGE_KEY_FILE, SOPS_AGE_KEY_CMD } = io().env;
  if (!SOPS_AGE_KEY && !SOPS_AGE_KEY_FILE && !SOPS_AGE_KEY_CMD) {
    sopsKey = { SOPS_AGE_KEY: (await run('op', ['read', 'op://k8s-ops/sops-age/keys.txt'])).trim() };
  }
  await run('talhelper', ['genconfig', '--config-file', paths.talconfig, '--secret-file', paths.talsecret, '--out-dir', paths.configDir], {
    cwd: paths.talosDir,
    env: { ...env, ...sopsKey },
    stream: true,
  });
};
