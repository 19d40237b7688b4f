import { expect } from 'chai';
import pg from 'pg';
import { createDataset, milking, pushResources, readChanges, uniqueId } from './helpers/data.js';
import { call } from './helpers/http.js';
import type { TestHub } from './helpers/hub.js';
import { startPgServer, type PgServer } from './helpers/pg-server.js';
import { eventually } from './helpers/poll.js';
import { spawnHub, type HubProcess } from './helpers/hub-process.js';

/**
 * The PostgreSQL engine with streaming standbys (issue 15): a hub pointed at a standby that is
 * then promoted, a multi-host STORE_URL failing over without a proxy, and reads from a replica
 * (STORE_READ_URL) that never read short. Servers of the test's own (pg_basebackup standbys).
 */
const asTestHub = (h: HubProcess): TestHub => h as unknown as TestHub;
const TIMEOUTS = 'connect_timeout=2&statement_timeout=5000';

async function sql<T extends pg.QueryResultRow>(
  url: string,
  text: string,
  values: unknown[] = [],
): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<T>(text, values)).rows;
  } finally {
    await c.end();
  }
}

async function metric(h: HubProcess, sample: string): Promise<number> {
  const text = (await call(`${h.url}/metrics`)).text;
  const line = text.split('\n').find((l) => l.startsWith(sample + ' '));
  return line === undefined ? 0 : Number(line.slice(sample.length + 1));
}

const ids = (items: Record<string, unknown>[]): string[] =>
  items.map((x) => (x.meta as { sourceId: string }).sourceId);

/** Waits until the standby has replayed everything the primary has written so far. */
async function caughtUp(primary: PgServer, standby: PgServer): Promise<void> {
  const lsn = (await sql<{ lsn: string }>(primary.adminUrl, `SELECT pg_current_wal_lsn()::text AS lsn`))[0]!
    .lsn;
  await eventually(
    async () =>
      (
        await sql<{ ok: boolean }>(standby.adminUrl, `SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS ok`, [
          lsn,
        ])
      )[0]!.ok
        ? true
        : undefined,
    30_000,
    'the standby to catch up',
  );
}

