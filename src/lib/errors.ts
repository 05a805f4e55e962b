/** A mistake of the user's: printed as one line, never with a stack trace. */
export class UserError extends Error {
  constructor(message: string, readonly exitCode = 2) {
    super(message);
    this.name = 'UserError';
  }
}

export const runMain = (main: () => Promise<number | void>): void => {
  main().then(
    (code) => process.exit(code ?? 0),
    (err) => {
      if (err instanceof UserError) {
        process.stderr.write(`error: ${err.message}\n`);
        process.exit(err.exitCode);
      }
      process.stderr.write(`${err?.stack ?? err}\n`);
      process.exit(3);
    },
  );
};
