/**
 * The store: the hub's only persistence boundary. Protocols and operations see nothing but this
 * interface; an engine (LevelDB in ./level, PostgreSQL in ./postgres, both built on base.ts)
 * implements it and must pass the contract suite in test/store/contract.
 *
 * Model: every dataset is an append-only changelog. A change has a per-dataset sequence number
 * (strictly increasing, no gaps within an epoch), a record key, the time it was recorded, a deleted
 * flag, an opaque `kind` chosen by the writer and the document as JSON text. Beside the changelog the
 * store keeps, per dataset, the latest change of every key (the current state), a receive journal
 * (raw requests, for recovery), content-addressed blobs and small named auxiliary entries.
 *
 * The store knows no protocol: kinds, attrs, journal entries and aux namespaces are opaque to it.
 */

import type { BackupRecord, ImportSummary } from './backup.js';
import type { StoreHealth } from './faults.js';

export type { BackupRecord, ImportSummary, StoreHealth };

/** JSON text, already serialised. Stored and streamed as is. */
export type JsonText = string;

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** A dataset as the store keeps it: the admin's config plus the changelog's bookkeeping. */
export interface DatasetRecord {
  readonly name: string;
  /** Changes of one epoch share one sequence; recovery and re-creation start a new epoch. */
  readonly epoch: string;
  readonly lastSeq: number;
  /** Live (not deleted) keys. */
  readonly count: number;
  /** When the last request with at least one record arrived (ms since epoch), even if it changed nothing. */
  readonly lastPushAt: number | null;
  readonly createdAt: number;
  readonly updatedAt: number;
  /** The dataset configuration, validated by the domain before it reaches the store. */
  readonly config: JsonObject;
  /** Hashes of the dataset's keys (the keys themselves are never stored). */
  readonly keyHashes: { readonly push: string; readonly read: string };
  /** Small state kept with the dataset by protocols (namespaces, full-sync lease, types seen…). */
  readonly attrs: JsonObject;
}

export interface Change {
  readonly seq: number;
  readonly key: string;
  readonly kind: string;
  /** ms since epoch */
  readonly recorded: number;
  readonly deleted: boolean;
  readonly doc: JsonText;
}

export interface Write {
  readonly key: string;
  /** Opaque to the store, `[a-z]+`: which dialect's document this is (resource, entity, record). */
  readonly kind: string;
  readonly deleted: boolean;
  /** The document as pushed; for deletes, the tombstone document to emit in feeds. */
  readonly doc: JsonText;
  /** Hash of the document's canonical JSON: equal to the current version's → no change. */
  readonly hash: string;
  /** Drop this write if the key already has any change (dedup by key). */
  readonly ifAbsent?: boolean;
  /**
   * Index terms of this version (opaque, no U+0000; see indexScan): they replace the key's terms in
   * the same atomic batch, and a delete with `terms: []` (or a sweep) drops them. Only the latest
   * version of a key is indexed. Undefined leaves the key's terms as they are; an unchanged write
   * keeps them too.
   */
  readonly terms?: readonly string[];
}

/** What happened to one write of an append. */
export type Outcome = 'created' | 'updated' | 'deleted' | 'unchanged' | 'missing' | 'dropped';

/** What auxCount did: the count in the period after this use, and whether the use was allowed. */
export interface AuxCount {
  readonly used: number;
  readonly allowed: boolean;
}

export interface AuxWrite {
  readonly ns: string;
  readonly key: string;
  /** null deletes the entry */
  readonly value: string | null;
}

export interface Blob {
  readonly id: string;
  readonly contentType: string;
  readonly bytes: Uint8Array;
}

export interface SweepSpec {
  /** Keys recorded in this aux namespace (by earlier requests' `markSeen`) are kept as well. */
  readonly seenNs?: string;
  /**
   * Builds the tombstone document of a key the sweep deletes, from its current change; undefined
   * keeps the key (a kind the sweeping protocol does not own).
   */
  readonly tombstone: (current: Change) => { doc: JsonText; hash: string } | undefined;
}

export interface AppendRequest {
  readonly writes: readonly Write[];
  /** Recording time of the changes (ms); default now. Recovery passes the original arrival time. */
  readonly recorded?: number;
  /** If this key was already applied to the dataset, the request is a no-op (`duplicate: true`). */
  readonly idempotencyKey?: string;
  /** Auxiliary entries written in the same atomic batch. */
  readonly aux?: readonly AuxWrite[];
  readonly blobs?: readonly Blob[];
  /** Raw request kept in the receive journal (recovery), in the same atomic batch. */
  readonly journal?: JsonText;
  /**
   * Read-modify-write of the dataset's attrs, run inside the dataset's writer against the latest
   * attrs. May throw a HubError to reject the request (nothing of it is stored). Return undefined to
   * leave attrs unchanged.
   */
  readonly attrs?: (current: JsonObject) => JsonObject | undefined;
  /** Record every written key in this aux namespace (full-sync "seen" sets). */
  readonly markSeen?: string;
  /** After the writes, delete every live key neither written here nor in `seenNs`. */
  readonly sweep?: SweepSpec;
  /**
   * Aux namespaces emptied in the same atomic batch: after the sweep (which still sees them),
   * before this request's `markSeen` and `aux` writes. Like a sweep, such a request runs alone in
   * its group, so everything committed before it is cleared.
   */
  readonly clearAux?: readonly string[];
  /** Counts as a push for lastPushAt. Default: writes.length > 0. */
  readonly touch?: boolean;
}

