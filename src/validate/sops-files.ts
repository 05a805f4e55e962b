import { readFileSync, statSync } from 'node:fs';
import { relative } from 'node:path';
import { UserError } from '../lib/errors.ts';
import { isFile, toPosix, walkFiles } from '../lib/fsutil.ts';
import { creationRule, MAX_SOPS_BYTES, parseSops, plaintextIn, plainValues, sopsMetadata, type CreationRule, type ParsedSops } from '../lib/sops.ts';
import { sopsFileStatus } from '../lib/sops-tool.ts';
import type { Finding } from './types.ts';

/** A file's text, strictly: a byte that is not UTF-8 would otherwise read as U+FFFD and pass, and yaml.v3 refuses it. */
const readUtf8 = (abs: string, file: string): string => {
  const bytes = readFileSync(abs);
  const strict = new TextDecoder('utf-8', { fatal: true });
  try {
    return strict.decode(bytes);
  } catch {
    let start = 0;
    for (let line = 1; ; line++) {
      const end = bytes.indexOf(0x0a, start);
      try {
        strict.decode(bytes.subarray(start, end < 0 ? bytes.length : end));
      } catch {
        throw new UserError(`${file}:${line}: not UTF-8 text, which sops reads YAML as`);
      }
      if (end < 0) throw new UserError(`${file}: not UTF-8 text, which sops reads YAML as`);
      start = end + 1;
    }
  }
};

export const SOPS_FILE = /(^|\/)[^./][^/]*\.sops\.ya?ml$/;
/** What a template leaves for the operator to fill in (`<paste the private deploy key>`): not a secret yet. */
const PLACEHOLDER = /^<[^>\n]*>$/;

/**
 * Every `*.sops.yaml` of the repository, Flux-built or not (bootstrap/, talos/): encrypted for the recipients
 * `.sops.yaml` gives its path (else whoever holds the new key cannot decrypt it), and nothing in clear that the
 * rule (or the file's own sops metadata) says is encrypted: values of any type in every document, what an alias
 * repeats, and comments. Catches a filled-in template or a file encrypted with an old key before it is pushed.
 * Where sops is on PATH, sops itself must also be able to load each encrypted file.
 */
export const checkSopsFiles = async (repoRoot: string, files = walkFiles(repoRoot)): Promise<Finding[]> => {
  if (!isFile(`${repoRoot}/.sops.yaml`)) return [];
  const findings: Finding[] = [];
  const report = (file: string, rule: string, message: string, line?: number) => findings.push({ file, rule, message, severity: 'error', ...(line ? { line } : {}) });
  for (const abs of files.filter((f) => SOPS_FILE.test(f))) {
    const file = toPosix(relative(repoRoot, abs));
    if (file.startsWith('tests/') || file.startsWith('templates/')) continue;
    if (statSync(abs).size > MAX_SOPS_BYTES) {
      report(file, 'sops-unreadable', `larger than ${MAX_SOPS_BYTES} bytes: refused unread`);
      continue;
    }
    let parsed: ParsedSops;
    let rule: CreationRule;
    try {
      parsed = parseSops(readUtf8(abs, file), file);
      rule = creationRule(repoRoot, file);
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      // An alias bomb, a non-string key, a rule sops would not load: a finding, and the run goes on. A refusal
      // that names a line (`file:12: ...`) gives the finding that line.
      const at = e.message.startsWith(`${file}:`) ? /^:(\d+): /.exec(e.message.slice(file.length)) : null;
      const message = at ? e.message.slice(file.length + at[0].length) : e.message.replace(`${file}: `, '');
      report(file, /\.sops\.yaml:/.test(e.message) && !e.message.startsWith(file) ? 'sops-rule' : 'sops-unreadable', message, at ? Number(at[1]) : undefined);
      continue;
    }
    const meta = sopsMetadata(parsed, file);
    if (!meta) {
      const secrets = plainValues(parsed, rule).filter((v) => !PLACEHOLDER.test(v.text));
      if (secrets.length) report(file, 'sops-unencrypted', `${secrets[0].path} is plain text in a file SOPS should have encrypted: sops --encrypt --in-place ${file}`, secrets[0].line);
      continue;
    }
    const plain = [...plaintextIn(parsed, rule, { comments: true }), ...plaintextIn(parsed, meta, { comments: true })].sort((a, b) => a.line - b.line);
    if (plain.length) {
      const p = plain[0];
      report(file, 'sops-unencrypted', `${p.what === 'comment' ? `a comment in ${p.path}` : p.path} is not encrypted although .sops.yaml says it must be`, p.line);
    }
    // sops never sees such a comment, so it never encrypts it: whatever it says stays readable in Git.
    if (parsed.lost.length) report(file, 'sops-unencrypted', "a comment sops does not read (Go's yaml.v3 loses it here) is in clear; move it or delete it", parsed.lost[0].line + 1);
    if (parsed.aliases) report(file, 'sops-unencrypted', 'has YAML aliases, which sops never writes: a value repeated through an alias is in clear or cannot be decrypted there');
    const recipients = new Set(meta.age.map((a: any) => String(a?.recipient)));
    const missing = rule.recipients.filter((r) => !recipients.has(r));
    if (missing.length) report(file, 'sops-recipients', `not encrypted for ${missing.join(', ')}, which .sops.yaml names for this path: sops updatekeys ${file}`);
    const status = await sopsFileStatus(repoRoot, file);
    if (status === 'unreadable' || status === 'not-encrypted') report(file, 'sops-unreadable', `sops filestatus ${file}: sops ${status === 'unreadable' ? 'cannot load it' : 'does not see it as encrypted'}`);
  }
  return findings;
};
