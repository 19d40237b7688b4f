import { randomBytes } from 'node:crypto';
import pg, { type PoolClient } from 'pg';
import { hubError, HubError } from '../../errors.js';
import { KIND_PATTERN } from '../semantics.js';
import { countStep } from '../count.js';
import { requestBytes } from '../plan.js';
import { SerialQueue, type GroupJob } from '../serial.js';
import type {
  AppendRequest,
  AppendResult,
  AuxCount,
  AuxWrite,
  Blob,
  Change,
  ChangeNotice,
  ChangesQuery,
  CurrentQuery,
  DatasetInit,
  DatasetRecord,
  JournalEntry,
  JsonObject,
  Store,
} from '../types.js';
import { Planner, StoreFailure, type Progress } from './apply.js';
import { COUNT_SQL, writeAuxRows } from './aux.js';
import { channelOf, NoticeListener, noticePayload } from './notify.js';
import { keysetPages } from './pages.js';
import {
  CHANGE_COLUMNS,
  CHANGE_OF_STATE,
  DATASET_COLUMNS,
  toChange,
  toHead,
  type ChangeRow,
  type DatasetRow,
  type Head,
} from './rows.js';
import { migrate } from './schema.js';
import { checkKeyLength, decodeText, encodeText } from './text.js';
import { parsePgUrl, type PgUrlOptions } from './url.js';
import { classifyPgError } from './faults.js';
import { exportPg, importPg } from './backup.js';
import type { BackupRecord, ImportSummary } from '../backup.js';
import { faultError, type FaultKind, type StoreHealth } from '../faults.js';

export interface PgStoreOptions {
  /** Appends waiting in this process across all datasets before new ones get 503 OVERLOADED. */
  readonly maxPendingBytes?: number;
  /** Upper bounds of one group commit. */
  readonly maxGroupBytes?: number;
  readonly maxGroupJobs?: number;
  /**
   * How long an epoch replaced by a rebuild stays readable, so that readers streaming it when the
   * switch happened finish their consistent view (keyset pages span several transactions).
   */
  readonly epochGraceMs?: number;
}

type AppendJob = GroupJob<AppendRequest, AppendResult>;

const newId = (): string => randomBytes(8).toString('hex');
/** A rebuild writes its new epoch in pieces of about this size, inside its one transaction. */
const REBUILD_FLUSH_ROWS = 5_000;
const REBUILD_FLUSH_BYTES = 16 * 1024 * 1024;
const JANITOR_EVERY_MS = 60_000;
/** A disk fault no write has run into for this long is no longer reported (nobody may be pushing). */
const FAULT_SHOWN_MS = 60_000;

function notFoundDataset(name: string): HubError {
  return hubError('DATASET_NOT_FOUND', `dataset '${name}' does not exist`);
}

const SELECT_HEAD_FOR_UPDATE = `SELECT ${DATASET_COLUMNS} FROM datasets WHERE name = $1 FOR UPDATE`;

/**
 * The store on PostgreSQL: any number of hub processes may open the same database (and schema) and
 * serve the same datasets.
 *
 * Writes: each process keeps a group-commit queue per dataset (one transaction per group); groups
 * of different processes are serialised by the dataset's head row lock (`SELECT … FOR UPDATE`),
 * and sequences are allocated from that row in the same transaction. So a dataset's changes commit
 * in sequence order and a reader paging `seq > n` can never pass a sequence that commits later.
 * A 2xx is given after COMMIT (synchronous_commit: durable on the server).
 *
 * Reads: keyset pages on the primary keys (flat memory, no connection held between pages).
 * Nothing about datasets is cached in the process: config, keys and heads are read from the
 * database, so a PUT or key renewal on one process is seen by the next request on any other.
 *
 * Long-polls: commits NOTIFY a per-schema channel, every process LISTENs (see notify.ts).
 */
