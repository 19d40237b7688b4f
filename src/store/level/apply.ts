import type { Level } from 'level';
import type { KeyHead } from '../semantics.js';
import type { AppendRequest, Change } from '../types.js';
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

  /** Writes the pending operations unsynced (a rebuild's pieces; its switch is the synced batch). */
  async flush(): Promise<void> {
    if (this.ops.length === 0) return;
    await writeBatch(this.db, this.ops, false);
    this.ops.length = 0;
    this.bytes = 0;
    this.forget();
  }

  protected effects(packedJournal: Buffer | undefined): RequestEffects {
    const { epoch, incarnation } = this.target;
    const ops: LevelOp[] = [];
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
