// Runs the tests/*.test.ts files (or those whose names contain an argument) in a few worker processes that
// share one cache (tests/helpers.ts), and prints one uvu summary for them all. The repository itself is
// validated once first, so every worker finds its renders cached; meanwhile the workers run the files that
// validate nothing (scripts against fakes, SOPS, the spawner). Each worker then takes the next file, largest
// first, and its output is printed whole when the file is done.
// --typecheck runs `tsc --noEmit` alongside, counted as one more test.
// K8S_OPS_TEST_WORKERS sets the number of workers (default: the CPUs, at least 2);
// K8S_OPS_TEST_TIMES=1 prints the warm-up's wall time and each file's wall and CPU time at the end (CPU: the
// worker's and its children's, the helper's that starts commands included).
import { execFile, fork, type ChildProcess } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { cacheArea } from '../src/lib/cache.ts';
import { keepNewest, scratchParent } from '../src/lib/fsutil.ts';
import { sha256 } from '../src/lib/hash.ts';
import { helperPid } from '../src/lib/spawner.ts';

const here = dirname(fileURLToPath(import.meta.url));
const self = fileURLToPath(import.meta.url);

interface Done {
  file: string;
  out: string;
  failed: boolean;
  ms: number;
  /** CPU seconds of the worker and of the processes it waited for (Linux; 0 elsewhere). */
  cpu: number;
}

/** This process's CPU seconds plus those of its finished children, from /proc (Linux). */
const cpuSeconds = (): number => {
  const helper = helperPid();
  return processCpu('self') + (helper === undefined ? 0 : processCpu(String(helper)));
};

/** A process's CPU seconds and its finished children's (the helper that starts commands is one to add). */
const processCpu = (pid: string): number => {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
    return fields.slice(11, 15).reduce((s, f) => s + Number(f), 0) / 100;
  } catch {
    return 0;
  }
};

/** A worker: runs each file it is sent with uvu and answers with the file's whole output. */
const worker = async (): Promise<void> => {
  const g = globalThis as any;
  g.UVU_DEFER = 1;
  const { exec } = await import('uvu');
  process.on('message', async (file: string) => {
    g.UVU_QUEUE = [[file]];
    g.UVU_INDEX = 0;
    let out = '';
    const write = process.stdout.write;
    process.stdout.write = ((chunk: string | Uint8Array) => {
      out += String(chunk);
      return true;
    }) as typeof process.stdout.write;
    const started = performance.now();
    const cpuBefore = cpuSeconds();
    let failed = false;
    try {
      process.exitCode = 0;
      await import(pathToFileURL(join(here, file)).href);
      await exec();
      failed = process.exitCode === 1;
    } catch (e) {
      out += `\n${file}\n  could not run: ${(e as Error).stack ?? e}\n`;
      failed = true;
    } finally {
      process.stdout.write = write;
      process.exitCode = 0;
    }
    process.send!({ file, out, failed, ms: performance.now() - started, cpu: cpuSeconds() - cpuBefore } satisfies Done);
  });
  // Told there is no more: leave, even if a test left a timer or a socket behind.
  process.on('disconnect', () => process.exit(0));
  process.send!('ready');
};

// Workers print without colours (NO_COLOR): their summaries are parsed and summed into one.
const SUMMARY = /\n {2}Total: +(\d+)\n {2}Passed: +(\d+)\n {2}Skipped: +(\d+)\n {2}Duration: +[^\n]*\n*$/;

/** `tsc --noEmit`, started beside the warm-up below (it takes a few seconds). Resolves to its output when it fails. */
const typecheck = (): Promise<string | undefined> =>
  new Promise((done) => {
    const tsc = fileURLToPath(new URL('../node_modules/typescript/bin/tsc', import.meta.url));
    execFile(process.execPath, [tsc, '--noEmit'], { cwd: join(here, '..'), maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) =>
      done(err ? `${stdout}${stderr}`.trim() || String(err.message) : undefined),
    );
  });

