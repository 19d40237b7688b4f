import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import pg from 'pg';
import { parsePgUrl, redactStoreUrl } from '../../src/store/postgres/url.js';

/**
 * The PostgreSQL the bench runs the hub's PostgreSQL engine on: `BENCH_STORE_URL`, by default the
 * test database `.ci/postgres-up` creates. Each configuration measured gets a schema of its own,
 * dropped afterwards, so a run leaves nothing behind and never meets another run's data.
 */
export const BENCH_STORE_URL =
  process.env.BENCH_STORE_URL || 'postgres://hub_test:hub_test@127.0.0.1:5432/hub_test';

/** One client for a one-off query, given up after 3 s; a connection that breaks later is ignored. */
async function connectOnce(url: string): Promise<pg.Client> {
  const client = new pg.Client({
    connectionString: parsePgUrl(url).pg.connectionString,
    connectionTimeoutMillis: 3_000,
  });
  // a connection that breaks after the attempt must not crash the bench
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => undefined);
    throw err;
  }
  return client;
}

/** Answers why PostgreSQL cannot be used (undefined when it can): a 3-second connection attempt. */
export async function unreachable(url: string = BENCH_STORE_URL): Promise<string | undefined> {
  let client: pg.Client | undefined;
  try {
    client = await connectOnce(url);
    await client.query('SELECT 1');
    return undefined;
  } catch (err) {
    return `${redactStoreUrl(url)}: ${err instanceof Error ? err.message : String(err)}`;
  } finally {
    await client?.end().catch(() => undefined);
  }
}

export interface BenchSchema {
  /** the STORE_URL of the schema, for the hub processes */
  readonly url: string;
  readonly schema: string;
  /** drops the schema and everything in it */
  drop(): Promise<void>;
}

/**
 * A fresh schema name in the bench database; the hub creates the tables at start-up. The URL's
 * own `partitions` and `pool` are kept, so the engine runs with its production defaults unless
 * BENCH_STORE_URL says otherwise.
 */
export function benchSchema(label: string, base: string = BENCH_STORE_URL): BenchSchema {
  const schema = `bench_${label}_${process.pid}_${randomBytes(3).toString('hex')}`;
  const u = new URL(base);
  u.searchParams.set('schema', schema);
  return {
    url: u.toString(),
    schema,
    drop: async () => {
      const client = new pg.Client({ connectionString: parsePgUrl(base).pg.connectionString });
      client.on('error', () => undefined);
      await client.connect();
      try {
        await client.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
      } finally {
        await client.end();
      }
    },
  };
}

interface ProcStat {
  readonly pid: number;
  readonly ppid: number;
  /** own CPU: utime + stime, in clock ticks */
  readonly own: number;
  /** CPU of its children that ended and were waited for: cutime + cstime */
  readonly reaped: number;
}

function statOf(pid: number): ProcStat | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return {
      pid,
      ppid: Number(f[1]),
      own: Number(f[11]) + Number(f[12]),
      reaped: Number(f[13]) + Number(f[14]),
    };
  } catch {
    return undefined; // ended meanwhile
  }
}

/** The processes of the PostgreSQL server(s) on this machine: the postmaster and its children. */
function postgresProcesses(): ProcStat[] {
  const out: ProcStat[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() !== 'postgres') continue;
    } catch {
      continue;
    }
    const s = statOf(Number(entry));
    if (s) out.push(s);
  }
  return out;
}

/** Pids of the local PostgreSQL server's processes (none when it runs elsewhere). */
export function postgresPids(): number[] {
  return postgresProcesses().map((p) => p.pid);
}

/**
 * CPU time the local PostgreSQL server has used so far, in clock ticks: its live processes' own
 * time plus what the postmaster has reaped of backends that ended (the pool closes idle ones).
 * Every client of the server counts, so this is the bench's share only on an otherwise idle server.
 */
export function postgresCpuTicks(): number {
  const procs = postgresProcesses();
  const pids = new Set(procs.map((p) => p.pid));
  let ticks = 0;
  for (const p of procs) {
    ticks += p.own;
    if (!pids.has(p.ppid)) ticks += p.reaped; // a postmaster
  }
  return ticks;
}

/** The server's version and the settings that weigh on the figures, for results.json. */
export async function serverInfo(url: string = BENCH_STORE_URL): Promise<Record<string, string>> {
  let client: pg.Client | undefined;
  try {
    client = await connectOnce(url);
    const r = await client.query<{ name: string; setting: string }>(
      `SELECT name, current_setting(name) AS setting FROM pg_settings
       WHERE name IN ('server_version', 'shared_buffers', 'synchronous_commit', 'fsync', 'max_wal_size')
       ORDER BY name`,
    );
    return Object.fromEntries(r.rows.map((row) => [row.name, row.setting]));
  } catch {
    return { server_version: 'not reachable' };
  } finally {
    await client?.end().catch(() => undefined);
  }
}