export class PgStore implements Store {
  readonly engine = 'postgresql';
  private readonly instance = newId();
  private readonly queues = new Map<string, SerialQueue<AppendRequest, AppendResult>>();
  private readonly listeners = new Set<(n: ChangeNotice) => void>();
  private listener: NoticeListener | undefined;
  private pendingBytes = 0;
  private hubSecret = '';
  private closed = false;
  private janitorTimer: NodeJS.Timeout | undefined;
  private janitorRun: Promise<void> | undefined;
  private readonly channel: string;
  /** the last disk fault a commit ran into, until a commit succeeds (the server's disk is not ours to statfs) */
  private fault: { kind: FaultKind; code: string; at: number } | undefined;

  private constructor(
    private readonly pool: pg.Pool,
    private readonly url: PgUrlOptions,
    private readonly options: Required<PgStoreOptions>,
  ) {
    this.channel = channelOf(url.schema);
  }

  /** Connects, creates or migrates the schema, and starts listening for other processes' commits. */
  static async open(storeUrl: string, options: PgStoreOptions = {}): Promise<PgStore> {
    const url = parsePgUrl(storeUrl);
    const pool = new pg.Pool(url.pg);
    // an idle connection that breaks is dropped by the pool; without a listener it would crash us
    pool.on('error', () => undefined);
    const store = new PgStore(pool, url, {
      maxPendingBytes: options.maxPendingBytes ?? 256 * 1024 * 1024,
      maxGroupBytes: options.maxGroupBytes ?? 32 * 1024 * 1024,
      maxGroupJobs: options.maxGroupJobs ?? 256,
      epochGraceMs: options.epochGraceMs ?? 10 * 60_000,
    });
    try {
      await migrate(pool, url.schema, url.partitions);
      await store.start();
    } catch (err) {
      await store.listener?.close();
      await pool.end().catch(() => undefined);
      throw err;
    }
    return store;
  }

  private async start(): Promise<void> {
    const candidate = randomBytes(32).toString('hex');
    await this.pool.query(
      `INSERT INTO hub_meta (name, value) VALUES ('secret', $1) ON CONFLICT (name) DO NOTHING`,
      [candidate],
    );
    const r = await this.pool.query<{ value: string }>(`SELECT value FROM hub_meta WHERE name = 'secret'`);
    this.hubSecret = r.rows[0]!.value;
    this.listener = new NoticeListener({
      config: this.url.pg,
      channel: this.channel,
      instance: this.instance,
      onNotice: (n) => this.notify(n),
      onResync: () => void this.announceAll(),
    });
    await this.listener.start();
    this.janitorTimer = setInterval(
      () => this.runJanitor(),
      Math.min(JANITOR_EVERY_MS, Math.max(1_000, this.options.epochGraceMs)),
    );
    this.janitorTimer.unref();
    this.runJanitor();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // let queued writes finish: each queue drains, then the connections close
    await Promise.all([...this.queues.values()].map((q) => q.exclusive(async () => undefined)));
    if (this.janitorTimer) clearInterval(this.janitorTimer);
    await this.janitorRun;
    await this.listener?.close();
    await this.pool.end();
  }

  async secret(): Promise<string> {
    return this.hubSecret;
  }

  health(): StoreHealth {
    const f = this.fault;
    if (!f || Date.now() - f.at > FAULT_SHOWN_MS) return { writable: true, disk: 'ok' };
    return {
      writable: false,
      disk: f.kind === 'disk-full' ? 'full' : 'io-error',
      fault: { code: f.code, at: f.at },
    };
  }

  /** A failed commit's answer: a disk fault in words (and remembered for health), else STORE_WRITE_FAILED. */
  private commitFailure(err: unknown): HubError {
    const cause = err instanceof StoreFailure ? err.cause : err;
    const kind = classifyPgError(cause);
    const failure = kind
      ? faultError(kind)
      : hubError('STORE_WRITE_FAILED', 'the write could not be made durable');
    if (kind) this.fault = { kind, code: failure.code, at: Date.now() };
    // for the log of the 5xx, never for the client
    failure.cause = cause;
    return failure;
  }

