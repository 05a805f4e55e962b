import type { ClusterAudit, PolicySummary, RuleSummary } from './netpol.ts';

/** Columns padded to their widest cell, as the validator's summary table. */
const table = (rows: string[][]): string[] => {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd());
};

const coverage = (d: ClusterAudit['namespaces'][number]['defaultDeny']): string => {
  if (d.ingress === 'none' && d.egress === 'none') return '-';
  if (d.ingress === d.egress) return d.ingress === 'all' ? 'ingress, egress' : `ingress, egress (${d.ingress} pods)`;
  return (['ingress', 'egress'] as const)
    .filter((x) => d[x] !== 'none')
    .map((x) => (d[x] === 'all' ? x : `${x} (some pods)`))
    .join(', ');
};

const ruleLine = (label: string, r: RuleSummary, word: 'from' | 'to'): string => {
  const peers = r.peers.length ? `${word} ${r.peers.join('; ')}` : 'nothing (default deny only)';
  const ports = r.ports.length ? ` on ${r.ports.join(', ')}` : '';
  const l7 = r.l7.length ? ` [${r.l7.join(', ')} rules]` : '';
  return `    ${label} ${peers}${ports}${l7}`;
};

const policyLines = (p: PolicySummary, title: string): string[] => {
  const deny = [p.defaultDeny.ingress && 'ingress', p.defaultDeny.egress && 'egress'].filter(Boolean).join(', ');
  return [
    `  ${title}: selects ${p.namespace && p.selects === '{}' ? 'every pod of the namespace' : p.selects}${deny ? `; default deny: ${deny}` : ''}`,
    ...p.ingress.map((r) => ruleLine('ingress', r, 'from')),
    ...p.egress.map((r) => ruleLine('egress ', r, 'to')),
    ...p.ingressDeny.map((r) => ruleLine('ingress DENY', r, 'from')),
    ...p.egressDeny.map((r) => ruleLine('egress DENY', r, 'to')),
  ];
};

export const findingLine = (f: ClusterAudit['findings'][number]): string => `${f.cluster}: ${f.rule}: ${f.message}`;

const clusterText = (a: ClusterAudit): string => {
  const lines = [`cluster ${a.cluster}`, ''];
  lines.push(
    ...table([
      ['namespace', 'tier', 'workloads', 'default deny', 'network policies'],
      ...a.namespaces.map((n) => [n.name, String(n.tier), String(n.workloads.length || '-'), coverage(n.defaultDeny), n.policies.join(', ') || '-']),
    ]),
  );
  lines.push('', 'cluster-wide policies (CiliumClusterwideNetworkPolicy)');
  if (!a.clusterwide.length) lines.push('  none');
  for (const c of a.clusterwide) {
    const some = c.namespaces.filter((n) => n.match === 'some').map((n) => n.name);
    const all = c.namespaces.filter((n) => n.match === 'all').map((n) => n.name);
    lines.push(...policyLines(c, c.name));
    if (all.length) lines.push(`    namespaces: ${all.join(', ')}`);
    if (some.length) lines.push(`    some pods of: ${some.join(', ')}`);
  }
  lines.push('', 'network policies (CiliumNetworkPolicy)');
  if (!a.policies.length) lines.push('  none');
  for (const p of a.policies) lines.push(...policyLines(p, `${p.namespace}/${p.name}`));
  lines.push('', a.findings.length ? `${a.findings.length} finding${a.findings.length === 1 ? '' : 's'}:` : 'no findings');
  for (const f of a.findings) lines.push(`  ${findingLine(f)}`);
  return lines.join('\n');
};

export const formatAudit = (audits: ClusterAudit[], format: 'text' | 'json'): string =>
  format === 'json'
    ? JSON.stringify({ clusters: audits, findings: audits.flatMap((a) => a.findings) }, null, 2)
    : audits.map(clusterText).join('\n\n');
