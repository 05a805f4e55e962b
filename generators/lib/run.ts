import type { NodePlopAPI } from 'plop';
import { UserError } from '../../src/lib/errors.ts';
import { io } from '../../src/lib/io.ts';
import { reportFailure, type Main } from '../../src/lib/cli.ts';
import { applyField, loadAnswersFile, loadSchema, parseGeneratorArgs, validateAnswers, type Answers, type GeneratorArgs } from './answers.ts';
import { formatConflicts } from './merge.ts';
import { describePlan, readIfExists, writePlan, type Plan } from './plan.ts';
import { previousAnswers, updatePlan } from './update.ts';
import { askMissing } from './prompts.ts';
import { readRepo, type RepoFacts } from './repo.ts';
import { verifyPlan } from './verify.ts';

/** A generator: answers checked by its schema and against the repository, then a plan of files. */
export interface Generator {
  name: string;
  /** Checks that need the repository (unknown cluster, duplicate id, ...): throw a UserError naming the field. */
  check?: (answers: Answers, repo: RepoFacts) => void | Promise<void>;
  /** Every file as the answers render it (owned), the edits of shared files, and the answers record. */
  plan: (answers: Answers, repo: RepoFacts) => Plan | Promise<Plan>;
  /** Answers written once, when the thing is created, and never again (free-form chart values). */
  creationOnly?: string[];
  /**
   * Checks the settled plan before anything is written: the affected clusters validate on the would-be tree
   * (the default), a check of the generator's own, or none (files the validator does not read).
   */
  verify?: false | ((root: string, plan: Plan, answers: Answers) => Promise<void>);
}

export interface Outcome {
  plan: Plan;
  written: boolean;
  message: string;
}

const verifierOf = (gen: Generator) => (gen.verify === undefined ? verifyPlan : gen.verify || undefined);

/** Generates or updates: check, render, merge into what is on disk, refuse or show or verify, then write all at once. */
export const generate = async (gen: Generator, input: Answers, args: Pick<GeneratorArgs, 'dryRun' | 'force' | 'answersFile'>, root: string): Promise<Outcome> => {
  const schema = loadSchema(gen.name);
  const answers = await validateAnswers(schema, structuredClone(input));
  const repo = await readRepo(root);
  await gen.check?.(answers, repo);
  const rendered = await gen.plan(answers, repo);
  const previous = previousAnswers(root, rendered, args.answersFile);
  const exists = previous !== undefined || rendered.changes.some((c) => c.record && readIfExists(root, c.path) !== undefined);
  if (exists) {
    const given = (gen.creationOnly ?? []).filter((f) => input[f] !== undefined);
    if (given.length) {
      throw new UserError(
        given.map((f) => `answers.${f}: only taken when ${rendered.target} is created; it exists, so change these in its files (they are yours now) and leave ${f} out`).join('\n'),
      );
    }
  }
  const base = previous === undefined ? undefined : await gen.plan(await validateAnswers(schema, previous), repo);
  const { plan, conflicts } = updatePlan(root, rendered, base, Boolean(args.force));
  if (conflicts.length) {
    const files = [...new Set(conflicts.map((c) => c.file))].join(', ');
    // Files the generator did not make (or made without keeping answers): nothing says what it wrote then.
    const message = exists
      ? `${plan.target}: the update changes what was edited by hand; nothing was written (rerun with --force to take the update's side):\n${formatConflicts(conflicts)}`
      : `answers.name: ${plan.target} already exists with other content (${files}); rerun with --force to overwrite, --dry-run to see the diff`;
    if (args.dryRun) {
      const forced = updatePlan(root, rendered, base, true).plan;
      io().out(`dry run, nothing written; with --force, ${plan.target} would change:\n${describePlan(forced, true)}\n`);
    }
    throw new UserError(message);
  }
  if (plan.changes.length === 0) return { plan, written: false, message: `${plan.target} is up to date: nothing to change` };
  const verify = verifierOf(gen);
  if (args.dryRun) {
    const shown = `dry run, nothing written; ${plan.target} would change:\n${describePlan(plan, true)}`;
    // The plan is shown either way; a dry run also says whether the real run would be refused.
    if (verify) {
      try {
        await verify(root, plan, answers);
      } catch (e) {
        if (e instanceof UserError) io().out(`${shown}\n`);
        throw e;
      }
    }
    return { plan, written: false, message: `${shown}\n${verify ? 'checked: the affected clusters still validate' : ''}`.trimEnd() };
  }
  if (verify) await verify(root, plan, answers);
  writePlan(root, plan);
  const updated = plan.changes.some((c) => c.before !== undefined && c.owned);
  return { plan, written: true, message: `${plan.target}: ${plan.changes.length} file${plan.changes.length === 1 ? '' : 's'} written\n${describePlan(plan, updated)}` };
};

/** The answers: from --answers FILE and --field values, then prompts for the rest when a terminal is there. */
export const collectAnswers = async (gen: Generator, args: GeneratorArgs, inquirer?: any): Promise<Answers> => {
  const schema = loadSchema(gen.name);
  const answers: Answers = args.answersFile ? loadAnswersFile(args.answersFile) : {};
  for (const [path, value] of Object.entries(args.fields)) applyField(answers, path, value, schema);
  if (args.answersFile || !inquirer || !process.stdin.isTTY) return answers;
  return askMissing(inquirer, schema, answers);
};

/**
 * Registers a generator with plop. Prompts are a function, so plop leaves the arguments after `--` to us:
 * `--answers FILE`, `--dry-run`, `--force` and `--<field> value` for single fields. A failure exits 1
 * with one line per problem and nothing written.
 */
export const register = (plop: NodePlopAPI, name: string, description: string, load: () => Promise<Generator>): void => {
  const args = () => parseGeneratorArgs(process.argv);
  plop.setGenerator(name, {
    description,
    prompts: async (inquirer: any) => {
      try {
        return await collectAnswers(await load(), args(), inquirer);
      } catch (e) {
        return fail(e);
      }
    },
    actions: [
      async (answers: any) => {
        try {
          const { message } = await generate(await load(), answers, args(), process.cwd());
          return message;
        } catch (e) {
          return fail(e);
        }
      },
    ],
  });
};

const fail = (e: unknown): never => {
  if (e instanceof UserError) {
    process.exit(reportFailure(e, 'error: '));
  }
  throw e;
};

export const loadGenerator = async (name: string): Promise<Generator> => (await import(`../${name}.ts`)).generator;

/**
 * A generator as `npx plop <name> -- <argv>` runs it in `root`, without plop and without prompts: what the
 * tests call in-process, and what plop's action does after the prompts.
 */
export const generatorMain =
  (name: string, root: string): Main =>
  async (argv) => {
    const gen = await loadGenerator(name);
    const args = parseGeneratorArgs(['--', ...argv]);
    const answers = await collectAnswers(gen, args);
    const { message } = await generate(gen, answers, args, root);
    io().out(`${message}\n`);
  };
