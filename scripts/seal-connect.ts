// 1Password Connect's credentials come to the cluster from a SOPS file in Git. This writes that
// file from 1Password; the plain values are only ever in this process's memory.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { connectCredentialsPath, connectItem, sealConnectCredentials } from '../src/lib/connect-credentials.ts';
import { creationRule } from '../src/lib/sops.ts';
import { listClusters, repoRoot } from './lib/cluster.ts';
import { UserError } from '../src/lib/errors.ts';
import { entryPoint, parseFlags } from '../src/lib/cli.ts';
import { io } from '../src/lib/io.ts';
import { run } from '../src/lib/exec.ts';
import { requireClis } from './lib/preflight.ts';

const USAGE = `Usage: node --import tsx scripts/seal-connect.ts --cluster NAME [--dry-run]
       task op:seal-connect CLUSTER=NAME

Reads the credentials-base64 and token fields of the 1Password item onepassword-connect-NAME and writes
them, SOPS-encrypted for the recipients .sops.yaml names, to clusters/NAME/secrets/onepassword-connect/.
Commit and push the file; Flux decrypts it with the sops-age key.`;

const FIELDS = { credentials: 'credentials-base64', token: 'token' } as const;

export const main = async (argv: string[]): Promise<void> => {
  const flags = parseFlags(argv, USAGE, {
    cluster: { type: 'string', values: listClusters(), required: true, description: 'the cluster whose Connect credentials to seal' },
    'dry-run': { type: 'boolean', description: 'print what would be read and written; call nothing, write nothing' },
  });
  if (!flags) return;
  const cluster = flags.cluster!;
  const target = connectCredentialsPath(cluster);
  const item = connectItem(cluster);
  const { recipients } = creationRule(repoRoot(), target);
  const plan = [
    ...Object.values(FIELDS).map((f) => `op read ${item}/${f}`),
    `write ${target}, encrypted for ${recipients.join(', ')} by ${io().which('sops') ? 'sops encrypt (plain text on stdin)' : "the toolkit's SOPS (sops is not on PATH)"}`,
  ];
  if (flags['dry-run']) {
    io().out(`seal-connect ${cluster}: plan (dry run, nothing is executed)\n${plan.map((p) => `  ${p}`).join('\n')}\n`);
    return;
  }
  requireClis(['op']);
  const values: Record<string, string> = {};
  for (const [key, field] of Object.entries(FIELDS)) {
    const value = (await run('op', ['read', `${item}/${field}`])).trim();
    if (!value || value.includes('\n')) throw new UserError(`${item}/${field}: expected one non-empty line (see docs/secrets.md for the item's fields)`);
    values[key] = value;
  }
  const sealed = await sealConnectCredentials(repoRoot(), cluster, { credentials: values.credentials, token: values.token, sealedFrom: item });
  mkdirSync(dirname(join(repoRoot(), target)), { recursive: true });
  writeFileSync(join(repoRoot(), target), sealed.text);
  io().out(`sealed ${target} from ${item} (encrypted by ${sealed.by === 'sops' ? 'sops' : "the toolkit's SOPS, sops not being on PATH"}); commit and push it, Flux applies it with the sops-age key\n`);
};

entryPoint(import.meta.url, main, 'seal-connect: ');
