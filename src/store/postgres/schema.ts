import { escapeIdentifier } from 'pg';
import { hubError } from '../../errors.js';
import type { Db } from './db.js';

/**
 * The PostgreSQL schema, created and migrated by the hub at start-up (several hub processes may
 * start at once: an advisory lock lets one migrate while the others wait).
 *
 * Layout:
 *   hub_meta        hub-wide values: schema version, partition count, token secret
 *   datasets        one row per dataset: config, key hashes, attrs and the changelog's head
 *                   (epoch, last_seq, live_count, journal_n). Writers lock this row
 *                   (SELECT … FOR UPDATE) and allocate sequences from it in the same transaction,
 *                   so a dataset's changes commit in sequence order, whichever process writes.
 *   changes         the changelog: (dataset, epoch, seq) → key, kind, recorded, deleted, doc
 *   state           the latest change of every key: (dataset, epoch, key) → seq, deleted, hash
 *   idempotency     idempotency keys applied per epoch
 *   journal         the receive journal: (dataset, n) → recorded, text
 *   blobs           content-addressed files: (dataset, id) → content type, bytes
 *   aux             small named entries: (dataset, ns, key) → value
 *   retired_epochs  epochs replaced by a rebuild, dropped after a grace period
 *   terms           the term index: (dataset, epoch, term, key) for the terms of each key's latest
 *                   version (Write.terms), looked up by term prefix and replaced by key
 *
 * `dataset` in the data tables is the dataset's incarnation id (a new one each time a name is
 * created), never its name: a re-created dataset cannot see old data. Every data table is
 * HASH-partitioned by that id and every primary key starts with it, so a dataset's rows live in
 * one partition and the same schema can be distributed by `dataset` on a sharded PostgreSQL
 * (e.g. Citus `create_distributed_table('changes', 'dataset')`, co-located). Keys use the "C"
 * collation: byte order of their UTF-8, the order the LevelDB engine lists them in.
 */
const MIGRATION_LOCK = 0x68756231; // 'hub1': advisory lock id, combined with the schema name

interface MigrationContext {
  readonly partitions: number;
  /** the column compression for documents: lz4 where the server has it (much faster than pglz) */
  readonly compression: string;
}

type Migration = (ctx: MigrationContext) => string[];

function partitioned(table: string, columns: string, partitions: number): string[] {
  const out = [`CREATE TABLE ${table} (${columns}) PARTITION BY HASH (dataset)`];
  for (let i = 0; i < partitions; i++) {
    out.push(
      `CREATE TABLE ${table}_p${i} PARTITION OF ${table} FOR VALUES WITH (MODULUS ${partitions}, REMAINDER ${i})`,
    );
  }
  return out;
}

