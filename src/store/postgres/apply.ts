import type { QueryResultRow } from 'pg';
import type { Queryable } from './db.js';
import type { KeyHead } from '../semantics.js';
import type { AppendRequest, Blob, Change } from '../types.js';
import { GroupWriter, type Progress, type RequestEffects } from '../writer.js';
import { CHANGE_OF_STATE } from './rows.js';
import { writeAuxRows } from './aux.js';
import { decodeText, encodeText } from './text.js';
import { StoreFailure } from './faults.js';

/** The part of a dataset's row a group of appends moves forward. */
export type { Progress };

/** Where a group writes: the live epoch, or a rebuild's new one. */
export interface Target {
  /** the dataset's incarnation id */
  readonly id: number;
  readonly epoch: string;
}

export { StoreFailure };

/** Rows waiting to be written, column-wise for `unnest` (one round trip per table). */
class Rows {
  readonly seq: number[] = [];
  readonly key: string[] = [];
  readonly kind: string[] = [];
  readonly recorded: number[] = [];
  readonly deleted: boolean[] = [];
  readonly doc: string[] = [];
  /** latest head of every key written (a key written twice is upserted once) */
  readonly state = new Map<string, KeyHead>();
  /** last value of every aux entry written; null deletes */
  readonly aux = new Map<string, { ns: string; key: string; value: string | null }>();
  readonly blobs = new Map<string, Blob>();
  readonly journal: Array<{ n: number; recorded: number; text: string }> = [];
  readonly idem: Array<{ key: string; recorded: number }> = [];
  /** the index terms of keys written with terms, last write wins (replaced by key at flush) */
  readonly terms = new Map<string, readonly string[]>();
  /** aux namespaces emptied before this batch's aux writes */
  readonly clearedNs = new Set<string>();
  bytes = 0;

  get size(): number {
    return (
      this.seq.length +
      this.terms.size +
      this.aux.size +
      this.blobs.size +
      this.journal.length +
      this.idem.length +
      this.clearedNs.size
    );
  }

  change(c: Change, hash: string): void {
    this.seq.push(c.seq);
    this.key.push(c.key);
    this.kind.push(c.kind);
    this.recorded.push(c.recorded);
    this.deleted.push(c.deleted);
    this.doc.push(c.doc);
    this.state.set(c.key, { seq: c.seq, deleted: c.deleted, hash });
    this.bytes += c.doc.length + c.key.length + 64;
  }

  putAux(ns: string, key: string, value: string | null): void {
    // delete and re-insert so the map keeps write order only for the last write of an entry
    const id = `${ns}\u0000${key}`;
    this.aux.delete(id);
    this.aux.set(id, { ns, key, value });
    this.bytes += key.length + (value?.length ?? 0) + 32;
  }

  /** Empties a namespace: earlier writes to it in this batch go, the clear runs before later ones. */
  clearNs(ns: string): void {
    for (const [id, a] of this.aux) if (a.ns === ns) this.aux.delete(id);
    this.clearedNs.add(ns);
  }

  /** Appends another request's rows after these. */
  merge(o: Rows): void {
    for (const ns of o.clearedNs) this.clearNs(ns);
    for (let i = 0; i < o.seq.length; i++) {
      this.seq.push(o.seq[i]!);
      this.key.push(o.key[i]!);
      this.kind.push(o.kind[i]!);
      this.recorded.push(o.recorded[i]!);
      this.deleted.push(o.deleted[i]!);
      this.doc.push(o.doc[i]!);
    }
    for (const [k, h] of o.state) this.state.set(k, h);
    for (const [k, t] of o.terms) this.terms.set(k, t);
    for (const a of o.aux.values()) this.putAux(a.ns, a.key, a.value);
    for (const [id, b] of o.blobs) this.blobs.set(id, b);
    this.journal.push(...o.journal);
    this.idem.push(...o.idem);
    this.bytes += o.bytes;
  }
}

const IDEMPOTENT_SQL = `SELECT key FROM idempotency WHERE dataset = $1 AND epoch = $2 AND key = ANY($3::text[])`;
const HEADS_SQL = `SELECT key, seq, deleted, hash FROM state
  WHERE dataset = $1 AND epoch = $2 AND key = ANY($3::text[])`;
