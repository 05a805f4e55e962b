import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { walkFiles } from '../src/lib/fsutil.ts';
import { readRepo } from '../generators/lib/repo.ts';
import { driftOf } from '../generators/lib/update.ts';
import { formatConflicts } from '../generators/lib/merge.ts';
import { loadGenerator } from '../generators/lib/run.ts';
const ROOT = '/work/main';
const repo = await readRepo(ROOT);
for (const f of walkFiles(ROOT).filter((f) => f.endsWith('/.answers.yaml') && !f.includes('/tests/') && !f.includes('node_modules'))) {
  const text = readFileSync(f, 'utf8');
  const name = text.match(/^# Answers `npx plop (\w+)`/)?.[1];
  if (!name) { console.log('?', f); continue; }
  const gen = await loadGenerator(name);
  const d = driftOf(ROOT, await gen.plan(parse(text), repo));
  console.log(name, f.slice(ROOT.length + 1), d.length ? '\n' + formatConflicts(d) : 'ok');
}
