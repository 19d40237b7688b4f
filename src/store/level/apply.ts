import type { Level } from 'level';
import { hubError } from '../../errors.js';
import { planAppend, type PlanContext, type PlanSink, type Progress } from '../plan.js';
import type { Head } from '../semantics.js';
import type { AppendRequest, AppendResult, Change } from '../types.js';
import { decodeChange, decodeHead, encodeBlob, encodeChange } from './codec.js';
import { journalValue, packJournalSync } from './journal.js';
import { keys, prefixRange } from './layout.js';

export type { Progress };

export type LevelOp =
  | { type: 'put'; key: string; value: string }
  | { type: 'put'; key: string; value: Buffer; valueEncoding: 'buffer' }
  | { type: 'del'; key: string };

/** Where an application writes: the live epoch, or a rebuild's new one. */
export interface Target {
  readonly incarnation: string;
  readonly epoch: string;
}

const IDEMPOTENCY_NS = (epoch: string) => `idem@${epoch}`;
export const idempotencyNs = IDEMPOTENCY_NS;

/** Heads of keys and idempotency keys as read from the database for some requests. */
export interface HeadReads {
  /** every key the requests write → its current head (undefined: never written) */
  readonly heads: Map<string, Head | undefined>;
  /** the requests' idempotency keys that were already applied */
  readonly idem: Set<string>;
}

/** Reads, in two getMany calls, every current head and idempotency key the requests will ask for. */
export async function readHeads(
  db: Level<string, string>,
  target: Target,
  requests: readonly AppendRequest[],
  skip: (key: string) => boolean = () => false,
): Promise<HeadReads> {
  const wanted = new Set<string>();
  const idem = new Set<string>();
  for (const r of requests) {
    for (const w of r.writes) if (!skip(w.key)) wanted.add(w.key);
    if (r.idempotencyKey !== undefined) idem.add(r.idempotencyKey);
  }
  const keyList = [...wanted];
  const idemList = [...idem];
  const [heads, idemVals] = await Promise.all([
    keyList.length ? db.getMany(keyList.map((k) => keys.state(target.epoch, k))) : [],
    idemList.length
      ? db.getMany(idemList.map((k) => keys.aux(target.incarnation, IDEMPOTENCY_NS(target.epoch), k)))
      : [],
  ]);
  const base = new Map<string, Head | undefined>();
  keyList.forEach((k, i) => {
    const v = heads[i];
    base.set(k, v === undefined ? undefined : decodeHead(v));
  });
  return { heads: base, idem: new Set(idemList.filter((_, i) => idemVals[i] !== undefined)) };
}

/**
 * Turns append requests into LevelDB operations, one request at a time, each all-or-nothing: a
 * request that throws (an attrs precondition) leaves neither ops nor progress behind. Keys written
 * by earlier requests of the same group are seen through an overlay, so a group behaves exactly as
 * if its requests had been committed one by one.
 */
export class Applier {
  readonly ops: LevelOp[] = [];
  private readonly overlay = new Map<string, Head>();
  private readonly idemSeen = new Set<string>();
  private base = new Map<string, Head | undefined>();
  private idemBase = new Set<string>();

  constructor(
    private readonly db: Level<string, string>,
    private readonly target: Target,
    public progress: Progress,
  ) {}

  /** Reads every current head and idempotency key the requests will ask for (keys in the overlay excepted). */
  async prefetch(requests: readonly AppendRequest[]): Promise<void> {
    this.useReads(await readHeads(this.db, this.target, requests, (k) => this.overlay.has(k)));
  }

  /** Uses heads read earlier (by readHeads, then brought up to date by the caller) instead of prefetching. */
  useReads(reads: HeadReads): void {
    this.base = reads.heads;
    this.idemBase = reads.idem;
  }

  /** The heads the requests applied so far have written (the group's effect on the current state). */
  get written(): ReadonlyMap<string, Head> {
    return this.overlay;
  }

  /** The idempotency keys the requests applied so far have recorded. */
  get idempotencyKeys(): ReadonlySet<string> {
    return this.idemSeen;
  }

