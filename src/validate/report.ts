import type { Locator } from './locate.ts';
import type { ClusterResult, Finding } from './types.ts';

/** Fills in each finding's line from the source files, then drops the lookup hints. */
export const resolveLines = (findings: Finding[], locator: Locator): Finding[] =>
  findings.map(({ at, ...f }) => {
    if (f.line !== undefined || !at || f.file === '?') return f;
    const line = (at.pattern && locator.lineOfPattern(f.file, at.obj, new RegExp(at.pattern))) || locator.line(f.file, at.obj, at.path ?? []);
    return line ? { ...f, line } : f;
  });

export const findingLine = (f: Finding): string =>
  `${f.file}${f.line ? `:${f.line}` : ''}: ${f.rule}: ${f.message}${f.severity === 'warning' ? ' (warning)' : ''}`;

const count = (r: ClusterResult, s: Finding['severity']) => r.findings.filter((f) => f.severity === s).length;

export const summaryRows = (results: ClusterResult[]) =>
  results.map((r) => ({
    cluster: r.cluster.name,
    kustomizations: r.kustomizations.length,
    resources: r.resources.length,
    errors: count(r, 'error'),
    warnings: count(r, 'warning'),
    seconds: Number(r.seconds.toFixed(2)),
  }));

export const table = (rows: Record<string, string | number>[]): string => {
  if (!rows.length) return '';
  const headers = Object.keys(rows[0]);
  const widths = headers.map((h) => Math.max(h.length, ...rows.map((r) => String(r[h]).length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map((r) => line(headers.map((h) => String(r[h]))))].join('\n');
};

/** Findings shared by several clusters (a shared app) are printed once. */
export const uniqueFindings = (results: ClusterResult[]): (Finding & { clusters: string[] })[] => {
  const byLine = new Map<string, Finding & { clusters: string[] }>();
  for (const r of results) {
    for (const f of r.findings) {
      const key = findingLine(f);
      const seen = byLine.get(key);
      if (seen) seen.clusters.push(r.cluster.name);
      else byLine.set(key, { ...f, clusters: [r.cluster.name] });
    }
  }
  return [...byLine.values()].sort((a, b) => a.file.localeCompare(b.file) || (a.line ?? 0) - (b.line ?? 0) || a.rule.localeCompare(b.rule));
};

/** Stage 7: the summary table and one line per finding, or JSON for machines. `library` is the component library's check. */
export const formatReport = (results: ClusterResult[], format: 'text' | 'json', library?: ClusterResult): string => {
  const findings = uniqueFindings(results);
  const libraryFindings = library ? uniqueFindings([library]) : [];
  if (format === 'json') {
    const { cluster: _name, ...components } = library ? summaryRows([library])[0] : { cluster: '' };
    return JSON.stringify(
      {
        clusters: summaryRows(results),
        ...(library ? { components } : {}),
        findings: [...findings, ...libraryFindings].map(({ at: _at, ...f }) => f),
      },
      null,
      2,
    );
  }
  const lines = [
    ...findings.map((f) => findingLine(f) + (results.length > 1 && f.clusters.length < results.length ? ` [${f.clusters.join(', ')}]` : '')),
    ...libraryFindings.map(findingLine),
  ];
  return [...lines, ...(lines.length ? [''] : []), table(summaryRows(library ? [...results, library] : results))].join('\n');
};
