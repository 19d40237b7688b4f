import { hubError } from '../errors.js';

/**
 * Bounds the memory taken by request bodies being read and processed at once. Every push body is
 * held in memory (at most 5 MiB, plus its parsed form) from the first byte until the write is
 * durable; under a flood, the hub refuses new bodies with 503 + Retry-After instead of buffering
 * without bound. A request is charged its declared length, or the 5 MiB limit when it declares none.
 */
export class BodyBudget {
  private used = 0;

  constructor(private readonly maxBytes: number) {}

  /** Charges `bytes`; returns the function that gives them back (call once, when the request ends). */
  acquire(bytes: number): () => void {
    if (this.used > 0 && this.used + bytes > this.maxBytes) {
      throw hubError('OVERLOADED', 'the hub is busy with other uploads; retry shortly', {
        retryAfter: 1,
      });
    }
    this.used += bytes;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.used -= bytes;
    };
  }
}
