/**
 * Exponential backoff with jitter: attempt 1 waits about `baseMs`, each further attempt twice as
 * long, never more than `maxMs`. The jitter (50–100 %) keeps many hubs that lost the same upstream
 * from retrying in lockstep.
 */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(attempt - 1, 0), 30));
  return Math.round(exp * (0.5 + Math.random() / 2));
}

/** setTimeout accepts at most 2^31 − 1 ms; longer waits are re-armed by their callers. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export function clampTimer(ms: number): number {
  return Math.min(Math.max(0, Math.ceil(ms)), MAX_TIMER_MS);
}
