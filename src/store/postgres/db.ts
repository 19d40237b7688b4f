import pg, { type ClientBase, type PoolClient, type QueryConfig, type QueryResultRow } from 'pg';
import { hubError } from '../../errors.js';
import {
  breaksConnection,
  classify,
  commitOutcomeUnknown,
  RETRY_AFTER_S,
  suspectsServer,
  toStoreError,
  unwrap,
  type FaultKind,
} from './faults.js';
import { resolveCommit, type Ask } from './outcome.js';
import type { PgHost, PgUrlOptions } from './url.js';

/** What the connection layer tells its owner (metrics and logs). */
export interface DbEvents {
  /** a database call failed (counted by kind) */
  fault(kind: FaultKind): void;
  /** a connection reached another server than the previous one (a failover, or a promotion) */
  serverChanged(server: string, previous: string): void;
}

/** Where SQL runs: a transaction's connection, or the pool. */
export interface Queryable {
  query<R extends QueryResultRow>(text: string, values?: unknown[]): Promise<{ rows: R[] }>;
}

export interface TxOptions {
  /** wait for the WAL flush at COMMIT (default); false for bookkeeping nothing relies on */
  readonly sync?: boolean;
  /**
   * Run `fn` again, on a fresh connection, when the first one reached a read-only server (nothing
   * was written). Default true; false when `fn` cannot run twice (it consumes a stream).
   */
  readonly retry?: boolean;
  /** statements may run long (rebuilds, the janitor): no statement timeout */
  readonly long?: boolean;
  /** after a COMMIT whose answer was lost and whose id says committed: are its writes there? */
  readonly confirm?: (ask: Ask, xid: string) => Promise<boolean>;
}

/**
 * A statement with the driver's own answer timeout (`query_timeout`, which `pg` honours per query
 * but its types do not list); undefined keeps the connection's.
 */
export function statement(text: string, values?: unknown[], timeoutMs?: number): QueryConfig {
  return { text, values, query_timeout: timeoutMs } as QueryConfig;
}

/** Between two questions to a host that refused or was read-only while looking for the primary. */
const PROBE_PAUSE_MS = 200;

/** The driver's wait for one statement of a `long` transaction. */
const LONG_QUERY_MS = 3_600_000;

/** An error of our own making with a SQLSTATE, so classify() treats it as the server's. */
function readOnlyServer(where: string): Error {
  return Object.assign(new Error(`${where} is read-only (a standby)`), { code: '25006' });
}

/**
 * The connection layer of the PostgreSQL engine: one `pg` pool, made to survive a database that
 * goes away, freezes, restarts or fails over.
 *
 * - Several hosts (libpq's multi-host URL, which `pg` lacks): every new connection goes to the
 *   current host while it serves. Once it failed (cannot be reached, is read-only with
 *   `target_session_attrs=read-write`, or stopped answering), the next new connection first asks
 *   every host at once, again and again until `connect_timeout`, and the first that answers as
 *   wanted becomes the current host (locate()). Hosts are not tried in turn: a frozen host accepts
 *   the TCP connection and then says nothing until the connect timeout, and trying it in its turn
 *   would hold up every connection behind it for that long, also once another node is primary.
 * - Every connection has an `error` listener for its whole life (`pg` gives a checked-out client
 *   none: a connection dropped mid-transaction would otherwise end the process), and a connection
 *   that broke is destroyed (`release(err)`), never returned to the pool.
 * - Each new connection learns which server it reached; when that changes (a failover), or a
 *   failure says the server itself is in trouble, every pooled connection is replaced before its
 *   next use (a generation count), so none that reached the old or a demoted primary lingers.
 * - Errors leave as HubErrors (faults.ts): 503 STORE_UNAVAILABLE with Retry-After when transient.
 * - Transactions take their id before COMMIT and resolve a COMMIT whose answer was lost
 *   (outcome.ts): committed, aborted (503) or unknown (503 STORE_OUTCOME_UNKNOWN).
 */
