/** Figures of repeated measurements: the median and the range, as the issue asks. */
export interface Summary {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly runs: readonly number[];
}

export function summarise(runs: readonly number[]): Summary {
  const sorted = [...runs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]!, runs: [...runs] };
}

/** The p-th percentile (0–100) of samples, nearest-rank. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

/** items per second of `count` items in `ms` milliseconds */
export const rate = (count: number, ms: number): number => (count * 1000) / ms;

/**
 * One repetition's steps in rotated order (rep 0: a, b, c; rep 1: b, c, a; …), so that no system
 * always runs first on a cold cache or last on a hot disk.
 */
export function rotated<T>(steps: readonly T[], rep: number): T[] {
  const k = ((rep % steps.length) + steps.length) % steps.length;
  return [...steps.slice(k), ...steps.slice(0, k)];
}

/** The name of a tail percentile of `count` samples: a p99 needs 100; fewer give their maximum. */
export function tailName(count: number, p = 99): string {
  return count * (100 - p) >= 100 ? `p${p}` : `max of ${count}`;
}

/** Runs the steps of repetition `rep` one after the other in rotated order. */
export async function runRotated(rep: number, steps: ReadonlyArray<() => Promise<void>>): Promise<void> {
  for (const step of rotated(steps, rep)) await step();
}
