import type { Level } from 'level';
import { HubError } from '../../errors.js';
import { appends, decide, liveDelta, type Head } from '../semantics.js';
import type { AppendRequest, AppendResult, Change, JsonObject, Outcome } from '../types.js';
import { decodeChange, decodeHead, encodeBlob, encodeChange } from './codec.js';
import { journalValue, packJournalSync } from './journal.js';
import { keys, prefixRange } from './layout.js';

export type LevelOp =
  | { type: 'put'; key: string; value: string }
  | { type: 'put'; key: string; value: Buffer; valueEncoding: 'buffer' }
  | { type: 'del'; key: string };

/** The part of a dataset record a group of appends moves forward. */
export interface Progress {
  lastSeq: number;
  count: number;
  lastPushAt: number | null;
  attrs: JsonObject;
  journalN: number;
}

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

  /** Applies one request; throws (leaving nothing behind) if its attrs function rejects it. */
  /** `packedJournal`: the request's journal text already compressed (journal.ts), else it is packed here. */
  async apply(req: AppendRequest, now: number, packedJournal?: Buffer): Promise<AppendResult> {
    const { epoch, incarnation } = this.target;
    if (req.idempotencyKey !== undefined) {
      const k = req.idempotencyKey;
      if (this.idemSeen.has(k) || this.idemBase.has(k)) {
        return {
          epoch,
          lastSeq: this.progress.lastSeq,
          changes: 0,
          outcomes: req.writes.map(() => 'unchanged'),
          swept: 0,
          duplicate: true,
        };
      }
    }
    const p: Progress = { ...this.progress };
    if (req.attrs) {
      const next = req.attrs(p.attrs);
      if (next !== undefined) p.attrs = next;
    }
    const ops: LevelOp[] = [];
    const local = new Map<string, Head>();
    const head = (key: string): Head | undefined =>
      local.get(key) ?? this.overlay.get(key) ?? this.base.get(key);
    const recorded = req.recorded ?? now;
    const outcomes: Outcome[] = [];
    let changes = 0;

    const put = (key: string, kind: string, deleted: boolean, doc: string, hash: string): void => {
      const seq = ++p.lastSeq;
      const value = encodeChange({ seq, key, kind, recorded, deleted, doc }, hash);
      ops.push({ type: 'put', key: keys.change(epoch, seq), value });
      ops.push({ type: 'put', key: keys.state(epoch, key), value });
      local.set(key, { seq, deleted, hash });
      changes++;
    };

    for (const w of req.writes) {
      const outcome = decide(head(w.key), w);
      outcomes.push(outcome);
      if (!appends(outcome)) continue;
      p.count += liveDelta(outcome);
      put(w.key, w.kind, w.deleted, w.doc, w.hash);
    }

    let swept = 0;
    if (req.sweep) {
      const keep = new Set(req.writes.map((w) => w.key));
      for await (const current of this.liveChanges()) {
        if (keep.has(current.key) || local.get(current.key)?.deleted) continue;
        if (req.sweep.seenNs !== undefined) {
          const seen = await this.db.get(keys.aux(incarnation, req.sweep.seenNs, current.key));
          if (seen !== undefined) continue;
        }
        const tomb = req.sweep.tombstone(current);
        if (tomb === undefined) continue;
        p.count -= 1;
        put(current.key, current.kind, true, tomb.doc, tomb.hash);
        swept++;
      }
    }

    for (const ns of req.clearAux ?? []) {
      for await (const key of this.auxKeys(ns)) ops.push({ type: 'del', key });
    }

    if (req.markSeen !== undefined) {
      for (const w of req.writes)
        ops.push({ type: 'put', key: keys.aux(incarnation, req.markSeen, w.key), value: '1' });
    }
    for (const a of req.aux ?? []) {
      const key = keys.aux(incarnation, a.ns, a.key);
      ops.push(a.value === null ? { type: 'del', key } : { type: 'put', key, value: a.value });
    }
    for (const b of req.blobs ?? []) {
      ops.push({
        type: 'put',
        key: keys.blob(incarnation, b.id),
        value: encodeBlob(b.contentType, b.bytes),
        valueEncoding: 'buffer',
      });
    }
    if (req.journal !== undefined) {
      const n = ++p.journalN;
      ops.push({
        type: 'put',
        key: keys.journal(incarnation, n),
        value: journalValue(recorded, packedJournal ?? packJournalSync(req.journal)),
        valueEncoding: 'buffer',
      });
    }
    if (req.idempotencyKey !== undefined) {
      ops.push({
        type: 'put',
        key: keys.aux(incarnation, IDEMPOTENCY_NS(epoch), req.idempotencyKey),
        value: String(recorded),
      });
      this.idemSeen.add(req.idempotencyKey);
    }
    if (req.touch ?? req.writes.length > 0) p.lastPushAt = now;

    // the request is accepted: fold its effects into the group
    for (const [k, h] of local) this.overlay.set(k, h);
    for (const op of ops) this.ops.push(op);
    this.progress = p;
    return { epoch, lastSeq: p.lastSeq, changes, outcomes, swept, duplicate: false };
  }

  /** Every stored key of an aux namespace (a request that clears one runs alone: nothing is pending). */
  private async *auxKeys(ns: string): AsyncGenerator<string> {
    if (this.overlay.size > 0) throw new HubError(500, 'INTERNAL', 'aux clear over an unflushed overlay');
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

  /** Live keys of the target epoch, for a sweep (the overlay must be flushed before a sweep). */
  private async *liveChanges(): AsyncGenerator<Change> {
    if (this.overlay.size > 0) throw new HubError(500, 'INTERNAL', 'sweep over an unflushed overlay');
    const it = this.db.values(prefixRange(keys.statePrefix(this.target.epoch)));
    try {
      while (true) {
        const batch = await it.nextv(1000);
        if (batch.length === 0) break;
        for (const v of batch) {
          const c = decodeChange(v);
          if (!c.deleted) yield c;
        }
      }
    } finally {
      await it.close();
    }
  }
}