  exportAll(): AsyncIterable<BackupRecord> {
    return exportPg(this.pool);
  }

  async importAll(records: AsyncIterable<BackupRecord>): Promise<ImportSummary> {
    this.ensureOpen();
    const summary = await importPg(this.pool, records);
    const r = await this.pool.query<{ value: string }>(`SELECT value FROM hub_meta WHERE name = 'secret'`);
    this.hubSecret = r.rows[0]!.value;
    return summary;
  }

  /** The PostgreSQL schema this store works in. */
  get schema(): string {
    return this.url.schema;
  }

  // ---- plumbing -------------------------------------------------------------------------------

  private ensureOpen(): void {
    if (this.closed) throw hubError('STORE_CLOSED', 'the hub is shutting down');
  }

  private queue(name: string): SerialQueue<AppendRequest, AppendResult> {
    let q = this.queues.get(name);
    if (!q) {
      const created = new SerialQueue<AppendRequest, AppendResult>(
        (jobs) => this.commitGroup(name, jobs),
        { maxJobs: this.options.maxGroupJobs, maxBytes: this.options.maxGroupBytes },
        () => {
          // a queue holds nothing but waiting jobs: drop idle ones so the map stays small
          if (this.queues.get(name) === created && created.length === 0) this.queues.delete(name);
        },
      );
      q = created;
      this.queues.set(name, q);
    }
    return q;
  }