/**
 * Live keys for a sweep, in key order, minus those recorded in the `seen` namespace ($4). The
 * change and the seen mark are per-row primary-key probes (see CHANGE_OF_STATE).
 */
const LIVE_SQL = `SELECT c.seq, c.key, c.kind, c.recorded, c.doc
  FROM state s CROSS JOIN LATERAL (${CHANGE_OF_STATE}) c
  WHERE s.dataset = $1 AND s.epoch = $2 AND NOT s.deleted AND s.key > $3
    AND ($4::text IS NULL OR
         (SELECT 1 FROM aux a WHERE a.dataset = $1 AND a.ns = $4 AND a.key = s.key) IS NULL)
  ORDER BY s.key LIMIT $5`;
const SWEEP_PAGE = 500;
/**
 * Documents (and journal texts) travel to the server joined by U+001E, split there by string_to_array: several times
 * cheaper than a text[] literal, whose quoting and parsing dominate a big batch. JSON text never
 * holds a raw control character, so the separator cannot occur inside a document.
 */
export const DOC_SEPARATOR = '\u001e';

/**
 * The PostgreSQL group writer: a group's effects become rows, written column-wise at flush. Every
 * read runs in the caller's transaction, which holds the dataset's row lock.
 */
export class PgWriter extends GroupWriter {
  private rows = new Rows();

  constructor(
    private readonly db: Queryable,
    private readonly target: Target,
    progress: Progress,
  ) {
    super(target.epoch, progress);
  }

  get pending(): { rows: number; bytes: number } {
    return { rows: this.rows.size, bytes: this.rows.bytes };
  }

  private async query<R extends QueryResultRow>(text: string, values: unknown[]): Promise<R[]> {
    try {
      return (await this.db.query<R>(text, values)).rows;
    } catch (err) {
      throw new StoreFailure(err);
    }
  }

  /** Reads, in two queries, the head of every key and the idempotency keys the requests will ask for. */
  async prefetch(requests: readonly AppendRequest[]): Promise<void> {
    const wanted = this.wanted(requests);
    const { id, epoch } = this.target;
    const heads = new Map<string, KeyHead | undefined>();
    const idem = new Set<string>();
    if (wanted.keys.length > 0) {
      const rows = await this.query<{ key: string; seq: string; deleted: boolean; hash: string }>(HEADS_SQL, [
        id,
        epoch,
        wanted.keys.map(encodeText),
      ]);
      for (const r of rows)
        heads.set(decodeText(r.key), { seq: Number(r.seq), deleted: r.deleted, hash: r.hash });
    }
    if (wanted.idem.length > 0) {
      const rows = await this.query<{ key: string }>(IDEMPOTENT_SQL, [
        id,
        epoch,
        wanted.idem.map(encodeText),
      ]);
      for (const r of rows) idem.add(decodeText(r.key));
    }
    this.useReads({ heads, idem });
  }

  protected effects(): RequestEffects {
    const rows = new Rows();
    return {
      sink: {
        change: (c, hash) => rows.change(c, hash),
        terms: (key, t) => {
          rows.terms.set(key, t);
          rows.bytes += 32 + t.reduce((n, x) => n + x.length, 0);
        },
        clearAux: (ns) => rows.clearNs(ns),
        putAux: (ns, key, value) => rows.putAux(ns, key, value),
        blob: (b) => {
          rows.blobs.set(b.id, b);
          rows.bytes += b.bytes.length;
        },
        journal: (n, recorded, text) => {
          rows.journal.push({ n, recorded, text });
          rows.bytes += text.length;
        },
        idempotency: (key, recorded) => {
          rows.idem.push({ key, recorded });
        },
      },
      accept: () => this.rows.merge(rows),
    };
  }

  protected async *liveChanges(seenNs: string | undefined): AsyncGenerator<Change> {
    const { id, epoch } = this.target;
    const ns = seenNs === undefined ? null : encodeText(seenNs);
    let after = '';
    while (true) {
      const rows = await this.query<{
        key: string;
        seq: string;
        kind: string;
        recorded: string;
        doc: string;
      }>(LIVE_SQL, [id, epoch, after, ns, SWEEP_PAGE]);
      for (const r of rows) {
        yield {
          seq: Number(r.seq),
          key: decodeText(r.key),
          kind: r.kind,
          recorded: Number(r.recorded),
          deleted: false,
          doc: r.doc,
        };
      }
      if (rows.length < SWEEP_PAGE) return;
      after = rows[rows.length - 1]!.key;
    }
  }

