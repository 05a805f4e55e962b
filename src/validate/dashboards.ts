import { readFileSync } from 'node:fs';
import { join, posix, relative } from 'node:path';
import JSON5 from 'json5';
import { MAX_CONFIG_BYTES, parseYaml, parseYamlDocuments, readYamlText, sizeHazard, toJSCapped, YamlLimitError } from '../lib/yaml-safe.ts';
import { isFile, toPosix, walkFiles } from '../lib/fsutil.ts';
import { parsePromQL } from './promql.ts';
import type { Finding } from './types.ts';

/**
 * Grafana dashboards in Git: `<app>/dashboards/*.json`, provisioned by the app's Grafana, with
 * `<app>/dashboards/metrics.yaml` saying which scrape object brings each metric they may use:
 *
 *   targets:                       # scrape object (or operator-scraped component) -> its metrics
 *     VMServiceScrape/node-exporter: [node_cpu_seconds_total, ...]
 *   documented:                    # dashboard uid -> metrics from elsewhere, each with the reason
 *     cluster-overview: {some_metric: why it exists}
 *
 * Every dashboard must parse, have a uid no other has, a `cluster` variable, panels whose datasource is one
 * the Grafana HelmRelease of the app provisions, and PromQL that parses and names only catalogued metrics.
 */
export const CATALOGUE = 'metrics.yaml';
const DASHBOARD = /(^|\/)dashboards\/[^/]+\.json$/;
/** Kinds whose objects make metrics exist: scrape objects, and what the operator scrapes by itself. */
const PRODUCERS = /^(VMServiceScrape|VMPodScrape|VMNodeScrape|VMStaticScrape|VMScrapeConfig|VMProbe|VMRule|VMSingle|VMAgent|VMAlert|VMAlertmanager|VLSingle)$/;
/** Grafana's own pseudo-datasources, which hold no data of the clusters. */
const BUILTIN_DATASOURCES = new Set(['grafana', '-- Grafana --', 'datasource', '-- Dashboard --']);

interface Datasource {
  uid: string;
  name: string;
  type: string;
  isDefault: boolean;
}

interface Catalogue {
  /** Metric -> the catalogue keys that produce it. */
  metrics: Map<string, string[]>;
  documented: Map<string, Set<string>>;
}

type Report = (file: string, rule: string, message: string, line?: number) => void;

const lineAt = (text: string, offset: number): number => text.slice(0, offset).split('\n').length;
const lineOf = (text: string, needle: string): number | undefined => {
  const at = text.indexOf(needle);
  return at < 0 ? undefined : lineAt(text, at);
};

/** Where JSON.parse gave up, which its message no longer says: JSON5's parser reports the line. */
const jsonErrorLine = (text: string): number | undefined => {
  try {
    JSON5.parse(text);
    return undefined;
  } catch (e) {
    return (e as { lineNumber?: number }).lineNumber;
  }
};

const isProduction = (rel: string) => !/^(tests|templates|node_modules)\//.test(rel);

