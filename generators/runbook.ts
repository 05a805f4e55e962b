import { dirname, join, posix } from 'node:path';
import slugify from '@sindresorhus/slugify';
import { UserError } from '../src/lib/errors.ts';
import { isDir, isFile } from '../src/lib/fsutil.ts';
import { parseYaml, readYamlText } from '../src/lib/yaml-safe.ts';
import type { Answers } from './lib/answers.ts';
import { readIfExists, settle, type Plan } from './lib/plan.ts';
import { render } from '../src/lib/templates.ts';
import type { RepoFacts } from './lib/repo.ts';
import type { Generator } from './lib/run.ts';

const G = 'runbook';
export const INDEX = 'docs/index.md';
export const RUNBOOKS = 'docs/runbooks';

/** The file name of a runbook: `CloudNativePG: restore a database` -> `cloudnativepg-restore-a-database`. */
export const slugOf = (title: string): string => slugify(title, { decamelize: false });

// ---------------------------------------------------------------- the task names the repository has

/** Every task name `task --list-all` would accept, from Taskfile.yaml and its includes. */
export const taskNames = (root: string): Set<string> => {
  const names = new Set<string>();
  const visit = (file: string, prefix: string, seen: Set<string>) => {
    if (seen.has(file) || !isFile(file)) return;
    seen.add(file);
    const doc = parseYaml(readYamlText(file), file) ?? {};
    for (const [name, task] of Object.entries<any>(doc.tasks ?? {})) {
      for (const n of [name, ...(Array.isArray(task?.aliases) ? task.aliases : [])]) names.add(`${prefix}${n}`);
    }
    for (const [ns, inc] of Object.entries<any>(doc.includes ?? {})) {
      const spec = typeof inc === 'string' ? { taskfile: inc } : (inc ?? {});
      let target = join(dirname(file), String(spec.taskfile ?? ''));
      if (isDir(target)) target = [join(target, 'Taskfile.yaml'), join(target, 'Taskfile.yml')].find(isFile) ?? target;
      visit(target, spec.flatten ? prefix : `${prefix}${ns}:`, seen);
    }
  };
  visit(join(root, 'Taskfile.yaml'), '', new Set());
  return names;
};

// ---------------------------------------------------------------- docs/index.md

const ITEM = /^(\s*)- \[(.+?)\]\((runbooks\/[^)\s]+\.md)\)/;
const HEADING = /^#{1,2} /;

interface Item {
  /** First line of the item and the line after its last (continuation lines are indented deeper). */
  start: number;
  end: number;
  indent: string;
  title: string;
  file: string;
}

const itemsOf = (lines: string[]): Item[] => {
  const items: Item[] = [];
  lines.forEach((line, i) => {
    const m = ITEM.exec(line);
    if (!m) return;
    let end = i + 1;
    while (end < lines.length && lines[end].trim() !== '' && lines[end].match(/^\s*/)![0].length > m[1].length) end++;
    items.push({ start: i, end, indent: m[1], title: m[2], file: m[3] });
  });
  return items;
};

const byTitle = (a: string, b: string) => a.localeCompare(b, 'en', { sensitivity: 'base' });

/**
 * docs/index.md with a link to the runbook, exactly once, the rest of the file as it was. The link
 * joins the list that already links runbooks (wherever it is, at its indentation), in alphabetical
 * order of the titles; without one, it goes to a `## Runbooks` section, created at the end if need be.
 * A runbook already linked keeps its place and its description; only a new title is written in.
 */
export const withRunbookLink = (text: string | undefined, title: string, file: string): string => {
  const lines = (text ?? '# Documentation\n').replace(/\n+$/, '').split('\n');
  const done = () => `${lines.join('\n')}\n`;
  const items = itemsOf(lines);
  const same = items.find((it) => it.file === file);
  if (same) {
    lines[same.start] = lines[same.start].replace(`[${same.title}](${file})`, `[${title}](${file})`);
    return done();
  }
  if (lines.some((l) => l.includes(`](${file})`))) return done();
  if (items.length) {
    // The list the first runbook link belongs to: the items at its indentation that follow each other.
    const list: Item[] = [items[0]];
    for (const it of items.slice(1)) if (it.indent === list[0].indent && it.start === list[list.length - 1].end) list.push(it);
    const after = list.find((it) => byTitle(it.title, title) > 0);
    lines.splice(after ? after.start : list[list.length - 1].end, 0, `${list[0].indent}- [${title}](${file})`);
    return done();
  }
  const entry = `- [${title}](${file})`;
  const start = lines.findIndex((l) => /^## Runbooks\s*$/i.test(l));
  if (start < 0) {
    lines.push('', '## Runbooks', '', entry);
    return done();
  }
  // A section with prose only: the list goes after what is there.
  let end = lines.findIndex((l, i) => i > start && HEADING.test(l));
  if (end < 0) end = lines.length;
  let at = end;
  while (at > start + 1 && lines[at - 1].trim() === '') at--;
  lines.splice(at, 0, '', entry, ...(at < lines.length && lines[at].trim() !== '' ? [''] : []));
  return done();
};

// ---------------------------------------------------------------- the generator

/** A list answer becomes Markdown list items; text stays text. */
const section = (value: string | string[], ordered: boolean): string =>
  Array.isArray(value) ? value.map((v, i) => `${ordered ? `${i + 1}.` : '-'} ${v.trim()}`).join('\n') : value.trim();

const check = (a: Answers, repo: RepoFacts): void => {
  if (!slugOf(a.title)) throw new UserError(`answers.title: gives an empty file name (got ${JSON.stringify(a.title)})`);
  if (!a.tasks.length) return;
  const known = taskNames(repo.root);
  if (!known.size) throw new UserError(`answers.tasks: no Taskfile.yaml in ${repo.root} to check the task names against`);
  for (const [i, t] of (a.tasks as string[]).entries()) {
    const name = t.split(/\s+/)[1];
    if (!known.has(name)) {
      const near = [...known].filter((k) => k.split(':')[0] === name.split(':')[0]).sort();
      throw new UserError(`answers.tasks[${i}]: no task "${name}" in Taskfile.yaml${near.length ? ` (${name.split(':')[0]} has ${near.join(', ')})` : ''} (got ${JSON.stringify(t)})`);
    }
  }
};

const plan = (a: Answers, repo: RepoFacts): Plan => {
  const slug = slugOf(a.title);
  const path = `${RUNBOOKS}/${slug}.md`;
  const ctx = {
    ...a,
    summary: a.summary?.trim(),
    symptoms: section(a.symptoms, false),
    diagnosis: section(a.diagnosis, true),
    resolution: section(a.resolution, true),
  };
  const link = posix.relative(posix.dirname(INDEX), path);
  return {
    target: `runbook ${slug}`,
    changes: settle(repo.root, [
      { path, after: render(G, 'runbook.md', ctx), owned: true },
      { path: INDEX, after: withRunbookLink(readIfExists(repo.root, INDEX), a.title.trim(), link), owned: false },
    ]),
    clusters: [],
  };
};

export const generator: Generator = {
  name: G,
  check,
  plan,
  // Markdown: nothing the validator reads.
  verify: false,
};
