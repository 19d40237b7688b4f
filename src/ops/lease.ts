import { randomUUID } from 'node:crypto';
import type { DatasetRecord, Store } from '../store/types.js';
import { opsStatus, updateOpsStatus } from './status.js';

/**
 * Which hub process runs a dataset's singleton background work (forwarding, scheduled pulls).
 * Several hub processes may share one store (the PostgreSQL engine); two forwarders of one dataset
 * could push an older batch after a newer one and leave the upstream stale, so exactly one process
 * holds the dataset's lease at a time. The lease lives in the dataset's attrs and is taken and
 * renewed with the store's read-modify-write, which is atomic across processes; a process that dies
 * loses it after `ttlMs`, and another takes over. With one process (LevelDB) it is always held.
 */
export class OpsLease {
  readonly holder = randomUUID();

  constructor(
    private readonly store: Store,
    private readonly ttlMs = 15_000,
  ) {}

  /** Takes or renews the lease of `dataset`; true when this process holds it now. */
  async hold(dataset: DatasetRecord): Promise<boolean> {
    const now = Date.now();
    const current = opsStatus(dataset, 'lease');
    const mine = current.holder === this.holder;
    const until = Number(current.until ?? 0);
    // held by another, unexpired: nothing to write
    if (!mine && until > now) return false;
    // ours with time to spare: no write either (renew at half-life)
    if (mine && until - now > this.ttlMs / 2) return true;
    let won = false;
    await updateOpsStatus(this.store, dataset.name, 'lease', (s) => {
      const t = Date.now();
      const theirs = s.holder !== undefined && s.holder !== this.holder && Number(s.until ?? 0) > t;
      won = !theirs;
      return theirs ? s : { holder: this.holder, until: t + this.ttlMs };
    });
    return won;
  }

  /** Gives the lease back (the hub stops), so another process need not wait for it to expire. */
  async release(name: string): Promise<void> {
    await updateOpsStatus(this.store, name, 'lease', (s) => (s.holder === this.holder ? {} : s));
  }
}
