import { UserError } from '../../src/lib/errors.ts';
import { io } from '../../src/lib/io.ts';

/** A destructive action goes ahead only when the operator types `expected` exactly. */
export const confirmTyped = async (action: string, expected: string): Promise<void> => {
  const answer = await io().readLine(`${action}\nType "${expected}" to continue: `);
  if (answer !== expected) throw new UserError(`not confirmed (typed "${answer}", expected "${expected}"): nothing was changed`);
};
