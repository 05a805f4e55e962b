import { setTimeout as sleep } from 'node:timers/promises';
import { UserError } from './errors.ts';
import { formatDuration } from './steps.ts';

/** Seconds between two polls; K8S_OPS_POLL_SECONDS overrides it (tests set 0). */
export const pollInterval = (): number => Number(process.env.K8S_OPS_POLL_SECONDS ?? 5) * 1000;

/**
 * Asks `check` until it answers true, or fails with what it was waiting for after `timeoutMs`
 * (K8S_OPS_TIMEOUT_SECONDS overrides every timeout).
 */
export const waitFor = async (what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> => {
  if (process.env.K8S_OPS_TIMEOUT_SECONDS) timeoutMs = Number(process.env.K8S_OPS_TIMEOUT_SECONDS) * 1000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() >= deadline) throw new UserError(`timed out after ${formatDuration(timeoutMs)} waiting for ${what}`);
    await sleep(pollInterval());
  }
};
