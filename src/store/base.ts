import { hubError, type HubError } from '../errors.js';
import type { BackupRecord, ImportSummary } from './backup.js';
import type { StoreHealth } from './faults.js';
import { checkAppend, checkAux, type EngineLimits } from './limits.js';
import { requestBytes } from './plan.js';
import { SerialQueue, type GroupJob } from './serial.js';
import { runsAlone } from './writer.js';
import type { AppendPart, AppendRequest, AppendResult, Change, ChangeNotice } from './types.js';
import type { IndexEntry, IndexQuery } from './types.js';
import type { ChangesQuery, CurrentQuery, JournalEntry } from './types.js';
import type { DatasetInit, DatasetRecord, JsonObject } from './types.js';
import type { Readiness, Store } from './types.js';
import type { AuxCount, AuxWrite, Blob } from './types.js';

/** How much an engine lets wait in memory, and how big one group commit gets. */
export interface GroupOptions {
  /** Appends waiting in this process across all datasets before new ones get 503 OVERLOADED. */
  readonly maxPendingBytes?: number;
  /** Upper bounds of one group commit. */
  readonly maxGroupBytes?: number;
  readonly maxGroupJobs?: number;
}

export function groupDefaults(o: GroupOptions): Required<GroupOptions> {
  return {
    maxPendingBytes: o.maxPendingBytes ?? 256 * 1024 * 1024,
    maxGroupBytes: o.maxGroupBytes ?? 32 * 1024 * 1024,
    maxGroupJobs: o.maxGroupJobs ?? 256,
  };
}

/** auxCount's arguments: dataset, namespace, key, period, limit. */
export type CountArgs = Parameters<Store['auxCount']>;

export function notFoundDataset(name: string): HubError {
  return hubError('DATASET_NOT_FOUND', `dataset '${name}' does not exist`);
}

/**
 * What every engine shares, after Level's abstract-level: each public method of the Store checks
 * (open, the engine's declared limits, kinds), accounts (the pending-bytes budget) and orders (one
 * queue per dataset, see serial.ts), then calls the engine's protected sink: commit a group, write a
 * dataset, replay a rebuild, read. Subscribers are told here, after the engine says a change committed.
 *
 * `Q` is what an engine keeps of a queued append (the request, or more it prepared while waiting).
 */
export abstract class BaseStore<Q> implements Store {
  abstract readonly engine: string;
  /** What this engine cannot store (limits.ts), checked before a request is queued. */
  protected abstract readonly limits: EngineLimits;

  private readonly queues = new Map<string, SerialQueue<Q, AppendResult>>();
  private readonly listeners = new Set<(n: ChangeNotice) => void>();
  private pendingBytes = 0;
  protected closed = false;
  protected readonly groupOptions: Required<GroupOptions>;

  constructor(options: GroupOptions) {
    this.groupOptions = groupDefaults(options);
  }

  // ---- the sinks each engine implements --------------------------------------------------------

  /** Commits a group of appends of one dataset and settles every job (writer.ts: applyEach, settle). */
  protected abstract commitGroup(name: string, jobs: GroupJob<Q, AppendResult>[]): Promise<void>;
  /** What the queue keeps of an append, prepared while the appends ahead of it are written. */
  protected abstract queued(name: string, request: AppendRequest): Q;
  /** Inside the dataset's queue: creates or replaces the dataset. */
  protected abstract writeDataset(
    name: string,
    init: (existing: DatasetRecord | undefined) => DatasetInit,
  ): Promise<{ created: boolean; record: DatasetRecord }>;
  /** Inside the dataset's queue: removes it and its data; false when there was none. */
  protected abstract dropDataset(name: string): Promise<boolean>;
  /** Inside the dataset's queue: the attrs read-modify-write. */
  protected abstract writeAttrs(
    name: string,
    fn: (current: JsonObject) => JsonObject | undefined,
  ): Promise<DatasetRecord>;
  /** Inside the dataset's queue: builds the new epoch from the requests (writer.ts: replay) and switches. */
  protected abstract rebuildDataset(
    name: string,
    requests: AsyncIterable<AppendRequest>,
  ): Promise<AppendResult>;
  /** Inside the dataset's queue: empties the receive journal. */
  protected abstract dropJournal(name: string): Promise<void>;
  protected abstract writeAux(name: string, writes: readonly AuxWrite[], sync: boolean): Promise<void>;
  protected abstract countAux(
    name: string,
    ns: string,
    key: string,
    period: string,
    limit: number,
  ): Promise<AuxCount>;
  protected abstract importRecords(records: AsyncIterable<BackupRecord>): Promise<ImportSummary>;
  protected abstract readChanges(name: string, query: ChangesQuery): AsyncIterable<Change>;
  protected abstract readCurrent(name: string, query: CurrentQuery): AsyncIterable<Change>;
  protected abstract readKey(name: string, key: string): Promise<Change | undefined>;
  protected abstract readKeys(name: string, keys: readonly string[]): Promise<Array<Change | undefined>>;
  protected abstract scanIndex(name: string, query: IndexQuery): AsyncIterable<IndexEntry>;
  /**
   * Inside the queue of every part's dataset: applies each part as its own group and commits all of
   * them in one atomic, durable write (or none), then notifies.
   */
  protected abstract commitAcross(parts: readonly AppendPart[]): Promise<AppendResult[]>;
  protected abstract readJournal(name: string, afterN: number): AsyncIterable<JournalEntry>;
  protected abstract readBlob(name: string, id: string): Promise<Blob | undefined>;
  protected abstract readAux(name: string, ns: string, key: string): Promise<string | undefined>;
  protected abstract scanAux(
    name: string,
    ns: string,
    afterKey: string | undefined,
  ): AsyncIterable<[string, string]>;
  protected abstract exportRecords(): AsyncIterable<BackupRecord>;
  protected abstract readDataset(name: string): Promise<DatasetRecord | undefined>;
  protected abstract readDatasets(): Promise<DatasetRecord[]>;
  protected abstract readKeyHash(
    hash: string,
  ): Promise<{ dataset: string; role: 'push' | 'read' } | undefined>;
  protected abstract readSecret(): Promise<string>;
  /** Reachable and writable now (the store is open)? Never throws. */
  protected abstract probe(): Promise<Readiness>;
  /** After the queues drained: stops the engine's timers and closes its database. */
  protected abstract shutdown(): Promise<void>;
  abstract health(): StoreHealth;

