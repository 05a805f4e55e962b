import { UserError as ToolkitUserError } from '../../src/lib/errors.ts';

/** A mistake or state the operator can fix: printed as one line, without a stack trace. */
export class UserError extends ToolkitUserError {
  constructor(message: string, exitCode = 1) {
    super(message, exitCode);
  }
}

/** A command that exited non-zero. */
export class CommandError extends Error {
  constructor(
    readonly command: string,
    readonly exitCode: number,
  ) {
    super(`${command} exited with code ${exitCode}`);
    this.name = 'CommandError';
  }
}

/**
 * Runs a script's main function: a UserError (or a CommandError outside a step) ends the process with
 * one line on stderr and its exit code; anything else is a bug and keeps its stack trace.
 */
export const runMain = async (name: string, main: () => Promise<void>): Promise<void> => {
  try {
    await main();
  } catch (e) {
    // The toolkit's own libraries (sops, age) throw its UserError, of which ours is one.
    if (e instanceof ToolkitUserError || e instanceof CommandError) {
      process.stderr.write(`${name}: ${e.message}\n`);
      process.exitCode = e.exitCode || 1;
      return;
    }
    throw e;
  }
};
