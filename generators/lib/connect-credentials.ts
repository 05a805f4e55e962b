import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { render } from './render.ts';
import { creationRule, encryptYaml } from '../../src/lib/sops.ts';

/** Where a cluster's SOPS-encrypted 1Password Connect credentials live, relative to the repository. */
export const connectCredentialsPath = (cluster: string): string => `clusters/${cluster}/secrets/onepassword-connect/onepassword-connect-secret.sops.yaml`;

export const OP_VAULT = 'k8s-ops';
export const connectItem = (cluster: string): string => `op://${OP_VAULT}/onepassword-connect-${cluster}`;

/** The annotation that says where the values came from; `placeholder` until the operator seals real ones. */
export const SEALED_FROM = 'monosense.dev/sealed-from';
export const PLACEHOLDER = 'placeholder';

/**
 * The Secret onepassword-connect-secret with `values`, encrypted as `.sops.yaml` says for its path: the
 * plain text exists only in memory.
 */
export const sealConnectCredentials = (
  repoRoot: string,
  cluster: string,
  values: { credentials: string; token: string; sealedFrom: string },
): string => {
  const plain = render('cluster', 'secrets/onepassword-connect/onepassword-connect-secret.sops.yaml', { name: cluster, ...values });
  return encryptYaml(plain, creationRule(repoRoot, connectCredentialsPath(cluster)));
};

/** What a new cluster starts with, so that it validates before the operator has created its Connect server. */
export const placeholderConnectCredentials = (repoRoot: string, cluster: string): string =>
  sealConnectCredentials(repoRoot, cluster, { credentials: PLACEHOLDER, token: PLACEHOLDER, sealedFrom: PLACEHOLDER });

/** Whether the committed credentials are still the placeholder (the annotation is not encrypted). */
export const hasPlaceholderConnectCredentials = (repoRoot: string, cluster: string): boolean => {
  const file = join(repoRoot, connectCredentialsPath(cluster));
  if (!existsSync(file)) return true;
  return parse(readFileSync(file, 'utf8'))?.metadata?.annotations?.[SEALED_FROM] === PLACEHOLDER;
};