export class Db {
  private readonly pool: pg.Pool;
  private hostIndex = 0;
  /** the current host answered as wanted since it last failed (always true with one host) */
  private hostGood: boolean;
  /** the one search for a host in progress, shared by every connection waiting for it */
  private locating: Promise<void> | undefined;
  private generation = 0;
  private readonly born = new WeakMap<ClientBase, number>();
  private readonly broken = new WeakSet<ClientBase>();
  private server: string | undefined;

  constructor(
    readonly url: PgUrlOptions,
    private readonly events: DbEvents,
    /** what this pool is for, in error messages */
    private readonly role: 'primary' | 'standby' = 'primary',
  ) {
    this.hostGood = url.hosts.length === 1;
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const db = this;
    class HostClient extends pg.Client {
      constructor(config?: pg.ClientConfig) {
        super({ ...config, connectionString: url.connectionString(db.host) });
      }
    }
    this.pool = new pg.Pool({
      ...url.pg,
      Client: HostClient as unknown as new () => ClientBase,
      onConnect: (client: ClientBase) => this.onConnect(client),
    } as pg.PoolConfig);
    // an idle connection that breaks is dropped by the pool; without a listener it would crash us
    this.pool.on('error', () => undefined);
  }

  get host(): PgHost {
    return this.url.hosts[this.hostIndex]!;
  }

  /** The server the last new connection reached (`addr:port/timeline`), for logs and tests. */
  get currentServer(): string | undefined {
    return this.server;
  }

  /** From now on, every pooled connection is replaced before its next use. */
  renew(): void {
    this.generation++;
    this.hostGood = this.url.hosts.length === 1;
  }

  /** A connection to host `index` failed: the next one looks for a host first (multi-host). */
  private hostFailed(index: number): void {
    if (index === this.hostIndex && this.url.hosts.length > 1) this.hostGood = false;
  }

  /** Whether a server answering `recovery` will do for this pool. */
  private wants(recovery: boolean): boolean {
    return !recovery || this.role !== 'primary' || this.url.targetSessionAttrs !== 'read-write';
  }

  /** Makes the current host one that answers as wanted, or fails with a store error (503). */
  private locate(): Promise<void> {
    this.locating ??= this.findHost().finally(() => {
      this.locating = undefined;
    });
    return this.locating;
  }

  /**
   * Asks every host at once, each again every PROBE_PAUSE_MS while it refuses or is read-only,
   * until one answers as wanted or connect_timeout has passed: a standby promoted meanwhile is
   * found within a pause, and a frozen host costs nothing while another answers.
   */
  private async findHost(): Promise<void> {
    const { hosts, timeouts } = this.url;
    const deadline = Date.now() + timeouts.connectMs;
    let found = -1;
    let lastError: unknown;
    const ask = async (i: number, won: () => void): Promise<void> => {
      while (found < 0) {
        const left = deadline - Date.now();
        if (left <= 0) return;
        const client = new pg.Client({
          ...this.url.pg,
          connectionString: this.url.connectionString(hosts[i]!),
          connectionTimeoutMillis: left,
        });
        client.on('error', () => undefined);
        try {
          await client.connect();
          const server = await identify(client, left);
          if (this.wants(server.recovery)) {
            if (found < 0) found = i;
            won();
            return;
          }
          lastError = readOnlyServer(server.addr);
        } catch (err) {
          lastError = err;
        } finally {
          void client.end().catch(() => undefined);
        }
        await new Promise((r) => setTimeout(r, Math.max(0, Math.min(PROBE_PAUSE_MS, deadline - Date.now()))));
      }
    };
    await new Promise<void>((resolve) => {
      let pending = hosts.length;
      hosts.forEach((_, i) => {
        void ask(i, resolve).finally(() => {
          if (--pending === 0) resolve();
        });
      });
    });
    if (found < 0) {
      const err = lastError ?? Object.assign(new Error('no host of STORE_URL answered'), { code: '08001' });
      this.events.fault(classify(err));
      throw toStoreError(err);
    }
    this.hostIndex = found;
    this.hostGood = true;
  }

