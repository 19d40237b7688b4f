/**
 * Per-key daily request quotas (API.md §1, §6): UTC calendar days, counted in memory by this hub
 * process. Counters reset at midnight UTC and are dropped for keys not seen that day.
 */
export interface QuotaState {
  readonly limit: number;
  readonly remaining: number;
  /** epoch seconds of the next reset */
  readonly reset: number;
  readonly allowed: boolean;
}

const DAY_MS = 86_400_000;

export class Quotas {
  private day = -1;
  private readonly used = new Map<string, number>();

  /** Counts one request of `keyHash` against `perDay`. */
  take(keyHash: string, perDay: number, now = Date.now()): QuotaState {
    const day = Math.floor(now / DAY_MS);
    if (day !== this.day) {
      this.day = day;
      this.used.clear();
    }
    const reset = ((day + 1) * DAY_MS) / 1000;
    const used = this.used.get(keyHash) ?? 0;
    if (used >= perDay) return { limit: perDay, remaining: 0, reset, allowed: false };
    this.used.set(keyHash, used + 1);
    return { limit: perDay, remaining: perDay - used - 1, reset, allowed: true };
  }
}
