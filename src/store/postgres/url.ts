import type { PoolConfig } from 'pg';

/**
 * STORE_URL (and STORE_READ_URL) for the PostgreSQL engine: a libpq-style URL, with several hosts
 * if need be, plus the hub's own query parameters, which are taken out before the rest goes to `pg`:
 *
 *   postgres://user:password@host1:5432,host2:5432/database?target_session_attrs=read-write&schema=hub
 *
 * - hosts: tried in order until one accepts (and, with `target_session_attrs=read-write`, is
 *   writable); the hub stays on the last good one until it fails (libpq's behaviour, which `pg`
 *   itself lacks: see db.ts).
 * - `target_session_attrs`: `any` (default for one host) or `read-write` (default for several): a
 *   connection that reaches a read-only server is closed and the next host tried.
 * - `schema`: the PostgreSQL schema holding the hub's tables (default `hub`); created at start-up.
 *   Several hubs (or test runs) can share one database in different schemas.
 * - `partitions`: number of hash partitions per data table, used only when the schema is created.
 * - `pool`: connections per hub process (default 20).
 * - `connect_timeout` (seconds, default 5): for one connection attempt, and for the wait for a
 *   free connection of the pool.
 * - `statement_timeout` (ms, default 10000): the server cancels a statement running longer, and
 *   the hub gives up on a server that does not answer within it plus one second (a frozen server).
 * - `lock_timeout` (ms, default 10000): a write waiting this long for a dataset's lock gives up.
 * - `idle_in_transaction_session_timeout` (ms, default 60000): the server ends a transaction whose
 *   hub went silent (network lost), so a dataset's lock is not held longer.
 * - `startup_wait` (seconds, default 300): how long start-up waits for the database to be reachable.
 *
 * A request whose store call hangs is answered 503 within `connect_timeout + statement_timeout +
 * 2 s` (docs/postgres-ha.md).
 */
export interface PgHost {
  readonly host: string;
  readonly port: number;
}

export type SessionAttrs = 'any' | 'read-write';

export interface PgTimeouts {
  readonly connectMs: number;
  readonly statementMs: number;
  readonly lockMs: number;
  readonly idleInTransactionMs: number;
  /** the driver's own limit for an answer: the server's statement timeout, plus a margin */
  readonly queryMs: number;
}

export interface PgUrlOptions {
  readonly schema: string;
  readonly partitions: number;
  readonly poolSize: number;
  readonly hosts: readonly PgHost[];
  readonly targetSessionAttrs: SessionAttrs;
  readonly timeouts: PgTimeouts;
  readonly startupWaitMs: number;
  /** the connection settings for `pg`, with the first host; db.ts sets each client's host */
  readonly pg: PoolConfig;
  /** a `pg` connection string for the given host */
  connectionString(host: PgHost): string;
}

const SCHEMA = /^[a-z_][a-z0-9_]{0,49}$/;
const OWN_PARAMS = [
  'schema',
  'partitions',
  'pool',
  'target_session_attrs',
  'connect_timeout',
  'statement_timeout',
  'lock_timeout',
  'idle_in_transaction_session_timeout',
  'startup_wait',
] as const;
/** the driver waits this much longer than the server's statement timeout before it gives up */
const QUERY_MARGIN_MS = 1_000;

export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//i.test(url);
}

/** The URL without its password, for logs and errors. */
export function redactStoreUrl(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}

function intParam(value: string | null, name: string, fallback: number, min: number, max: number): number {
  if (value === null || value === '') return fallback;
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new Error(`STORE_URL parameter '${name}' must be an integer from ${min} to ${max}, got '${value}'`);
  }
  return Number(value);
}

/** `host`, `host:port`, `[v6]`, `[v6]:port` */
function parseHost(text: string, url: string): PgHost {
  const m = /^(\[[^\]]+\]|[^:[\]]*)(?::(\d+))?$/.exec(text);
  if (!m || m[1] === '') throw new Error(`STORE_URL has an invalid host '${text}': ${redactStoreUrl(url)}`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port: m[2] === undefined ? 5432 : Number(m[2]) };
}

