import { hubError } from '../errors.js';

/**
 * Long-polls and event streams hold a connection and a subscription each. One key (or one
 * anonymous address) may hold at most `max` of them, so a buggy or hostile client cannot tie up
 * the hub's sockets and memory; the next one gets 429 with Retry-After.
 */
export class WaitingReaders {
  private readonly held = new Map<string, number>();

  constructor(private readonly max: number) {}

  /** Takes a place for `holder`; call the returned function exactly once to give it back. */
  acquire(holder: string): () => void {
    const n = this.held.get(holder) ?? 0;
    if (n >= this.max) {
      throw hubError(
        'TOO_MANY_WAITING_READERS',
        `at most ${this.max} long-polls or event streams per key at once`,
        {
          retryAfter: 1,
        },
      );
    }
    this.held.set(holder, n + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.held.get(holder) ?? 1) - 1;
      if (left <= 0) this.held.delete(holder);
      else this.held.set(holder, left);
    };
  }
}
