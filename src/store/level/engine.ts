import { randomBytes } from 'node:crypto';
import { open, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Level } from 'level';
import { hubError, HubError } from '../../errors.js';
import { countStep } from '../count.js';
import { BaseStore, notFoundDataset, type CountArgs, type GroupOptions } from '../base.js';
import type { EngineLimits } from '../limits.js';
import type { GroupJob } from '../serial.js';
import { applyEach, groupWrites, progressOf, rebuildProgress, replay, settle } from '../writer.js';
import type { FlushAt, Progress } from '../writer.js';
import type { AppendPart, AppendRequest, AppendResult, Change } from '../types.js';
import type { IndexEntry, IndexQuery } from '../types.js';
import type { ChangesQuery, CurrentQuery, JournalEntry } from '../types.js';
import type { DatasetInit, DatasetRecord, JsonObject } from '../types.js';
import type { Readiness } from '../types.js';
import type { AuxCount, AuxWrite, Blob } from '../types.js';
import { idempotencyNs, LevelWriter, readHeads, type LevelOp } from './apply.js';
import { decodeBlob, decodeChange, decodeKeyHead } from './codec.js';
import { collectGarbage } from './gc.js';
import { epochRanges, incarnationRanges, keys, prefixRange, seqKey } from './layout.js';
import { readAhead } from './read.js';
import { packJournal, readJournalValue } from './journal.js';
import { RecentWrites, type EarlyReads } from './recent.js';
import { writeBatch } from './write.js';
import { exportLevel, importLevel } from './backup.js';
import type { BackupRecord, ImportSummary } from '../backup.js';
import { classifyLevelError, DiskMonitor } from './disk.js';
import { checkFormat } from './format.js';
import { checkTables } from './tables.js';
import { diskFull, faultError, type FaultKind, type StoreHealth } from '../faults.js';

/** The engine's own view of a dataset: the public record plus where its data lives. */
interface StoredDataset extends DatasetRecord {
  readonly incarnation: string;
  readonly journalN: number;
}

export interface LevelStoreOptions extends GroupOptions {
  /** Pushes are refused with STORE_DISK_FULL while the data disk has less free space (0: none). */
  readonly diskFreeFloorBytes?: number;
}

/** A write fault of the disk, kept until the database was reopened with room to write again. */
interface Fault {
  readonly kind: FaultKind;
  readonly code: string;
  readonly at: number;
  /** when recovery was last tried (I/O errors: at most every IO_RETRY_MS) */
  triedAt: number;
  /**
   * The database must be reopened before writing again: an I/O error, or a disk-full error while
   * the disk had room (LevelDB's sticky background error, see admitWrite).
   */
  readonly reopen: boolean;
}

/** An append in its dataset's queue, with the heads read for it while it waited (see recent.ts). */
interface QueuedAppend {
  readonly request: AppendRequest;
  readonly reads: Promise<EarlyReads | undefined>;
  /** the request's journal text, compressed off the writer's path (see journal.ts) */
  readonly journal: Promise<Buffer | undefined>;
}

type AppendJob = GroupJob<QueuedAppend, AppendResult>;

const newId = (): string => randomBytes(8).toString('hex');
/** Entries per LevelDB read: 4,000 (~3 MB of changes) streams 8–15 % faster than 1,000 (bench/). */
const READ_BATCH = 4000;
/** The readiness probe's file: more than a page, so a full disk cannot hide behind one. */
const READY_PROBE_BYTES = 64 * 1024;
const WRITE_BUFFER_BYTES = 32 * 1024 * 1024;
/** Keys a dataset's RecentWrites holds at most before it starts a new generation (memory bound). */
const MAX_RECENT_WRITES = 50_000;
/**
 * Free space a full disk must have again before the database is reopened (reopening replays the
 * log into a table file): the floor, but at least this.
 */
