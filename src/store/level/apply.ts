import type { Level } from 'level';
import type { KeyHead } from '../semantics.js';
import type { AppendRequest, AppendResult, Change } from '../types.js';
import { GroupWriter, type KeyReads, type Progress, type RequestEffects } from '../writer.js';
import { decodeChange, decodeKeyHead, encodeBlob, encodeChange } from './codec.js';
import { journalValue, packJournalSync } from './journal.js';
import { keys, prefixRange } from './layout.js';
import { writeBatch } from './write.js';

export type { Progress };

export type LevelOp =
  | { type: 'put'; key: string; value: string }
  | { type: 'put'; key: string; value: Buffer; valueEncoding: 'buffer' }
  | { type: 'del'; key: string };

/** Where a group writes: the live epoch, or a rebuild's new one. */
export interface Target {
  readonly incarnation: string;
  readonly epoch: string;
}

export const idempotencyNs = (epoch: string): string => `idem@${epoch}`;

/** Reads, in two getMany calls, the head of every key and the idempotency keys the requests will ask for. */
export async function readHeads(
  db: Level<string, string>,
  target: Target,
  requests: readonly AppendRequest[],
  skip: (key: string) => boolean = () => false,
): Promise<KeyReads> {
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
      ? db.getMany(idemList.map((k) => keys.aux(target.incarnation, idempotencyNs(target.epoch), k)))
      : [],
  ]);
  const base = new Map<string, KeyHead | undefined>();
  keyList.forEach((k, i) => {
    const v = heads[i];
    base.set(k, v === undefined ? undefined : decodeKeyHead(v));
  });
  return { heads: base, idem: new Set(idemList.filter((_, i) => idemVals[i] !== undefined)) };
}

/** The LevelDB group writer: a group's effects become operations of one atomic batch. */
export class LevelWriter extends GroupWriter {
  readonly ops: LevelOp[] = [];
  private bytes = 0;
  /** the index terms of keys the group wrote, last write wins; made ops by termOps() */
  private readonly terms = new Map<string, readonly string[]>();
  /** keys written since the last flush that had no committed change: no committed terms to replace */
  private readonly fresh = new Set<string>();
  /** the heads the writer's reads found (whether a key had a committed change) */
  private heads: ReadonlyMap<string, unknown> = new Map();

  constructor(
    private readonly db: Level<string, string>,
    private readonly target: Target,
    progress: Progress,
  ) {
    super(target.epoch, progress);
  }

  get pending(): { rows: number; bytes: number } {
    return { rows: this.ops.length, bytes: this.bytes };
  }

  async prefetch(requests: readonly AppendRequest[]): Promise<void> {
    this.useReads(await readHeads(this.db, this.target, requests, (k) => this.written.has(k)));
  }

  override useReads(reads: KeyReads): void {
    super.useReads(reads);
    this.heads = reads.heads;
  }

  override async apply(req: AppendRequest, now: number, packedJournal?: Buffer): Promise<AppendResult> {
    // a key first written now, without a committed head, has no committed terms to replace
    const fresh = req.writes
      .filter((w) => !this.written.has(w.key) && this.heads.get(w.key) === undefined)
      .map((w) => w.key);
    const result = await super.apply(req, now, packedJournal);
    for (const k of fresh) this.fresh.add(k);
    return result;
  }

  /**
   * The index ops of the terms the group wrote: each key's committed terms (the caller holds the
   * dataset's writer) are read in one getMany and replaced. Call just before the group's batch.
   */
  async termOps(): Promise<void> {
    if (this.terms.size === 0) return;
    const { epoch } = this.target;
    const list = [...this.terms];
    const committed = list.map(([k]) => !this.fresh.has(k));
    const read = await this.db.getMany(
      list.filter((_, i) => committed[i]).map(([k]) => keys.terms(epoch, k)),
    );
    let r = 0;
    for (const [i, [key, next]] of list.entries()) {
      const value = committed[i] ? read[r++] : undefined;
      const had = value === undefined || value === '' ? [] : value.split('\u0000');
      const keep = new Set(next);
      const old = new Set(had);
      const ops: LevelOp[] = [];
      for (const t of had) if (!keep.has(t)) ops.push({ type: 'del', key: keys.index(epoch, t, key) });
      for (const t of next)
        if (!old.has(t)) ops.push({ type: 'put', key: keys.index(epoch, t, key), value: '' });
      const tk = keys.terms(epoch, key);
      ops.push(
        next.length === 0 ? { type: 'del', key: tk } : { type: 'put', key: tk, value: next.join('\u0000') },
      );
      for (const op of ops) {
        this.ops.push(op);
        this.bytes += op.key.length + (op.type === 'put' ? op.value.length : 0);
      }
    }
    this.terms.clear();
    this.fresh.clear();
  }

  /** Writes the pending operations unsynced (a rebuild's pieces; its switch is the synced batch). */
  async flush(): Promise<void> {
    await this.termOps();
    if (this.ops.length === 0) return;
    await writeBatch(this.db, this.ops, false);
    this.ops.length = 0;
    this.bytes = 0;
    this.forget();
  }

  protected effects(packedJournal: Buffer | undefined): RequestEffects {
    const { epoch, incarnation } = this.target;
    const ops: LevelOp[] = [];
    const terms: Array<[string, readonly string[]]> = [];
    const put = (op: LevelOp): void => {
      ops.push(op);
    };
    return {
      sink: {
        change: (c, hash) => {
          const value = encodeChange(c, hash);
          put({ type: 'put', key: keys.change(epoch, c.seq), value });
          put({ type: 'put', key: keys.state(epoch, c.key), value });
        },
        terms: (key, t) => terms.push([key, t]),
        clearAux: async (ns) => {
          for await (const key of this.auxKeys(ns)) put({ type: 'del', key });
        },
        putAux: (ns, key, value) => {
          const k = keys.aux(incarnation, ns, key);
          put(value === null ? { type: 'del', key: k } : { type: 'put', key: k, value });
        },
        blob: (b) =>
          put({
            type: 'put',
            key: keys.blob(incarnation, b.id),
            value: encodeBlob(b.contentType, b.bytes),
            valueEncoding: 'buffer',
          }),
        journal: (n, recorded, text) =>
          put({
            type: 'put',
            key: keys.journal(incarnation, n),
            value: journalValue(recorded, packedJournal ?? packJournalSync(text)),
            valueEncoding: 'buffer',
          }),
        idempotency: (key, recorded) =>
          put({
            type: 'put',
            key: keys.aux(incarnation, idempotencyNs(epoch), key),
            value: String(recorded),
          }),
      },
      accept: () => {
        for (const [k, t] of terms) this.terms.set(k, t);
        for (const op of ops) {
          this.ops.push(op);
          this.bytes += op.key.length + (op.type === 'put' ? op.value.length : 0);
        }
      },
    };
  }

  /** Every stored key of an aux namespace (a request that clears one runs alone: nothing is pending). */
  private async *auxKeys(ns: string): AsyncGenerator<string> {
    this.assertFlushed('aux clear');
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

  protected async *liveChanges(seenNs: string | undefined): AsyncGenerator<Change> {
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