export interface AppendResult {
  readonly epoch: string;
  /** lastSeq after the request */
  readonly lastSeq: number;
  /** number of changes appended */
  readonly changes: number;
  /** one per write, in order */
  readonly outcomes: readonly Outcome[];
  /** keys deleted by a sweep */
  readonly swept: number;
  /** the idempotency key had been seen: nothing was applied */
  readonly duplicate: boolean;
}

export interface ChangesQuery {
  /** must equal the dataset's current epoch (callers check tokens first) */
  readonly epoch: string;
  /** exclusive lower bound; 0 = from the start */
  readonly afterSeq: number;
  /** exclusive upper bound */
  readonly beforeSeq?: number;
  /** newest first */
  readonly reverse?: boolean;
  readonly limit?: number;
  /** only changes that are still the latest for their key */
  readonly latestOnly?: boolean;
  /**
   * The dataset's lastSeq as the caller read it (the head its token will promise): the read must
   * see every change up to it. Lets an engine serve the read from a replica that has replayed at
   * least that far (and nowhere else).
   */
  readonly atLeast?: number;
}

export interface CurrentQuery {
  readonly epoch: string;
  /** exclusive lower bound in key order */
  readonly afterKey?: string;
  /** exclusive upper bound in key order */
  readonly beforeKey?: string;
  /** descending key order */
  readonly reverse?: boolean;
  readonly limit?: number;
  /** include deleted keys (their tombstones) */
  readonly includeDeleted?: boolean;
  /** as ChangesQuery.atLeast */
  readonly atLeast?: number;
}

/** One entry of a dataset's term index: a term of the latest version of `key`. */
export interface IndexEntry {
  readonly term: string;
  readonly key: string;
}

export interface IndexQuery {
  readonly epoch: string;
  /** entries whose term starts with this */
  readonly prefix: string;
  /** exclusive position: continue after it (or before it, reversed) */
  readonly after?: IndexEntry;
  readonly limit?: number;
  /** descending (term, key) order */
  readonly reverse?: boolean;
  /** as ChangesQuery.atLeast */
  readonly atLeast?: number;
}

/** One dataset's part of an appendMany. */
export interface AppendPart {
  readonly name: string;
  readonly request: AppendRequest;
}

export interface JournalEntry {
  readonly n: number;
  readonly recorded: number;
  readonly text: JsonText;
}

/** Fields of a dataset the admin sets; the store keeps everything else. */
export interface DatasetInit {
  readonly config: JsonObject;
  readonly keyHashes: { readonly push: string; readonly read: string };
}

export interface ChangeNotice {
  readonly dataset: string;
  readonly epoch: string;
  readonly lastSeq: number;
}

/** Is the store able to serve writes now? (GET /ready) */
export interface Readiness {
  readonly ready: boolean;
  /** why not, for the operator */
  readonly reason?: string;
}

/** How far a read replica is behind its primary. */
export interface ReplicationLag {
  /** since the last transaction it replayed; 0 when it has replayed everything it received */
  readonly seconds: number;
  /** WAL the primary has written that the replica has not replayed */
  readonly bytes: number;
}

/** What an engine reports about its database, for metrics and logs (server.ts). */
export type StoreEvent =
  /** a database call failed; `kind` as in store/postgres/faults.ts */
  | { readonly type: 'fault'; readonly kind: string }
  /** the connection to the database came back after it was lost */
  | { readonly type: 'reconnect' }
  /** connections now reach another server than before (failover, promotion) */
  | { readonly type: 'failover'; readonly server: string; readonly previous: string }
  /**
   * the database went back in time: a dataset's lastSeq is lower than one this process
   * acknowledged; the dataset got a new epoch (readers full-sync)
   */
  | {
      readonly type: 'rollback';
      readonly dataset: string;
      readonly acknowledged: number;
      readonly found: number;
      readonly epoch: string;
    }
  /** start-up is waiting for the database */
  | { readonly type: 'waiting'; readonly attempt: number; readonly error: string; readonly retryInMs: number }
  /** a changelog or state read was served by the replica or the primary (STORE_READ_URL) */
  | { readonly type: 'read'; readonly from: 'replica' | 'primary' };

export interface Store {
  /** Which engine this is, for /health and logs. */
  readonly engine: string;

