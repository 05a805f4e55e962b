import { findingLine } from '../validate/report.ts';
import type { Finding } from '../validate/types.ts';
import { isNewFinding, type Change, type Preview, type Side } from './preview.ts';

const short = (s: Side) => s.sha.slice(0, 7);
const MARK: Record<Change, string> = { added: '+', removed: '-', changed: '~' };
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

const counts = (p: Preview) => {
  const objects = p.kustomizations.flatMap((k) => k.objects);
  const n = (c: Change) => objects.filter((o) => o.change === c).length;
  return { added: n('added'), removed: n('removed'), changed: n('changed') };
};

const totals = (p: Preview): string => {
  if (!p.kustomizations.length) return `No change reaches the ${p.cluster} cluster.`;
  const c = counts(p);
  return `${plural(p.kustomizations.length, 'Kustomization')} ${p.kustomizations.length === 1 ? 'differs' : 'differ'}: ${c.added} added, ${c.removed} removed, ${c.changed} changed object(s).`;
};

const absent = (p: Preview): string[] =>
  [p.from, p.to].filter((s) => !s.present).map((s) => `The ${p.cluster} cluster does not exist at ${s.ref} (${short(s)}): it renders as empty.`);

const validationHeadline = (p: Preview): string => {
  const fresh = p.newFindings.length;
  const errors = p.errors.length;
  if (!errors && !fresh) return `Validation of ${p.to.ref} (${short(p.to)}): clean, nothing new.`;
  return `Validation of ${p.to.ref} (${short(p.to)}): ${plural(errors, 'error')}; ${fresh} finding(s) ${p.from.ref} does not have.`;
};

/** The findings worth showing: every error of the `to` side, and any new warning. */
const shownFindings = (p: Preview): Finding[] => [...p.errors, ...p.newFindings.filter((f) => f.severity !== 'error')];

export const formatText = (p: Preview): string => {
  const lines = [`Rollout preview of the ${p.cluster} cluster: ${p.from.ref} (${short(p.from)}) -> ${p.to.ref} (${short(p.to)})`, ...absent(p), ''];
  for (const k of p.kustomizations) {
    const what = k.change === 'changed' ? `${k.objects.length} object(s) differ` : `${k.change}, ${plural(k.objects.length, 'object')}`;
    lines.push(`Kustomization ${k.kustomization}: ${what}`);
    for (const o of k.objects) {
      lines.push(`  ${MARK[o.change]} ${o.object}`);
      if (o.diff) lines.push(...o.diff.split('\n').map((l) => `      ${l}`));
    }
  }
  if (p.kustomizations.length) lines.push('');
  lines.push(validationHeadline(p), ...shownFindings(p).map((f) => `  ${findingLine(f)}${isNewFinding(p, f) ? ' [new]' : ''}`), '', totals(p));
  return `${lines.join('\n')}\n`;
};

export const formatMarkdown = (p: Preview): string => {
  const code = (s: string) => `\`${s}\``;
  const lines = [`### Rollout preview: ${p.cluster} cluster, ${code(p.from.ref)} (${code(short(p.from))}) → ${code(p.to.ref)} (${code(short(p.to))})`, ''];
  for (const a of absent(p)) lines.push(a, '');
  lines.push(totals(p), '');
  for (const k of p.kustomizations) {
    lines.push(`#### Kustomization ${code(k.kustomization)}: ${k.change}`, '');
    for (const o of k.objects) lines.push(`- ${o.change}: ${code(o.object)}`);
    const diffs = k.objects.filter((o) => o.diff);
    if (diffs.length) lines.push('', '```diff', ...diffs.map((o) => o.diff!), '```');
    lines.push('');
  }
  lines.push(`#### ${validationHeadline(p)}`, '');
  const shown = shownFindings(p);
  if (shown.length) lines.push(...shown.map((f) => `- ${code(findingLine(f))}${isNewFinding(p, f) ? ' **new**' : ''}`), '');
  return `${lines.join('\n')}\n`;
};

export const formatJson = (p: Preview): string => {
  const plain = ({ at: _at, ...f }: Finding) => f;
  return `${JSON.stringify({ ...p, errors: p.errors.map(plain), newFindings: p.newFindings.map(plain) }, null, 2)}\n`;
};
