import { UserError } from '../../src/lib/errors.ts';
import { io } from '../../src/lib/io.ts';
import { formatDuration } from './steps.ts';

/** Seconds between two polls; K8S_OPS_POLL_SECONDS overrides it (tests set 0). */
export const pollInterval = (): number => Number(io().env.K8S_OPS_POLL_SECONDS ?? 5) * 1000;

/**
 * Asks `check` until it answers true, or fails with what it was waiting for after `timeoutMs`
 * (K8S_OPS_TIMEOUT_SECONDS overrides every timeout).
 */
export const waitFor = async (what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> => {
  const { env, now, sleep } = io();
  if (env.K8S_OPS_TIMEOUT_SECONDS) timeoutMs = Number(env.K8S_OPS_TIMEOUT_SECONDS) * 1000;
  const deadline = now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (now() >= deadline) throw new UserError(`timed out after ${formatDuration(timeoutMs)} waiting for ${what}`);
    await sleep(pollInterval());
  }
};
