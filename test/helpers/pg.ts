import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { parsePgUrl } from '../../src/store/postgres/url.js';

/**
 * PostgreSQL for tests. `TEST_STORE_URL` names a database the tests may create schemas in (CI sets
 * it up, see .ci/run); every test store gets a fresh schema of its own, dropped when it closes, so
 * tests never see each other's data and can run beside a hub using the same database.
 */
export const TEST_STORE_URL: string | undefined = process.env.TEST_STORE_URL || undefined;

/** Hash partitions of a test schema: enough to exercise partitioning, few enough to create fast. */
const TEST_PARTITIONS = 4;

export interface TestSchema {
  /** STORE_URL of the fresh schema */
  readonly url: string;
  readonly schema: string;
  /** drops the schema and everything in it */
  drop(): Promise<void>;
}

export function freshSchema(base: string = requireTestStoreUrl()): TestSchema {
  const schema = `t_${process.pid}_${randomBytes(5).toString('hex')}`;
  const u = new URL(base);
  u.searchParams.set('schema', schema);
  if (!u.searchParams.has('partitions')) u.searchParams.set('partitions', String(TEST_PARTITIONS));
  if (!u.searchParams.has('pool')) u.searchParams.set('pool', '8');
  const url = u.toString();
  return { url, schema, drop: () => dropSchema(base, schema) };
}

export function requireTestStoreUrl(): string {
  if (!TEST_STORE_URL) throw new Error('TEST_STORE_URL is not set (postgres://user:pass@host/db)');
  return TEST_STORE_URL;
}

/** Drops the schema a STORE_URL names (a test schema made by freshSchema). */
export function dropTestSchema(url: string): Promise<void> {
  return dropSchema(url, parsePgUrl(url).schema);
}

async function dropSchema(base: string, schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: parsePgUrl(base).pg.connectionString });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
  } finally {
    await client.end();
  }
}
