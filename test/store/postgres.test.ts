import { expect } from 'chai';
import pg from 'pg';
import { HubError } from '../../src/errors.js';
import { PgStore } from '../../src/store/postgres/engine.js';
import { parsePgUrl } from '../../src/store/postgres/url.js';
import type { ChangeNotice } from '../../src/store/types.js';
import { freshSchema, TEST_STORE_URL, type TestSchema } from '../helpers/pg.js';
import { eventually } from '../helpers/poll.js';
import { storeContract } from './contract/index.js';
import type { EngineFactory } from './contract/support.js';
import { graphStoreContract } from './graph-contract.js';

if (TEST_STORE_URL) {
  const factory: EngineFactory = {
    name: 'PostgreSQL',
    features: { shared: true },
    async create() {
      const schema = freshSchema();
      return {
        open: (tuning) => PgStore.open(schema.url, tuning),
        peer: () => PgStore.open(schema.url),
        destroy: () => schema.drop(),
        async makeNewer() {
          const client = new pg.Client({ connectionString: parsePgUrl(schema.url).pg.connectionString });
          await client.connect();
          try {
            await client.query(
              `UPDATE ${pg.escapeIdentifier(schema.schema)}.hub_meta SET value = '999' WHERE name = 'version'`,
            );
          } finally {
            await client.end();
          }
        },
      };
    },
  };
  storeContract(factory);
  graphStoreContract(factory);

  describe('PostgreSQL engine specifics', function () {
    this.timeout(60_000);
    let schema: TestSchema;
    let admin: pg.Client;
    before(async () => {
      schema = freshSchema();
      admin = new pg.Client({ connectionString: parsePgUrl(schema.url).pg.connectionString });
      await admin.connect();
    });
    after(async () => {
      await admin?.end();
      await schema?.drop();
    });

    const write = (key: string) => ({ key, kind: 'record', deleted: false, doc: '1', hash: 'h' });

    it('when several hubs start at once on a new schema, then one creates it and all of them open', async () => {
      const stores = await Promise.all([1, 2, 3].map(() => PgStore.open(schema.url)));
      const secrets = await Promise.all(stores.map((s) => s.secret()));
      expect(new Set(secrets).size).to.equal(1);
      await Promise.all(stores.map((s) => s.close()));
      const r = await admin.query(
        `SELECT count(*)::int AS n FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhparent
         JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = 'changes'`,
        [schema.schema],
      );
      expect(r.rows[0].n).to.equal(parsePgUrl(schema.url).partitions);
    });

    it('when the schema is newer than this build, then the hub refuses to open it', async () => {
      const other = freshSchema();
      try {
        await (await PgStore.open(other.url)).close();
        await admin.query(
          `UPDATE ${pg.escapeIdentifier(other.schema)}.hub_meta SET value = '999' WHERE name = 'version'`,
        );
        let failed: unknown;
        await PgStore.open(other.url).catch((e: unknown) => (failed = e));
        expect(String(failed)).to.match(/newer than this hub/);
      } finally {
        await other.drop();
      }
    });

    it('when a key is longer than an index entry can hold, then that request is a 400 and the others of its group commit', async () => {
      const store = await PgStore.open(schema.url);
      try {
        await store.putDataset('long', () => ({ config: {}, keyHashes: { push: 'p', read: 'r' } }));
        const [ok, bad] = await Promise.allSettled([
          store.append('long', { writes: [write('short')] }),
          store.append('long', { writes: [write('k'.repeat(3_000))] }),
        ]);
        expect(ok.status).to.equal('fulfilled');
        expect(bad.status).to.equal('rejected');
        const err = (bad as PromiseRejectedResult).reason as HubError;
        expect(err).to.include({ status: 400, code: 'KEY_TOO_LONG' });
        expect((await store.getDataset('long'))!.lastSeq).to.equal(1);
      } finally {
        await store.close();
      }
    });

    it('when a rebuild has switched epochs, then the old epoch stays readable for the grace period and is dropped after it', async () => {
      const store = await PgStore.open(schema.url, { epochGraceMs: 1_500 });
      try {
        const { record } = await store.putDataset('retire', () => ({
          config: {},
          keyHashes: { push: 'p3', read: 'r3' },
        }));
        await store.append('retire', { writes: [write('a'), write('b')], idempotencyKey: 'i' });
        async function* replay() {
          yield { writes: [write('c')] };
        }
        await store.rebuild('retire', replay());
        const old = async (): Promise<number> => {
          let n = 0;
          for await (const _ of store.changes('retire', { epoch: record.epoch, afterSeq: 0 })) n++;
          return n;
        };
        expect(await old()).to.equal(2);
        await eventually(
          async () => ((await old()) === 0 ? true : undefined),
          10_000,
          'the old epoch dropped',
        );
        const left = await admin.query(
          `SELECT (SELECT count(*) FROM ${pg.escapeIdentifier(schema.schema)}.state WHERE epoch = $1)::int
                + (SELECT count(*) FROM ${pg.escapeIdentifier(schema.schema)}.idempotency WHERE epoch = $1)::int
                + (SELECT count(*) FROM ${pg.escapeIdentifier(schema.schema)}.retired_epochs)::int AS n`,
          [record.epoch],
        );
        expect(left.rows[0].n).to.equal(0);
        expect((await store.getDataset('retire'))!.lastSeq).to.equal(1);
      } finally {
        await store.close();
      }
    });

    it('when the LISTEN connection is cut, then it comes back and notices from other hubs flow again', async () => {
      const a = await PgStore.open(schema.url);
      const b = await PgStore.open(schema.url);
      try {
        await a.putDataset('listen', () => ({ config: {}, keyHashes: { push: 'p2', read: 'r2' } }));
        const notices: ChangeNotice[] = [];
        b.subscribe((n) => notices.push(n));
        const killed = await admin.query(
          `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
           WHERE query = $1 AND datname = current_database()`,
          [`LISTEN "sync_hub.${schema.schema}"`],
        );
        expect(killed.rowCount).to.equal(2); // a's and b's listeners
        // after the reconnect b re-announces every head (it may have missed notices meanwhile)
        await eventually(async () => (notices.some((n) => n.dataset === 'listen') ? true : undefined));
        // and notices of new commits arrive again
        const r = await a.append('listen', { writes: [write('after')] });
        await eventually(
          async () =>
            notices.some((n) => n.dataset === 'listen' && n.lastSeq === r.lastSeq) ? true : undefined,
          10_000,
          'a notice from the other hub',
        );
      } finally {
        await a.close();
        await b.close();
      }
    });
  });
} else {
  describe('store contract: PostgreSQL', () => {
    it('is skipped: set TEST_STORE_URL (or run `npm run test:pg`) to run it');
  });
}