const RECOVER_MIN_FREE_BYTES = 4 * 1024 * 1024;
const IO_RETRY_MS = 5_000;
/** A rebuild writes its new epoch in unsynced batches of this many operations. */
const REBUILD_FLUSH: FlushAt = { rows: 20_000, bytes: Infinity };

/**
 * The store on LevelDB: one process owns the directory (LEVEL_LOCKED otherwise), so dataset records
 * and key hashes are kept in memory, and one queue per dataset orders every write without locks.
 * A group of appends is one synced batch; a rebuild writes its new epoch beside the live one and
 * switches with one record write.
 */
export class LevelStore extends BaseStore<QueuedAppend> {
  readonly engine = 'leveldb';
  /** LevelDB keys and values hold any string; the codec escapes what it must (docs/architecture.md). */
  protected readonly limits: EngineLimits = {};
  private readonly records = new Map<string, StoredDataset>();
  private readonly keyIndex = new Map<string, { dataset: string; role: 'push' | 'read' }>();
  private readonly recent = new Map<string, RecentWrites>();
  /** per aux entry, the tail of its auxCount calls: each reads and writes after the one before */
  private readonly counting = new Map<string, Promise<unknown>>();
  private generations = 0;
  private hubSecret = '';
  private readonly disk: DiskMonitor;
  private fault: Fault | undefined;
  private recovering: Promise<void> | undefined;

  private constructor(
    private db: Level<string, string>,
    private readonly location: string,
    options: LevelStoreOptions,
  ) {
    super(options);
    this.disk = new DiskMonitor(location, options.diskFreeFloorBytes ?? 0);
  }

  static async open(location: string, options: LevelStoreOptions = {}): Promise<LevelStore> {
    const db = await openDb(location);
    const store = new LevelStore(db, location, options);
    try {
      await checkTables(db, location);
      await checkFormat(db, location);
      await store.load();
      await store.disk.refresh();
    } catch (err) {
      await db.close().catch(() => undefined);
      throw err;
    }
    return store;
  }

  private async loadRecords(): Promise<void> {
    this.records.clear();
    this.keyIndex.clear();
    for await (const value of this.db.values(keys.datasetRange)) {
      const rec = JSON.parse(value) as StoredDataset;
      this.setRecord(rec);
    }
  }

  private async load(): Promise<void> {
    await this.loadRecords();
    const secret = await this.db.get(keys.global('secret'));
    if (secret === undefined) {
      this.hubSecret = randomBytes(32).toString('hex');
      await this.db.put(keys.global('secret'), this.hubSecret, { sync: true });
    } else {
      this.hubSecret = secret;
    }
    await collectGarbage(this.db, [...this.records.values()]);
  }

  protected async shutdown(): Promise<void> {
    await this.recovering?.catch(() => undefined);
    await this.disk.stop();
    await this.db.close();
  }

  protected async readSecret(): Promise<string> {
    return this.hubSecret;
  }

  // ---- backup ---------------------------------------------------------------------------------

  protected exportRecords(): AsyncIterable<BackupRecord> {
    return exportLevel(this.db, this.hubSecret);
  }

  protected async importRecords(records: AsyncIterable<BackupRecord>): Promise<ImportSummary> {
    const summary = await importLevel(this.db, records);
    await this.loadRecords();
    this.hubSecret = (await this.db.get(keys.global('secret'))) ?? this.hubSecret;
    return summary;
  }

  // ---- the disk -------------------------------------------------------------------------------

  health(): StoreHealth {
    const freeBytes = this.disk.freeBytes();
    const fault = this.fault;
    // readiness probes drive recovery too: a hub nobody pushes to says "ok" again once space is back
    if (fault) void this.recover().catch(() => undefined);
    const disk = fault
      ? fault.kind === 'disk-full'
        ? 'full'
        : 'io-error'
      : this.disk.belowFloor()
        ? 'low'
        : 'ok';
    return {
      writable: disk === 'ok',
      disk,
      ...(freeBytes !== undefined ? { freeBytes } : {}),
      floorBytes: this.disk.floorBytes,
      ...(fault ? { fault: { code: fault.code, at: fault.at } } : {}),
    };
  }