  /** Runs once per new connection, before the pool hands it out. */
  private async onConnect(client: ClientBase): Promise<void> {
    client.on('error', (err: Error) => {
      this.broken.add(client);
      this.events.fault(classify(err));
    });
    this.born.set(client, this.generation);
    const server = await identify(client, this.url.timeouts.queryMs);
    if (!this.wants(server.recovery)) throw readOnlyServer(`${server.addr}`);
    const id = server.recovery ? `${server.addr}/standby` : `${server.addr}/${server.timeline}`;
    if (this.server !== undefined && this.server !== id) {
      this.events.serverChanged(id, this.server);
      // connections made before belong to the old server
      this.generation++;
      this.born.set(client, this.generation);
    }
    this.server = id;
  }

  /** A connection of the pool, on a writable server when the URL asks for one. */
  async acquire(): Promise<PoolClient> {
    // with several hosts: once more after the current host failed, on the host locate() found
    const tries = this.url.hosts.length > 1 ? 2 : 1;
    for (let attempt = 0; ; attempt++) {
      if (!this.hostGood) await this.locate();
      // a new connection the pool makes in this call goes to this host
      const host = this.hostIndex;
      let client: PoolClient;
      try {
        client = await this.pool.connect();
      } catch (err) {
        this.events.fault(classify(err));
        this.hostFailed(host);
        if (attempt + 1 >= tries) throw toStoreError(err);
        continue;
      }
      if (this.broken.has(client) || (this.born.get(client) ?? -1) < this.generation) {
        client.release(true);
        attempt--;
        continue;
      }
      return client;
    }
  }

  /** Back to the pool, or destroyed if the connection cannot be trusted any more. */
  release(client: PoolClient, err?: unknown): void {
    if (err !== undefined && suspectsServer(err)) this.renew();
    if (this.broken.has(client) || (err !== undefined && breaksConnection(err))) {
      client.release(err instanceof Error ? err : true);
    } else {
      client.release();
    }
  }

  /**
   * One statement on a pooled connection. Retried once on a fresh connection when the first
   * reached a read-only server, or, for `idempotent` statements (reads), when it broke (a
   * connection the server closed while it sat in the pool; not one that timed out).
   */
  async query<R extends QueryResultRow>(
    text: string,
    values: unknown[] = [],
    options: { idempotent?: boolean; timeoutMs?: number } = {},
  ): Promise<R[]> {
    for (let attempt = 0; ; attempt++) {
      const client = await this.acquire();
      try {
        const r = await client.query<R>(statement(text, values, options.timeoutMs));
        this.release(client);
        return r.rows;
      } catch (err) {
        this.release(client, err);
        const kind = classify(err);
        this.events.fault(kind);
        // a connection that broke at once is retried; one that timed out has used the time up
        const again =
          kind === 'read_only' ||
          (options.idempotent === true && (kind === 'connection' || kind === 'shutdown'));
        if (attempt === 0 && again) continue;
        throw toStoreError(err, kind);
      }
    }
  }

  /** The pool as a Queryable for reads: a statement that broke is tried once more. */
  readonly reader: Queryable = {
    query: async <R extends QueryResultRow>(text: string, values?: unknown[]) => ({
      rows: await this.query<R>(text, values, { idempotent: true }),
    }),
  };

  /** The pool as a Queryable for single-statement writes (never sent twice after a break). */
  readonly writer: Queryable = {
    query: async <R extends QueryResultRow>(text: string, values?: unknown[]) => ({
      rows: await this.query<R>(text, values),
    }),
  };

