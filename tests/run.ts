// Runs every tests/*.test.ts as uvu does, in one process, so the summary covers all suites and the suites
// share one cache (tests/helpers.ts). K8S_OPS_TEST_TIMES=1 prints each file's wall time at the end.
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

const times = new Map<string, number>();
if (process.env.K8S_OPS_TEST_TIMES) {
  for (const group of g.UVU_QUEUE as [string, ...(() => Promise<unknown>)[]][]) {
    const [file, ...suites] = group;
    group.splice(1, suites.length, ...suites.map((run) => async () => {
      const started = performance.now();
      try {
        return await run();
      } finally {
        times.set(file, (times.get(file) ?? 0) + performance.now() - started);
      }
    }));
  }
}
const { exec } = await import('uvu');
await exec();
if (times.size) {
  const rows = [...times].sort((a, b) => b[1] - a[1]);
  process.stderr.write(`${rows.map(([f, ms]) => `${(ms / 1000).toFixed(1).padStart(6)} s  ${f}`).join('\n')}\n`);
}