const main = async (): Promise<void> => {
  const args = process.argv.slice(2);
  const typeErrors = args.includes('--typecheck') ? typecheck() : undefined;
  const only = args.filter((a) => a !== '--typecheck');
  const files = readdirSync(here)
    .filter((f) => f.endsWith('.test.ts'))
    .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
    .sort((a, b) => statSync(join(here, b)).size - statSync(join(here, a)).size || a.localeCompare(b));
  const started = performance.now();
  // The tests' temporary folders (scratch repositories, the shared cache) go below one (K8S_OPS_TEST_TMP), in
  // memory where the machine has room (a run peaks at about 320 MiB) and lets the stand-in tools written there
  // run, removed when the run ends, however it ends; a K8S_OPS_CACHE_DIR given stays. TMPDIR stays as it is:
  // tsx keeps its compiled files there.
  const scratch = mkdtempSync(join(scratchParent(1024 ** 3, true), 'k8s-ops-tests-'));
  const removeScratch = () => rmSync(scratch, { recursive: true, force: true });
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    process.once(signal, () => {
      removeScratch();
      process.exit(code);
    });
  }
  if (!process.env.K8S_OPS_CACHE_DIR) {
    process.env.K8S_OPS_CACHE_DIR = join(scratch, 'cache');
    keepValidatorsBetweenRuns(process.env.K8S_OPS_CACHE_DIR);
  }
  process.env.K8S_OPS_TEST_TMP = scratch;
  try {
    await runFiles(files, typeErrors, started);
  } finally {
    removeScratch();
  }
};

/**
 * The compiled schema validators outlive the run, in TMPDIR beside tsx's compiled files: code made from the
 * schemas, their load-time patches and ajv, whose making is most of the warm-up. The folder is named after
 * the cache area's version and the sources that make the code (a change to any starts a new one), and used
 * only when it is this user's alone. Everything else the tests cache starts empty in each run.
 */
const keepValidatorsBetweenRuns = (cacheDir: string): void => {
  const area = cacheArea(cacheDir, 'validators').dir;
  const root = join(here, '..');
  const sources = [
    ...readdirSync(join(root, 'src/validate')).filter((f) => f.startsWith('schema')).map((f) => join(root, 'src/validate', f)),
    ...['src/lib/compiled-schemas.ts', 'src/lib/toolkit-schemas.ts', 'package-lock.json'].map((f) => join(root, f)),
  ];
  const made = sha256(...sources.map((f) => readFileSync(f, 'utf8'))).slice(0, 16);
  const prefix = `k8s-ops-test-${basename(area)}-${process.getuid?.() ?? 'user'}-`;
  const kept = join(tmpdir(), `${prefix}${made}`);
  // Code from there is run, and folders of other sources are removed: only this user's own count.
  const ours = (path: string): boolean => {
    const st = lstatSync(path, { throwIfNoEntry: false });
    return !!st && st.isDirectory() && (!process.getuid || st.uid === process.getuid()) && !(st.mode & 0o022);
  };
  try {
    if (!existsSync(kept)) mkdirSync(kept, { mode: 0o700 });
    if (!ours(kept)) return;
    utimesSync(kept, new Date(), new Date());
    // Those of other sources (about 80 MB each): the two newest stay beside this one, for runs of other checkouts.
    keepNewest(tmpdir(), 3, (f) => f.startsWith(prefix) && ours(join(tmpdir(), f)));
    mkdirSync(dirname(area), { recursive: true });
    symlinkSync(kept, area);
  } catch {
    // Only a cache: without it, this run compiles its validators.
  }
};

/**
 * Whether a test file can run before the warm-up is done: it neither validates a repository nor runs a
 * generator (directly, or through the helpers that do). A file this misjudges only costs time: it compiles
 * or builds for itself what the warm-up is making (the cache takes both writes).
 */
const USES_WARM_UP = /\b(validateRepository|validateScratch|scratchRepo|fixtureRepo|generate|plop|runNode|CACHE|ownCache)\b|from '\.\.\/(src\/(validate|rollout|audit|graph)|generators)\//;
const independent = (file: string): boolean => !USES_WARM_UP.test(readFileSync(join(here, file), 'utf8'));

