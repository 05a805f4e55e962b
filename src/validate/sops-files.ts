import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { parseDocument } from 'yaml';
import { UserError } from '../lib/errors.ts';
import { isFile, toPosix, walkFiles } from '../lib/fsutil.ts';
import { creationRule, ENC, leaves, shouldEncrypt } from '../lib/sops.ts';
import type { Finding } from './types.ts';

export const SOPS_FILE = /(^|\/)[^./][^/]*\.sops\.ya?ml$/;
/** What a template leaves for the operator to fill in (`<paste the private deploy key>`): not a secret yet. */
const PLACEHOLDER = /^<[^>\n]*>$/;

/**
 * Every `*.sops.yaml` of the repository, Flux-built or not (bootstrap/, talos/): encrypted for the recipients
 * `.sops.yaml` gives its path (else whoever holds the new key cannot decrypt it), and no plain value where
 * the rule says encrypted. Catches a filled-in template or a file encrypted with an old key before it is pushed.
 */
export const checkSopsFiles = (repoRoot: string, files = walkFiles(repoRoot)): Finding[] => {
  if (!isFile(`${repoRoot}/.sops.yaml`)) return [];
  const findings: Finding[] = [];
  const report = (file: string, rule: string, message: string, line?: number) => findings.push({ file, line, rule, message, severity: 'error' });
  for (const abs of files.filter((f) => SOPS_FILE.test(f))) {
    const file = toPosix(relative(repoRoot, abs));
    if (file.startsWith('tests/') || file.startsWith('templates/')) continue;
    const text = readFileSync(abs, 'utf8');
    const doc = parseDocument(text);
    if (doc.errors.length) continue; // the build stage reports YAML errors with their lines
    const data = doc.toJS() ?? {};
    let rule;
    try {
      rule = creationRule(repoRoot, file);
    } catch (e) {
      if (e instanceof UserError) {
        report(file, 'sops-rule', e.message);
        continue;
      }
      throw e;
    }
    const plain = leaves(doc)
      .map(({ node, path }) => ({ path, value: node.value }))
      .filter((l) => shouldEncrypt(l.path, rule.encryptedRegex) && typeof l.value === 'string' && l.value !== '' && !ENC.test(l.value));
    if (!data.sops) {
      const secrets = plain.filter((l) => !PLACEHOLDER.test(String(l.value)));
      if (secrets.length) report(file, 'sops-unencrypted', `${secrets[0].path.join('.')} is plain text in a file SOPS should have encrypted: sops --encrypt --in-place ${file}`);
      continue;
    }
    if (plain.length) report(file, 'sops-unencrypted', `${plain[0].path.join('.')} is not encrypted although .sops.yaml says it must be`);
    const recipients = new Set((data.sops.age ?? []).map((a: any) => String(a?.recipient)));
    const missing = rule.recipients.filter((r) => !recipients.has(r));
    if (missing.length) {
      report(file, 'sops-recipients', `not encrypted for ${missing.join(', ')}, which .sops.yaml names for this path: sops updatekeys ${file}`);
    }
  }
  return findings;
};
