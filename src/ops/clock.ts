/**
 * The time background work reads and waits on. The hub runs on the system clock; tests pass a
 * fake one (test/helpers/clock.ts) to reach a due time of next week without waiting for it.
 */
export interface Clock {
  now(): number;
  /** calls `fn` once `ms` have passed on this clock; the handle goes to clearTimer */
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer: (fn, ms) => setTimeout(fn, ms),
  clearTimer: (handle) => clearTimeout(handle as NodeJS.Timeout | undefined),
};
