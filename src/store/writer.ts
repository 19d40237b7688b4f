import { hubError } from '../errors.js';
import type { GroupJob } from './serial.js';
import { planAppend, type PlanContext, type PlanSink, type Progress } from './plan.js';
import type { KeyHead } from './semantics.js';
import type { AppendRequest, AppendResult, Change, DatasetRecord } from './types.js';

export type { Progress };

/** The latest change of keys, and the applied idempotency keys, as read for some requests. */
export interface KeyReads {
  /** every key the requests write → its latest change (undefined: never written) */
  readonly heads: Map<string, KeyHead | undefined>;
  /** the requests' idempotency keys that were already applied */
  readonly idem: Set<string>;
}

/** One request's effects, kept apart until the request is accepted (a rejected one leaves nothing). */
export interface RequestEffects {
  readonly sink: PlanSink;
  /** folds the effects into the group's pending writes */
  accept(): void;
}

/**
 * The group writer: turns the append requests of one group (or of a rebuild) into an engine's pending
 * writes, one request at a time, each all-or-nothing: a request whose attrs function throws leaves
 * neither writes nor progress behind. Keys written by earlier requests of the same group are seen
 * through an overlay, so a group behaves exactly as if its requests had been committed one by one.
 * The semantics are store/plan.ts's; an engine says how effects become its writes (LevelDB
 * operations, SQL rows), how heads are read, how pending writes are flushed.
 */
export abstract class GroupWriter {
  private readonly overlay = new Map<string, KeyHead>();
  private readonly idemSeen = new Set<string>();
  private base = new Map<string, KeyHead | undefined>();
  private idemBase = new Set<string>();

  constructor(
    /** the epoch written: the live one, or a rebuild's new one */
    readonly epoch: string,
    public progress: Progress,
  ) {}

  /** What is waiting to be written (rebuild flush thresholds; an empty group writes no change). */
  abstract get pending(): { readonly rows: number; readonly bytes: number };
  /** Reads the latest change of every key and the idempotency keys the requests will ask for. */
  abstract prefetch(requests: readonly AppendRequest[]): Promise<void>;
  /** Writes what is pending (unsynced, or in the caller's transaction) and forgets the overlay. */
  abstract flush(): Promise<void>;
  /** A fresh buffer for one request's effects. `packedJournal`: its journal text packed ahead. */
  protected abstract effects(packedJournal: Buffer | undefined): RequestEffects;
  /** Live keys of the target epoch, in key order, minus those recorded in `seenNs` (for a sweep). */
  protected abstract liveChanges(seenNs: string | undefined): AsyncIterable<Change>;

  /** The keys and idempotency keys of the requests that prefetch must read (the overlay's excepted). */
  protected wanted(requests: readonly AppendRequest[]): { keys: string[]; idem: string[] } {
    const keys = new Set<string>();
    const idem = new Set<string>();
    for (const r of requests) {
      for (const w of r.writes) if (!this.overlay.has(w.key)) keys.add(w.key);
      if (r.idempotencyKey !== undefined) idem.add(r.idempotencyKey);
    }
    return { keys: [...keys], idem: [...idem] };
  }

  /** Uses heads read by prefetch, or read earlier and brought up to date by the caller. */
  useReads(reads: KeyReads): void {
    this.base = reads.heads;
    this.idemBase = reads.idem;
  }

  /** The heads the requests applied so far have written (the group's effect on the current state). */
  get written(): ReadonlyMap<string, KeyHead> {
    return this.overlay;
  }

  /** The idempotency keys the requests applied so far have recorded. */
  get idempotencyKeys(): ReadonlySet<string> {
    return this.idemSeen;
  }

  /** Forgets the overlay once its writes are in the database (flush). */
  protected forget(): void {
    this.overlay.clear();
    this.idemSeen.clear();
    this.base.clear();
    this.idemBase.clear();
  }

  /** A sweep or an aux clear reads committed state: it runs alone, after a flush. */
  protected assertFlushed(what: string): void {
    if (this.overlay.size > 0) throw hubError('INTERNAL', `${what} over an unflushed overlay`);
  }

