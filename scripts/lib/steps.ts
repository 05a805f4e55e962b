import { CommandError, UserError } from '../../src/lib/errors.ts';
import { io } from '../../src/lib/io.ts';

/** Why a step has nothing to do (it is skipped), or false when it has work. */
export type SkipCheck = () => Promise<string | false>;

export interface StepOptions {
  /** What the step does, for the plan that --dry-run prints. */
  describe: string;
  skipIf?: SkipCheck;
}

interface Step extends StepOptions {
  name: string;
  fn: () => Promise<void>;
}

export interface RunnerOptions {
  /** Printed above the plan and the steps, e.g. "bootstrap infra". */
  title: string;
  dryRun: boolean;
  /** Resume at this step: the ones before it are not run. */
  from?: string;
  /** The time the whole run should fit in, and where that figure comes from (e.g. "the bootstrap target"). */
  budgetMs: number;
  budgetSource?: string;
  write?: (line: string) => void;
  now?: () => number;
}

/** A step failed: one line naming it and the exit code of the command that failed, if any. */
export class StepError extends UserError {
  constructor(
    readonly step: string,
    cause: Error,
  ) {
    super(`step ${step} failed: ${cause.message}`, cause instanceof CommandError || cause instanceof UserError ? cause.exitCode || 1 : 1);
    this.name = 'StepError';
  }
}

export const formatDuration = (ms: number): string => {
  const s = Math.round(ms / 100) / 10;
  if (s < 60) return `${s.toFixed(1)}s`;
  const whole = Math.round(ms / 1000);
  return `${Math.floor(whole / 60)}m${String(whole % 60).padStart(2, '0')}s`;
};

/**
 * Named steps run in order. Each prints its name, is skipped when its skipIf says the work is already
 * done, and is timed; the first failure stops the run with the step's name. --dry-run prints the plan
 * and runs nothing (skip checks included, since they ask the tools too); --from resumes at a step.
 */
export const createRunner = (opts: RunnerOptions) => {
  const steps: Step[] = [];
  const write = opts.write ?? ((line: string) => io().out(`${line}\n`));
  const now = opts.now ?? (() => io().now());

  const step = (name: string, fn: () => Promise<void>, options: StepOptions): void => {
    steps.push({ name, fn, ...options });
  };

  const names = (): string[] => steps.map((s) => s.name);

  /** The steps that will run: all of them, or those from --from on. Throws for an unknown --from. */
  const selected = (): string[] => {
    if (opts.from === undefined) return names();
    const at = names().indexOf(opts.from);
    if (at < 0) throw new UserError(`--from ${opts.from}: no such step; the steps are ${names().join(', ')}`, 2);
    return names().slice(at);
  };

  const run = async (): Promise<void> => {
    const chosen = new Set(selected());
    const width = Math.max(...steps.map((s) => s.name.length));
    const source = opts.budgetSource ? ` (${opts.budgetSource})` : '';
    const budget = formatDuration(opts.budgetMs);
    if (opts.dryRun) {
      write(`${opts.title}: plan (dry run, nothing is executed)`);
      steps.forEach((s, i) => {
        const note = chosen.has(s.name) ? '' : '  [before --from: not run]';
        write(`  ${String(i + 1).padStart(2)}. ${s.name.padEnd(width)}  ${s.describe}${note}`);
      });
      const skips = steps.some((s) => s.skipIf) ? 'Each step is skipped when the cluster shows it is already done. ' : '';
      write(`${skips}Budget: ${budget}${source}.`);
      return;
    }
    const started = now();
    write(`${opts.title}: ${chosen.size} of ${steps.length} steps, budget ${budget}${source}`);
    for (const [i, s] of steps.entries()) {
      const label = `[${i + 1}/${steps.length}] ${s.name}`;
      if (!chosen.has(s.name)) {
        write(`${label}: not run (before --from ${opts.from})`);
        continue;
      }
      const t0 = now();
      write(`${label}: ${s.describe}`);
      try {
        const done = s.skipIf ? await s.skipIf() : false;
        if (done) {
          write(`${label}: skipped, ${done} (${formatDuration(now() - t0)})`);
          continue;
        }
        await s.fn();
      } catch (e) {
        if (e instanceof CommandError || e instanceof UserError) throw new StepError(s.name, e);
        throw e;
      }
      write(`${label}: done in ${formatDuration(now() - t0)}`);
    }
    const total = now() - started;
    const verdict = total <= opts.budgetMs ? 'within' : 'OVER';
    write(`${opts.title}: finished in ${formatDuration(total)}, ${verdict} the ${budget} budget${source}`);
  };

  return { step, names, selected, run };
};
