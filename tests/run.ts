// Runs every tests/*.test.ts as uvu does, in one process, so the summary covers all suites.
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const files = readdirSync(here)
  .filter((f) => f.endsWith('.test.ts'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();

const g = globalThis as any;
g.UVU_DEFER = 1;
g.UVU_QUEUE = [];
for (const [i, f] of files.entries()) {
  g.UVU_INDEX = i;
  g.UVU_QUEUE.push([f]);
  await import(pathToFileURL(join(here, f)).href);
}
const { exec } = await import('uvu');
await exec();