  /**
   * Before a write: refuses it while the disk is faulted or below the floor. After a fault the
   * database is reopened first, once space is back: LevelDB keeps a failed background write
   * (a memtable flush or compaction that hit ENOSPC) as a sticky error that fails every later
   * write of the open database, so freeing space alone would not be enough.
   */
  protected override admitWrite(): Promise<void> | undefined {
    // synchronous unless faulted: an append called before close() must be queued before close()
    // drains the queues, so the healthy path has no await
    if (this.fault || this.recovering)
      return this.recover().then(() => {
        this.ensureOpen();
        this.checkFloor();
      });
    this.checkFloor();
    return undefined;
  }

  private checkFloor(): void {
    if (this.disk.belowFloor()) throw diskFull('floor', this.disk.freeBytes());
  }

  private recover(): Promise<void> {
    this.recovering ??= this.tryRecover().finally(() => {
      this.recovering = undefined;
    });
    return this.recovering;
  }

  private async tryRecover(): Promise<void> {
    const fault = this.fault;
    if (!fault) return;
    if (fault.kind === 'disk-full') {
      const free = await this.disk.freshFreeBytes();
      if (free === undefined || free < Math.max(this.disk.floorBytes, RECOVER_MIN_FREE_BYTES))
        throw diskFull('enospc', free);
    } else if (Date.now() - fault.triedAt < IO_RETRY_MS) {
      throw faultError(fault.kind);
    }
    fault.triedAt = Date.now();
    // a failed log write leaves the database usable: the next write is the test; a sticky
    // error shows as a disk-full failure with room on the disk, and then the database is reopened
    if (fault.reopen) {
      try {
        await this.reopen();
      } catch (err) {
        throw this.failure(err);
      }
    }
    this.fault = undefined;
  }

  /**
   * Closes and opens the database again, then reloads the dataset records: a batch whose fsync
   * failed may still be in LevelDB's log and come back on replay, all of it or none (a batch is
   * one log record), so memory follows the disk rather than the other way round. Readers that
   * were streaming from the old handle get an error and retry; writers wait in their queues.
   */
  private async reopen(): Promise<void> {
    await this.drainQueues();
    await this.db.close().catch(() => undefined);
    this.db = await openDb(this.location);
    this.recent.clear();
    await this.loadRecords();
    await this.disk.refresh();
  }

  /** Not ready while pushes are refused for the disk (full, below the floor, I/O errors). */
  private diskUnready(): Readiness | undefined {
    const h = this.health();
    if (h.writable) return undefined;
    const why = {
      full: 'the data disk is full',
      low: 'free space on the data disk is below DISK_FREE_FLOOR_MB',
      'io-error': 'the data disk failed a write (I/O error)',
      ok: '',
    }[h.disk];
    return { ready: false, reason: `${why}: pushes are refused (STORE_DISK_FULL / STORE_IO_ERROR)` };
  }

  /** A write's failure as the HubError to answer; a disk fault is remembered for recovery. */
  private failure(err: unknown): HubError {
    if (err instanceof HubError) return err;
    const kind = classifyLevelError(err);
    if (kind === undefined) {
      const e = hubError('STORE_WRITE_FAILED', 'the write could not be made durable', { retryAfter: 1 });
      e.cause = err;
      return e;
    }
    const answer = faultError(kind);
    answer.cause = err;
    const free = this.disk.freeBytes();
    const reopen = kind === 'io-error' || (free !== undefined && free >= RECOVER_MIN_FREE_BYTES);
    if (!this.fault || this.fault.kind !== kind || (reopen && !this.fault.reopen))
      this.fault = { kind, code: answer.code, at: this.fault?.at ?? Date.now(), triedAt: Date.now(), reopen };
    void this.disk.refresh();
    return answer;
  }

