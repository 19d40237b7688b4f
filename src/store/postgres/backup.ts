import type { PoolClient } from 'pg';
import { hubError } from '../../errors.js';
import { blobFromText, blobToText, type BackupRecord, type ImportSummary } from '../backup.js';
import { writeAuxRows } from './aux.js';
import { DATASET_COLUMNS, toStoredDataset, type DatasetRow } from './rows.js';
import { decodeText, encodeText } from './text.js';

const PAGE = 5_000;
const BLOB_PAGE = 50;
/** Documents travel joined by U+001E, which JSON text never holds raw (as in apply.ts). */
const SEP = '\u001e';

/** Where the connections come from (the engine's Db: a writable server, broken ones replaced). */
export interface Connections {
  acquire(): Promise<PoolClient>;
  release(client: PoolClient, err?: unknown): void;
}

/** Keyset pages of one query inside the caller's transaction. */
async function* pages<R extends object>(
  c: PoolClient,
  sql: string,
  fixed: unknown[],
  first: unknown[],
  next: (last: R) => unknown[],
  size = PAGE,
): AsyncGenerator<R> {
  let after = first;
  while (true) {
    const r = await c.query<R>(sql, [...fixed, ...after, size]);
    yield* r.rows;
    if (r.rows.length < size) return;
    after = next(r.rows.at(-1)!);
  }
}

/**
 * The whole schema from one REPEATABLE READ READ ONLY transaction: one snapshot of every table,
 * however long the export takes, while other transactions write on. The transaction may sit idle
 * while the reader of the export is slow, so the idle-in-transaction cut-off is lifted for it.
 */
export async function* exportPg(db: Connections): AsyncGenerator<BackupRecord> {
  const c = await db.acquire();
  c.on('error', () => undefined);
  let ok = false;
  let failure: unknown;
  try {
    await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    await c.query('SET LOCAL idle_in_transaction_session_timeout = 0');
    const secret = await c.query<{ value: string }>(`SELECT value FROM hub_meta WHERE name = 'secret'`);
    if (secret.rows[0]) yield { t: 'hub', secret: secret.rows[0].value };
    const heads = (
      await c.query<DatasetRow>(`SELECT ${DATASET_COLUMNS} FROM datasets ORDER BY name`)
    ).rows.map(toStoredDataset);
    for (const { id, journalN, record: d } of heads) {
      yield {
        t: 'dataset',
        name: d.name,
        epoch: d.epoch,
        lastSeq: d.lastSeq,
        count: d.count,
        lastPushAt: d.lastPushAt,
        createdAt: d.createdAt,
        updatedAt: d.updatedAt,
        config: d.config,
        keyHashes: d.keyHashes,
        attrs: d.attrs,
        journalN,
      };
      type ChangeRow = {
        seq: string;
        key: string;
        kind: string;
        recorded: string;
        deleted: boolean;
        doc: string;
      };
      for await (const r of pages<ChangeRow>(
        c,
        `SELECT seq, key, kind, recorded, deleted, doc FROM changes
         WHERE dataset = $1 AND epoch = $2 AND seq > $3 ORDER BY seq LIMIT $4`,
        [id, d.epoch],
        [0],
        (l) => [l.seq],
      ))
        yield {
          t: 'change',
          seq: Number(r.seq),
          key: decodeText(r.key),
          kind: r.kind,
          recorded: Number(r.recorded),
          deleted: r.deleted,
          doc: r.doc,
        };
      type StateRow = { key: string; seq: string; deleted: boolean; hash: string };
      for await (const r of pages<StateRow>(
        c,
        `SELECT key, seq, deleted, hash FROM state WHERE dataset = $1 AND epoch = $2
         AND ($3::text IS NULL OR key > $3) ORDER BY key LIMIT $4`,
        [id, d.epoch],
        [null],
        (l) => [l.key],
      ))
        yield { t: 'state', key: decodeText(r.key), seq: Number(r.seq), deleted: r.deleted, hash: r.hash };
      type TermsRow = { key: string; terms: string[] };
      for await (const r of pages<TermsRow>(
        c,
        `SELECT key, array_agg(term ORDER BY term) AS terms FROM terms WHERE dataset = $1 AND epoch = $2
         AND ($3::text IS NULL OR key > $3) GROUP BY key ORDER BY key LIMIT $4`,
        [id, d.epoch],
        [null],
        (l) => [l.key],
      ))
        yield { t: 'terms', key: decodeText(r.key), terms: r.terms.map(decodeText) };
      type IdemRow = { key: string; recorded: string };
      for await (const r of pages<IdemRow>(
        c,
        `SELECT key, recorded FROM idempotency WHERE dataset = $1 AND epoch = $2
         AND ($3::text IS NULL OR key > $3) ORDER BY key LIMIT $4`,
        [id, d.epoch],
        [null],
        (l) => [l.key],
      ))
        yield { t: 'idem', key: decodeText(r.key), recorded: Number(r.recorded) };
      type JournalRow = { n: string; recorded: string; text: string };
      for await (const r of pages<JournalRow>(
        c,
        `SELECT n, recorded, text FROM journal WHERE dataset = $1 AND n > $2 ORDER BY n LIMIT $3`,
        [id],
        [0],
        (l) => [l.n],
      ))
        yield { t: 'journal', n: Number(r.n), recorded: Number(r.recorded), text: r.text };
      type BlobRow = { id: string; content_type: string; bytes: Buffer };
      for await (const r of pages<BlobRow>(
        c,
        `SELECT id, content_type, bytes FROM blobs WHERE dataset = $1
         AND ($2::text IS NULL OR id > $2) ORDER BY id LIMIT $3`,
        [id],
        [null],
        (l) => [l.id],
        BLOB_PAGE,
      ))
        yield {
          t: 'blob',
          id: decodeText(r.id),
          contentType: decodeText(r.content_type),
          bytes: blobToText(r.bytes),
        };
      type AuxRow = { ns: string; key: string; value: string };
      for await (const r of pages<AuxRow>(
        c,
        `SELECT ns, key, value FROM aux WHERE dataset = $1
         AND ($2::text IS NULL OR (ns, key) > ($2, $3)) ORDER BY ns, key LIMIT $4`,
        [id],
        [null, null],
        (l) => [l.ns, l.key],
      ))
        yield { t: 'aux', ns: decodeText(r.ns), key: decodeText(r.key), value: decodeText(r.value) };
    }
    await c.query('COMMIT');
    ok = true;
  } catch (err) {
    failure = err;
    throw err;
  } finally {
    if (!ok) await c.query('ROLLBACK').catch(() => undefined);
    db.release(c, failure);
  }
}

