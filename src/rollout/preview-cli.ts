import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { entryPoint, parseFlags } from '../lib/cli.ts';
import { EXIT, UsageError } from '../lib/errors.ts';
import { gitAsk } from '../lib/git.ts';
import { io } from '../lib/io.ts';
import { commonFlags, progressPrinter } from '../validate/args.ts';
import { loadConfig } from '../validate/config.ts';
import { schemaDirsFrom } from '../validate/pipeline.ts';
import { buildPreview, renderSide, resolveSide } from './preview.ts';
import { formatJson, formatMarkdown, formatText } from './preview-report.ts';

const USAGE = `usage: npm run rollout-preview -- [--from REF] [--to REF] [--cluster NAME] [--format text|markdown|json] [--repo DIR]

What reaches a cluster when its branch moves from one commit to another (by default what the next
promotion brings to the apps cluster: release -> main). Renders the cluster at both commits in temporary
git worktrees with the validator, and prints per Flux Kustomization the objects added, removed and
changed (a unified diff of each changed object; Secret values masked), then the validation findings of
the --to side that the --from side does not have. Exit 0 when it could compare, 1 when the --to side has
validation errors, 2 on usage errors.`;

const FORMATS = { text: formatText, markdown: formatMarkdown, json: formatJson } as const;

export const main = async (argv: string[]): Promise<number> => {
  const args = parseFlags(argv, USAGE, {
    from: { type: 'string', description: 'the commit the cluster runs now (default release)' },
    to: { type: 'string', description: 'the commit it would move to (default main)' },
    cluster: { type: 'string', description: 'the cluster to render (default apps)' },
    format: { type: 'string', values: Object.keys(FORMATS), description: 'how the preview is printed' },
    repo: commonFlags.repo,
    'schema-dir': commonFlags['schema-dir'],
    'cache-dir': commonFlags['cache-dir'],
    'no-cache': commonFlags['no-cache'],
    quiet: commonFlags.quiet,
  });
  if (!args) return EXIT.ok;
  const start = resolve(args.repo ?? process.cwd());
  const top = existsSync(start) ? await gitAsk(start, 'rev-parse', '--show-toplevel') : undefined;
  if (!top?.ok) throw new UsageError(`${args.repo ?? start} is not a git repository`);
  const repo = top.stdout;
  const cluster = args.cluster ?? 'apps';
  const from = await resolveSide(repo, args.from ?? 'release', '--from');
  const to = await resolveSide(repo, args.to ?? 'main', '--to');
  // Both sides read the schemas this checkout would use: a worktree in a temporary folder has no
  // ../shared/schemas beside it.
  const schemaDirs = schemaDirsFrom(args['schema-dir'], (await loadConfig(repo)).schemaDirs, repo);
  const format = (args.format ?? 'text') as keyof typeof FORMATS;
  const progress = progressPrinter(args.quiet || format === 'json');
  const opts = { cluster, schemaDirs, cacheDir: args['cache-dir'], noCache: args['no-cache'], progress: progress.update };
  const fromSide = await renderSide(repo, from, opts);
  const toSide = await renderSide(repo, to, opts);
  progress.done();
  if (!fromSide.present && !toSide.present) throw new UsageError(`--cluster ${cluster}: no clusters/${cluster}/flux/ at ${from.ref} nor at ${to.ref}`);
  const preview = buildPreview(cluster, fromSide, toSide);
  io().out(FORMATS[format](preview));
  return preview.errors.length ? EXIT.refused : EXIT.ok;
};

entryPoint(import.meta.url, main, 'rollout-preview: ');
