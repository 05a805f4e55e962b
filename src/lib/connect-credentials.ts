import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { creationRule, encryptYaml, MAX_ALIAS_COUNT } from './sops.ts';
import { sealForPath } from './sops-tool.ts';
import { render } from './templates.ts';

/** Where a cluster's SOPS-encrypted 1Password Connect credentials live, relative to the repository. */
export const connectCredentialsPath = (cluster: string): string => `clusters/${cluster}/secrets/onepassword-connect/onepassword-connect-secret.sops.yaml`;

export const OP_VAULT = 'k8s-ops';
export const connectItem = (cluster: string): string => `op://${OP_VAULT}/onepassword-connect-${cluster}`;

/** The annotation that says where the values came from; `placeholder` until the operator seals real ones. */
export const SEALED_FROM = 'monosense.dev/sealed-from';
export const PLACEHOLDER = 'placeholder';

type Values = { credentials: string; token: string; sealedFrom: string };
const plainSecret = (cluster: string, values: Values) => render('cluster', 'secrets/onepassword-connect/onepassword-connect-secret.sops.yaml', { name: cluster, ...values });

/**
 * The Secret onepassword-connect-secret with `values`, encrypted as `.sops.yaml` says for its path: by the sops
 * binary where it is on PATH, else by the toolkit. The plain text exists only in memory (and sops' stdin).
 */
export const sealConnectCredentials = async (repoRoot: string, cluster: string, values: Values): Promise<{ text: string; by: 'sops' | 'toolkit' }> =>
  sealForPath(repoRoot, connectCredentialsPath(cluster), plainSecret(cluster, values));

/** What a new cluster starts with, so that it validates before the operator has created its Connect server. */
export const placeholderConnectCredentials = (repoRoot: string, cluster: string): Promise<string> =>
  encryptYaml(plainSecret(cluster, { credentials: PLACEHOLDER, token: PLACEHOLDER, sealedFrom: PLACEHOLDER }), creationRule(repoRoot, connectCredentialsPath(cluster)), {
    file: connectCredentialsPath(cluster),
  });

/** Whether the committed credentials are still the placeholder (the annotation is not encrypted). */
export const hasPlaceholderConnectCredentials = (repoRoot: string, cluster: string): boolean => {
  const file = join(repoRoot, connectCredentialsPath(cluster));
  if (!existsSync(file)) return true;
  return parse(readFileSync(file, 'utf8'), { maxAliasCount: MAX_ALIAS_COUNT })?.metadata?.annotations?.[SEALED_FROM] === PLACEHOLDER;
};
