import type { KeyHead } from '../semantics.js';
import type { KeyReads } from '../writer.js';

/** Heads read for a queued append before its group ran (see RecentWrites). */
export interface EarlyReads extends KeyReads {
  readonly epoch: string;
  readonly incarnation: string;
  /** the dataset's RecentWrites generation when the read began */
  readonly generation: number;
}

/**
 * Lets an append read the heads it needs while the groups ahead of it are still being written,
 * instead of after (the reads then overlap the previous group's synced write: bench/, issue 8).
 *
 * A read that began in generation g may have missed what groups committed since then wrote; every
 * such group recorded its heads here, so a key found here has its current head here, and a key not
 * found here was not written since g began, so the early read of it is current. A new generation
 * (a fresh RecentWrites) starts whenever no read is outstanding; a read from another generation, or
 * another epoch or incarnation, is not used: its group reads again, as before.
 */
export class RecentWrites {
  private readonly heads = new Map<string, KeyHead>();
  private readonly idem = new Set<string>();

  constructor(readonly generation: number) {}

  get size(): number {
    return this.heads.size + this.idem.size;
  }

  /** What a committed group wrote. */
  record(heads: ReadonlyMap<string, KeyHead>, idem: ReadonlySet<string>): void {
    for (const [k, h] of heads) this.heads.set(k, h);
    for (const k of idem) this.idem.add(k);
  }

  /** Early reads of this generation brought up to date, as one group's base. */
  merge(reads: readonly KeyReads[]): KeyReads {
    const heads = new Map<string, KeyHead | undefined>();
    const idem = new Set<string>(this.idem);
    for (const r of reads) {
      for (const [k, h] of r.heads) heads.set(k, this.heads.has(k) ? this.heads.get(k) : h);
      for (const k of r.idem) idem.add(k);
    }
    return { heads, idem };
  }
}
