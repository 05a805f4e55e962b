import type { Locator } from './locate.ts';
import { ruleTag } from './rules.ts';
import type { ClusterResult, Finding } from './types.ts';

export type ReportFormat = 'text' | 'json' | 'github';

/** Fills in each finding's line from the source files, then drops the lookup hints. */
export const resolveLines = (findings: Finding[], locator: Locator): Finding[] =>
  findings.map(({ at, ...f }) => {
    if (f.line !== undefined || !at || !f.file) return f;
    const line = (at.pattern && locator.lineOfPattern(f.file, at.obj, new RegExp(at.pattern))) || locator.line(f.file, at.obj, at.path ?? []);
    return line ? { ...f, line } : f;
  });

/** `rule [flux]`: the rule with its tag (see rules.ts). */
export const ruleWithTag = (rule: string): string => {
  const tag = ruleTag(rule);
  return tag ? `${rule} [${tag}]` : rule;
};

export const findingLine = (f: Finding): string =>
  `${f.file}${f.line ? `:${f.line}` : ''}: ${ruleWithTag(f.rule)}: ${f.message}${f.severity === 'warning' ? ' (warning)' : ''}`;

const count = (findings: Finding[], s: Finding['severity']) => findings.filter((f) => f.severity === s).length;

/** One row per cluster; its counts are the findings printed for it (a finding is printed once, however often it was found). */
export const summaryRows = (results: ClusterResult[]) =>
  results.map((r) => {
    const printed = uniqueFindings([r]);
    return {
      cluster: r.cluster.name,
      kustomizations: r.kustomizations.length,
      resources: r.resources.length,
      errors: count(printed, 'error'),
      warnings: count(printed, 'warning'),
      seconds: Number(r.seconds.toFixed(2)),
    };
  });

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

/** GitHub Actions' escaping: of a command's data, and more in its properties. */
const escapeData = (s: string) => s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
const escapeProperty = (s: string) => escapeData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');

/** A finding as a GitHub Actions workflow command, which a pull request shows on the file's line. */
export const githubAnnotation = (f: Finding, suffix = ''): string => {
  const properties = [`file=${escapeProperty(f.file)}`, ...(f.line ? [`line=${f.line}`] : []), `title=${escapeProperty(ruleWithTag(f.rule))}`];
  return `::${f.severity} ${properties.join(',')}::${escapeData(f.message + suffix)}`;
};

/** Stage 7: the summary table and one line per finding, GitHub annotations, or JSON for machines. `library` is the component library's check. */
export const formatReport = (results: ClusterResult[], format: ReportFormat, library?: ClusterResult): string => {
  const findings = uniqueFindings(results);
  const libraryFindings = library ? uniqueFindings([library]) : [];
  if (format === 'json') {
    const { cluster: _name, ...components } = library ? summaryRows([library])[0] : { cluster: '' };
    return JSON.stringify(
      {
        clusters: summaryRows(results),
        ...(library ? { components } : {}),
        findings: [...findings, ...libraryFindings].map(({ at: _at, ...f }) => ({ ...f, tag: ruleTag(f.rule) })),
      },
      null,
      2,
    );
  }
  const clustersOf = (f: { clusters: string[] }) => (results.length > 1 && f.clusters.length < results.length ? ` [${f.clusters.join(', ')}]` : '');
  const printed = [...findings, ...libraryFindings];
  const lines =
    format === 'github'
      ? printed.map((f) => githubAnnotation(f, clustersOf(f)))
      : printed.map((f) => findingLine(f) + clustersOf(f));
  const rows: Record<string, string | number>[] = summaryRows(library ? [...results, library] : results);
  // A finding several clusters share is printed once: the total counts the lines above.
  if (rows.length > 1) {
    rows.push({ cluster: 'total', kustomizations: '', resources: '', errors: count(printed, 'error'), warnings: count(printed, 'warning'), seconds: '' });
  }
  return [...lines, ...(lines.length ? [''] : []), table(rows)].join('\n');
};