  /** Runs a write outside the append path; its failure is said like an append's. */
  private async guarded<T>(write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (err) {
      throw this.failure(err);
    }
  }

  /**
   * A synced write goes through, and the disk has room: a small LevelDB write can still fit a page
   * already allocated when the disk is full, so a probe file of some size is written too.
   */
  protected async probe(): Promise<Readiness> {
    const disk = this.diskUnready();
    if (disk) return disk;
    try {
      await this.db.put(keys.global('ready'), String(Date.now()), { sync: true });
      const probe = join(this.db.location, 'READY-PROBE');
      const file = await open(probe, 'w');
      try {
        await file.write(Buffer.alloc(READY_PROBE_BYTES));
        await file.sync();
      } finally {
        await file.close();
        await unlink(probe).catch(() => undefined);
      }
      return { ready: true };
    } catch (err) {
      return { ready: false, reason: `the LevelDB store cannot write: ${(err as Error).message}` };
    }
  }

  // ---- datasets -------------------------------------------------------------------------------

  private setRecord(rec: StoredDataset): void {
    const old = this.records.get(rec.name);
    if (old) {
      this.keyIndex.delete(old.keyHashes.push);
      this.keyIndex.delete(old.keyHashes.read);
    }
    this.records.set(rec.name, rec);
    this.keyIndex.set(rec.keyHashes.push, { dataset: rec.name, role: 'push' });
    this.keyIndex.set(rec.keyHashes.read, { dataset: rec.name, role: 'read' });
  }

  private dropRecord(name: string): void {
    const old = this.records.get(name);
    if (!old) return;
    this.keyIndex.delete(old.keyHashes.push);
    this.keyIndex.delete(old.keyHashes.read);
    this.records.delete(name);
  }

  private record(name: string): StoredDataset {
    const rec = this.records.get(name);
    if (!rec) throw notFoundDataset(name);
    return rec;
  }

  protected override checkDataset(name: string): void {
    this.record(name);
  }

  /** Idle queues of deleted datasets take their recent writes along. */
  protected override queueIdle(name: string): void {
    if (!this.records.has(name)) this.recent.delete(name);
  }

  protected async writeDataset(
    name: string,
    init: (existing: DatasetRecord | undefined) => DatasetInit,
  ): Promise<{ created: boolean; record: DatasetRecord }> {
    const existing = this.records.get(name);
    const { config, keyHashes } = init(existing);
    const now = Date.now();
    const rec: StoredDataset = existing
      ? { ...existing, config, keyHashes, updatedAt: now }
      : {
          name,
          incarnation: newId(),
          epoch: newId(),
          lastSeq: 0,
          count: 0,
          lastPushAt: null,
          createdAt: now,
          updatedAt: now,
          config,
          keyHashes,
          attrs: {},
          journalN: 0,
        };
    await this.guarded(() => this.db.put(keys.dataset(name), JSON.stringify(rec), { sync: true }));
    this.setRecord(rec);
    return { created: !existing, record: rec };
  }

  protected async readDataset(name: string): Promise<DatasetRecord | undefined> {
    return this.records.get(name);
  }