  /** Runs `fn` in a transaction; COMMIT must really commit (an aborted transaction answers ROLLBACK). */
  private async tx<T>(fn: (c: PoolClient) => Promise<T>, options: { sync?: boolean } = {}): Promise<T> {
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN');
      const value = await fn(c);
      // status bookkeeping need not wait for the WAL flush; everything a client relies on does
      if (options.sync === false) await c.query('SET LOCAL synchronous_commit = off');
      const done = await c.query('COMMIT');
      if (done.command !== 'COMMIT') throw new StoreFailure(new Error('the transaction was rolled back'));
      c.release();
      return value;
    } catch (err) {
      await c.query('ROLLBACK').then(
        () => c.release(),
        (e: Error) => c.release(e),
      );
      throw err;
    }
  }

  private async lockHead(c: PoolClient, name: string): Promise<Head | undefined> {
    const r = await c.query<DatasetRow>(SELECT_HEAD_FOR_UPDATE, [name]);
    return r.rows[0] ? toHead(r.rows[0]) : undefined;
  }

  private async datasetId(name: string): Promise<number> {
    const r = await this.pool.query<{ id: string }>(`SELECT id FROM datasets WHERE name = $1`, [name]);
    if (!r.rows[0]) throw notFoundDataset(name);
    return Number(r.rows[0].id);
  }

  private notify(notice: ChangeNotice): void {
    for (const l of this.listeners) {
      try {
        l(notice);
      } catch {
        // a listener's failure must not break the writer
      }
    }
  }

  /** After the LISTEN connection came back: notices may have been missed, so re-announce every head. */
  private async announceAll(): Promise<void> {
    try {
      for (const d of await this.listDatasets()) {
        this.notify({ dataset: d.name, epoch: d.epoch, lastSeq: d.lastSeq });
      }
    } catch {
      // the next reconnect tries again; waiting readers time out at worst
    }
  }

  subscribe(listener: (notice: ChangeNotice) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // ---- datasets -------------------------------------------------------------------------------

  async putDataset(
    name: string,
    init: (existing: DatasetRecord | undefined) => DatasetInit,
  ): Promise<{ created: boolean; record: DatasetRecord }> {
    this.ensureOpen();
    return this.queue(name).exclusive(() =>
      this.tx(async (c) => {
        while (true) {
          const existing = await this.lockHead(c, name);
          const { config, keyHashes } = init(existing?.record);
          const now = Date.now();
          if (existing) {
            const r = await c.query<DatasetRow>(
              `UPDATE datasets SET config = $2, push_hash = $3, read_hash = $4, updated_at = $5
               WHERE name = $1 RETURNING ${DATASET_COLUMNS}`,
              [name, JSON.stringify(config), keyHashes.push, keyHashes.read, now],
            );
            return { created: false, record: toHead(r.rows[0]!).record };
          }
          const r = await c.query<DatasetRow>(
            `INSERT INTO datasets (name, epoch, created_at, updated_at, config, push_hash, read_hash)
             VALUES ($1, $2, $3, $3, $4, $5, $6)
             ON CONFLICT (name) DO NOTHING RETURNING ${DATASET_COLUMNS}`,
            [name, newId(), now, JSON.stringify(config), keyHashes.push, keyHashes.read],
          );
          if (r.rows[0]) return { created: true, record: toHead(r.rows[0]).record };
          // another hub process created it meanwhile: lock its row and update it instead
        }
      }),
    );
  }

  async getDataset(name: string): Promise<DatasetRecord | undefined> {
    const r = await this.pool.query<DatasetRow>(`SELECT ${DATASET_COLUMNS} FROM datasets WHERE name = $1`, [
      name,
    ]);
    return r.rows[0] ? toHead(r.rows[0]).record : undefined;
  }

  async listDatasets(): Promise<DatasetRecord[]> {
    const r = await this.pool.query<DatasetRow>(`SELECT ${DATASET_COLUMNS} FROM datasets ORDER BY name`);
    return r.rows.map((row) => toHead(row).record);
  }

  async deleteDataset(name: string): Promise<boolean> {
    this.ensureOpen();
    return this.queue(name).exclusive(() =>
      this.tx(async (c) => {
        // deleting the head row takes its lock: other processes' writers wait, then find no dataset
        const r = await c.query<{ id: string }>(`DELETE FROM datasets WHERE name = $1 RETURNING id`, [name]);
        if (!r.rows[0]) return false;
        const id = r.rows[0].id;
        for (const table of [
          'changes',
          'state',
          'idempotency',
          'journal',
          'blobs',
          'aux',
          'retired_epochs',
        ]) {
          await c.query(`DELETE FROM ${table} WHERE dataset = $1`, [id]);
        }
        return true;
      }),
    );
  }

  async updateAttrs(
    name: string,
    fn: (current: JsonObject) => JsonObject | undefined,
  ): Promise<DatasetRecord> {
    this.ensureOpen();
    return this.queue(name).exclusive(() =>
      this.tx(
        async (c) => {
          const head = await this.lockHead(c, name);
          if (!head) throw notFoundDataset(name);
          const attrs = fn(head.record.attrs);
          if (attrs === undefined) return head.record;
          const r = await c.query<DatasetRow>(
            `UPDATE datasets SET attrs = $2 WHERE name = $1 RETURNING ${DATASET_COLUMNS}`,
            [name, JSON.stringify(attrs)],
          );
          return toHead(r.rows[0]!).record;
        },
        { sync: false },
      ),
    );
  }

  async findKeyHash(hash: string): Promise<{ dataset: string; role: 'push' | 'read' } | undefined> {
    const r = await this.pool.query<{ name: string; push: boolean }>(
      `SELECT name, push_hash = $1 AS push FROM datasets WHERE push_hash = $1 OR read_hash = $1 LIMIT 1`,
      [hash],
    );
    const row = r.rows[0];
    return row ? { dataset: row.name, role: row.push ? 'push' : 'read' } : undefined;
  }

  // ---- appends --------------------------------------------------------------------------------

  async append(name: string, request: AppendRequest): Promise<AppendResult> {
    this.ensureOpen();
    for (const w of request.writes) {
      if (!KIND_PATTERN.test(w.kind)) throw hubError('INTERNAL', `invalid change kind '${w.kind}'`);
      checkKeyLength(w.key, 'a record key');
      // documents travel joined by U+001E (apply.ts); JSON text never holds it raw
      if (w.doc.includes('\u001e')) throw hubError('INTERNAL', 'a document is not JSON text');
    }
    if (request.journal?.includes('\u001e')) throw hubError('INTERNAL', 'the journal entry is not JSON text');
    for (const a of request.aux ?? []) checkKeyLength(a.ns + a.key, 'an auxiliary key');
    if (request.markSeen !== undefined) checkKeyLength(request.markSeen, 'a namespace');
    if (request.idempotencyKey !== undefined) checkKeyLength(request.idempotencyKey, 'an idempotency key');
    const bytes = requestBytes(request);
    // back-pressure: refuse rather than queue without bound when the database cannot keep up
    if (this.pendingBytes > 0 && this.pendingBytes + bytes > this.options.maxPendingBytes) {
      throw hubError('OVERLOADED', 'the hub is busy writing; retry shortly', { retryAfter: 1 });
    }
    this.pendingBytes += bytes;
    try {
      // a sweep or an aux clear reads committed state: it runs alone in its group
      const alone = request.sweep !== undefined || request.clearAux !== undefined;
      return await this.queue(name).enqueue(request, bytes, alone);
    } finally {
      this.pendingBytes -= bytes;
    }
  }

  /** Applies a group of appends in one transaction under the dataset's head row lock. */
  private async commitGroup(name: string, jobs: AppendJob[]): Promise<void> {
    const settled: Array<{ job: AppendJob; result?: AppendResult; error?: unknown }> = [];
    let notice: ChangeNotice | undefined;
    try {
      const found = await this.tx(
        async (c) => {
          const head = await this.lockHead(c, name);
          if (!head) return false;
          const rec = head.record;
          const planner = new Planner(c, { id: head.id, epoch: rec.epoch }, progressOf(head));
          await planner.prefetch(jobs.map((j) => j.request));
          const now = Date.now();
          for (const job of jobs) {
            try {
              settled.push({ job, result: await planner.apply(job.request, now) });
            } catch (error) {
              // a database failure loses the transaction: the whole group fails
              if (error instanceof StoreFailure) throw error;
              settled.push({ job, error });
            }
          }
          const p = planner.progress;
          const durable = planner.pending.rows > 0 || p.attrs !== rec.attrs;
          if (!durable && p.lastPushAt === rec.lastPushAt) return true;
          await planner.flush();
          if (p.lastSeq !== rec.lastSeq) notice = { dataset: name, epoch: rec.epoch, lastSeq: p.lastSeq };
          await this.writeHead(c, head.id, p, notice);
          // a group that only moved lastPushAt has nothing a client must rely on: no WAL flush wait
          if (!durable) await c.query('SET LOCAL synchronous_commit = off');
          return true;
        },
        { sync: true },
      );
      if (!found) {
        for (const j of jobs) j.reject(notFoundDataset(name));
        return;
      }
    } catch (err) {
      const failure = err instanceof HubError ? err : this.commitFailure(err);
      for (const j of jobs) j.reject(failure);
      return;
    }
    this.fault = undefined;
    if (notice) this.notify(notice);
    for (const s of settled) {
      if (s.result) s.job.resolve(s.result);
      else s.job.reject(s.error);
    }
  }

  /** Moves the head row forward; the NOTIFY rides on the same statement and is sent at COMMIT. */
  private async writeHead(
    c: PoolClient,
    id: number,
    p: Progress,
    notice: ChangeNotice | undefined,
    epoch?: string,
  ): Promise<void> {
    const values: unknown[] = [id, p.lastSeq, p.count, p.lastPushAt, JSON.stringify(p.attrs), p.journalN];
    let sql = `UPDATE datasets SET last_seq = $2, live_count = $3, last_push_at = $4, attrs = $5, journal_n = $6`;
    if (epoch !== undefined) {
      values.push(epoch);
      sql += `, epoch = $${values.length}`;
    }
    sql += ` WHERE id = $1`;
    if (notice) {
      values.push(this.channel, noticePayload(notice, this.instance));
      sql += ` RETURNING pg_notify($${values.length - 1}, $${values.length})`;
    }
    await c.query(sql, values).catch((err: unknown) => {
      throw new StoreFailure(err);
    });
  }

  // ---- reads ----------------------------------------------------------------------------------

  async *changes(name: string, query: ChangesQuery): AsyncGenerator<Change> {
    const id = await this.datasetId(name);
    const limit = query.limit ?? Infinity;
    if (limit <= 0) return;
    // "still the latest for its key" is a per-row probe of the state table's primary key (a
    // SubPlan), so the plan stays an index walk whatever the planner's statistics say
    const sql = `SELECT ${CHANGE_COLUMNS} FROM changes c
       WHERE c.dataset = $1 AND c.epoch = $2 AND c.seq > $3
       ${
         query.latestOnly
           ? `AND c.seq = (SELECT s.seq FROM state s
                WHERE s.dataset = $1 AND s.epoch = $2 AND s.key = c.key)`
           : ''
       }
       ORDER BY c.seq LIMIT $4`;
    const rows = keysetPages<ChangeRow, number>(
      {
        fetch: async (after, n) => (await this.pool.query<ChangeRow>(sql, [id, query.epoch, after, n])).rows,
        position: (r) => Number(r.seq),
        size: (r) => r.doc.length + r.key.length + 64,
      },
      query.afterSeq,
      limit,
    );
    for await (const r of rows) yield toChange(r);
  }

  async *current(name: string, query: CurrentQuery): AsyncGenerator<Change> {
    const id = await this.datasetId(name);
    const limit = query.limit ?? Infinity;
    if (limit <= 0) return;
    const live = query.includeDeleted ? '' : 'AND NOT s.deleted';
    const sql = (first: boolean): string =>
      `SELECT ${CHANGE_COLUMNS} FROM state s CROSS JOIN LATERAL (${CHANGE_OF_STATE}) c
       WHERE s.dataset = $1 AND s.epoch = $2 ${first ? 'AND $3::text IS NULL' : 'AND s.key > $3'} ${live}
       ORDER BY s.key LIMIT $4`;
    const rows = keysetPages<ChangeRow, string | null>(
      {
        fetch: async (after, n) =>
          (await this.pool.query<ChangeRow>(sql(after === null), [id, query.epoch, after, n])).rows,
        position: (r) => r.key,
        size: (r) => r.doc.length + r.key.length + 64,
      },
      query.afterKey === undefined ? null : encodeText(query.afterKey),
      limit,
    );
    for await (const r of rows) yield toChange(r);
  }

  async get(name: string, key: string): Promise<Change | undefined> {
    const r = await this.pool.query<Partial<ChangeRow> & { id: string }>(
      `SELECT d.id, ${CHANGE_COLUMNS} FROM datasets d LEFT JOIN LATERAL (
         SELECT * FROM changes c WHERE c.dataset = d.id AND c.epoch = d.epoch
         AND c.seq = (SELECT s.seq FROM state s WHERE s.dataset = d.id AND s.epoch = d.epoch AND s.key = $2)
         LIMIT 1) c ON true
       WHERE d.name = $1`,
      [name, encodeText(key)],
    );
    const row = r.rows[0];
    if (!row) throw notFoundDataset(name);
    return row.seq === null || row.seq === undefined ? undefined : toChange(row as ChangeRow);
  }

  // ---- rebuild --------------------------------------------------------------------------------

  /**
   * The whole rebuild is one transaction holding the head row lock: writers of every process wait,
   * readers keep the old epoch (MVCC) until COMMIT switches the head to the new one, and a failure
   * leaves nothing behind. The old epoch's rows stay readable for `epochGraceMs` (readers that
   * were streaming it finish their view), then the janitor drops them.
   */
  async rebuild(name: string, requests: AsyncIterable<AppendRequest>): Promise<AppendResult> {
    this.ensureOpen();
    return this.queue(name).exclusive(async () => {
      let notice: ChangeNotice | undefined;
      const result = await this.tx(async (c) => {
        const head = await this.lockHead(c, name);
        if (!head) throw notFoundDataset(name);
        const rec = head.record;
        const epoch = newId();
        const planner = new Planner(
          c,
          { id: head.id, epoch },
          { lastSeq: 0, count: 0, lastPushAt: rec.lastPushAt, attrs: rec.attrs, journalN: head.journalN },
        );
        let changes = 0;
        let swept = 0;
        for await (const raw of requests) {
          // the journal is the source being replayed: never journal it again
          const req: AppendRequest = { ...raw, journal: undefined };
          const alone = req.sweep !== undefined || req.clearAux !== undefined;
          if (alone) await planner.flush();
          await planner.prefetch([req]);
          const r = await planner.apply(req, req.recorded ?? Date.now());
          changes += r.changes;
          swept += r.swept;
          const pending = planner.pending;
          if (pending.rows >= REBUILD_FLUSH_ROWS || pending.bytes >= REBUILD_FLUSH_BYTES || alone) {
            await planner.flush();
          }
        }
        await planner.flush();
        const p = { ...planner.progress, lastPushAt: rec.lastPushAt };
        notice = { dataset: name, epoch, lastSeq: p.lastSeq };
        await this.writeHead(c, head.id, p, notice, epoch);
        await c.query(`INSERT INTO retired_epochs (dataset, epoch, retired_at) VALUES ($1, $2, $3)`, [
          head.id,
          rec.epoch,
          Date.now(),
        ]);
        return { epoch, lastSeq: p.lastSeq, changes, outcomes: [], swept, duplicate: false };
      });
      if (notice) this.notify(notice);
      const grace = setTimeout(() => this.runJanitor(), this.options.epochGraceMs + 100);
      grace.unref();
      return result;
    });
  }

  /** Drops the rows of epochs retired longer than the grace period ago (any process may do it). */
  private runJanitor(): void {
    if (this.closed || this.janitorRun) return;
    this.janitorRun = this.dropRetiredEpochs()
      .catch(() => undefined)
      .finally(() => {
        this.janitorRun = undefined;
      });
  }

  private async dropRetiredEpochs(): Promise<void> {
    const cutoff = Date.now() - this.options.epochGraceMs;
    while (!this.closed) {
      const dropped = await this.tx(async (c) => {
        const r = await c.query<{ dataset: string; epoch: string }>(
          `SELECT dataset, epoch FROM retired_epochs WHERE retired_at <= $1
           ORDER BY retired_at LIMIT 1 FOR UPDATE SKIP LOCKED`,
          [cutoff],
        );
        const row = r.rows[0];
        if (!row) return false;
        for (const table of ['changes', 'state', 'idempotency']) {
          await c.query(`DELETE FROM ${table} WHERE dataset = $1 AND epoch = $2`, [row.dataset, row.epoch]);
        }
        await c.query(`DELETE FROM retired_epochs WHERE dataset = $1 AND epoch = $2`, [
          row.dataset,
          row.epoch,
        ]);
        return true;
      });
      if (!dropped) return;
    }
  }

  // ---- side data ------------------------------------------------------------------------------

  async *journal(name: string, afterN = 0): AsyncGenerator<JournalEntry> {
    const id = await this.datasetId(name);
    type Row = { n: string; recorded: string; text: string };
    const rows = keysetPages<Row, number>(
      {
        fetch: async (after, n) =>
          (
            await this.pool.query<Row>(
              `SELECT n, recorded, text FROM journal WHERE dataset = $1 AND n > $2 ORDER BY n LIMIT $3`,
              [id, after, n],
            )
          ).rows,
        position: (r) => Number(r.n),
        size: (r) => r.text.length + 32,
      },
      afterN,
    );
    for await (const r of rows) yield { n: Number(r.n), recorded: Number(r.recorded), text: r.text };
  }

  async clearJournal(name: string): Promise<void> {
    this.ensureOpen();
    await this.queue(name).exclusive(() =>
      this.tx(async (c) => {
        // under the head lock: a rebuild replaying the journal in another process finishes first
        const head = await this.lockHead(c, name);
        if (!head) throw notFoundDataset(name);
        await c.query(`DELETE FROM journal WHERE dataset = $1`, [head.id]);
      }),
    );
  }

  async getBlob(name: string, id: string): Promise<Blob | undefined> {
    const r = await this.pool.query<{ content_type: string | null; bytes: Buffer | null }>(
      `SELECT b.content_type, b.bytes FROM datasets d
       LEFT JOIN blobs b ON b.dataset = d.id AND b.id = $2 WHERE d.name = $1`,
      [name, encodeText(id)],
    );
    const row = r.rows[0];
    if (!row) throw notFoundDataset(name);
    if (row.bytes === null || row.content_type === null) return undefined;
    return { id, contentType: decodeText(row.content_type), bytes: row.bytes };
  }

  async auxCount(name: string, ns: string, key: string, period: string, limit: number): Promise<AuxCount> {
    this.ensureOpen();
    if (limit >= 1) {
      const r = await this.pool.query<{ used: string }>(COUNT_SQL, [
        name,
        encodeText(ns),
        encodeText(key),
        period,
        limit,
      ]);
      if (r.rows[0]) return { used: Number(r.rows[0].used), allowed: true };
    }
    // refused, or no such dataset (auxGet throws its 404)
    return { used: countStep(await this.auxGet(name, ns, key), period, limit).used, allowed: false };
  }

  async auxGet(name: string, ns: string, key: string): Promise<string | undefined> {
    const r = await this.pool.query<{ value: string | null }>(
      `SELECT a.value FROM datasets d
       LEFT JOIN aux a ON a.dataset = d.id AND a.ns = $2 AND a.key = $3 WHERE d.name = $1`,
      [name, encodeText(ns), encodeText(key)],
    );
    const row = r.rows[0];
    if (!row) throw notFoundDataset(name);
    return row.value === null ? undefined : decodeText(row.value);
  }

  async *auxScan(name: string, ns: string, afterKey?: string): AsyncGenerator<[string, string]> {
    const id = await this.datasetId(name);
    type Row = { key: string; value: string };
    const encodedNs = encodeText(ns);
    const rows = keysetPages<Row, string | null>(
      {
        fetch: async (after, n) =>
          (
            await this.pool.query<Row>(
              `SELECT key, value FROM aux WHERE dataset = $1 AND ns = $2
               AND ($3::text IS NULL OR key > $3) ORDER BY key LIMIT $4`,
              [id, encodedNs, after, n],
            )
          ).rows,
        position: (r) => r.key,
        size: (r) => r.key.length + r.value.length + 32,
      },
      afterKey === undefined ? null : encodeText(afterKey),
    );
    for await (const r of rows) yield [decodeText(r.key), decodeText(r.value)];
  }

  async auxPut(name: string, writes: readonly AuxWrite[], options: { sync?: boolean } = {}): Promise<void> {
    this.ensureOpen();
    for (const w of writes) checkKeyLength(w.ns + w.key, 'an auxiliary key');
    const id = await this.datasetId(name);
    if (writes.length === 0) return;
    await this.tx((c) => writeAuxRows((t, v) => c.query(t, v), id, writes), { sync: options.sync ?? false });
  }
}

function progressOf(head: Head): Progress {
  const r = head.record;
  return {
    lastSeq: r.lastSeq,
    count: r.count,
    lastPushAt: r.lastPushAt,
    attrs: r.attrs,
    journalN: head.journalN,
  };
}