  // ---- hooks an engine may override -----------------------------------------------------------

  /**
   * Before a write that needs the disk: refuses it (a HubError) while the engine cannot write, or
   * waits for it to recover. Synchronous (undefined) on the healthy path, so an append called
   * before close() is queued before close() drains the queues.
   */
  protected admitWrite(): Promise<void> | undefined {
    return undefined;
  }

  /** An append to a dataset the engine knows cheaply not to exist fails before it is queued. */
  protected checkDataset(_name: string): void {}

  /** A dataset's queue went idle (and was dropped). */
  protected queueIdle(_name: string): void {}

  // ---- plumbing for the engines ---------------------------------------------------------------

  protected ensureOpen(): void {
    if (this.closed) throw hubError('STORE_CLOSED', 'the hub is shutting down', { retryAfter: 1 });
  }

  /** The dataset's queue: one writer at a time per dataset in this process. */
  protected queue(name: string): SerialQueue<Q, AppendResult> {
    let q = this.queues.get(name);
    if (!q) {
      const created = new SerialQueue<Q, AppendResult>(
        (jobs) => this.commitGroup(name, jobs),
        { maxJobs: this.groupOptions.maxGroupJobs, maxBytes: this.groupOptions.maxGroupBytes },
        () => {
          // a queue holds nothing but waiting jobs: drop idle ones so the map does not grow without bound
          if (this.queues.get(name) === created && created.length === 0) {
            this.queues.delete(name);
            this.queueIdle(name);
          }
        },
      );
      q = created;
      this.queues.set(name, q);
    }
    return q;
  }

  /** How many appends wait in the dataset's queue. */
  protected queuedCount(name: string): number {
    return this.queues.get(name)?.length ?? 0;
  }