/** The warm-up beside the files that do not need it, then every other file, then the summary; `typeErrors`: the type-check under way. */
const runFiles = async (files: string[], typeErrors: Promise<string | undefined> | undefined, started: number): Promise<void> => {
  // The shared cache folder, and the repository's renders and compiled schemas in it, with V8's code cache
  // of each schema written now rather than when this process ends, for the workers.
  const { CACHE, ROOT, SCHEMAS } = await import('./helpers.ts');
  const { validateRepository } = await import('../src/validate/pipeline.ts');
  const { writeCodeCaches } = await import('../src/lib/compiled-schemas.ts');
  let warmUp: number | undefined;
  const warm = validateRepository({ repo: ROOT, schemaDirs: SCHEMAS, cacheDir: CACHE }).then(() => {
    writeCodeCaches();
    warmUp = (performance.now() - started) / 1000;
  });
  // Awaited below (a failure fails the run there), not left to crash this process while workers run.
  warm.catch(() => {});

  const count = Math.min(files.length, Number(process.env.K8S_OPS_TEST_WORKERS) || Math.max(2, availableParallelism()));
  const queue = [...files];
  const early = files.filter(independent);
  const totals = { total: 0, passed: 0, skipped: 0, failedFiles: 0 };
  const times = new Map<string, { ms: number; cpu: number }>();

  /** The next file for a worker: one that needs no warm-up while it runs, else any once it is done. */
  const next = async (): Promise<string | undefined> => {
    if (warmUp === undefined) {
      const file = early.shift();
      if (file) {
        queue.splice(queue.indexOf(file), 1);
        return file;
      }
      await warm;
    }
    return queue.shift();
  };
  const take = async (child: ChildProcess): Promise<string | undefined> => {
    const file = await next();
    if (!child.connected) {
      // The worker died while waiting for the warm-up: the file goes back for another.
      if (file) queue.unshift(file);
      return undefined;
    }
    if (file) child.send(file);
    else child.disconnect();
    return file;
  };
  const runWorker = () =>
    new Promise<void>((resolve) => {
      const child = fork(self, [], { env: { ...process.env, K8S_OPS_TEST_WORKER: '1', NO_COLOR: '1' }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      let current: string | undefined;
      child.on('message', (m: 'ready' | Done) => {
        if (m !== 'ready') {
          current = undefined;
          const text = m.out;
          const summary = SUMMARY.exec(text);
          process.stdout.write(`${summary ? text.slice(0, summary.index) : text}\n`);
          if (summary) {
            totals.total += Number(summary[1]);
            totals.passed += Number(summary[2]);
            totals.skipped += Number(summary[3]);
          }
          if (m.failed || !summary) totals.failedFiles++;
          times.set(m.file, { ms: m.ms, cpu: m.cpu });
        }
        take(child).then(
          (file) => (current = file),
          () => child.disconnect(),
        );
      });
      child.on('exit', (code) => {
        if (current) {
          // The worker died inside a file: that file failed, whatever it had passed.
          process.stdout.write(`\n${current}\n  the worker running it exited (${code})\n`);
          totals.total++;
          totals.failedFiles++;
        }
        resolve();
      });
    });
  await Promise.all(Array.from({ length: count }, runWorker));
  // A warm-up that failed fails the run here, once the workers are gone.
  await warm;
  if (queue.length) {
    process.stdout.write(`\n${queue.join(', ')}\n  not run: every worker exited\n`);
    totals.total += queue.length;
    totals.failedFiles += queue.length;
  }
  if (typeErrors) {
    const typeFailure = await typeErrors;
    totals.total++;
    if (typeFailure) {
      process.stdout.write(`\ntsc --noEmit\n${typeFailure}\n`);
      totals.failedFiles++;
    } else totals.passed++;
  }

  const seconds = ((performance.now() - started) / 1000).toFixed(2);
  process.stdout.write(`\n  Total:     ${totals.total}\n  Passed:    ${totals.passed}\n  Skipped:   ${totals.skipped}\n  Duration:  ${seconds}s (${count} workers)\n\n`);
  if (process.env.K8S_OPS_TEST_TIMES) {
    const rows = [...times].sort((a, b) => b[1].ms - a[1].ms);
    const cpu = rows.reduce((s, [, t]) => s + t.cpu, 0);
    process.stderr.write(`  warm-up: ${warmUp?.toFixed(1)} s\n  wall      CPU\n${rows.map(([f, t]) => `${(t.ms / 1000).toFixed(1).padStart(6)} s ${t.cpu.toFixed(1).padStart(6)} s  ${f}`).join('\n')}\n  files' CPU: ${cpu.toFixed(0)} s\n`);
  }
  if (totals.failedFiles || totals.passed + totals.skipped < totals.total) process.exitCode = 1;
};

await (process.env.K8S_OPS_TEST_WORKER ? worker() : main());