  protected async readDatasets(): Promise<DatasetRecord[]> {
    return [...this.records.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  protected async dropDataset(name: string): Promise<boolean> {
    const rec = this.records.get(name);
    if (!rec) return false;
    // one synced delete makes the dataset gone; its data is keyed by ids nothing points at any more
    await this.guarded(() => this.db.del(keys.dataset(name), { sync: true }));
    this.dropRecord(name);
    this.recent.delete(name);
    for (const range of [...epochRanges(rec.epoch), ...incarnationRanges(rec.incarnation)])
      await this.db.clear(range);
    return true;
  }

  protected async writeAttrs(
    name: string,
    fn: (current: JsonObject) => JsonObject | undefined,
  ): Promise<DatasetRecord> {
    const rec = this.record(name);
    const attrs = fn(rec.attrs);
    if (attrs === undefined) return rec;
    const next: StoredDataset = { ...rec, attrs };
    await this.guarded(() => this.db.put(keys.dataset(name), JSON.stringify(next)));
    this.setRecord(next);
    return next;
  }

  protected async readKeyHash(hash: string): Promise<{ dataset: string; role: 'push' | 'read' } | undefined> {
    return this.keyIndex.get(hash);
  }

  // ---- appends --------------------------------------------------------------------------------

  protected queued(name: string, request: AppendRequest): QueuedAppend {
    // the heads this request needs are read now, while the queue ahead of it is being written
    const reads = this.readEarly(name, request);
    // compressed on the thread pool while the queue ahead is written; the writer only waits for it
    const journal = request.journal === undefined ? Promise.resolve(undefined) : packJournal(request.journal);
    // the rejection (if any) is handled where the writer awaits it
    journal.catch(() => undefined);
    return { request, reads, journal };
  }

  private recentOf(name: string): RecentWrites {
    let r = this.recent.get(name);
    if (!r) {
      r = new RecentWrites(++this.generations);
      this.recent.set(name, r);
    }
    return r;
  }

  /** Starts reading the heads an append will need (never rejects: a failed read is read again later). */
  private readEarly(name: string, request: AppendRequest): Promise<EarlyReads | undefined> {
    const rec = this.record(name);
    const target = { epoch: rec.epoch, incarnation: rec.incarnation };
    const generation = this.recentOf(name).generation;
    return readHeads(this.db, target, [request]).then(
      (reads) => ({ ...reads, ...target, generation }),
      () => undefined,
    );
  }

  /** The group's base: its early reads brought up to date when they can be, else a fresh read. */
  private async useEarlyReads(
    name: string,
    rec: StoredDataset,
    writer: LevelWriter,
    jobs: readonly AppendJob[],
  ): Promise<void> {
    const reads = await Promise.all(jobs.map((j) => j.request.reads));
    const recent = this.recent.get(name);
    const usable = (r: EarlyReads | undefined): r is EarlyReads =>
      r !== undefined &&
      r.generation === recent?.generation &&
      r.epoch === rec.epoch &&
      r.incarnation === rec.incarnation;
    if (recent && reads.every(usable)) writer.useReads(recent.merge(reads as EarlyReads[]));
    else await writer.prefetch(jobs.map((j) => j.request.request));
  }

  /** Applies a group of appends against the dataset's latest state and commits them in one synced batch. */
  protected async commitGroup(name: string, jobs: AppendJob[]): Promise<void> {
    const rec = this.records.get(name);
    if (!rec) {
      for (const j of jobs) j.reject(notFoundDataset(name));
      return;
    }
    const writer = new LevelWriter(
      this.db,
      { incarnation: rec.incarnation, epoch: rec.epoch },
      progressOf(rec, rec.journalN),
    );
    let settled;
    try {
      await this.useEarlyReads(name, rec, writer, jobs);
      const now = Date.now();
      settled = await applyEach(jobs, async (job) =>
        writer.apply(job.request.request, now, await job.request.journal),
      );
      await writer.termOps();
      const next = withProgress(rec, writer.progress);
      // a group that only moved lastPushAt has nothing a client must be able to rely on: no fsync
      const writes = groupWrites(writer, rec);
      if (writes !== 'nothing') {
        const ops: LevelOp[] = [
          ...writer.ops,
          { type: 'put', key: keys.dataset(name), value: JSON.stringify(next) },
        ];
        await writeBatch(this.db, ops, writes === 'durable');
        this.recent.get(name)?.record(writer.written, writer.idempotencyKeys);
        this.setRecord(next);
        if (next.lastSeq !== rec.lastSeq)
          this.notify({ dataset: name, epoch: next.epoch, lastSeq: next.lastSeq });
      }
    } catch (err) {
      // LevelDB writes a batch whole or not at all: nothing of these jobs is stored
      const failure = this.failure(err);
      for (const j of jobs) j.reject(failure);
      this.recent.delete(name);
      return;
    }
    // no read is outstanding when nothing is queued: the next reads start a new generation
    if (this.queuedCount(name) === 0 || (this.recent.get(name)?.size ?? 0) > MAX_RECENT_WRITES)
      this.recent.delete(name);
    settle(settled);
  }

  // ---- reads ----------------------------------------------------------------------------------

  protected async *readChanges(name: string, query: ChangesQuery): AsyncGenerator<Change> {
    this.record(name);
    const limit = query.limit ?? Infinity;
    if (limit <= 0) return;
    const prefix = keys.changePrefix(query.epoch);
    const it = this.db.values({
      gt: prefix + seqKey(query.afterSeq),
      lt: query.beforeSeq !== undefined ? prefix + seqKey(query.beforeSeq) : prefixRange(prefix).lt,
      reverse: query.reverse === true,
      ...(query.latestOnly ? {} : { limit: Number.isFinite(limit) ? limit : -1 }),
    });
    let emitted = 0;
    // latestOnly skips entries: it cannot know how many it will still use, so it always reads ahead
    const want = () => (query.latestOnly ? Infinity : limit - emitted);
    for await (const batch of readAhead(it, READ_BATCH, want)) {
      let items = batch.map(decodeChange);
      if (query.latestOnly) {
        const heads = await this.db.getMany(items.map((c) => keys.state(query.epoch, c.key)));
        items = items.filter((c, i) => {
          const h = heads[i];
          return h !== undefined && decodeKeyHead(h).seq === c.seq;
        });
      }
      for (const c of items) {
        yield c;
        if (++emitted >= limit) return;
      }
    }
  }

  protected async *readCurrent(name: string, query: CurrentQuery): AsyncGenerator<Change> {
    this.record(name);
    const limit = query.limit ?? Infinity;
    if (limit <= 0) return;
    const prefix = keys.statePrefix(query.epoch);
    const it = this.db.values({
      gt: query.afterKey !== undefined ? prefix + query.afterKey : prefix,
      lt: query.beforeKey !== undefined ? prefix + query.beforeKey : prefixRange(prefix).lt,
      reverse: query.reverse === true,
    });
    let emitted = 0;
    for await (const batch of readAhead(it, READ_BATCH, () => limit - emitted)) {
      for (const v of batch) {
        const c = decodeChange(v);
        if (c.deleted && !query.includeDeleted) continue;
        yield c;
        if (++emitted >= limit) return;
      }
    }
  }

  protected async readKey(name: string, key: string): Promise<Change | undefined> {
    const v = await this.db.get(keys.state(this.record(name).epoch, key));
    return v === undefined ? undefined : decodeChange(v);
  }

  protected async readKeys(name: string, list: readonly string[]): Promise<Array<Change | undefined>> {
    const { epoch } = this.record(name);
    const values = await this.db.getMany(list.map((k) => keys.state(epoch, k)));
    return values.map((v) => (v === undefined ? undefined : decodeChange(v)));
  }

  protected async *scanIndex(name: string, query: IndexQuery): AsyncGenerator<IndexEntry> {
    this.record(name);
    const limit = query.limit ?? Infinity;
    if (limit <= 0) return;
    const table = keys.indexPrefix(query.epoch);
    const from = table + query.prefix;
    // every term starting with the prefix sorts below prefix + U+10FFFF (no term holds that code point)
    const to = from + '\u{10FFFF}';
    const at = query.after ? keys.index(query.epoch, query.after.term, query.after.key) : undefined;
    const it = this.db.keys({
      ...(query.reverse ? { gte: from, lt: at ?? to } : { gt: at ?? from, lt: to }),
      reverse: query.reverse === true,
      limit: Number.isFinite(limit) ? limit : -1,
    });
    let emitted = 0;
    for await (const batch of readAhead(it, READ_BATCH, () => limit - emitted)) {
      for (const k of batch) {
        // a term holds no U+0000: the first one after the table prefix ends it
        const sep = k.indexOf('\u0000', table.length);
        yield { term: k.slice(table.length, sep), key: k.slice(sep + 1) };
        if (++emitted >= limit) return;
      }
    }
  }

  /**
   * Inside every part's queue (base.ts): each part is applied as its own group, and all the ops and
   * records go in one synced LevelDB batch — whole or not at all.
   */
  protected async commitAcross(parts: readonly AppendPart[]): Promise<AppendResult[]> {
    const now = Date.now();
    const ops: LevelOp[] = [];
    const results: AppendResult[] = [];
    const next: StoredDataset[] = [];
    for (const { name, request } of parts) {
      const rec = this.record(name);
      const writer = new LevelWriter(
        this.db,
        { incarnation: rec.incarnation, epoch: rec.epoch },
        progressOf(rec, rec.journalN),
      );
      await writer.prefetch([request]);
      // a part its writer rejects (an attrs precondition) rejects the whole request: nothing is written
      results.push(await writer.apply(request, now));
      await writer.termOps();
      const after = withProgress(rec, writer.progress);
      ops.push(...writer.ops, { type: 'put', key: keys.dataset(name), value: JSON.stringify(after) });
      next.push(after);
    }
    try {
      await writeBatch(this.db, ops, true);
    } catch (err) {
      throw this.failure(err);
    }
    for (const rec of next) {
      const before = this.record(rec.name);
      this.setRecord(rec);
      // early reads of appends queued meanwhile did not see this batch: they read again
      this.recent.delete(rec.name);
      if (rec.lastSeq !== before.lastSeq)
        this.notify({ dataset: rec.name, epoch: rec.epoch, lastSeq: rec.lastSeq });
    }
    return results;
  }

  // ---- rebuild --------------------------------------------------------------------------------

  /**
   * The new epoch is written beside the live one in unsynced pieces, then switched in by one synced
   * batch with the dataset record; readers keep the old epoch until then. A failure clears what was
   * written of the new epoch.
   */
  protected async rebuildDataset(
    name: string,
    requests: AsyncIterable<AppendRequest>,
  ): Promise<AppendResult> {
    const rec = this.record(name);
    const epoch = newId();
    const writer = new LevelWriter(
      this.db,
      { incarnation: rec.incarnation, epoch },
      rebuildProgress(rec, rec.journalN),
    );
    let replayed;
    try {
      replayed = await replay(writer, requests, REBUILD_FLUSH);
      await writer.termOps();
      const next: StoredDataset = {
        ...withProgress(rec, writer.progress),
        epoch,
        lastPushAt: rec.lastPushAt,
      };
      const ops: LevelOp[] = [
        ...writer.ops,
        { type: 'put', key: keys.dataset(name), value: JSON.stringify(next) },
      ];
      await writeBatch(this.db, ops, true);
      this.setRecord(next);
    } catch (err) {
      // the old epoch is untouched; drop what was written of the new one
      await this.clearRanges(epochRanges(epoch)).catch(() => undefined);
      throw err;
    }
    this.recent.delete(name);
    await this.clearRanges(epochRanges(rec.epoch));
    await this.db.clear(prefixRange(keys.auxPrefix(rec.incarnation, idempotencyNs(rec.epoch))));
    const done = this.record(name);
    this.notify({ dataset: name, epoch: done.epoch, lastSeq: done.lastSeq });
    return { epoch, lastSeq: done.lastSeq, ...replayed, outcomes: [], duplicate: false };
  }

  private async clearRanges(ranges: ReadonlyArray<{ gt: string; lt: string }>): Promise<void> {
    for (const range of ranges) await this.db.clear(range);
  }

  // ---- side data ------------------------------------------------------------------------------

  protected async *readJournal(name: string, afterN: number): AsyncGenerator<JournalEntry> {
    const prefix = keys.journalPrefix(this.record(name).incarnation);
    const it = this.db.iterator<string, Buffer>({
      gt: prefix + seqKey(afterN),
      lt: prefixRange(prefix).lt,
      valueEncoding: 'buffer',
    });
    try {
      while (true) {
        const batch = await it.nextv(100);
        if (batch.length === 0) break;
        for (const [k, v] of batch) {
          yield { n: Number(k.slice(prefix.length)), ...readJournalValue(v) };
        }
      }
    } finally {
      await it.close();
    }
  }

  protected async dropJournal(name: string): Promise<void> {
    await this.db.clear(prefixRange(keys.journalPrefix(this.record(name).incarnation)));
  }

  protected async readBlob(name: string, id: string): Promise<Blob | undefined> {
    const buf = await this.db.get<string, Buffer>(keys.blob(this.record(name).incarnation, id), {
      valueEncoding: 'buffer',
    });
    if (buf === undefined) return undefined;
    const { contentType, bytes } = decodeBlob(buf);
    return { id, contentType, bytes };
  }

  protected async readAux(name: string, ns: string, key: string): Promise<string | undefined> {
    return this.db.get(keys.aux(this.record(name).incarnation, ns, key));
  }

  protected async *scanAux(
    name: string,
    ns: string,
    afterKey: string | undefined,
  ): AsyncGenerator<[string, string]> {
    const prefix = keys.auxPrefix(this.record(name).incarnation, ns);
    const it = this.db.iterator({ gt: prefix + (afterKey ?? ''), lt: prefixRange(prefix).lt });
    try {
      while (true) {
        const batch = await it.nextv(READ_BATCH);
        if (batch.length === 0) break;
        for (const [k, v] of batch) yield [k.slice(prefix.length), v];
      }
    } finally {
      await it.close();
    }
  }

  protected async writeAux(name: string, writes: readonly AuxWrite[], sync: boolean): Promise<void> {
    const inc = this.record(name).incarnation;
    const ops: LevelOp[] = writes.map((w) => {
      const key = keys.aux(inc, w.ns, w.key);
      return w.value === null ? { type: 'del', key } : { type: 'put', key, value: w.value };
    });
    await this.guarded(() =>
      this.db.batch(
        ops as Array<{ type: 'put'; key: string; value: string } | { type: 'del'; key: string }>,
        {
          sync,
        },
      ),
    );
  }

  protected async countAux(...[name, ns, key, period, limit]: CountArgs): Promise<AuxCount> {
    const entry = keys.aux(this.record(name).incarnation, ns, key);
    // one process owns a LevelDB store (the lease), so chaining the calls per entry makes each
    // read-modify-write atomic; a put is not synced, like every other status write
    const run = (this.counting.get(entry) ?? Promise.resolve()).then(async () => {
      const step = countStep(await this.db.get(entry), period, limit);
      if (step.value !== undefined)
        await this.guarded(() => this.db.put(entry, step.value!, { sync: false }));
      return { used: step.used, allowed: step.allowed };
    });
    const tail = run.catch(() => undefined);
    this.counting.set(entry, tail);
    void tail.then(() => {
      if (this.counting.get(entry) === tail) this.counting.delete(entry);
    });
    return run;
  }
}

async function openDb(location: string): Promise<Level<string, string>> {
  const db = new Level<string, string>(location, {
    keyEncoding: 'utf8',
    valueEncoding: 'utf8',
    // a memtable of 32 MiB instead of LevelDB's 4: fewer, larger level-0 files, so compaction
    // rewrites less of the changelog (ingest: hub CPU -12 %, disk writes -15 %; bench/, issue 8)
    writeBufferSize: WRITE_BUFFER_BYTES,
  });
  await db.open();
  return db;
}

function withProgress(rec: StoredDataset, p: Progress): StoredDataset {
  return {
    ...rec,
    lastSeq: p.lastSeq,
    count: p.count,
    lastPushAt: p.lastPushAt,
    attrs: p.attrs,
    journalN: p.journalN,
  };
}