const hostText = (h: PgHost): string => `${h.host.includes(':') ? `[${h.host}]` : h.host}:${h.port}`;

export function parsePgUrl(url: string): PgUrlOptions {
  if (!isPostgresUrl(url)) throw new Error(`not a PostgreSQL URL: ${redactStoreUrl(url)}`);
  // WHATWG URL takes one host only: split the authority's host list off first
  const m = /^(postgres(?:ql)?:\/\/)(?:([^@/?#]*)@)?([^/?#]*)(.*)$/i.exec(url);
  if (!m) throw new Error(`not a PostgreSQL URL: ${redactStoreUrl(url)}`);
  const [, scheme, userinfo, hostList, rest] = m;
  const hosts = (hostList === '' ? 'localhost' : hostList!).split(',').map((h) => parseHost(h, url));
  const auth = userinfo === undefined ? '' : `${userinfo}@`;
  const u = new URL(`${scheme}${auth}${hostText(hosts[0]!)}${rest}`);
  const q = u.searchParams;
  const schema = q.get('schema') || 'hub';
  if (!SCHEMA.test(schema)) {
    throw new Error(`STORE_URL parameter 'schema' must match ${SCHEMA.source}, got '${schema}'`);
  }
  const partitions = intParam(q.get('partitions'), 'partitions', 16, 1, 1024);
  const poolSize = intParam(q.get('pool'), 'pool', 20, 2, 1000);
  const attrs = q.get('target_session_attrs') || (hosts.length > 1 ? 'read-write' : 'any');
  if (attrs !== 'any' && attrs !== 'read-write') {
    throw new Error(
      `STORE_URL parameter 'target_session_attrs' must be 'any' or 'read-write', got '${attrs}'`,
    );
  }
  const connectMs = intParam(q.get('connect_timeout'), 'connect_timeout', 5, 1, 3600) * 1000;
  const statementMs = intParam(q.get('statement_timeout'), 'statement_timeout', 10_000, 100, 86_400_000);
  const lockMs = intParam(q.get('lock_timeout'), 'lock_timeout', 10_000, 100, 86_400_000);
  const idleInTransactionMs = intParam(
    q.get('idle_in_transaction_session_timeout'),
    'idle_in_transaction_session_timeout',
    60_000,
    1_000,
    86_400_000,
  );
  const startupWaitMs = intParam(q.get('startup_wait'), 'startup_wait', 300, 0, 86_400) * 1000;
  for (const p of OWN_PARAMS) q.delete(p);
  const timeouts: PgTimeouts = {
    connectMs,
    statementMs,
    lockMs,
    idleInTransactionMs,
    queryMs: statementMs + QUERY_MARGIN_MS,
  };
  const connectionString = (h: PgHost): string => {
    const one = new URL(u.toString());
    one.host = hostText(h);
    return one.toString();
  };
  return {
    schema,
    partitions,
    poolSize,
    hosts,
    targetSessionAttrs: attrs,
    timeouts,
    startupWaitMs,
    connectionString,
    pg: {
      connectionString: connectionString(hosts[0]!),
      max: poolSize,
      // every session works in the hub's schema, so the SQL never names it
      options: `-c search_path=${schema}`,
      statement_timeout: statementMs,
      lock_timeout: lockMs,
      // a hub that vanished mid-transaction (network gone, not just killed) must not hold a
      // dataset's head row for long
      idle_in_transaction_session_timeout: idleInTransactionMs,
      // a server that stopped answering (frozen, or a network that drops packets) is given up on
      query_timeout: timeouts.queryMs,
      connectionTimeoutMillis: connectMs,
      application_name: 'sync-hub',
      // and a server that vanished is noticed by the hub
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
    },
  };
}