  /** Forgets the overlay once its ops are in the database (long rebuilds flush as they go). */
  flushed(): void {
    this.ops.length = 0;
    this.overlay.clear();
    this.idemSeen.clear();
    this.base.clear();
    this.idemBase.clear();
  }

  /**
   * Applies one request (store/plan.ts); throws, leaving nothing behind, if its attrs function
   * rejects it. `packedJournal`: the request's journal text already compressed (journal.ts).
   */
  async apply(req: AppendRequest, now: number, packedJournal?: Buffer): Promise<AppendResult> {
    const { epoch, incarnation } = this.target;
    const ops: LevelOp[] = [];
    const idem: string[] = [];
    const sink: PlanSink = {
      change: (c, hash) => {
        const value = encodeChange(c, hash);
        ops.push({ type: 'put', key: keys.change(epoch, c.seq), value });
        ops.push({ type: 'put', key: keys.state(epoch, c.key), value });
      },
      clearAux: async (ns) => {
        for await (const key of this.auxKeys(ns)) ops.push({ type: 'del', key });
      },
      putAux: (ns, key, value) => {
        const k = keys.aux(incarnation, ns, key);
        ops.push(value === null ? { type: 'del', key: k } : { type: 'put', key: k, value });
      },
      blob: (b) =>
        ops.push({
          type: 'put',
          key: keys.blob(incarnation, b.id),
          value: encodeBlob(b.contentType, b.bytes),
          valueEncoding: 'buffer',
        }),
      journal: (n, recorded, text) =>
        ops.push({
          type: 'put',
          key: keys.journal(incarnation, n),
          value: journalValue(recorded, packedJournal ?? packJournalSync(text)),
          valueEncoding: 'buffer',
        }),
      idempotency: (key, recorded) => {
        ops.push({
          type: 'put',
          key: keys.aux(incarnation, IDEMPOTENCY_NS(epoch), key),
          value: String(recorded),
        });
        idem.push(key);
      },
    };
    const ctx: PlanContext = {
      head: (key) => this.overlay.get(key) ?? this.base.get(key),
      isDuplicate: (key) => this.idemSeen.has(key) || this.idemBase.has(key),
      liveChanges: (seenNs) => this.liveChanges(seenNs),
    };
    const { result, progress, written } = await planAppend(req, now, epoch, this.progress, ctx, sink);
    // the request is accepted: fold its effects into the group
    for (const [k, h] of written) this.overlay.set(k, h);
    for (const op of ops) this.ops.push(op);
    for (const k of idem) this.idemSeen.add(k);
    this.progress = progress;
    return result;
  }

  /** Every stored key of an aux namespace (a request that clears one runs alone: nothing is pending). */
  private async *auxKeys(ns: string): AsyncGenerator<string> {
    if (this.overlay.size > 0) throw hubError('INTERNAL', 'aux clear over an unflushed overlay');
    const it = this.db.keys(prefixRange(keys.auxPrefix(this.target.incarnation, ns)));
    try {
      while (true) {
        const batch = await it.nextv(1000);
        if (batch.length === 0) break;
        yield* batch;
      }
    } finally {
      await it.close();
    }
  }

  /** Live keys of the target epoch not in `seenNs`, for a sweep (the overlay must be flushed first). */
  private async *liveChanges(seenNs: string | undefined): AsyncGenerator<Change> {
    if (this.overlay.size > 0) throw hubError('INTERNAL', 'sweep over an unflushed overlay');
    const it = this.db.values(prefixRange(keys.statePrefix(this.target.epoch)));
    try {
      while (true) {
        const batch = await it.nextv(1000);
        if (batch.length === 0) break;
        const live = batch.map(decodeChange).filter((c) => !c.deleted);
        // one getMany per page for the seen marks, not one get per key
        const seen =
          seenNs === undefined || live.length === 0
            ? []
            : await this.db.getMany(live.map((c) => keys.aux(this.target.incarnation, seenNs, c.key)));
        for (let i = 0; i < live.length; i++) if (seen[i] === undefined) yield live[i]!;
      }
    } finally {
      await it.close();
    }
  }
}
