import type { IngestedEvent } from './ingest.js';

/** One minute of a dataset's ingest: requests' records received and changes they made. */
export interface MinuteFigures {
  /** start of the minute, ms since epoch */
  readonly start: number;
  readonly received: number;
  readonly changes: number;
}

const MINUTE_MS = 60_000;

/** A ring of per-minute counters: slot `m % size` holds minute `m` while `minutes[slot] === m`. */
interface Ring {
  readonly minutes: Float64Array;
  readonly received: Float64Array;
  readonly changes: Float64Array;
  /** the newest minute recorded, to drop rings with nothing left to show */
  newest: number;
}

/**
 * How fast data came into each dataset over the last hour, per minute, as the console draws it. Kept
 * in memory, fed by the Ingestor's `ingested` events: it is a view of recent activity, not a
 * record (a restart starts it empty; each hub process counts what it received itself).
 *
 * Bounded: one ring of `size` minutes per dataset that received data within the window; a dataset
 * is dropped when it is deleted (`forget`) or when its newest minute leaves the window.
 */
export class IngestRates {
  private readonly rings = new Map<string, Ring>();
  private sweptMinute = 0;

  constructor(
    /** minutes kept per dataset */
    readonly size = 60,
  ) {}

  record(e: IngestedEvent): void {
    const minute = Math.floor(e.at / MINUTE_MS);
    this.sweep(minute);
    let ring = this.rings.get(e.dataset);
    if (!ring) {
      ring = {
        minutes: new Float64Array(this.size).fill(-1),
        received: new Float64Array(this.size),
        changes: new Float64Array(this.size),
        newest: minute,
      };
      this.rings.set(e.dataset, ring);
    }
    const slot = minute % this.size;
    if (ring.minutes[slot] !== minute) {
      // an event older than what the slot holds now (clock step back) is not worth a wrong figure
      if (ring.minutes[slot]! > minute) return;
      ring.minutes[slot] = minute;
      ring.received[slot] = 0;
      ring.changes[slot] = 0;
    }
    ring.received[slot]! += e.received;
    ring.changes[slot]! += e.changes;
    ring.newest = Math.max(ring.newest, minute);
  }

  /** The dataset is gone: its figures go with it. */
  forget(dataset: string): void {
    this.rings.delete(dataset);
  }

  /**
   * The last `size` minutes up to and including the one of `now`, oldest first, zeros where nothing
   * came. Minutes that ended before `since` (the dataset's creation: a dataset deleted and created
   * again, possibly through another hub process) count as zero.
   */
  series(dataset: string, now: number, since = 0): MinuteFigures[] {
    const last = Math.floor(now / MINUTE_MS);
    const ring = this.rings.get(dataset);
    const out: MinuteFigures[] = [];
    for (let m = last - this.size + 1; m <= last; m++) {
      const slot = ((m % this.size) + this.size) % this.size;
      const live = ring !== undefined && ring.minutes[slot] === m && (m + 1) * MINUTE_MS > since;
      out.push({
        start: m * MINUTE_MS,
        received: live ? ring.received[slot]! : 0,
        changes: live ? ring.changes[slot]! : 0,
      });
    }
    return out;
  }

  /** How many datasets have figures in memory (for tests of the bound). */
  get datasets(): number {
    return this.rings.size;
  }

  /** Once a minute at most: drop the rings whose newest minute is out of the window. */
  private sweep(minute: number): void {
    if (minute <= this.sweptMinute) return;
    this.sweptMinute = minute;
    for (const [name, ring] of this.rings) if (ring.newest <= minute - this.size) this.rings.delete(name);
  }
}