  /** The state of the storage for writes (disk full, below the floor, I/O errors): cheap, no I/O. */
  health(): StoreHealth;

  close(): Promise<void>;

  /** Reachable and writable now? Never throws. */
  ready(): Promise<Readiness>;
  /** The read replica's lag, when there is one. */
  replicationLag?(): Promise<ReplicationLag | undefined>;

  // ---- datasets -------------------------------------------------------------------------------
  /**
   * Creates the dataset or replaces its config (data, epoch and keys kept unless `init` returns new
   * key hashes). `init` receives the existing record, if any, inside the dataset's writer.
   */
  putDataset(
    name: string,
    init: (existing: DatasetRecord | undefined) => DatasetInit,
  ): Promise<{
    created: boolean;
    record: DatasetRecord;
  }>;
  getDataset(name: string): Promise<DatasetRecord | undefined>;
  listDatasets(): Promise<DatasetRecord[]>;
  /** Removes the dataset and every byte of its data. False when it did not exist. */
  deleteDataset(name: string): Promise<boolean>;
  /** Read-modify-write of attrs outside an append (status bookkeeping). Not necessarily synced. */
  updateAttrs(name: string, fn: (current: JsonObject) => JsonObject | undefined): Promise<DatasetRecord>;
  /** Which dataset and role a key hash belongs to. */
  findKeyHash(hash: string): Promise<{ dataset: string; role: 'push' | 'read' } | undefined>;

  // ---- changelog ------------------------------------------------------------------------------
  /** One atomic, durable batch. Resolves only after the data is synced to disk. */
  append(name: string, request: AppendRequest): Promise<AppendResult>;
  /** Changes in sequence order, streamed from a consistent snapshot. */
  changes(name: string, query: ChangesQuery): AsyncIterable<Change>;
  /** Latest change of each key, in key order, streamed from a consistent snapshot. */
  current(name: string, query: CurrentQuery): AsyncIterable<Change>;
  /** Latest change of one key (deleted ones included). */
  get(name: string, key: string): Promise<Change | undefined>;
  /** Latest change of each key, in the order asked (undefined where there is none), in one read. */
  getMany(name: string, keys: readonly string[]): Promise<Array<Change | undefined>>;
  /** Index entries (Write.terms of latest versions) in (term, key) order, from a consistent snapshot. */
  indexScan(name: string, query: IndexQuery): AsyncIterable<IndexEntry>;
  /**
   * One atomic, durable append across datasets (distinct names): every part is stored or none is.
   * Each part runs in its dataset's writer as an append would (attrs, outcomes, journal, notice);
   * a part may not sweep or clear aux namespaces.
   */
  appendMany(parts: readonly AppendPart[]): Promise<AppendResult[]>;
  /** Is told after every committed append of any dataset. Returns the unsubscribe function. */
  subscribe(listener: (notice: ChangeNotice) => void): () => void;

  /**
   * Rebuilds the dataset as a new epoch from the given requests (recovery). Writes to the dataset
   * wait until it is done; readers keep the old epoch until the switch, which is atomic.
   */
  rebuild(name: string, requests: AsyncIterable<AppendRequest>): Promise<AppendResult>;

  // ---- side data ------------------------------------------------------------------------------
  journal(name: string, afterN?: number): AsyncIterable<JournalEntry>;
  clearJournal(name: string): Promise<void>;
  getBlob(name: string, id: string): Promise<Blob | undefined>;
  auxGet(name: string, ns: string, key: string): Promise<string | undefined>;
  auxScan(name: string, ns: string, afterKey?: string): AsyncIterable<[string, string]>;
  /** Writes aux entries outside an append (positions, statuses). */
  auxPut(name: string, writes: readonly AuxWrite[], options?: { sync?: boolean }): Promise<void>;
  /**
   * Counts one use of the aux entry (ns, key) in `period` against `limit` (quotas): the count starts
   * over when `period` changes, and a use at the limit is refused without being counted. Atomic for
   * every process sharing the store; kept across restarts but not synced (a crash may forget the
   * last uses). `period` must not contain '|'. The entry reads back as `<period>|<count>`.
   */
  auxCount(name: string, ns: string, key: string, period: string, limit: number): Promise<AuxCount>;
  /** A hub-wide secret (for token MACs), created once and shared by every hub on this store. */
  secret(): Promise<string>;

  // ---- backup ---------------------------------------------------------------------------------
  /**
   * The whole store's logical content (store/backup.ts) from one consistent snapshot, streamed:
   * writes go on meanwhile and are not part of it.
   */
  exportAll(): AsyncIterable<BackupRecord>;
  /**
   * Loads an export into this store, which must hold no dataset (else 409 STORE_NOT_EMPTY); the
   * hub secret is replaced by the export's. All of it or, on failure, nothing visible.
   */
  importAll(records: AsyncIterable<BackupRecord>): Promise<ImportSummary>;
}
