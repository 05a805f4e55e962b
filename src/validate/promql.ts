import { parser } from '@prometheus-io/lezer-promql';

/** What a PromQL expression names, or where it stops parsing. */
export interface ParsedQuery {
  /** The first place the parser could not read, as an offset into the expression given. */
  error?: { offset: number; near: string };
  /** Metric names the expression selects (`name{...}` and `{__name__="name"}`). */
  metrics: string[];
  /** Grafana variables used where PromQL expects a metric name or a number, not inside a string. */
  bareVariables: string[];
  /** A `__name__=~"..."` selector: which metrics it reads cannot be told from the text. */
  nameRegex: boolean;
}

const INTERVAL_VARIABLE = /\$\{?__(rate_interval|interval|range|range_s|range_ms|interval_ms)\}?/g;
const VARIABLE = /\[\[(\w+)(?::[^\]]*)?\]\]|\$\{(\w+)(?::[^}]*)?\}|\$([A-Za-z_]\w*)/g;
const PLACEHOLDER = '__grafana_variable_';

/**
 * Grafana's variables made into text the parser accepts: the interval variables become a duration, every
 * other one an identifier that stays recognisable (inside a label value it is just text; outside one it
 * would read as a metric name, which `bareVariables` reports).
 */
export const withoutGrafanaVariables = (expr: string): string =>
  expr.replace(INTERVAL_VARIABLE, '5m').replace(VARIABLE, (_m, a, b, c) => `${PLACEHOLDER}${a ?? b ?? c}`);

const unquote = (literal: string): string => {
  const body = literal.slice(1, -1);
  return literal.startsWith('`') ? body : body.replace(/\\(.)/g, '$1');
};

/**
 * Parses a PromQL expression with the Prometheus project's own grammar: Grafana variables allowed (a
 * dashboard's query), or not (`grafana: false`: an alerting rule's, which nothing substitutes).
 */
export const parsePromQL = (expr: string, opts: { grafana?: boolean } = {}): ParsedQuery => {
  const text = opts.grafana === false ? expr : withoutGrafanaVariables(expr);
  const tree = parser.parse(text);
  const out: ParsedQuery = { metrics: [], bareVariables: [], nameRegex: false };
  const addMetric = (name: string) => {
    if (name.startsWith(PLACEHOLDER)) out.bareVariables.push(`$${name.slice(PLACEHOLDER.length)}`);
    else if (!out.metrics.includes(name)) out.metrics.push(name);
  };
  if (!text.trim()) out.error = { offset: 0, near: '' };
  tree.iterate({
    enter: (node) => {
      if (node.type.isError && !out.error) {
        out.error = { offset: node.from, near: text.slice(Math.max(0, node.from - 10), node.from + 10) };
      }
      if (node.name === 'Identifier' && node.node.parent?.name === 'VectorSelector') addMetric(text.slice(node.from, node.to));
      if (node.name === 'UnquotedLabelMatcher' || node.name === 'QuotedLabelMatcher') {
        const label = node.node.getChild('LabelName') ?? node.node.getChild('QuotedLabelName');
        const op = node.node.getChild('MatchOp');
        const value = node.node.getChild('StringLiteral');
        if (!label || !op || !value || text.slice(label.from, label.to).replace(/"/g, '') !== '__name__') return;
        const operator = text.slice(op.from, op.to);
        if (operator === '=') addMetric(unquote(text.slice(value.from, value.to)));
        else if (operator === '=~' || operator === '!~') out.nameRegex = true;
      }
      // A quoted metric name on its own, as in {"metric.with.dots"}.
      if (node.name === 'QuotedLabelName' && node.node.parent?.name === 'LabelMatchers') addMetric(unquote(text.slice(node.from, node.to)));
    },
  });
  return out;
};