  /** Writes the pending rows in the caller's transaction and forgets the overlay. */
  async flush(): Promise<void> {
    const r = this.rows;
    const { id, epoch } = this.target;
    if (r.seq.length > 0) {
      await this.query(
        `INSERT INTO changes (dataset, epoch, seq, key, kind, recorded, deleted, doc)
         SELECT $1, $2, u.* FROM unnest($3::int8[], $4::text[], $5::text[], $6::int8[], $7::bool[],
           string_to_array($8, chr(30))) AS u`,
        [id, epoch, r.seq, r.key.map(encodeText), r.kind, r.recorded, r.deleted, r.doc.join(DOC_SEPARATOR)],
      );
      const keys: string[] = [];
      const seqs: number[] = [];
      const deleted: boolean[] = [];
      const hashes: string[] = [];
      for (const [k, h] of r.state) {
        keys.push(encodeText(k));
        seqs.push(h.seq);
        deleted.push(h.deleted);
        hashes.push(h.hash);
      }
      await this.query(
        `INSERT INTO state (dataset, epoch, key, seq, deleted, hash)
         SELECT $1, $2, u.* FROM unnest($3::text[], $4::int8[], $5::bool[], $6::text[]) AS u
         ON CONFLICT (dataset, epoch, key)
         DO UPDATE SET seq = EXCLUDED.seq, deleted = EXCLUDED.deleted, hash = EXCLUDED.hash`,
        [id, epoch, keys, seqs, deleted, hashes],
      );
    }
    if (r.terms.size > 0) {
      await this.query(`DELETE FROM terms WHERE dataset = $1 AND epoch = $2 AND key = ANY($3::text[])`, [
        id,
        epoch,
        [...r.terms.keys()].map(encodeText),
      ]);
      const termCol: string[] = [];
      const keyCol: string[] = [];
      for (const [k, terms] of r.terms) {
        for (const t of terms) {
          termCol.push(encodeText(t));
          keyCol.push(encodeText(k));
        }
      }
      if (termCol.length > 0) {
        await this.query(
          `INSERT INTO terms (dataset, epoch, term, key)
           SELECT $1, $2, u.* FROM unnest($3::text[], $4::text[]) AS u ON CONFLICT DO NOTHING`,
          [id, epoch, termCol, keyCol],
        );
      }
    }
    if (r.clearedNs.size > 0) {
      await this.query(`DELETE FROM aux WHERE dataset = $1 AND ns = ANY($2::text[])`, [
        id,
        [...r.clearedNs].map(encodeText),
      ]);
    }
    if (r.aux.size > 0) await writeAuxRows((t, v) => this.query(t, v), id, r.aux.values());
    // blobs are few and big: one statement each, the bytes as a plain bytea parameter
    for (const b of r.blobs.values()) {
      await this.query(
        `INSERT INTO blobs (dataset, id, content_type, bytes) VALUES ($1, $2, $3, $4)
         ON CONFLICT (dataset, id) DO UPDATE SET content_type = EXCLUDED.content_type, bytes = EXCLUDED.bytes`,
        [id, encodeText(b.id), encodeText(b.contentType), b.bytes],
      );
    }
    if (r.journal.length > 0) {
      await this.query(
        `INSERT INTO journal (dataset, n, recorded, text)
         SELECT $1, u.* FROM unnest($2::int8[], $3::int8[], string_to_array($4, chr(30))) AS u`,
        [
          id,
          r.journal.map((j) => j.n),
          r.journal.map((j) => j.recorded),
          r.journal.map((j) => j.text).join(DOC_SEPARATOR),
        ],
      );
    }
    if (r.idem.length > 0) {
      await this.query(
        `INSERT INTO idempotency (dataset, epoch, key, recorded)
         SELECT $1, $2, u.* FROM unnest($3::text[], $4::int8[]) AS u`,
        [id, epoch, r.idem.map((i) => encodeText(i.key)), r.idem.map((i) => i.recorded)],
      );
    }
    this.rows = new Rows();
    this.forget();
  }
}
