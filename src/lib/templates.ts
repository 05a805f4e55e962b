import { join } from 'node:path';
import nunjucks from 'nunjucks';
import { stringify } from 'yaml';
import { TOOLKIT_ROOT } from './cache-dir.ts';

/**
 * Nunjucks with delimiters that YAML, Helm and ExternalSecret templates never use, so `{{ .Values.x }}`
 * and `{{ .password }}` pass through untouched: `#{ value }#`, `#% if x %#`, `#! comment !#`.
 */
const env = new nunjucks.Environment(new nunjucks.FileSystemLoader(join(TOOLKIT_ROOT, 'templates')), {
  autoescape: false,
  trimBlocks: true,
  lstripBlocks: true,
  throwOnUndefined: true,
  tags: { blockStart: '#%', blockEnd: '%#', variableStart: '#{', variableEnd: '}#', commentStart: '#!', commentEnd: '!#' },
});

// A value written as YAML writes it: quoted when YAML would read it as another type.
env.addFilter('yamlScalar', (value: unknown) => stringify(value, { lineWidth: 0 }).trimEnd());

/** Renders templates/<generator>/<file>; output ends with exactly one newline. */
export const render = (generator: string, file: string, context: Record<string, unknown>): string =>
  `${env.render(`${generator}/${file}`, context).replace(/\n{3,}/g, '\n\n').trimEnd()}\n`;

export const renderString = (template: string, context: Record<string, unknown>): string => env.renderString(template, context);