const TOP_LEVEL_KIND = /^kind:\s*["']?(\w+)/m;
const METADATA_NAME = /^metadata:[ \t]*\n(?:[ \t]+.*\n)*?[ \t]+name:[ \t]*["']?([^"'\s#]+)/m;

/**
 * `Kind/name` of every object in the repository's manifests that can make metrics exist. Read with two
 * patterns per YAML document (top-level `kind:`, `metadata.name`) rather than a YAML parser: this runs on
 * every validation and only needs those two fields of a few dozen files.
 */
const producersIn = (repoRoot: string, files: string[]): Set<string> => {
  const found = new Set<string>();
  for (const abs of files) {
    const rel = toPosix(relative(repoRoot, abs));
    if (!/^(clusters|kubernetes|infrastructure)\/.+\.ya?ml$/.test(rel) || sizeHazard(abs)) continue;
    const text = readFileSync(abs, 'utf8');
    if (!text.includes('operator.victoriametrics.com/')) continue;
    for (const doc of text.split(/^---[ \t]*$/m)) {
      const kind = TOP_LEVEL_KIND.exec(doc)?.[1];
      const name = METADATA_NAME.exec(doc)?.[1];
      if (kind && name && PRODUCERS.test(kind)) found.add(`${kind}/${name}`);
    }
  }
  return found;
};

/**
 * The datasources the Grafana HelmRelease beside the dashboards provisions (values.datasources). A file too
 * large or an alias bomb is reported and skipped.
 */
const provisionedDatasources = (repoRoot: string, appDir: string, report: Report): Datasource[] => {
  const out: Datasource[] = [];
  for (const abs of walkFiles(join(repoRoot, appDir))) {
    if (!/\.ya?ml$/.test(abs) || toPosix(abs).includes('/dashboards/')) continue;
    const rel = toPosix(relative(repoRoot, abs));
    let objects: unknown[];
    try {
      objects = parseYamlDocuments(readYamlText(abs)).map((doc) => toJSCapped(doc, rel));
    } catch (e) {
      if (!(e instanceof YamlLimitError)) throw e;
      report(rel, 'yaml-limit', e.reason);
      continue;
    }
    for (const doc of objects) {
      const o: any = doc;
      if (o?.kind !== 'HelmRelease') continue;
      for (const file of Object.values<any>(o.spec?.values?.datasources ?? {})) {
        for (const d of file?.datasources ?? []) {
          out.push({ uid: String(d.uid ?? ''), name: String(d.name ?? ''), type: String(d.type ?? ''), isDefault: d.isDefault === true });
        }
      }
    }
  }
  return out;
};

const readCatalogue = (rel: string, text: string, producers: Set<string>, report: Report): Catalogue | undefined => {
  const catalogue: Catalogue = { metrics: new Map(), documented: new Map() };
  let doc: any;
  try {
    doc = parseYaml(text, rel);
  } catch (e) {
    if (e instanceof YamlLimitError) {
      report(rel, 'yaml-limit', e.reason);
      return undefined;
    }
    report(rel, 'dashboard-metrics', `not YAML: ${String((e as Error).message).split('\n')[0]}`);
    return undefined;
  }
  if (!doc || typeof doc !== 'object' || typeof doc.targets !== 'object' || doc.targets === null) {
    report(rel, 'dashboard-metrics', 'needs a mapping targets: {<Kind>/<name>: [metric, ...]}');
    return undefined;
  }
  for (const [key, metrics] of Object.entries<any>(doc.targets)) {
    if (!producers.has(key)) {
      report(rel, 'dashboard-metrics', `targets.${key}: no such scrape object in the repository (a VMServiceScrape, VMPodScrape, VMNodeScrape, ... or a component the operator scrapes, as Kind/name)`, lineOf(text, `${key}:`));
    }
    if (!Array.isArray(metrics)) {
      report(rel, 'dashboard-metrics', `targets.${key}: must be a list of metric names`, lineOf(text, `${key}:`));
      continue;
    }
    for (const m of metrics) catalogue.metrics.set(String(m), [...(catalogue.metrics.get(String(m)) ?? []), key]);
  }
  for (const [uid, metrics] of Object.entries<any>(doc.documented ?? {})) {
    catalogue.documented.set(uid, new Set(Object.keys(metrics ?? {})));
  }
  return catalogue;
};

/** A panel's or target's datasource reference as Grafana stores it: a uid or name string, or {type, uid}. */
const datasourceOf = (ref: any, datasources: Datasource[]): { found?: Datasource; builtin: boolean; text: string } => {
  if (ref === undefined || ref === null) return { found: datasources.find((d) => d.isDefault), builtin: false, text: '(default)' };
  const uid = typeof ref === 'string' ? ref : (ref.uid ?? '');
  const type = typeof ref === 'string' ? '' : (ref.type ?? '');
  if (BUILTIN_DATASOURCES.has(uid) || BUILTIN_DATASOURCES.has(type)) return { builtin: true, text: uid || type };
  const found = datasources.find((d) => d.uid === uid || (typeof ref === 'string' && d.name === ref));
  return { found: found && (!type || type === found.type) ? found : undefined, builtin: false, text: type ? `${type}/${uid}` : uid };
};

/** Every panel, rows' children included. */
const panelsOf = (dashboard: any): any[] =>
  (Array.isArray(dashboard.panels) ? dashboard.panels : []).flatMap((p: any) => [p, ...(Array.isArray(p?.panels) ? p.panels : [])]);

/** The PromQL inside a query variable's query: label_values(expr, label), query_result(expr), or an expression. */
const variableExpr = (query: any): string | undefined => {
  const text = typeof query === 'string' ? query : query?.query;
  if (typeof text !== 'string' || !text.trim()) return undefined;
  const labelValues = /^\s*label_values\((.*),\s*[A-Za-z_]\w*\s*\)\s*$/s.exec(text);
  if (labelValues) return labelValues[1];
  if (/^\s*label_values\(\s*[A-Za-z_]\w*\s*\)\s*$/.test(text)) return undefined;
  const result = /^\s*query_result\((.*)\)\s*$/s.exec(text);
  return result ? result[1] : text;
};

const checkDashboard = (
  rel: string,
  text: string,
  datasources: Datasource[],
  catalogue: Catalogue,
  uids: Map<string, string>,
  report: Report,
): void => {
  let dashboard: any;
  try {
    dashboard = JSON.parse(text);
  } catch (e) {
    report(rel, 'dashboard-json', `not valid JSON: ${(e as Error).message}`, jsonErrorLine(text));
    return;
  }
  if (!dashboard || typeof dashboard !== 'object' || Array.isArray(dashboard)) {
    report(rel, 'dashboard-json', 'must be a dashboard object');
    return;
  }
  const uid = dashboard.uid;
  if (typeof uid !== 'string' || !uid) report(rel, 'dashboard-uid', 'has no uid: Grafana would give it a new one on every start, breaking links');
  else if (uids.has(uid)) report(rel, 'dashboard-uid', `uid "${uid}" is also the uid of ${uids.get(uid)}`, lineOf(text, `"uid": "${uid}"`));
  else uids.set(uid, rel);

  const variables: any[] = Array.isArray(dashboard.templating?.list) ? dashboard.templating.list : [];
  if (!variables.some((v) => v?.name === 'cluster')) {
    report(rel, 'dashboard-cluster-variable', 'has no variable "cluster": every dashboard can show either cluster or both');
  }
  const documented = catalogue.documented.get(String(uid)) ?? new Set<string>();

  const checkQuery = (where: string, expr: string, needle: string) => {
    const parsed = parsePromQL(expr);
    const line = lineOf(text, needle);
    if (parsed.error) {
      // What a broken expression seems to name is guesswork: the parse error is the finding.
      report(rel, 'dashboard-query', `${where}: does not parse as PromQL near "${parsed.error.near}"`, line);
      return;
    }
    for (const v of parsed.bareVariables) report(rel, 'dashboard-query', `${where}: variable ${v} stands where a metric name or number belongs`, line);
    if (parsed.nameRegex) report(rel, 'dashboard-metric', `${where}: selects metrics by a __name__ regular expression, which cannot be checked against ${CATALOGUE}`, line);
    for (const m of parsed.metrics) {
      if (!catalogue.metrics.has(m) && !documented.has(m)) {
        report(rel, 'dashboard-metric', `${where}: metric ${m} is produced by no scrape object listed in ${CATALOGUE} (nor documented there for this dashboard)`, line);
      }
    }
  };

  const checkSource = (where: string, ref: any, needle: string): Datasource | undefined => {
    const ds = datasourceOf(ref, datasources);
    if (ds.builtin) return undefined;
    if (!ds.found) {
      const known = datasources.map((d) => `${d.type}/${d.uid}`).join(', ') || 'none';
      report(rel, 'dashboard-datasource', `${where}: datasource ${ds.text} is not provisioned (provisioned: ${known})`, lineOf(text, needle));
    }
    return ds.found;
  };

  for (const v of variables) {
    if (v?.type !== 'query') continue;
    const where = `variable ${v.name}`;
    const ds = checkSource(where, v.datasource, `"name": "${v.name}"`);
    const expr = variableExpr(v.query);
    if (ds?.type === 'prometheus' && expr) checkQuery(where, expr, `"name": "${v.name}"`);
  }
  for (const a of dashboard.annotations?.list ?? []) checkSource(`annotation ${a?.name ?? '?'}`, a?.datasource, `"name": "${a?.name}"`);

  for (const panel of panelsOf(dashboard)) {
    if (!panel || panel.type === 'row' || panel.type === 'text') continue;
    const title = `panel "${panel.title ?? panel.id ?? '?'}"`;
    const targets: any[] = Array.isArray(panel.targets) ? panel.targets : [];
    if (!targets.length) report(rel, 'dashboard-datasource', `${title}: has no queries`, lineOf(text, `"title": "${panel.title}"`));
    for (const t of targets) {
      const ds = checkSource(title, t?.datasource ?? panel.datasource, `"title": "${panel.title}"`);
      if (ds?.type !== 'prometheus') continue;
      if (typeof t?.expr !== 'string') {
        report(rel, 'dashboard-query', `${title}: query ${t?.refId ?? '?'} has no expr`, lineOf(text, `"title": "${panel.title}"`));
        continue;
      }
      checkQuery(`${title} query ${t.refId ?? '?'}`, t.expr, JSON.stringify(t.expr));
    }
  }
};

/**
 * The dashboard check of the repository files step: the dashboards among `files` (all of them by default;
 * `complete` says whether `files` is every file of the repository), with their folder's catalogue and the
 * datasources their app provisions. Findings carry their line.
 */
export const checkDashboards = (repoRoot: string, files?: string[], { complete = files === undefined }: { complete?: boolean } = {}): Finding[] => {
  const everything = complete && files ? files : walkFiles(repoRoot);
  files ??= everything;
  const findings: Finding[] = [];
  const report: Report = (file, rule, message, line) => findings.push({ file, rule, message, severity: 'error', ...(line ? { line } : {}) });
  const dashboards = files.map((f) => toPosix(relative(repoRoot, f))).filter((rel) => DASHBOARD.test(rel) && isProduction(rel));
  const catalogueEdits = files.map((f) => toPosix(relative(repoRoot, f))).filter((rel) => rel.endsWith(`/dashboards/${CATALOGUE}`) && isProduction(rel));
  const folders = [...new Set([...dashboards, ...catalogueEdits].map((rel) => posix.dirname(rel)))].sort();
  if (!folders.length) return findings;
  const producers = producersIn(repoRoot, everything);
  const uids = new Map<string, string>();
  for (const folder of folders) {
    const catalogueRel = `${folder}/${CATALOGUE}`;
    const catalogueAbs = join(repoRoot, catalogueRel);
    const inFolder = walkFiles(join(repoRoot, folder))
      .map((f) => toPosix(relative(repoRoot, f)))
      .filter((rel) => DASHBOARD.test(rel) && posix.dirname(rel) === folder);
    if (!isFile(catalogueAbs)) {
      for (const rel of inFolder) report(rel, 'dashboard-metrics', `no ${CATALOGUE} beside it saying which scrape object produces each metric`);
      continue;
    }
    let catalogueText: string;
    try {
      catalogueText = readYamlText(catalogueAbs, MAX_CONFIG_BYTES);
    } catch (e) {
      if (!(e instanceof YamlLimitError)) throw e;
      report(catalogueRel, 'yaml-limit', e.reason);
      continue;
    }
    const catalogue = readCatalogue(catalogueRel, catalogueText, producers, report);
    if (!catalogue) continue;
    const appDir = posix.dirname(folder);
    const datasources = provisionedDatasources(repoRoot, appDir, report);
    if (!datasources.length) {
      for (const rel of inFolder) report(rel, 'dashboard-datasource', `no HelmRelease in ${appDir} provisions datasources (values.datasources)`);
      continue;
    }
    // uids are unique across the folder even when only some of its dashboards changed.
    for (const rel of inFolder) {
      const hazard = sizeHazard(join(repoRoot, rel));
      if (hazard) report(rel, 'yaml-limit', hazard.replace('a YAML file', 'a dashboard'));
      else checkDashboard(rel, readFileSync(join(repoRoot, rel), 'utf8'), datasources, catalogue, uids, report);
    }
  }
  return findings;
};
