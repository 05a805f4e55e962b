/**
 * The toolkit's exit codes, the same for the validator, the generators and the scripts:
 * 0 done (or clean), 1 refused or findings, 2 a usage error, 3 a bug (printed with its stack trace).
 */
export const EXIT = { ok: 0, refused: 1, usage: 2, bug: 3 } as const;

/** A mistake or a state the user can fix: printed as one line, never with a stack trace. */
export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.refused,
  ) {
    super(message);
    this.name = 'UserError';
  }
}

/** The command line itself is wrong: an unknown flag, a missing or malformed argument. */
export class UsageError extends UserError {
  constructor(message: string) {
    super(message, EXIT.usage);
    this.name = 'UsageError';
  }
}

/** An external command that exited non-zero; its own output has already said why, or is in `stderr` when it was captured. */
export class CommandError extends UserError {
  constructor(
    readonly command: string,
    exitCode: number,
    readonly stderr = '',
  ) {
    super(`${command} exited with code ${exitCode}`, exitCode || EXIT.refused);
    this.name = 'CommandError';
  }
}
