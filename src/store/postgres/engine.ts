import { randomBytes } from 'node:crypto';
import { hubError, HubError } from '../../errors.js';
import { countStep } from '../count.js';
import { BaseStore, notFoundDataset, type CountArgs, type GroupOptions } from '../base.js';
import type { EngineLimits } from '../limits.js';
import type { GroupJob } from '../serial.js';
import { applyEach, groupWrites, progressOf, rebuildProgress, replay, settle } from '../writer.js';
import type { FlushAt, Progress, Settled } from '../writer.js';
import type { AppendPart, AppendRequest, AppendResult, Change, ChangeNotice } from '../types.js';
import type { IndexEntry, IndexQuery } from '../types.js';
import type { ChangesQuery, CurrentQuery, JournalEntry } from '../types.js';
import type { DatasetInit, DatasetRecord, JsonObject } from '../types.js';
import type { Readiness, ReplicationLag, StoreEvent } from '../types.js';
import type { AuxCount, AuxWrite, Blob } from '../types.js';
import { DOC_SEPARATOR, PgWriter } from './apply.js';
import { Db, type Queryable, type TxOptions } from './db.js';
import { RETRY_AFTER_S, StoreFailure } from './faults.js';
import { COUNT_SQL, writeAuxRows } from './aux.js';
import { channelOf, NoticeListener, noticePayload } from './notify.js';
import { keysetPages } from './pages.js';
import {
  CHANGE_COLUMNS,
  CHANGE_OF_STATE,
  DATASET_COLUMNS,
  toChange,
  toStoredDataset,
  type ChangeRow,
  type DatasetRow,
  type StoredDataset,
} from './rows.js';
import { migrate } from './schema.js';
import { decodeText, encodeText } from './text.js';
import { parsePgUrl, type PgUrlOptions } from './url.js';
import { classifyPgError } from './disk.js';
import { exportPg, importPg } from './backup.js';
import type { BackupRecord, ImportSummary } from '../backup.js';
import { faultError, type FaultKind as DiskFaultKind, type StoreHealth } from '../faults.js';

export interface PgStoreOptions extends GroupOptions {
  /**
   * How long an epoch replaced by a rebuild stays readable, so that readers streaming it when the
   * switch happened finish their consistent view (keyset pages span several transactions).
   */
  readonly epochGraceMs?: number;
  /** STORE_READ_URL: a streaming replica that serves changelog and state reads */
  readonly readUrl?: string;
  /** How long a read waits for the replica to replay what the reader was promised. */
  readonly replicaWaitMs?: number;
  /** Faults, reconnects, failovers, rollbacks (metrics and logs). */
  readonly onEvent?: (event: StoreEvent) => void;
}

type AppendJob = GroupJob<AppendRequest, AppendResult>;

/** A dataset given a new epoch because the database went back in time (PgStore.rewound). */
interface Rewind {
  readonly stored: StoredDataset;
  readonly event: StoreEvent;
}

const newId = (): string => randomBytes(8).toString('hex');
/** A rebuild writes its new epoch in pieces of about this size, inside its one transaction. */
const REBUILD_FLUSH: FlushAt = { rows: 5_000, bytes: 16 * 1024 * 1024 };
const JANITOR_EVERY_MS = 60_000;
/** A disk fault no write has run into for this long is no longer reported (nobody may be pushing). */
const FAULT_SHOWN_MS = 60_000;
/** Start-up retries an unreachable database with this backoff (doubling, at most the second). */
const STARTUP_BACKOFF_MS = [200, 5_000] as const;
/** A replica read polls the replica's dataset row this often while waiting for it to catch up. */
const REPLICA_POLL_MS = 20;

const SELECT_FOR_UPDATE = `SELECT ${DATASET_COLUMNS} FROM datasets WHERE name = $1 FOR UPDATE`;

