// scripts/lib: the step runner, flag parsing and manifest helpers the scripts share.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseFlags } from '../src/lib/cli.ts';
import { CommandError, UserError } from '../src/lib/errors.ts';
import { whichOnPath } from '../src/lib/io.ts';
import { crdsOnly } from '../scripts/lib/manifests.ts';
import { createRunner, formatDuration, StepError } from '../scripts/lib/steps.ts';

const test = suite('scripts lib');

/** A runner whose clock advances one second per reading, writing into `lines`. */
const runnerFor = (opts: { dryRun?: boolean; from?: string; budgetMs?: number } = {}) => {
  const lines: string[] = [];
  let clock = 0;
  const runner = createRunner({ title: 'demo', dryRun: false, budgetMs: 60_000, budgetSource: 'the bootstrap target', ...opts, write: (l) => lines.push(l), now: () => (clock += 1000) });
  return { runner, lines };
};

test('steps run in order, print their timing and the total against the budget', async () => {
  const { runner, lines } = runnerFor();
  const ran: string[] = [];
  runner.step('one', async () => void ran.push('one'), { describe: 'first' });
  runner.step('two', async () => void ran.push('two'), { describe: 'second', skipIf: async () => 'already there' });
  runner.step('three', async () => void ran.push('three'), { describe: 'third', skipIf: async () => false });
  await runner.run();
  assert.equal(ran, ['one', 'three']);
  assert.equal(lines, [
    'demo: 3 of 3 steps, budget 1m00s (the bootstrap target)',
    '[1/3] one: first',
    '[1/3] one: done in 1.0s',
    '[2/3] two: second',
    '[2/3] two: skipped, already there (1.0s)',
    '[3/3] three: third',
    '[3/3] three: done in 1.0s',
    'demo: finished in 7.0s, within the 1m00s budget (the bootstrap target)',
  ]);
});

test('a run over its budget says so', async () => {
  const { runner, lines } = runnerFor({ budgetMs: 2000 });
  runner.step('slow', async () => {}, { describe: 'slow' });
  await runner.run();
  assert.is(lines.at(-1), 'demo: finished in 3.0s, OVER the 2.0s budget (the bootstrap target)');
});

test('--dry-run prints the plan and calls neither the steps nor their skip checks', async () => {
  const { runner, lines } = runnerFor({ dryRun: true, from: 'two' });
  const called: string[] = [];
  runner.step('one', async () => void called.push('one'), { describe: 'first', skipIf: async () => (called.push('check'), false) });
  runner.step('two', async () => void called.push('two'), { describe: 'second' });
  await runner.run();
  assert.equal(called, []);
  assert.equal(lines, [
    'demo: plan (dry run, nothing is executed)',
    '   1. one  first  [before --from: not run]',
    '   2. two  second',
    'Each step is skipped when the cluster shows it is already done. Budget: 1m00s (the bootstrap target).',
  ]);
});

test('--from skips the earlier steps and rejects an unknown step', async () => {
  const { runner, lines } = runnerFor({ from: 'two' });
  const ran: string[] = [];
  runner.step('one', async () => void ran.push('one'), { describe: 'first' });
  runner.step('two', async () => void ran.push('two'), { describe: 'second' });
  await runner.run();
  assert.equal(ran, ['two']);
  assert.is(lines[1], '[1/2] one: not run (before --from two)');
  const bad = runnerFor({ from: 'nope' }).runner;
  bad.step('one', async () => {}, { describe: 'first' });
  try {
    bad.selected();
    assert.unreachable();
  } catch (e) {
    assert.instance(e, UserError);
    assert.is((e as UserError).exitCode, 2);
    assert.is((e as Error).message, '--from nope: no such step; the steps are one');
  }
});

test('the first failure stops the run, naming the step and the exit code', async () => {
  const { runner } = runnerFor();
  const ran: string[] = [];
  runner.step('one', async () => {
    throw new CommandError('helmfile', 3);
  }, { describe: 'first' });
  runner.step('two', async () => void ran.push('two'), { describe: 'second' });
  try {
    await runner.run();
    assert.unreachable();
  } catch (e) {
    assert.instance(e, StepError);
    assert.is((e as StepError).message, 'step one failed: helmfile exited with code 3');
    assert.is((e as StepError).exitCode, 3);
  }
  assert.equal(ran, []);
});

test('an unexpected error is not dressed up as a step failure', async () => {
  const { runner } = runnerFor();
  runner.step('one', async () => {
    throw new TypeError('bug');
  }, { describe: 'first' });
  try {
    await runner.run();
    assert.unreachable();
  } catch (e) {
    assert.instance(e, TypeError);
  }
});

test('flags: values, enums, required and unknown flags', () => {
  const spec = {
    cluster: { type: 'string' as const, values: ['infra', 'apps'], required: true, description: 'c' },
    'dry-run': { type: 'boolean' as const, description: 'd' },
  };
  assert.equal(parseFlags(['--cluster', 'apps'], 'usage', spec), { cluster: 'apps', 'dry-run': false, _: [] });
  const error = (argv: string[]) => {
    try {
      parseFlags(argv, 'usage', spec);
    } catch (e) {
      return [(e as UserError).exitCode, (e as Error).message];
    }
    return undefined;
  };
  assert.equal(error([]), [2, '--cluster is required (see --help)']);
  assert.equal(error(['--cluster', 'prod']), [2, '--cluster must be one of infra, apps, not "prod"']);
  assert.equal(error(['--cluster', 'infra', '--force'])?.[0], 2);
});

test('crdsOnly keeps the CustomResourceDefinitions of a stream', () => {
  const { names, yaml } = crdsOnly(
    '---\napiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: a.example.com\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n---\n# Source: chart/crds/b.yaml\napiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: b.example.com\n',
  );
  assert.equal(names, ['a.example.com', 'b.example.com']);
  assert.not.match(yaml, /ConfigMap/);
  assert.is(yaml.match(/^---$/gm)?.length, 2);
});

test('durations and PATH lookups', () => {
  assert.is(formatDuration(1234), '1.2s');
  assert.is(formatDuration(125_000), '2m05s');
  assert.is(whichOnPath('sh', '/nonexistent:/bin:/usr/bin')?.endsWith('/sh'), true);
  assert.is(whichOnPath('no-such-cli-here', '/bin:/usr/bin'), undefined);
});

test.run();
