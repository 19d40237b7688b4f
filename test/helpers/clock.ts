import type { Clock } from '../../src/ops/clock.js';

/**
 * A clock that moves only when a test says so: the scheduler's timers fire when `advanceTo` passes
 * their time, each with `now()` at its own time, so a due time of next week is reached at once.
 */
export class FakeClock implements Clock {
  private t: number;
  private nextId = 1;
  private readonly timers = new Map<number, { at: number; fn: () => void }>();

  constructor(start: string | number) {
    this.t = typeof start === 'number' ? start : Date.parse(start);
  }

  now(): number {
    return this.t;
  }

  setTimer(fn: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.timers.set(id, { at: this.t + Math.max(0, ms), fn });
    return id;
  }

  clearTimer(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  /** The times timers are set for, ascending. */
  pending(): number[] {
    return [...this.timers.values()].map((t) => t.at).sort((a, b) => a - b);
  }

  /** Moves to `to` (ISO or ms), firing every timer due on the way in time order. */
  advanceTo(to: string | number): void {
    const target = typeof to === 'number' ? to : Date.parse(to);
    for (;;) {
      let first: [number, { at: number; fn: () => void }] | undefined;
      for (const entry of this.timers)
        if (entry[1].at <= target && (!first || entry[1].at < first[1].at)) first = entry;
      if (!first) break;
      this.timers.delete(first[0]);
      this.t = Math.max(this.t, first[1].at);
      first[1].fn();
    }
    this.t = Math.max(this.t, target);
  }
}
