import type { Store } from '../store/types.js';

/**
 * Per-key daily request quotas (docs/datasets.md#quotas): UTC calendar days. The count lives in the store
 * (an aux entry of the dataset, counted atomically), so it survives a restart and is shared by
 * every hub process on a PostgreSQL store: restarting the hub or adding a process does not give a
 * key a fresh day. A renewed key starts its own count; a deleted dataset takes its counts along.
 */
export interface QuotaState {
  readonly limit: number;
  readonly remaining: number;
  /** epoch seconds of the next reset */
  readonly reset: number;
  readonly allowed: boolean;
}

const DAY_MS = 86_400_000;
/** the aux namespace of the counts, keyed by key hash */
export const QUOTA_NS = 'quota';

export class Quotas {
  constructor(private readonly store: Store) {}

  /** Counts one request of `keyHash` on `dataset` against `perDay`. */
  async take(dataset: string, keyHash: string, perDay: number, now = Date.now()): Promise<QuotaState> {
    const day = Math.floor(now / DAY_MS);
    const reset = ((day + 1) * DAY_MS) / 1000;
    const { used, allowed } = await this.store.auxCount(dataset, QUOTA_NS, keyHash, String(day), perDay);
    return { limit: perDay, remaining: Math.max(0, perDay - used), reset, allowed };
  }
}