/** Migration n brings the schema from version n to n+1. Never edit one that has shipped. */
const MIGRATIONS: Migration[] = [
  ({ partitions, compression }) => [
    `CREATE SEQUENCE dataset_ids`,
    `CREATE TABLE datasets (
       name text COLLATE "C" PRIMARY KEY,
       id bigint NOT NULL UNIQUE DEFAULT nextval('dataset_ids'),
       epoch text NOT NULL,
       last_seq bigint NOT NULL DEFAULT 0,
       live_count bigint NOT NULL DEFAULT 0,
       last_push_at bigint,
       created_at bigint NOT NULL,
       updated_at bigint NOT NULL,
       config text NOT NULL,
       push_hash text NOT NULL,
       read_hash text NOT NULL,
       attrs text NOT NULL DEFAULT '{}',
       journal_n bigint NOT NULL DEFAULT 0)`,
    `CREATE INDEX datasets_push_hash ON datasets (push_hash)`,
    `CREATE INDEX datasets_read_hash ON datasets (read_hash)`,
    ...partitioned(
      'changes',
      `dataset bigint NOT NULL, epoch text NOT NULL, seq bigint NOT NULL,
       key text COLLATE "C" NOT NULL, kind text NOT NULL, recorded bigint NOT NULL,
       deleted boolean NOT NULL, doc text ${compression} NOT NULL,
       PRIMARY KEY (dataset, epoch, seq)`,
      partitions,
    ),
    ...partitioned(
      'state',
      `dataset bigint NOT NULL, epoch text NOT NULL, key text COLLATE "C" NOT NULL,
       seq bigint NOT NULL, deleted boolean NOT NULL, hash text NOT NULL,
       PRIMARY KEY (dataset, epoch, key)`,
      partitions,
    ),
    ...partitioned(
      'idempotency',
      `dataset bigint NOT NULL, epoch text NOT NULL, key text COLLATE "C" NOT NULL,
       recorded bigint NOT NULL,
       PRIMARY KEY (dataset, epoch, key)`,
      partitions,
    ),
    ...partitioned(
      'journal',
      `dataset bigint NOT NULL, n bigint NOT NULL, recorded bigint NOT NULL, text text ${compression} NOT NULL,
       PRIMARY KEY (dataset, n)`,
      partitions,
    ),
    ...partitioned(
      'blobs',
      `dataset bigint NOT NULL, id text COLLATE "C" NOT NULL, content_type text NOT NULL,
       bytes bytea ${compression} NOT NULL,
       PRIMARY KEY (dataset, id)`,
      partitions,
    ),
    ...partitioned(
      'aux',
      `dataset bigint NOT NULL, ns text COLLATE "C" NOT NULL, key text COLLATE "C" NOT NULL,
       value text NOT NULL,
       PRIMARY KEY (dataset, ns, key)`,
      partitions,
    ),
    `CREATE TABLE retired_epochs (
       dataset bigint NOT NULL, epoch text NOT NULL, retired_at bigint NOT NULL,
       PRIMARY KEY (dataset, epoch))`,
    `INSERT INTO hub_meta (name, value) VALUES ('partitions', '${partitions}')`,
  ],
  // the term index (entity graph refs, issue 19)
  ({ partitions }) => [
    ...partitioned(
      'terms',
      `dataset bigint NOT NULL, epoch text NOT NULL, term text COLLATE "C" NOT NULL,
       key text COLLATE "C" NOT NULL,
       PRIMARY KEY (dataset, epoch, term, key)`,
      partitions,
    ),
    `CREATE INDEX terms_by_key ON terms (dataset, epoch, key)`,
  ],
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** The schema's version, read without writing anything (a standby answers too); 0 when there is none. */
async function currentVersion(db: Db): Promise<number> {
  try {
    const rows = await db.query<{ value: string }>(`SELECT value FROM hub_meta WHERE name = 'version'`, [], {
      idempotent: true,
    });
    return rows[0] ? Number(rows[0].value) : 0;
  } catch (err) {
    // 42P01 undefined_table: no schema yet (search_path names a schema that does not exist)
    if ((err as { code?: unknown }).code === '42P01') return 0;
    throw err;
  }
}

function refuseNewer(schema: string, version: number): void {
  if (version > SCHEMA_VERSION) {
    throw hubError(
      'STORE_FORMAT_NEWER',
      `the PostgreSQL schema '${schema}' is at version ${version}, newer than this hub (${SCHEMA_VERSION})`,
    );
  }
}

/**
 * Creates the schema or brings it to the current version, in one transaction under an advisory
 * lock. A schema newer than this build is refused (an older hub must not write to it). A schema
 * that is current is only read: no DDL, no lock, so a hub starts against a read-only server (a
 * standby about to be promoted) and many hubs start at once without queueing on the lock.
 */
export async function migrate(db: Db, schema: string, partitions: number): Promise<void> {
  const seen = await currentVersion(db);
  refuseNewer(schema, seen);
  if (seen === SCHEMA_VERSION) return;
  await db.tx(
    async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [MIGRATION_LOCK, schema]);
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${escapeIdentifier(schema)}`);
      await client.query(`CREATE TABLE IF NOT EXISTS hub_meta (name text PRIMARY KEY, value text NOT NULL)`);
      const r = await client.query<{ value: string }>(`SELECT value FROM hub_meta WHERE name = 'version'`);
      const version = r.rows[0] ? Number(r.rows[0].value) : 0;
      refuseNewer(schema, version);
      const lz4 = await client.query(
        `SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)`,
      );
      const context: MigrationContext = { partitions, compression: lz4.rows.length ? 'COMPRESSION lz4' : '' };
      for (let v = version; v < SCHEMA_VERSION; v++) {
        for (const statement of MIGRATIONS[v]!(context)) await client.query(statement);
      }
      await client.query(
        `INSERT INTO hub_meta (name, value) VALUES ('version', $1)
         ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value`,
        [String(SCHEMA_VERSION)],
      );
    },
    { long: true },
  );
}