/** Rows of one table waiting for their multi-row INSERT. */
class Pending<Row> {
  rows: Row[] = [];
  constructor(private readonly write: (rows: Row[]) => Promise<unknown>) {}
  async add(row: Row): Promise<void> {
    this.rows.push(row);
    if (this.rows.length >= PAGE) await this.flush();
  }
  async flush(): Promise<void> {
    if (this.rows.length === 0) return;
    const rows = this.rows;
    this.rows = [];
    await this.write(rows);
  }
}

/** Loads an export into an empty schema in one transaction: all of it, or nothing. */
export async function importPg(
  db: Connections,
  records: AsyncIterable<BackupRecord>,
): Promise<ImportSummary> {
  const c = await db.acquire();
  c.on('error', () => undefined);
  let ok = false;
  let failure: unknown;
  try {
    await c.query('BEGIN');
    await c.query('SET LOCAL idle_in_transaction_session_timeout = 0');
    if ((await c.query(`SELECT 1 FROM datasets LIMIT 1`)).rowCount)
      throw hubError('STORE_NOT_EMPTY', 'the store already holds datasets: restore into an empty one');
    let ds: { id: number; epoch: string } | undefined;
    const need = (): { id: number; epoch: string } => {
      if (!ds) throw new Error('backup: a data record comes before any dataset record');
      return ds;
    };
    type Ch = Extract<BackupRecord, { t: 'change' }>;
    const changes = new Pending<Ch>((rows) =>
      c.query(
        `INSERT INTO changes (dataset, epoch, seq, key, kind, recorded, deleted, doc)
         SELECT $1, $2, u.* FROM unnest($3::int8[], $4::text[], $5::text[], $6::int8[], $7::bool[],
           string_to_array($8, chr(30))) AS u`,
        [
          need().id,
          need().epoch,
          rows.map((r) => r.seq),
          rows.map((r) => encodeText(r.key)),
          rows.map((r) => r.kind),
          rows.map((r) => r.recorded),
          rows.map((r) => r.deleted),
          rows.map((r) => r.doc).join(SEP),
        ],
      ),
    );
    type St = Extract<BackupRecord, { t: 'state' }>;
    const state = new Pending<St>((rows) =>
      c.query(
        `INSERT INTO state (dataset, epoch, key, seq, deleted, hash)
         SELECT $1, $2, u.* FROM unnest($3::text[], $4::int8[], $5::bool[], $6::text[]) AS u`,
        [
          need().id,
          need().epoch,
          rows.map((r) => encodeText(r.key)),
          rows.map((r) => r.seq),
          rows.map((r) => r.deleted),
          rows.map((r) => r.hash),
        ],
      ),
    );
    type Te = Extract<BackupRecord, { t: 'terms' }>;
    const terms = new Pending<Te>((rows) => {
      const term: string[] = [];
      const key: string[] = [];
      for (const r of rows) {
        for (const t of r.terms) {
          term.push(encodeText(t));
          key.push(encodeText(r.key));
        }
      }
      return c.query(
        `INSERT INTO terms (dataset, epoch, term, key) SELECT $1, $2, u.* FROM unnest($3::text[], $4::text[]) AS u`,
        [need().id, need().epoch, term, key],
      );
    });
    type Id = Extract<BackupRecord, { t: 'idem' }>;
    const idem = new Pending<Id>((rows) =>
      c.query(
        `INSERT INTO idempotency (dataset, epoch, key, recorded)
         SELECT $1, $2, u.* FROM unnest($3::text[], $4::int8[]) AS u`,
        [need().id, need().epoch, rows.map((r) => encodeText(r.key)), rows.map((r) => r.recorded)],
      ),
    );
    type Jo = Extract<BackupRecord, { t: 'journal' }>;
    const journal = new Pending<Jo>((rows) =>
      c.query(
        `INSERT INTO journal (dataset, n, recorded, text)
         SELECT $1, u.* FROM unnest($2::int8[], $3::int8[], string_to_array($4, chr(30))) AS u`,
        [need().id, rows.map((r) => r.n), rows.map((r) => r.recorded), rows.map((r) => r.text).join(SEP)],
      ),
    );
    type Ax = Extract<BackupRecord, { t: 'aux' }>;
    const aux = new Pending<Ax>((rows) => writeAuxRows((t, v) => c.query(t, v), need().id, rows));
    const all = [changes, state, terms, idem, journal, aux];
    let datasets = 0;
    let count = 0;
    for await (const r of records) {
      switch (r.t) {
        case 'hub':
          await c.query(
            `INSERT INTO hub_meta (name, value) VALUES ('secret', $1)
             ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value`,
            [r.secret],
          );
          break;
        case 'dataset': {
          for (const p of all) await p.flush();
          const row = await c.query<{ id: string }>(
            `INSERT INTO datasets (name, epoch, last_seq, live_count, last_push_at, created_at, updated_at,
               config, push_hash, read_hash, attrs, journal_n)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id`,
            [
              r.name,
              r.epoch,
              r.lastSeq,
              r.count,
              r.lastPushAt,
              r.createdAt,
              r.updatedAt,
              JSON.stringify(r.config),
              r.keyHashes.push,
              r.keyHashes.read,
              JSON.stringify(r.attrs),
              r.journalN,
            ],
          );
          ds = { id: Number(row.rows[0]!.id), epoch: r.epoch };
          datasets++;
          break;
        }
        case 'change':
          need();
          await changes.add(r);
          count++;
          break;
        case 'state':
          need();
          await changes.flush();
          await state.add(r);
          break;
        case 'terms':
          await terms.add(r);
          break;
        case 'idem':
          await idem.add(r);
          break;
        case 'journal':
          await journal.add(r);
          break;
        case 'blob':
          await c.query(`INSERT INTO blobs (dataset, id, content_type, bytes) VALUES ($1, $2, $3, $4)`, [
            need().id,
            encodeText(r.id),
            encodeText(r.contentType),
            blobFromText(r.bytes),
          ]);
          break;
        case 'aux':
          await aux.add(r);
          break;
      }
    }
    for (const p of all) await p.flush();
    await c.query('COMMIT');
    ok = true;
    return { datasets, changes: count };
  } catch (err) {
    failure = err;
    throw err;
  } finally {
    if (!ok) await c.query('ROLLBACK').catch(() => undefined);
    db.release(c, failure);
  }
}
