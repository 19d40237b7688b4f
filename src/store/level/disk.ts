import { statfs } from 'node:fs/promises';
import type { FaultKind } from '../faults.js';

/**
 * What a LevelDB failure says about the disk. classic-level reports every storage failure as
 * `LEVEL_IO_ERROR` with LevelDB's status text, e.g. "IO error: …/000028.log: No space left on
 * device"; the errno's words are all there is to go by.
 */
export function classifyLevelError(err: unknown): FaultKind | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (code === 'ENOSPC' || /No space left on device/i.test(e.message)) return 'disk-full';
    if (code === 'EIO' || code === 'LEVEL_IO_ERROR' || /^IO error:|Input\/output error/i.test(e.message))
      return 'io-error';
  }
  return undefined;
}

/** How old the cached free-space figure may be before a check starts a new statfs. */
const MAX_AGE_MS = 1_000;
/**
 * The same near the floor (less than NEAR_FLOOR_BYTES above it): a fast disk takes tens of MB in a
 * second, so a figure a second old would let a burst of pushes run from above the floor to a full
 * disk before the floor is seen.
 */
const NEAR_FLOOR_MAX_AGE_MS = 20;
const NEAR_FLOOR_BYTES = 64 * 1024 * 1024;

/**
 * Free space of the filesystem holding the data directory, from `statfs`, cached: pushes read the
 * cached figure (no syscall per request); a read older than a second starts one refresh in the
 * background (never more than one at a time).
 */
export class DiskMonitor {
  private free: number | undefined;
  private readAt = 0;
  private refreshing: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly path: string,
    /** pushes are refused while free space is below this (0: no floor) */
    readonly floorBytes: number,
  ) {}

  /** The cached figure (undefined before the first statfs answered). */
  freeBytes(): number | undefined {
    if (Date.now() - this.readAt > this.maxAgeMs()) void this.refresh();
    return this.free;
  }

  /** A figure at most a second old, waiting for a statfs if need be. */
  async freshFreeBytes(): Promise<number | undefined> {
    if (Date.now() - this.readAt > this.maxAgeMs()) await this.refresh();
    return this.free;
  }

  private maxAgeMs(): number {
    const near =
      this.floorBytes > 0 && this.free !== undefined && this.free < this.floorBytes + NEAR_FLOOR_BYTES;
    return near ? NEAR_FLOOR_MAX_AGE_MS : MAX_AGE_MS;
  }

  belowFloor(): boolean {
    if (this.floorBytes <= 0) return false;
    const free = this.freeBytes();
    return free !== undefined && free < this.floorBytes;
  }

  /** No statfs after this; resolves once the one in flight (if any) is done (it holds the path). */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.refreshing;
  }

  refresh(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.refreshing ??= statfs(this.path)
      .then(
        (s) => {
          this.free = s.bavail * s.bsize;
        },
        () => undefined, // an unreadable filesystem: keep the last figure; writes will say more
      )
      .finally(() => {
        this.readAt = Date.now();
        this.refreshing = undefined;
      });
    return this.refreshing;
  }
}