  /** Waits until every queue has run what it holds (close, reopen). */
  protected async drainQueues(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.exclusive(async () => undefined)));
  }

  /** Tells every subscriber; called by an engine once a change committed (or another process's did). */
  protected notify(notice: ChangeNotice): void {
    for (const l of this.listeners) {
      try {
        l(notice);
      } catch {
        // a listener's failure must not break the writer
      }
    }
  }

  private async admitted(): Promise<void> {
    this.ensureOpen();
    const admitting = this.admitWrite();
    if (admitting) await admitting;
  }

  /** A stream that fails with STORE_CLOSED when iterated once the store is closed. */
  private opened<T>(make: () => AsyncIterable<T>): AsyncIterable<T> {
    return {
      [Symbol.asyncIterator]: () => {
        this.ensureOpen();
        return make()[Symbol.asyncIterator]();
      },
    };
  }

  // ---- the Store interface --------------------------------------------------------------------

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // let queued writes finish: each queue drains, then the database closes
    await this.drainQueues();
    await this.shutdown();
  }

  async ready(): Promise<Readiness> {
    if (this.closed) return { ready: false, reason: 'the hub is shutting down' };
    return this.probe();
  }

  async secret(): Promise<string> {
    this.ensureOpen();
    return this.readSecret();
  }

  async putDataset(
    name: string,
    init: (existing: DatasetRecord | undefined) => DatasetInit,
  ): Promise<{ created: boolean; record: DatasetRecord }> {
    await this.admitted();
    return this.queue(name).exclusive(() => this.writeDataset(name, init));
  }

  async getDataset(name: string): Promise<DatasetRecord | undefined> {
    this.ensureOpen();
    return this.readDataset(name);
  }

  async listDatasets(): Promise<DatasetRecord[]> {
    this.ensureOpen();
    return this.readDatasets();
  }

  async deleteDataset(name: string): Promise<boolean> {
    this.ensureOpen();
    return this.queue(name).exclusive(() => this.dropDataset(name));
  }

  async updateAttrs(
    name: string,
    fn: (current: JsonObject) => JsonObject | undefined,
  ): Promise<DatasetRecord> {
    this.ensureOpen();
    return this.queue(name).exclusive(() => this.writeAttrs(name, fn));
  }

  async findKeyHash(hash: string): Promise<{ dataset: string; role: 'push' | 'read' } | undefined> {
    this.ensureOpen();
    return this.readKeyHash(hash);
  }

  async append(name: string, request: AppendRequest): Promise<AppendResult> {
    this.ensureOpen();
    this.checkDataset(name);
    checkAppend(this.limits, request);
    const admitting = this.admitWrite();
    if (admitting) await admitting;
    const bytes = requestBytes(request);
    // back-pressure: refuse rather than queue without bound when the disk or database cannot keep up
    if (this.pendingBytes > 0 && this.pendingBytes + bytes > this.groupOptions.maxPendingBytes) {
      throw hubError('OVERLOADED', 'the hub is busy writing; retry shortly', { retryAfter: 1 });
    }
    this.pendingBytes += bytes;
    try {
      return await this.queue(name).enqueue(this.queued(name, request), bytes, runsAlone(request));
    } finally {
      this.pendingBytes -= bytes;
    }
  }

  changes(name: string, query: ChangesQuery): AsyncIterable<Change> {
    return this.opened(() => this.readChanges(name, query));
  }

  current(name: string, query: CurrentQuery): AsyncIterable<Change> {
    return this.opened(() => this.readCurrent(name, query));
  }

  async get(name: string, key: string): Promise<Change | undefined> {
    this.ensureOpen();
    return this.readKey(name, key);
  }

  async getMany(name: string, keys: readonly string[]): Promise<Array<Change | undefined>> {
    this.ensureOpen();
    if (keys.length > 0) return this.readKeys(name, keys);
    this.checkDataset(name);
    return [];
  }

  indexScan(name: string, query: IndexQuery): AsyncIterable<IndexEntry> {
    return this.opened(() => this.scanIndex(name, query));
  }

  /**
   * The datasets' queues are taken in name order, so two appendMany calls never wait on each other
   * in a circle; single appends queue behind as behind any exclusive job.
   */
  async appendMany(parts: readonly AppendPart[]): Promise<AppendResult[]> {
    this.ensureOpen();
    const names = parts.map((p) => p.name);
    if (new Set(names).size !== names.length) throw hubError('INTERNAL', 'appendMany names a dataset twice');
    for (const { name, request } of parts) {
      this.checkDataset(name);
      checkAppend(this.limits, request);
      if (runsAlone(request)) throw hubError('INTERNAL', 'appendMany cannot sweep or clear aux namespaces');
    }
    const admitting = this.admitWrite();
    if (admitting) await admitting;
    const bytes = parts.reduce((n, p) => n + requestBytes(p.request), 0);
    if (this.pendingBytes > 0 && this.pendingBytes + bytes > this.groupOptions.maxPendingBytes) {
      throw hubError('OVERLOADED', 'the hub is busy writing; retry shortly', { retryAfter: 1 });
    }
    this.pendingBytes += bytes;
    try {
      const order = [...names].sort();
      const hold = (i: number): Promise<AppendResult[]> =>
        i === order.length ? this.commitAcross(parts) : this.queue(order[i]!).exclusive(() => hold(i + 1));
      return await hold(0);
    } finally {
      this.pendingBytes -= bytes;
    }
  }

  subscribe(listener: (notice: ChangeNotice) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async rebuild(name: string, requests: AsyncIterable<AppendRequest>): Promise<AppendResult> {
    await this.admitted();
    return this.queue(name).exclusive(() => this.rebuildDataset(name, requests));
  }

  journal(name: string, afterN = 0): AsyncIterable<JournalEntry> {
    return this.opened(() => this.readJournal(name, afterN));
  }

  async clearJournal(name: string): Promise<void> {
    this.ensureOpen();
    await this.queue(name).exclusive(() => this.dropJournal(name));
  }

  async getBlob(name: string, id: string): Promise<Blob | undefined> {
    this.ensureOpen();
    return this.readBlob(name, id);
  }

  async auxGet(name: string, ns: string, key: string): Promise<string | undefined> {
    this.ensureOpen();
    return this.readAux(name, ns, key);
  }

  auxScan(name: string, ns: string, afterKey?: string): AsyncIterable<[string, string]> {
    return this.opened(() => this.scanAux(name, ns, afterKey));
  }

  async auxPut(name: string, writes: readonly AuxWrite[], options: { sync?: boolean } = {}): Promise<void> {
    this.ensureOpen();
    checkAux(this.limits, writes);
    await this.writeAux(name, writes, options.sync ?? false);
  }

  async auxCount(name: string, ns: string, key: string, period: string, limit: number): Promise<AuxCount> {
    this.ensureOpen();
    return this.countAux(name, ns, key, period, limit);
  }

  exportAll(): AsyncIterable<BackupRecord> {
    return this.opened(() => this.exportRecords());
  }

  async importAll(records: AsyncIterable<BackupRecord>): Promise<ImportSummary> {
    await this.admitted();
    return this.importRecords(records);
  }
}