describe('PostgreSQL engine with standbys: read-only servers, promotion, multi-host, replica reads (issue 15)', function () {
  this.timeout(180_000);
  const servers: PgServer[] = [];
  const hubs: HubProcess[] = [];

  async function pair(): Promise<{ primary: PgServer; standby: PgServer }> {
    const primary = await startPgServer();
    servers.push(primary);
    const standby = await startPgServer({ standbyOf: primary });
    servers.push(standby);
    return { primary, standby };
  }

  async function hub(env: Record<string, string>): Promise<HubProcess> {
    const h = await spawnHub({ env });
    hubs.push(h);
    return h;
  }

  after(async () => {
    for (const h of hubs) await h.stop().catch(() => undefined);
    for (const s of servers) await s.destroy().catch(() => undefined);
  });

  it('when a hub is pointed at a standby of a current schema, then it starts without DDL, writes are 503 until the standby is promoted, and no read-only connection survives the promotion', async () => {
    const { primary, standby } = await pair();
    const schema = `s_ro_${process.pid}`;
    const first = await hub({ STORE_URL: `${primary.url}?schema=${schema}&${TIMEOUTS}` });
    const id = uniqueId('ro');
    const keys = await createDataset(asTestHub(first), id);
    expect((await pushResources(asTestHub(first), id, keys.pushKey, [milking(1)])).status).to.equal(200);
    await first.stop();
    await caughtUp(primary, standby);

    // any DDL (or other write) at start-up would fail on the standby
    const h = await hub({ STORE_URL: `${standby.url}?schema=${schema}&${TIMEOUTS}` });
    const refused = await pushResources(asTestHub(h), id, keys.pushKey, [milking(2)]);
    expect(refused.status, refused.text).to.equal(503);
    expect(refused.headers.get('retry-after')).to.equal('2');
    expect((refused.json as { error: { code: string } }).error.code).to.equal('STORE_UNAVAILABLE');
    const notReady = await call(`${h.url}/ready`);
    expect([notReady.status, (notReady.json as { reason: string }).reason]).to.deep.equal([
      503,
      'the database is read-only (a standby, or failing over)',
    ]);
    // reads are served meanwhile
    expect(ids((await readChanges(asTestHub(h), id, keys.readKey)).items)).to.deep.equal(['mv-1']);

    await primary.stop();
    await sql(standby.adminUrl, `SELECT pg_promote()`);
    await eventually(
      async () =>
        (await pushResources(asTestHub(h), id, keys.pushKey, [milking(2)])).status === 200 ? true : undefined,
      30_000,
      'a push after the promotion',
    );
    // every connection now writes: twenty pushes in a row, concurrently, all acknowledged
    const replies = await Promise.all(
      Array.from({ length: 20 }, (_, i) => pushResources(asTestHub(h), id, keys.pushKey, [milking(10 + i)])),
    );
    expect(replies.map((r) => r.status)).to.deep.equal(Array(20).fill(200));
    expect((await call(`${h.url}/ready`)).status).to.equal(200);
  });

  it('when STORE_URL lists a standby first and the primary second, then the hub writes to the primary, and after the primary stops and the standby is promoted, pushes succeed again', async () => {
    const { primary, standby } = await pair();
    const schema = `s_multi_${process.pid}`;
    const url = `postgres://hub_test:hub_test@127.0.0.1:${standby.port},127.0.0.1:${primary.port}/hub_test?schema=${schema}&${TIMEOUTS}`;
    const h = await hub({ STORE_URL: url });
    const id = uniqueId('multi');
    const keys = await createDataset(asTestHub(h), id);
    expect((await pushResources(asTestHub(h), id, keys.pushKey, [milking(1)])).status).to.equal(200);
    await caughtUp(primary, standby);

    await primary.signal('SIGKILL');
    const promoted = Date.now();
    await sql(standby.adminUrl, `SELECT pg_promote()`);
    const promotedAt = Date.now();
    let i = 2;
    await eventually(
      async () => {
        const r = await pushResources(asTestHub(h), id, keys.pushKey, [milking(i)]);
        expect(r.status, r.text).to.be.oneOf([200, 503]);
        i++;
        return r.status === 200 ? true : undefined;
      },
      30_000,
      'a push after the promotion',
    );
    console.log(
      `      figure: multi-host: first successful push ${Date.now() - promoted} ms after the primary was killed, ${Date.now() - promotedAt} ms after the promotion completed`,
    );
    const feed = await readChanges(asTestHub(h), id, keys.readKey);
    expect(ids(feed.items)).to.deep.equal(['mv-1', `mv-${i - 1}`]);
    expect(await metric(h, 'hub_store_failovers_total')).to.be.at.least(1);
  });

  it('when reads go to a replica (STORE_READ_URL) whose replay is paused, then no token reads short: the read waits, then the primary serves it', async () => {
    const { primary, standby } = await pair();
    const schema = `s_read_${process.pid}`;
    const h = await hub({
      STORE_URL: `${primary.url}?schema=${schema}&${TIMEOUTS}`,
      STORE_READ_URL: `${standby.url}?schema=${schema}&${TIMEOUTS}`,
    });
    const id = uniqueId('replica');
    const keys = await createDataset(asTestHub(h), id);
    expect(
      (
        await pushResources(
          asTestHub(h),
          id,
          keys.pushKey,
          [1, 2, 3].map((n) => milking(n)),
        )
      ).status,
    ).to.equal(200);
    await caughtUp(primary, standby);
    const first = await readChanges(asTestHub(h), id, keys.readKey);
    expect(ids(first.items)).to.deep.equal(['mv-1', 'mv-2', 'mv-3']);
    expect(await metric(h, 'hub_store_reads_total{from="replica"}')).to.be.at.least(1);

    await sql(standby.adminUrl, `SELECT pg_wal_replay_pause()`);
    try {
      expect(
        (
          await pushResources(
            asTestHub(h),
            id,
            keys.pushKey,
            [4, 5].map((n) => milking(n)),
          )
        ).status,
      ).to.equal(200);
      const fromPrimary = await metric(h, 'hub_store_reads_total{from="primary"}');
      const next = await readChanges(asTestHub(h), id, keys.readKey, `since=${first.token}`);
      expect(ids(next.items)).to.deep.equal(['mv-4', 'mv-5']);
      const whole = await readChanges(asTestHub(h), id, keys.readKey);
      expect(ids(whole.items)).to.deep.equal(['mv-1', 'mv-2', 'mv-3', 'mv-4', 'mv-5']);
      expect(await metric(h, 'hub_store_reads_total{from="primary"}')).to.equal(fromPrimary + 2);
      const lag = await metric(h, 'hub_store_replication_lag_bytes');
      expect(lag).to.be.above(0);
    } finally {
      await sql(standby.adminUrl, `SELECT pg_wal_replay_resume()`);
    }
    await caughtUp(primary, standby);
    const fromReplica = await metric(h, 'hub_store_reads_total{from="replica"}');
    expect(
      ids((await readChanges(asTestHub(h), id, keys.readKey, `since=${first.token}`)).items),
    ).to.deep.equal(['mv-4', 'mv-5']);
    expect(await metric(h, 'hub_store_reads_total{from="replica"}')).to.equal(fromReplica + 1);

    // the read rates, for the record (targets live in bench/)
    const plain = await hub({ STORE_URL: `${primary.url}?schema=${schema}&${TIMEOUTS}` });
    const rate = async (on: HubProcess): Promise<number> => {
      const n = 200;
      const t = Date.now();
      for (let k = 0; k < n; k++) await readChanges(asTestHub(on), id, keys.readKey);
      return Math.round((n * 1000) / (Date.now() - t));
    };
    const viaReplica = await rate(h);
    const viaPrimary = await rate(plain);
    console.log(
      `      figure: /changes reads per second, one client: replica ${viaReplica}, primary ${viaPrimary}`,
    );
  });
});