  /**
   * Runs `fn` in a transaction and commits it. Errors of `fn` that are not the database's pass
   * unchanged (a request rejected); the database's leave as in query().
   */
  async tx<T>(fn: (q: Queryable) => Promise<T>, options: TxOptions = {}): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const client = await this.acquire();
      const timeout = options.long ? LONG_QUERY_MS : undefined;
      const q: Queryable = {
        query: <R extends QueryResultRow>(text: string, values?: unknown[]) =>
          client.query<R>(statement(text, values, timeout)),
      };
      let xid: string | undefined;
      let committing = false;
      let value: T;
      try {
        // the id first: it is how a COMMIT whose answer is lost gets resolved
        const begun = (await client.query(
          'BEGIN; SELECT pg_current_xact_id()::text AS xid',
        )) as unknown as Array<{ rows: Array<{ xid: string }> }>;
        xid = begun[1]!.rows[0]!.xid;
        if (options.long) await client.query('SET LOCAL statement_timeout = 0');
        value = await fn(q);
        // status bookkeeping need not wait for the WAL flush; everything a client relies on does
        if (options.sync === false) await client.query('SET LOCAL synchronous_commit = off');
        committing = true;
        const done = await client.query('COMMIT');
        if (done.command !== 'COMMIT') {
          // COMMIT of a transaction that had failed answers ROLLBACK
          throw Object.assign(new Error('the transaction was rolled back'), { code: '40000' });
        }
        this.release(client);
        return value;
      } catch (err) {
        const kind = classify(err);
        if (kind !== 'other') this.events.fault(kind);
        if (committing && xid !== undefined && commitOutcomeUnknown(kind)) {
          this.release(client, err);
          const outcome = await this.resolve(xid, options.confirm);
          if (outcome === 'committed') return value!;
          if (outcome === 'unknown') {
            const e = hubError(
              'STORE_OUTCOME_UNKNOWN',
              'the database connection broke while committing; the write may or may not be stored: send it again',
              { retryAfter: RETRY_AFTER_S },
            );
            e.cause = unwrap(err);
            throw e;
          }
          throw toStoreError(err, kind);
        }
        if (breaksConnection(err)) this.release(client, err);
        else {
          await client.query('ROLLBACK').then(
            () => this.release(client),
            (e: unknown) => this.release(client, e),
          );
        }
        if (kind === 'read_only' && options.retry !== false && attempt === 0) continue;
        throw toStoreError(err, kind);
      }
    }
  }

  /** What became of transaction `xid`, asked on fresh connections for at most connect_timeout. */
  private async resolve(
    xid: string,
    confirm: TxOptions['confirm'],
  ): Promise<'committed' | 'aborted' | 'unknown'> {
    const budget = this.url.timeouts.connectMs;
    const ask: Ask = <R>(text: string, values: unknown[]) =>
      this.query(text, values, { timeoutMs: budget }) as Promise<R[]>;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'unknown'>((resolve) => {
      timer = setTimeout(() => resolve('unknown'), budget);
    });
    try {
      const check = confirm && ((a: Ask) => confirm(a, xid));
      return await Promise.race([resolveCommit(ask, xid, { deadlineMs: budget, confirm: check }), late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * A connection of its own (LISTEN), on the current host, moving to the next one like the pool.
   * The caller owns it and must listen for its errors.
   */
  async dedicated(): Promise<pg.Client> {
    const tries = this.url.hosts.length > 1 ? 2 : 1;
    for (let attempt = 0; ; attempt++) {
      if (!this.hostGood) await this.locate();
      const host = this.hostIndex;
      const client = new pg.Client({
        ...this.url.pg,
        connectionString: this.url.connectionString(this.host),
      });
      client.on('error', () => undefined);
      try {
        await client.connect();
        const server = await identify(client, this.url.timeouts.queryMs);
        if (!this.wants(server.recovery)) throw readOnlyServer(server.addr);
        client.removeAllListeners('error');
        return client;
      } catch (err) {
        await client.end().catch(() => undefined);
        this.events.fault(classify(err));
        this.hostFailed(host);
        if (attempt + 1 >= tries) throw toStoreError(err);
      }
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

interface ServerIdentity {
  readonly recovery: boolean;
  readonly addr: string;
  /** the primary's current timeline (hex), null on a standby */
  readonly timeline: string | null;
}

/**
 * Which server a connection reached: its address and port as the server sees them (distinct per
 * node behind a proxy) and, on a primary, its timeline (a promotion starts a new one).
 */
async function identify(client: ClientBase, timeoutMs: number): Promise<ServerIdentity> {
  const r = await client.query<{ recovery: boolean; addr: string; timeline: string | null }>(
    statement(
      `SELECT pg_is_in_recovery() AS recovery,
             coalesce(host(inet_server_addr()), 'socket') || ':' || coalesce(inet_server_port()::text, '') AS addr,
             CASE WHEN pg_is_in_recovery() THEN NULL
                  ELSE substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8) END AS timeline`,
      [],
      timeoutMs,
    ),
  );
  return r.rows[0]!;
}