/**
 * The store on PostgreSQL: any number of hub processes may open the same database (and schema) and
 * serve the same datasets.
 *
 * Writes: each process keeps a group-commit queue per dataset (one transaction per group); groups
 * of different processes are serialised by the dataset's row lock (`SELECT … FOR UPDATE`),
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
export class PgStore extends BaseStore<AppendRequest> {
  readonly engine = 'postgresql';
  /**
   * A btree index entry holds at most ~2700 bytes and keys are indexed (stored escaped, text.ts);
   * documents and journal texts travel joined by U+001E (apply.ts).
   */
  protected readonly limits: EngineLimits = {
    maxKeyBytes: 2048,
    storedKey: encodeText,
    forbiddenInText: DOC_SEPARATOR,
  };
  private readonly instance = newId();
  private listener: NoticeListener | undefined;
  private hubSecret = '';
  private janitorTimer: NodeJS.Timeout | undefined;
  private janitorRun: Promise<void> | undefined;
  private readonly channel: string;
  /** the last disk fault a commit ran into, until a commit succeeds (the server's disk is not ours to statfs) */
  private fault: { kind: DiskFaultKind; code: string; at: number } | undefined;
  /**
   * The highest lastSeq this process acknowledged per dataset: one found lower later (same
   * epoch) means the database went back in time (see rewound()).
   */
  private readonly acked = new Map<string, { epoch: string; lastSeq: number }>();
  /** When each waiting append was queued (for failedGroups). */
  private readonly queuedAt = new WeakMap<AppendRequest, number>();
  /**
   * Per dataset, when its last group failed because the database did: appends queued before that
   * get the same answer at once instead of waiting out another timeout each (the bound of
   * docs/postgres-ha.md holds for queued writes too).
   */
  private readonly failedGroups = new Map<string, { at: number; error: HubError }>();
  private readonly emit: (event: StoreEvent) => void;

  private constructor(
    private readonly db: Db,
    /** the read replica (STORE_READ_URL), if any */
    private readonly replica: Db | undefined,
    private readonly url: PgUrlOptions,
    private readonly options: Required<Pick<PgStoreOptions, 'epochGraceMs' | 'replicaWaitMs'>>,
    groups: GroupOptions,
    emit: (event: StoreEvent) => void,
  ) {
    super(groups);
    this.channel = channelOf(url.schema);
    this.emit = (e) => {
      try {
        emit(e);
      } catch {
        // a metric's failure must not break the store
      }
    };
  }

  /**
   * Connects, creates or migrates the schema, and starts listening for other processes' commits.
   * A database that cannot be reached yet is waited for (`startup_wait`), with backoff.
   */
  static async open(storeUrl: string, options: PgStoreOptions = {}): Promise<PgStore> {
    const url = parsePgUrl(storeUrl);
    const onEvent = options.onEvent ?? (() => undefined);
    // called only once connections exist, after `store` is set
    const events = {
      fault: (kind: string) => store.emit({ type: 'fault', kind }),
      serverChanged: (server: string, previous: string) => store.serverChanged(server, previous),
    };
    const db = new Db(url, events);
    // the replica's faults are counted; its server changing is no failover of the store
    const replicaEvents = { fault: events.fault, serverChanged: () => undefined };
    const replica = options.readUrl
      ? new Db(parsePgUrl(options.readUrl), replicaEvents, 'standby')
      : undefined;
    const store: PgStore = new PgStore(
      db,
      replica,
      url,
      {
        epochGraceMs: options.epochGraceMs ?? 10 * 60_000,
        replicaWaitMs: options.replicaWaitMs ?? 1_000,
      },
      options,
      onEvent,
    );
    const deadline = Date.now() + url.startupWaitMs;
    let delay: number = STARTUP_BACKOFF_MS[0];
    for (let attempt = 1; ; attempt++) {
      try {
        await migrate(db, url.schema, url.partitions);
        await store.start();
        return store;
      } catch (err) {
        const transient = err instanceof HubError && err.status === 503;
        if (!transient || Date.now() + delay > deadline) {
          await store.listener?.close();
          await db.close().catch(() => undefined);
          await replica?.close().catch(() => undefined);
          throw err instanceof HubError && err.cause instanceof Error
            ? new Error(`${err.message}: ${err.cause.message}`, { cause: err.cause })
            : err;
        }
        const cause = err.cause instanceof Error ? err.cause.message : err.message;
        store.emit({ type: 'waiting', attempt, error: cause, retryInMs: delay });
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, STARTUP_BACKOFF_MS[1]);
      }
    }
  }

  private async start(): Promise<void> {
    // read first: a hub starting against a read-only server (a standby) with a secret is fine
    const read = async (): Promise<string | undefined> =>
      (await this.db.reader.query<{ value: string }>(`SELECT value FROM hub_meta WHERE name = 'secret'`))
        .rows[0]?.value;
    let secret = await read();
    if (secret === undefined) {
      await this.db.writer.query(
        `INSERT INTO hub_meta (name, value) VALUES ('secret', $1) ON CONFLICT (name) DO NOTHING`,
        [randomBytes(32).toString('hex')],
      );
      secret = (await read())!;
    }
    this.hubSecret = secret;
    this.listener ??= new NoticeListener({
      connect: () => this.db.dedicated(),
      timeoutMs: this.url.timeouts.queryMs,
      channel: this.channel,
      instance: this.instance,
      onNotice: (n) => this.notify(n),
      onResync: () => {
        this.emit({ type: 'reconnect' });
        void this.afterReconnect();
      },
    });
    await this.listener.start();
    this.janitorTimer ??= setInterval(
      () => this.runJanitor(),
      Math.min(JANITOR_EVERY_MS, Math.max(1_000, this.options.epochGraceMs)),
    );
    this.janitorTimer.unref();
    this.runJanitor();
  }

  protected async shutdown(): Promise<void> {
    if (this.janitorTimer) clearInterval(this.janitorTimer);
    await this.janitorRun;
    await this.listener?.close();
    await this.db.close();
    await this.replica?.close();
  }

  protected async readSecret(): Promise<string> {
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

  /**
   * A failed commit's answer: a disk fault in words (and remembered for health), else what the
   * database layer said (STORE_UNAVAILABLE…), else STORE_WRITE_FAILED.
   */
  private commitFailure(err: unknown): HubError {
    const kind = classifyPgError(err);
    if (kind) {
      const failure = faultError(kind);
      this.fault = { kind, code: failure.code, at: Date.now() };
      // for the log of the 5xx, never for the client
      failure.cause = err instanceof StoreFailure ? err.cause : err;
      return failure;
    }
    if (err instanceof HubError) return err;
    const failure = hubError('STORE_WRITE_FAILED', 'the write could not be made durable', {
      retryAfter: RETRY_AFTER_S,
    });
    failure.cause = err instanceof StoreFailure ? err.cause : err;
    return failure;
  }

  protected exportRecords(): AsyncIterable<BackupRecord> {
    return exportPg(this.db);
  }

  protected async importRecords(records: AsyncIterable<BackupRecord>): Promise<ImportSummary> {
    const summary = await importPg(this.db, records);
    const rows = await this.db.query<{ value: string }>(`SELECT value FROM hub_meta WHERE name = 'secret'`);
    this.hubSecret = rows[0]!.value;
    return summary;
  }

  /** The PostgreSQL schema this store works in. */
  get schema(): string {
    return this.url.schema;
  }

  /** Reachable and writable: a statement on a pooled connection, on a server not in recovery. */
  protected async probe(): Promise<Readiness> {
    // the server's disk: known only from the last commit that ran into it (health())
    if (!this.health().writable)
      return {
        ready: false,
        reason: 'the database server is out of disk: pushes are refused (STORE_DISK_FULL)',
      };
    try {
      const rows = await this.db.query<{ ro: boolean }>(
        `SELECT pg_is_in_recovery() OR current_setting('transaction_read_only') = 'on' AS ro`,
        [],
        { idempotent: true },
      );
      if (rows[0]?.ro)
        return { ready: false, reason: 'the database is read-only (a standby, or failing over)' };
      return { ready: true };
    } catch (err) {
      return { ready: false, reason: err instanceof Error ? err.message : String(err) };
    }
  }

  /** The replica's lag behind the primary, from their WAL positions; undefined without a replica. */
  async replicationLag(): Promise<ReplicationLag | undefined> {
    if (!this.replica) return undefined;
    const [standby, primary] = await Promise.all([
      this.replica.query<{ lsn: string | null; age: number | null }>(
        `SELECT pg_last_wal_replay_lsn()::text AS lsn,
                CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
                     ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8 END AS age`,
        [],
        { idempotent: true },
      ),
      this.db.query<{ lsn: string }>(`SELECT pg_current_wal_lsn()::text AS lsn`, [], { idempotent: true }),
    ]);
    const replayed = standby[0]?.lsn;
    if (!replayed || !primary[0]) return undefined;
    const bytes = Number(lsnValue(primary[0].lsn) - lsnValue(replayed));
    return { seconds: bytes <= 0 ? 0 : Math.max(0, Number(standby[0]!.age ?? 0)), bytes: Math.max(0, bytes) };
  }

  // ---- plumbing -------------------------------------------------------------------------------

  private serverChanged(server: string, previous: string): void {
    this.emit({ type: 'failover', server, previous });
    void this.afterReconnect();
  }

  /**
   * After the LISTEN connection came back or connections reached another server: notices may have
   * been missed, so every waiting reader is woken once (it re-reads the dataset); and every dataset
   * this process acknowledged is checked for a rollback.
   */
  private async afterReconnect(): Promise<void> {
    try {
      const datasets = await this.readDatasets();
      for (const d of datasets) this.notify({ dataset: d.name, epoch: d.epoch, lastSeq: d.lastSeq });
      for (const d of datasets) {
        const seen = this.acked.get(d.name);
        if (seen && seen.epoch === d.epoch && d.lastSeq < seen.lastSeq) {
          const r = await this.queue(d.name).exclusive(() =>
            this.tx(
              async (c) => {
                const stored = await this.lockDataset(c, d.name);
                return stored ? await this.rewound(c, stored) : undefined;
              },
              { long: true },
            ),
          );
          if (r) this.rewindCommitted(r);
        }
      }
    } catch {
      // the next reconnect tries again; the next write to a dataset checks it too
    }
  }

  /**
   * Under the row lock: if the database went back in time for this dataset (its lastSeq is below
   * one this process acknowledged, in the same epoch: an asynchronous failover lost commits, or
   * an old primary came back), the dataset gets a new epoch holding what survived, so that
   * collectors holding tokens of the old one full-sync instead of silently diverging. Returns
   * the dataset to write on.
   */
  private async rewound(c: Queryable, stored: StoredDataset): Promise<Rewind | undefined> {
    const rec = stored.record;
    const seen = this.acked.get(rec.name);
    if (!seen || seen.epoch !== rec.epoch || rec.lastSeq >= seen.lastSeq) return undefined;
    const epoch = newId();
    for (const table of ['changes', 'state', 'idempotency', 'terms']) {
      await c.query(`UPDATE ${table} SET epoch = $3 WHERE dataset = $1 AND epoch = $2`, [
        stored.id,
        rec.epoch,
        epoch,
      ]);
    }
    await this.writeProgress(
      c,
      stored.id,
      progressOf(rec, stored.journalN),
      { dataset: rec.name, epoch, lastSeq: rec.lastSeq },
      epoch,
    );
    return {
      stored: { ...stored, record: { ...rec, epoch } },
      event: { type: 'rollback', dataset: rec.name, acknowledged: seen.lastSeq, found: rec.lastSeq, epoch },
    };
  }

  /** After the COMMIT of a rewind: told, counted, and the new epoch is what this process knows. */
  private rewindCommitted(r: Rewind): void {
    const { name, epoch, lastSeq } = r.stored.record;
    this.acked.set(name, { epoch, lastSeq });
    this.emit(r.event);
    this.notify({ dataset: name, epoch, lastSeq });
  }

  private acknowledge(name: string, epoch: string, lastSeq: number): void {
    const seen = this.acked.get(name);
    if (!seen || seen.epoch !== epoch || seen.lastSeq < lastSeq) this.acked.set(name, { epoch, lastSeq });
  }

  /** Runs `fn` in a transaction (db.ts: timeouts, read-only retry, COMMIT outcome resolution). */
  private tx<T>(fn: (c: Queryable) => Promise<T>, options: TxOptions = {}): Promise<T> {
    return this.db.tx(fn, options);
  }

  /** The dataset's row, locked: writers of every process queue on it. */
  private async lockDataset(c: Queryable, name: string): Promise<StoredDataset | undefined> {
    const r = await c.query<DatasetRow>(SELECT_FOR_UPDATE, [name]);
    return r.rows[0] ? toStoredDataset(r.rows[0]) : undefined;
  }

  private async datasetId(name: string): Promise<number> {
    const r = await this.db.reader.query<{ id: string }>(`SELECT id FROM datasets WHERE name = $1`, [name]);
    if (!r.rows[0]) throw notFoundDataset(name);
    return Number(r.rows[0].id);
  }

  // ---- datasets -------------------------------------------------------------------------------

  protected writeDataset(
    name: string,
    init: (existing: DatasetRecord | undefined) => DatasetInit,
  ): Promise<{ created: boolean; record: DatasetRecord }> {
    return this.tx(async (c) => {
      while (true) {
        const existing = await this.lockDataset(c, name);
        const { config, keyHashes } = init(existing?.record);
        const now = Date.now();
        if (existing) {
          const r = await c.query<DatasetRow>(
            `UPDATE datasets SET config = $2, push_hash = $3, read_hash = $4, updated_at = $5
               WHERE name = $1 RETURNING ${DATASET_COLUMNS}`,
            [name, JSON.stringify(config), keyHashes.push, keyHashes.read, now],
          );
          return { created: false, record: toStoredDataset(r.rows[0]!).record };
        }
        const r = await c.query<DatasetRow>(
          `INSERT INTO datasets (name, epoch, created_at, updated_at, config, push_hash, read_hash)
             VALUES ($1, $2, $3, $3, $4, $5, $6)
             ON CONFLICT (name) DO NOTHING RETURNING ${DATASET_COLUMNS}`,
          [name, newId(), now, JSON.stringify(config), keyHashes.push, keyHashes.read],
        );
        if (r.rows[0]) return { created: true, record: toStoredDataset(r.rows[0]).record };
        // another hub process created it meanwhile: lock its row and update it instead
      }
    });
  }

  protected async readDataset(name: string): Promise<DatasetRecord | undefined> {
    const r = await this.db.reader.query<DatasetRow>(
      `SELECT ${DATASET_COLUMNS} FROM datasets WHERE name = $1`,
      [name],
    );
    return r.rows[0] ? toStoredDataset(r.rows[0]).record : undefined;
  }

  protected async readDatasets(): Promise<DatasetRecord[]> {
    const r = await this.db.reader.query<DatasetRow>(`SELECT ${DATASET_COLUMNS} FROM datasets ORDER BY name`);
    return r.rows.map((row) => toStoredDataset(row).record);
  }

  protected dropDataset(name: string): Promise<boolean> {
    return this.tx(async (c) => {
      // deleting the dataset's row takes its lock: other processes' writers wait, then find no dataset
      const r = await c.query<{ id: string }>(`DELETE FROM datasets WHERE name = $1 RETURNING id`, [name]);
      if (!r.rows[0]) return false;
      const id = r.rows[0].id;
      for (const table of [
        'changes',
        'state',
        'idempotency',
        'terms',
        'journal',
        'blobs',
        'aux',
        'retired_epochs',
      ]) {
        await c.query(`DELETE FROM ${table} WHERE dataset = $1`, [id]);
      }
      return true;
    });
  }

  protected writeAttrs(
    name: string,
    fn: (current: JsonObject) => JsonObject | undefined,
  ): Promise<DatasetRecord> {
    return this.tx(
      async (c) => {
        const stored = await this.lockDataset(c, name);
        if (!stored) throw notFoundDataset(name);
        const attrs = fn(stored.record.attrs);
        if (attrs === undefined) return stored.record;
        const r = await c.query<DatasetRow>(
          `UPDATE datasets SET attrs = $2 WHERE name = $1 RETURNING ${DATASET_COLUMNS}`,
          [name, JSON.stringify(attrs)],
        );
        return toStoredDataset(r.rows[0]!).record;
      },
      { sync: false },
    );
  }

  protected async readKeyHash(hash: string): Promise<{ dataset: string; role: 'push' | 'read' } | undefined> {
    const r = await this.db.reader.query<{ name: string; push: boolean }>(
      `SELECT name, push_hash = $1 AS push FROM datasets WHERE push_hash = $1 OR read_hash = $1 LIMIT 1`,
      [hash],
    );
    const row = r.rows[0];
    return row ? { dataset: row.name, role: row.push ? 'push' : 'read' } : undefined;
  }

  // ---- appends --------------------------------------------------------------------------------

  protected queued(_name: string, request: AppendRequest): AppendRequest {
    this.queuedAt.set(request, Date.now());
    return request;
  }

  /** Applies a group of appends in one transaction under the dataset's row lock. */
  protected async commitGroup(name: string, all: AppendJob[]): Promise<void> {
    const failed = this.failedGroups.get(name);
    let jobs = all;
    if (failed) {
      this.failedGroups.delete(name);
      const queuedBefore = (j: AppendJob): boolean => (this.queuedAt.get(j.request) ?? 0) <= failed.at;
      for (const j of all.filter(queuedBefore)) j.reject(failed.error);
      jobs = all.filter((j) => !queuedBefore(j));
      if (jobs.length === 0) return;
    }
    let settled: Settled<AppendRequest>[] = [];
    let notice: ChangeNotice | undefined;
    let rewind: Rewind | undefined;
    /** where the group's last change went, to confirm a COMMIT whose answer was lost */
    let last: { id: number; epoch: string; seq: number } | undefined;
    try {
      const found = await this.tx(
        async (c) => {
          // run again from scratch when the first connection reached a read-only server
          settled = [];
          notice = undefined;
          last = undefined;
          const locked = await this.lockDataset(c, name);
          if (!locked) return false;
          rewind = await this.rewound(c, locked);
          const stored = rewind?.stored ?? locked;
          const rec = stored.record;
          const writer = new PgWriter(
            c,
            { id: stored.id, epoch: rec.epoch },
            progressOf(rec, stored.journalN),
          );
          await writer.prefetch(jobs.map((j) => j.request));
          const now = Date.now();
          // a database failure loses the transaction: the whole group fails
          settled = await applyEach(
            jobs,
            (job) => writer.apply(job.request, now),
            (e) => e instanceof StoreFailure,
          );
          const writes = groupWrites(writer, rec);
          if (writes === 'nothing') return true;
          const p = writer.progress;
          await writer.flush();
          if (p.lastSeq !== rec.lastSeq) {
            notice = { dataset: name, epoch: rec.epoch, lastSeq: p.lastSeq };
            last = { id: stored.id, epoch: rec.epoch, seq: p.lastSeq };
          }
          await this.writeProgress(c, stored.id, p, notice);
          // a group that only moved lastPushAt has nothing a client must rely on: no WAL flush wait
          if (writes === 'lazy') await c.query('SET LOCAL synchronous_commit = off');
          return true;
        },
        {
          sync: true,
          // the group's last change row carries our transaction id: no other transaction's commit
          // can pass for ours
          confirm: async (ask, xid) => {
            if (!last) return true;
            const rows = await ask<{ xmin: string }>(
              `SELECT xmin::text AS xmin FROM changes WHERE dataset = $1 AND epoch = $2 AND seq = $3`,
              [last.id, last.epoch, last.seq],
            );
            return rows[0] !== undefined && BigInt(rows[0].xmin) === BigInt(xid) % 2n ** 32n;
          },
        },
      );
      if (!found) {
        for (const j of jobs) j.reject(notFoundDataset(name));
        return;
      }
    } catch (err) {
      const failure = this.commitFailure(err);
      for (const j of jobs) j.reject(failure);
      if (failure.status === 503) {
        // those queued meanwhile did not start: nothing of theirs can have been stored
        const answer =
          failure.code === 'STORE_UNAVAILABLE' || failure.code === 'STORE_DISK_FULL'
            ? failure
            : hubError('STORE_UNAVAILABLE', 'the database failed the writes queued before this one', {
                retryAfter: RETRY_AFTER_S,
              });
        this.failedGroups.set(name, { at: Date.now(), error: answer });
      }
      return;
    }
    this.fault = undefined;
    if (rewind) this.rewindCommitted(rewind);
    if (notice) {
      this.acknowledge(name, notice.epoch, notice.lastSeq);
      this.notify(notice);
    }
    settle(settled);
  }

  /** Moves the dataset's row forward; the NOTIFY rides on the same statement and is sent at COMMIT. */
  private async writeProgress(
    c: Queryable,
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

  /**
   * Where a changelog or state read runs: on the replica (STORE_READ_URL) when it has replayed
   * the dataset's epoch up to `atLeast`, the lastSeq the caller read on the primary and will promise
   * in its token; it is given `replicaWaitMs` to get there, then the primary serves. Rows are only
   * ever added to an epoch, so every page read on the replica afterwards sees at least that much.
   */
  private async readSource(
    name: string,
    epoch: string,
    atLeast: number | undefined,
  ): Promise<{ id: number; q: Queryable }> {
    const replica = this.replica;
    if (replica && atLeast !== undefined) {
      const deadline = Date.now() + this.options.replicaWaitMs;
      try {
        while (true) {
          const rows = await replica.query<{ id: string; epoch: string; last_seq: string }>(
            `SELECT id, epoch, last_seq FROM datasets WHERE name = $1`,
            [name],
            { idempotent: true },
          );
          const row = rows[0];
          if (row && row.epoch === epoch && Number(row.last_seq) >= atLeast) {
            this.emit({ type: 'read', from: 'replica' });
            return { id: Number(row.id), q: replica.reader };
          }
          if (Date.now() + REPLICA_POLL_MS > deadline) break;
          await new Promise((r) => setTimeout(r, REPLICA_POLL_MS));
        }
      } catch {
        // the replica is away: the primary serves
      }
      this.emit({ type: 'read', from: 'primary' });
    }
    return { id: await this.datasetId(name), q: this.db.reader };
  }

  protected async *readChanges(name: string, query: ChangesQuery): AsyncGenerator<Change> {
    const { id, q } = await this.readSource(name, query.epoch, query.atLeast);
    const limit = query.limit ?? Infinity;
    if (limit <= 0) return;
    const reverse = query.reverse === true;
    // "still the latest for its key" is a per-row probe of the state table's primary key (a
    // SubPlan), so the plan stays an index walk whatever the planner's statistics say
    const sql = `SELECT ${CHANGE_COLUMNS} FROM changes c
       WHERE c.dataset = $1 AND c.epoch = $2 AND c.seq > $3 AND c.seq < $5
       ${
         query.latestOnly
           ? `AND c.seq = (SELECT s.seq FROM state s
                WHERE s.dataset = $1 AND s.epoch = $2 AND s.key = c.key)`
           : ''
       }
       ORDER BY c.seq ${reverse ? 'DESC' : ''} LIMIT $4`;
    const upper = query.beforeSeq ?? Number.MAX_SAFE_INTEGER;
    const rows = keysetPages<ChangeRow, number>(
      {
        // the keyset position moves the bound on the side the walk goes
        fetch: async (at, n) =>
          (
            await q.query<ChangeRow>(
              sql,
              reverse ? [id, query.epoch, query.afterSeq, n, at] : [id, query.epoch, at, n, upper],
            )
          ).rows,
        position: (r) => Number(r.seq),
        size: (r) => r.doc.length + r.key.length + 64,
      },
      reverse ? upper : query.afterSeq,
      limit,
    );
    for await (const r of rows) yield toChange(r);
  }

  protected async *readCurrent(name: string, query: CurrentQuery): AsyncGenerator<Change> {
    const { id, q } = await this.readSource(name, query.epoch, query.atLeast);
    const limit = query.limit ?? Infinity;
    if (limit <= 0) return;
    const live = query.includeDeleted ? '' : 'AND NOT s.deleted';
    const reverse = query.reverse === true;
    // $3: the bound the walk moves (null: none yet), $5: the fixed one on the other side (null: none)
    const [moving, fixed] = reverse ? ['<', '>'] : ['>', '<'];
    const sql = `SELECT ${CHANGE_COLUMNS} FROM state s CROSS JOIN LATERAL (${CHANGE_OF_STATE}) c
       WHERE s.dataset = $1 AND s.epoch = $2 AND ($3::text IS NULL OR s.key ${moving} $3)
         AND ($5::text IS NULL OR s.key ${fixed} $5) ${live}
       ORDER BY s.key ${reverse ? 'DESC' : ''} LIMIT $4`;
    const enc = (k: string | undefined): string | null => (k === undefined ? null : encodeText(k));
    const start = reverse ? enc(query.beforeKey) : enc(query.afterKey);
    const other = reverse ? enc(query.afterKey) : enc(query.beforeKey);
    const rows = keysetPages<ChangeRow, string | null>(
      {
        fetch: async (at, n) => (await q.query<ChangeRow>(sql, [id, query.epoch, at, n, other])).rows,
        position: (r) => r.key,
        size: (r) => r.doc.length + r.key.length + 64,
      },
      start,
      limit,
    );
    for await (const r of rows) yield toChange(r);
  }

  protected async readKeys(name: string, list: readonly string[]): Promise<Array<Change | undefined>> {
    const r = await this.db.reader.query<Partial<ChangeRow> & { id: string; want: string | null }>(
      `SELECT d.id, w.key AS want, ${CHANGE_COLUMNS} FROM datasets d
       LEFT JOIN LATERAL (SELECT DISTINCT unnest($2::text[]) AS key) w ON true
       LEFT JOIN state s ON s.dataset = d.id AND s.epoch = d.epoch AND s.key = w.key
       LEFT JOIN changes c ON c.dataset = d.id AND c.epoch = d.epoch AND c.seq = s.seq
       WHERE d.name = $1`,
      [name, list.map(encodeText)],
    );
    if (!r.rows[0]) throw notFoundDataset(name);
    const byKey = new Map<string, Change>();
    for (const row of r.rows) {
      if (row.seq !== null && row.seq !== undefined) byKey.set(row.want!, toChange(row as ChangeRow));
    }
    return list.map((k) => byKey.get(encodeText(k)));
  }

  protected async *scanIndex(name: string, query: IndexQuery): AsyncGenerator<IndexEntry> {
    const { id, q } = await this.readSource(name, query.epoch, query.atLeast);
    const limit = query.limit ?? Infinity;
    if (limit <= 0) return;
    const reverse = query.reverse === true;
    const prefix = encodeText(query.prefix);
    // every term starting with the prefix sorts below prefix + U+10FFFF in the "C" collation
    const upper = prefix + '\u{10FFFF}';
    const dir = reverse ? 'DESC' : '';
    const sql = (first: boolean): string =>
      `SELECT term, key FROM terms
       WHERE dataset = $1 AND epoch = $2 AND term >= $3 AND term < $4
       ${first ? '' : `AND (term, key) ${reverse ? '<' : '>'} ($6, $7)`}
       ORDER BY term ${dir}, key ${dir} LIMIT $5`;
    type Row = { term: string; key: string };
    const rows = keysetPages<Row, Row | null>(
      {
        fetch: async (at, n) =>
          (
            await q.query<Row>(
              sql(at === null),
              at === null
                ? [id, query.epoch, prefix, upper, n]
                : [id, query.epoch, prefix, upper, n, at.term, at.key],
            )
          ).rows,
        position: (r) => r,
        size: (r) => r.term.length + r.key.length + 32,
      },
      query.after ? { term: encodeText(query.after.term), key: encodeText(query.after.key) } : null,
      limit,
    );
    for await (const r of rows) yield { term: decodeText(r.term), key: decodeText(r.key) };
  }

  /**
   * Inside every part's queue (base.ts): one transaction that locks the datasets' rows in name order
   * (other processes lock them the same way, so two of these never wait on each other in a circle)
   * and writes each part as its own group. A part its writer rejects, or a database failure, rolls
   * the whole transaction back.
   */
  protected async commitAcross(parts: readonly AppendPart[]): Promise<AppendResult[]> {
    const order = parts.map((p) => p.name).sort();
    let results: AppendResult[] = [];
    let notices: ChangeNotice[] = [];
    let rewinds: Rewind[] = [];
    let last: { id: number; epoch: string; seq: number } | undefined;
    try {
      await this.tx(
        async (c) => {
          // run again from scratch when the first connection reached a read-only server
          results = [];
          notices = [];
          rewinds = [];
          last = undefined;
          const locked = new Map<string, StoredDataset>();
          for (const name of order) {
            const row = await this.lockDataset(c, name);
            if (!row) throw notFoundDataset(name);
            const rewind = await this.rewound(c, row);
            if (rewind) rewinds.push(rewind);
            locked.set(name, rewind?.stored ?? row);
          }
          const now = Date.now();
          for (const { name, request } of parts) {
            const stored = locked.get(name)!;
            const rec = stored.record;
            const writer = new PgWriter(
              c,
              { id: stored.id, epoch: rec.epoch },
              progressOf(rec, stored.journalN),
            );
            await writer.prefetch([request]);
            results.push(await writer.apply(request, now));
            await writer.flush();
            const p = writer.progress;
            let notice: ChangeNotice | undefined;
            if (p.lastSeq !== rec.lastSeq) {
              notice = { dataset: name, epoch: rec.epoch, lastSeq: p.lastSeq };
              notices.push(notice);
              last = { id: stored.id, epoch: rec.epoch, seq: p.lastSeq };
            }
            await this.writeProgress(c, stored.id, p, notice);
          }
        },
        {
          sync: true,
          confirm: async (ask, xid) => {
            if (!last) return true;
            const rows = await ask<{ xmin: string }>(
              `SELECT xmin::text AS xmin FROM changes WHERE dataset = $1 AND epoch = $2 AND seq = $3`,
              [last.id, last.epoch, last.seq],
            );
            return rows[0] !== undefined && BigInt(rows[0].xmin) === BigInt(xid) % 2n ** 32n;
          },
        },
      );
    } catch (err) {
      // a part refused (404, 409 of an attrs precondition…) is that answer; anything else is the database's
      if (err instanceof HubError && err.status < 500) throw err;
      throw this.commitFailure(err);
    }
    for (const r of rewinds) this.rewindCommitted(r);
    for (const n of notices) {
      this.acknowledge(n.dataset, n.epoch, n.lastSeq);
      this.notify(n);
    }
    return results;
  }

  protected async readKey(name: string, key: string): Promise<Change | undefined> {
    const r = await this.db.reader.query<Partial<ChangeRow> & { id: string }>(
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
   * The whole rebuild is one transaction holding the dataset's row lock: writers of every process wait,
   * readers keep the old epoch (MVCC) until COMMIT switches the row to the new one, and a failure
   * leaves nothing behind. The old epoch's rows stay readable for `epochGraceMs` (readers that
   * were streaming it finish their view), then the janitor drops them.
   */
  protected async rebuildDataset(
    name: string,
    requests: AsyncIterable<AppendRequest>,
  ): Promise<AppendResult> {
    let notice: ChangeNotice | undefined;
    const result = await this.tx(
      async (c) => {
        const stored = await this.lockDataset(c, name);
        if (!stored) throw notFoundDataset(name);
        const rec = stored.record;
        const epoch = newId();
        const writer = new PgWriter(c, { id: stored.id, epoch }, rebuildProgress(rec, stored.journalN));
        const replayed = await replay(writer, requests, REBUILD_FLUSH);
        await writer.flush();
        const p = { ...writer.progress, lastPushAt: rec.lastPushAt };
        notice = { dataset: name, epoch, lastSeq: p.lastSeq };
        await this.writeProgress(c, stored.id, p, notice, epoch);
        await c.query(`INSERT INTO retired_epochs (dataset, epoch, retired_at) VALUES ($1, $2, $3)`, [
          stored.id,
          rec.epoch,
          Date.now(),
        ]);
        return { epoch, lastSeq: p.lastSeq, ...replayed, outcomes: [], duplicate: false };
        // `requests` is consumed: the transaction cannot run twice
      },
      { retry: false, long: true },
    );
    this.acknowledge(name, result.epoch, result.lastSeq);
    if (notice) this.notify(notice);
    const grace = setTimeout(() => this.runJanitor(), this.options.epochGraceMs + 100);
    grace.unref();
    return result;
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
      const dropped = await this.tx(
        async (c) => {
          const r = await c.query<{ dataset: string; epoch: string }>(
            `SELECT dataset, epoch FROM retired_epochs WHERE retired_at <= $1
           ORDER BY retired_at LIMIT 1 FOR UPDATE SKIP LOCKED`,
            [cutoff],
          );
          const row = r.rows[0];
          if (!row) return false;
          for (const table of ['changes', 'state', 'idempotency', 'terms']) {
            await c.query(`DELETE FROM ${table} WHERE dataset = $1 AND epoch = $2`, [row.dataset, row.epoch]);
          }
          await c.query(`DELETE FROM retired_epochs WHERE dataset = $1 AND epoch = $2`, [
            row.dataset,
            row.epoch,
          ]);
          return true;
        },
        { long: true },
      );
      if (!dropped) return;
    }
  }

  // ---- side data ------------------------------------------------------------------------------

  protected async *readJournal(name: string, afterN: number): AsyncGenerator<JournalEntry> {
    const id = await this.datasetId(name);
    type Row = { n: string; recorded: string; text: string };
    const rows = keysetPages<Row, number>(
      {
        fetch: async (after, n) =>
          (
            await this.db.reader.query<Row>(
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

  protected dropJournal(name: string): Promise<void> {
    return this.tx(async (c) => {
      // under the row lock: a rebuild replaying the journal in another process finishes first
      const stored = await this.lockDataset(c, name);
      if (!stored) throw notFoundDataset(name);
      await c.query(`DELETE FROM journal WHERE dataset = $1`, [stored.id]);
    });
  }

  protected async readBlob(name: string, id: string): Promise<Blob | undefined> {
    const r = await this.db.reader.query<{ content_type: string | null; bytes: Buffer | null }>(
      `SELECT b.content_type, b.bytes FROM datasets d
       LEFT JOIN blobs b ON b.dataset = d.id AND b.id = $2 WHERE d.name = $1`,
      [name, encodeText(id)],
    );
    const row = r.rows[0];
    if (!row) throw notFoundDataset(name);
    if (row.bytes === null || row.content_type === null) return undefined;
    return { id, contentType: decodeText(row.content_type), bytes: row.bytes };
  }

  protected async countAux(...[name, ns, key, period, limit]: CountArgs): Promise<AuxCount> {
    if (limit >= 1) {
      const r = await this.db.writer.query<{ used: string }>(COUNT_SQL, [
        name,
        encodeText(ns),
        encodeText(key),
        period,
        limit,
      ]);
      if (r.rows[0]) return { used: Number(r.rows[0].used), allowed: true };
    }
    // refused, or no such dataset (auxGet throws its 404)
    return { used: countStep(await this.readAux(name, ns, key), period, limit).used, allowed: false };
  }

  protected async readAux(name: string, ns: string, key: string): Promise<string | undefined> {
    const r = await this.db.reader.query<{ value: string | null }>(
      `SELECT a.value FROM datasets d
       LEFT JOIN aux a ON a.dataset = d.id AND a.ns = $2 AND a.key = $3 WHERE d.name = $1`,
      [name, encodeText(ns), encodeText(key)],
    );
    const row = r.rows[0];
    if (!row) throw notFoundDataset(name);
    return row.value === null ? undefined : decodeText(row.value);
  }

  protected async *scanAux(
    name: string,
    ns: string,
    afterKey: string | undefined,
  ): AsyncGenerator<[string, string]> {
    const id = await this.datasetId(name);
    type Row = { key: string; value: string };
    const encodedNs = encodeText(ns);
    const rows = keysetPages<Row, string | null>(
      {
        fetch: async (after, n) =>
          (
            await this.db.reader.query<Row>(
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

  protected async writeAux(name: string, writes: readonly AuxWrite[], sync: boolean): Promise<void> {
    const id = await this.datasetId(name);
    if (writes.length === 0) return;
    await this.tx((c) => writeAuxRows((t, v) => c.query(t, v), id, writes), { sync });
  }
}

/** A WAL position `X/Y` (hex halves) as a number of bytes. */
function lsnValue(lsn: string): bigint {
  const [hi, lo] = lsn.split('/');
  return (BigInt(`0x${hi}`) << 32n) + BigInt(`0x${lo}`);
}
