import type { PoolConfig } from 'pg';

/**
 * STORE_URL for the PostgreSQL engine: a libpq-style URL plus the hub's own query parameters,
 * which are taken out before the rest goes to `pg`:
 *
 *   postgres://user:password@host:5432/database?schema=hub&partitions=16&pool=20
 *
 * - `schema`: the PostgreSQL schema holding the hub's tables (default `hub`); created at start-up.
 *   Several hubs (or test runs) can share one database in different schemas.
 * - `partitions`: number of hash partitions per data table, used only when the schema is created.
 * - `pool`: connections per hub process (default 20).
 */
export interface PgUrlOptions {
  readonly schema: string;
  readonly partitions: number;
  readonly poolSize: number;
  readonly pg: PoolConfig;
}

/** A hub's transactions never wait on a client; only a lost hub leaves one idle this long. */
const IDLE_IN_TX_MS = 300_000;
const SCHEMA = /^[a-z_][a-z0-9_]{0,49}$/;
const OWN_PARAMS = ['schema', 'partitions', 'pool'] as const;

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

export function parsePgUrl(url: string): PgUrlOptions {
  if (!isPostgresUrl(url)) throw new Error(`not a PostgreSQL URL: ${redactStoreUrl(url)}`);
  const u = new URL(url);
  const schema = u.searchParams.get('schema') || 'hub';
  if (!SCHEMA.test(schema)) {
    throw new Error(`STORE_URL parameter 'schema' must match ${SCHEMA.source}, got '${schema}'`);
  }
  const partitions = intParam(u.searchParams.get('partitions'), 'partitions', 16, 1, 1024);
  const poolSize = intParam(u.searchParams.get('pool'), 'pool', 20, 2, 1000);
  for (const p of OWN_PARAMS) u.searchParams.delete(p);
  return {
    schema,
    partitions,
    poolSize,
    pg: {
      connectionString: u.toString(),
      max: poolSize,
      // every session works in the hub's schema, so the SQL never names it; a hub that vanished
      // mid-transaction (network gone, not just killed) must not hold a dataset's head row for long
      options: `-c search_path=${schema} -c idle_in_transaction_session_timeout=${IDLE_IN_TX_MS}`,
      application_name: 'sync-hub',
      // and a server that vanished is noticed by the hub
      keepAlive: true,
    },
  };
}
