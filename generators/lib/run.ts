import type { NodePlopAPI } from 'plop';
import { UserError } from '../../src/lib/errors.ts';
import { applyField, loadAnswersFile, loadSchema, parseGeneratorArgs, validateAnswers, type Answers, type GeneratorArgs } from './answers.ts';
import { describePlan, writePlan, type Plan } from './plan.ts';
import { askMissing } from './prompts.ts';
import { readRepo, type RepoFacts } from './repo.ts';
import { verifyPlan } from './verify.ts';

/** A generator: answers checked by its schema and against the repository, then a plan of files. */
export interface Generator {
  name: string;
  /** Checks that need the repository (unknown cluster, duplicate id, ...): throw a UserError naming the field. */
  check?: (answers: Answers, repo: RepoFacts) => void | Promise<void>;
  plan: (answers: Answers, repo: RepoFacts) => Plan | Promise<Plan>;
  /** Validate the would-be tree before writing (false for files the validator does not read, like runbooks). */
  verify?: boolean;
}

export interface Outcome {
  plan: Plan;
  written: boolean;
  message: string;
}

/** Everything after the answers are known: check, plan, refuse or show or verify, then write all at once. */
export const generate = async (gen: Generator, input: Answers, args: Pick<GeneratorArgs, 'dryRun' | 'force'>, root: string): Promise<Outcome> => {
  const answers = await validateAnswers(loadSchema(gen.name), structuredClone(input));
  const repo = await readRepo(root);
  await gen.check?.(answers, repo);
  const plan = await gen.plan(answers, repo);
  if (plan.changes.length === 0) return { plan, written: false, message: `${plan.target} is up to date: nothing to change` };
  const overwrites = plan.changes.filter((c) => c.owned && c.before !== undefined);
  if (args.dryRun) {
    const shown = `dry run, nothing written; ${plan.target} would change:\n${describePlan(plan, true)}`;
    // The plan is shown either way; a dry run also says whether the real run would be refused.
    if (gen.verify !== false) {
      try {
        await verifyPlan(root, plan);
      } catch (e) {
        if (e instanceof UserError) process.stdout.write(`${shown}\n`);
        throw e;
      }
    }
    return { plan, written: false, message: `${shown}\n${gen.verify === false ? '' : 'checked: the affected clusters still validate'}`.trimEnd() };
  }
  if (overwrites.length && !args.force) {
    throw new UserError(
      `answers.name: ${plan.target} already exists with other content (${overwrites.map((c) => c.path).join(', ')}); rerun with --force to overwrite, --dry-run to see the diff`,
    );
  }
  if (gen.verify !== false) await verifyPlan(root, plan);
  writePlan(root, plan);
  const shown = overwrites.length ? describePlan(plan, true) : describePlan(plan, false);
  return { plan, written: true, message: `${plan.target}: ${plan.changes.length} file${plan.changes.length === 1 ? '' : 's'} written\n${shown}` };
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
    process.stderr.write(`${e.message.split('\n').map((l) => (l.startsWith('  ') ? l : `error: ${l}`)).join('\n')}\n`);
    process.exit(e.exitCode === 2 ? 1 : e.exitCode);
  }
  throw e;
};
