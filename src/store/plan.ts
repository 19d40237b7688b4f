import { appends, decide, liveDelta, type KeyHead } from './semantics.js';
import type { AppendRequest, AppendResult, Blob, Change, JsonObject, Outcome } from './types.js';

/** The part of a dataset record a group of appends moves forward. */
export interface Progress {
  lastSeq: number;
  count: number;
  lastPushAt: number | null;
  attrs: JsonObject;
  journalN: number;
}

/** What an engine knows when one request of a group is planned. */
export interface PlanContext {
  /** a key's head as of the requests planned before this one (overlay, then database) */
  head(key: string): KeyHead | undefined;
  /** the idempotency key was applied already (earlier in the group, or committed) */
  isDuplicate(key: string): boolean;
  /** live keys of the target epoch, in key order, leaving out those recorded in `seenNs` */
  liveChanges(seenNs: string | undefined): AsyncIterable<Change>;
}

/**
 * Where a planned request's effects go: each engine turns them into its own writes (LevelDB
 * operations, SQL rows), kept apart per request so a rejected request leaves nothing behind.
 */
export interface PlanSink {
  change(change: Change, hash: string): void;
  /** the key's index terms after this change (replacing its previous ones; [] drops them) */
  terms(key: string, terms: readonly string[]): void;
  /** empty an aux namespace (before the request's own aux writes) */
  clearAux(ns: string): void | Promise<void>;
  putAux(ns: string, key: string, value: string | null): void;
  blob(blob: Blob): void;
  journal(n: number, recorded: number, text: string): void;
  idempotency(key: string, recorded: number): void;
}

/**
 * The append semantics every engine shares (docs/datasets.md#the-changelog), for one request: the idempotency
 * check, the attrs read-modify-write (which may throw to reject the request), the outcome of every write, the
 * sweep, then side data in a fixed order (aux clears after the sweep that still reads them and before the
 * request's own marks). Returns the result and the progress after the request; the caller folds the sink's
 * writes into its group only when this returns.
 */
export async function planAppend(
  req: AppendRequest,
  now: number,
  epoch: string,
  before: Progress,
  ctx: PlanContext,
  sink: PlanSink,
): Promise<{ result: AppendResult; progress: Progress; written: Map<string, KeyHead> }> {
  const written = new Map<string, KeyHead>();
  if (req.idempotencyKey !== undefined && ctx.isDuplicate(req.idempotencyKey)) {
    const outcomes: Outcome[] = req.writes.map(() => 'unchanged');
    return {
      result: { epoch, lastSeq: before.lastSeq, changes: 0, outcomes, swept: 0, duplicate: true },
      progress: before,
      written,
    };
  }
  const p: Progress = { ...before };
  if (req.attrs) {
    const next = req.attrs(p.attrs);
    if (next !== undefined) p.attrs = next;
  }
  const head = (key: string): KeyHead | undefined => written.get(key) ?? ctx.head(key);
  const recorded = req.recorded ?? now;
  const outcomes: Outcome[] = [];
  let changes = 0;
  const put = (key: string, kind: string, deleted: boolean, doc: string, hash: string): void => {
    const seq = ++p.lastSeq;
    sink.change({ seq, key, kind, recorded, deleted, doc }, hash);
    written.set(key, { seq, deleted, hash });
    changes++;
  };

  for (const w of req.writes) {
    const outcome = decide(head(w.key), w);
    outcomes.push(outcome);
    if (!appends(outcome)) continue;
    p.count += liveDelta(outcome);
    put(w.key, w.kind, w.deleted, w.doc, w.hash);
    // a deleted key is found by no term, whatever the write says
    if (w.terms !== undefined || w.deleted) sink.terms(w.key, w.deleted ? [] : w.terms!);
  }

  let swept = 0;
  if (req.sweep) {
    const keep = new Set(req.writes.map((w) => w.key));
    for await (const current of ctx.liveChanges(req.sweep.seenNs)) {
      if (keep.has(current.key) || written.get(current.key)?.deleted) continue;
      const tomb = req.sweep.tombstone(current);
      if (tomb === undefined) continue; // a kind the sweeping protocol does not own
      p.count -= 1;
      put(current.key, current.kind, true, tomb.doc, tomb.hash);
      sink.terms(current.key, []);
      swept++;
    }
  }

  for (const ns of req.clearAux ?? []) await sink.clearAux(ns);
  if (req.markSeen !== undefined) for (const w of req.writes) sink.putAux(req.markSeen, w.key, '1');
  for (const a of req.aux ?? []) sink.putAux(a.ns, a.key, a.value);
  for (const b of req.blobs ?? []) sink.blob(b);
  if (req.journal !== undefined) sink.journal(++p.journalN, recorded, req.journal);
  if (req.idempotencyKey !== undefined) sink.idempotency(req.idempotencyKey, recorded);
  if (req.touch ?? req.writes.length > 0) p.lastPushAt = now;

  return {
    result: { epoch, lastSeq: p.lastSeq, changes, outcomes, swept, duplicate: false },
    progress: p,
    written,
  };
}

/** What a queued request holds in memory, roughly: the measure of the engines' back-pressure bound. */
export function requestBytes(r: AppendRequest): number {
  let n = 256 + (r.journal?.length ?? 0);
  for (const w of r.writes) n += w.doc.length + w.key.length + 64;
  for (const b of r.blobs ?? []) n += b.bytes.length;
  return n;
}