  /** Applies one request (store/plan.ts); throws, leaving nothing behind, if its attrs function rejects it. */
  async apply(req: AppendRequest, now: number, packedJournal?: Buffer): Promise<AppendResult> {
    const effects = this.effects(packedJournal);
    const idem: string[] = [];
    const sink: PlanSink = {
      ...effects.sink,
      idempotency: (key, recorded) => {
        effects.sink.idempotency(key, recorded);
        idem.push(key);
      },
    };
    const ctx: PlanContext = {
      head: (key) => this.overlay.get(key) ?? this.base.get(key),
      isDuplicate: (key) => this.idemSeen.has(key) || this.idemBase.has(key),
      liveChanges: (seenNs) => {
        this.assertFlushed('sweep');
        return this.liveChanges(seenNs);
      },
    };
    const { result, progress, written } = await planAppend(req, now, this.epoch, this.progress, ctx, sink);
    // the request is accepted: fold its effects into the group
    for (const [k, h] of written) this.overlay.set(k, h);
    effects.accept();
    for (const k of idem) this.idemSeen.add(k);
    this.progress = progress;
    return result;
  }
}

/** A dataset's progress as its record (and the engine's journal counter) says. */
export function progressOf(rec: DatasetRecord, journalN: number): Progress {
  return { lastSeq: rec.lastSeq, count: rec.count, lastPushAt: rec.lastPushAt, attrs: rec.attrs, journalN };
}

/** What a group must write: nothing, only lastPushAt (no fsync needed), or something a client relies on. */
export function groupWrites(writer: GroupWriter, before: DatasetRecord): 'nothing' | 'lazy' | 'durable' {
  const p = writer.progress;
  if (writer.pending.rows > 0 || p.attrs !== before.attrs) return 'durable';
  return p.lastPushAt !== before.lastPushAt ? 'lazy' : 'nothing';
}

/** One job's answer, given only once the group is durable. */
export interface Settled<Q> {
  readonly job: GroupJob<Q, AppendResult>;
  readonly result?: AppendResult;
  readonly error?: unknown;
}

/**
 * Applies each job of a group in order. A job the writer rejects (an attrs precondition) is kept
 * with its error and the others go on; an error `fatal` says lost the whole group is thrown.
 */
export async function applyEach<Q>(
  jobs: readonly GroupJob<Q, AppendResult>[],
  apply: (job: GroupJob<Q, AppendResult>) => Promise<AppendResult>,
  fatal: (err: unknown) => boolean = () => false,
): Promise<Settled<Q>[]> {
  const settled: Settled<Q>[] = [];
  for (const job of jobs) {
    try {
      settled.push({ job, result: await apply(job) });
    } catch (error) {
      if (fatal(error)) throw error;
      settled.push({ job, error });
    }
  }
  return settled;
}

/** Answers every job of a committed group. */
export function settle<Q>(settled: readonly Settled<Q>[]): void {
  for (const s of settled) {
    if (s.result) s.job.resolve(s.result);
    else s.job.reject(s.error);
  }
}

/** When a rebuild writes what it has replayed so far, inside its one switch. */
export interface FlushAt {
  readonly rows: number;
  readonly bytes: number;
}

/** A rebuild's writer starts from nothing but the dataset's lastPushAt, attrs and journal counter. */
export function rebuildProgress(rec: DatasetRecord, journalN: number): Progress {
  return { lastSeq: 0, count: 0, lastPushAt: rec.lastPushAt, attrs: rec.attrs, journalN };
}

/**
 * The rebuild loop of every engine: replays the requests into the writer, flushing pieces as they
 * grow past `flushAt` and around a request that must run alone. The caller writes what is still
 * pending together with the switch to the new epoch.
 */
export async function replay(
  writer: GroupWriter,
  requests: AsyncIterable<AppendRequest>,
  flushAt: FlushAt,
): Promise<{ changes: number; swept: number }> {
  let changes = 0;
  let swept = 0;
  for await (const raw of requests) {
    // the journal is the source being replayed: never journal it again
    const req: AppendRequest = { ...raw, journal: undefined };
    const alone = runsAlone(req);
    if (alone) await writer.flush();
    await writer.prefetch([req]);
    const r = await writer.apply(req, req.recorded ?? Date.now());
    changes += r.changes;
    swept += r.swept;
    const pending = writer.pending;
    if (pending.rows >= flushAt.rows || pending.bytes >= flushAt.bytes || alone) await writer.flush();
  }
  return { changes, swept };
}

/** A sweep or an aux clear reads committed state: it runs alone in its group. */
export const runsAlone = (r: AppendRequest): boolean => r.sweep !== undefined || r.clearAux !== undefined;
