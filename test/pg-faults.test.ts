import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import pg from 'pg';
import {
  createDataset,
  milking,
  pushResources,
  readChanges,
  uniqueId,
  type DatasetKeys,
} from './helpers/data.js';
import { call, type Reply } from './helpers/http.js';
import type { TestHub } from './helpers/hub.js';
import { envelope, ingest, telemetry } from './helpers/obsrv.js';
import { exploreUrl, odsPush } from './helpers/ods.js';
import { startPgServer, type PgServer } from './helpers/pg-server.js';
import { eventually } from './helpers/poll.js';
import { spawnHub, type HubProcess } from './helpers/hub-process.js';

/**
 * The PostgreSQL engine when its database fails (issue 15): hubs in child processes (so that a
 * crash would show as an exit) on a PostgreSQL server of the test's own, which is killed,
 * restarted, frozen and has its backends terminated under them.
 */

/** Short timeouts, so that the documented bound is seconds: connect 2 s + statement 2 s + 2 s. */
const TIMEOUTS = 'connect_timeout=2&statement_timeout=2000&lock_timeout=2000';
const BOUND_MS = 2_000 + 2_000 + 2_000;

const asTestHub = (h: HubProcess): TestHub => h as unknown as TestHub;

function alive(h: HubProcess): void {
  expect(h.child.exitCode, 'the hub process exited').to.equal(null);
  expect(h.child.signalCode, 'the hub process was killed').to.equal(null);
}

type Dialect = 'hub' | 'ods-push' | 'ods-explore' | 'obsrv';

/** 503 with Retry-After, in the dialect's own error body. */
function expectUnavailable(r: Reply, dialect: Dialect): void {
  expect(r.status, r.text).to.equal(503);
  expect(Number(r.headers.get('retry-after')), 'Retry-After').to.be.at.least(1);
  const body = r.json as Record<string, unknown>;
  if (dialect === 'hub')
    expect((body.error as { code: string }).code).to.match(/^STORE_(UNAVAILABLE|OUTCOME_UNKNOWN)$/);
  if (dialect === 'obsrv') {
    expect((body.error as { code: string }).code).to.match(/^STORE_(UNAVAILABLE|OUTCOME_UNKNOWN)$/);
    expect(body.responseCode).to.be.a('string');
  }
  if (dialect === 'ods-push') expect(body).to.include({ status: 'error', errorcode: 503 });
  if (dialect === 'ods-explore') expect(body.error_code).to.match(/^Store(Unavailable|OutcomeUnknown)Error$/);
}

interface Dataset {
  readonly id: string;
  readonly keys: DatasetKeys;
}

/** One request of every dialect, and a key lookup; each must be 503 with Retry-After. */
async function everyDialectUnavailable(h: HubProcess, d: Dataset, i: number): Promise<number> {
  const hub = asTestHub(h);
  let longest = 0;
  const timed = async (f: () => Promise<Reply>): Promise<Reply> => {
    const t = Date.now();
    const r = await f();
    longest = Math.max(longest, Date.now() - t);
    return r;
  };
  expectUnavailable(await timed(() => pushResources(hub, d.id, d.keys.pushKey, [milking(i)])), 'hub');
  expectUnavailable(await timed(() => odsPush(hub, d.id, d.keys.pushKey, [{ n: i }])), 'ods-push');
  expectUnavailable(await timed(() => ingest(hub, d.id, d.keys.pushKey, envelope(telemetry(i)))), 'obsrv');
  expectUnavailable(
    await timed(() =>
      call(`${h.url}/datasets/${d.id}/entities`, {
        token: d.keys.pushKey,
        body: [
          { id: '@context', namespaces: { ex: 'http://ex.example/' } },
          { id: `ex:e${i}`, props: {} },
        ],
      }),
    ),
    'hub',
  );
  // a key lookup (the read key is looked up in the store)
  expectUnavailable(
    await timed(() => call(`${h.url}/datasets/${d.id}/changes`, { token: d.keys.readKey })),
    'hub',
  );
  expectUnavailable(
    await timed(() => call(`${exploreUrl(hub, d.id, 'records')}?apikey=${d.keys.readKey}`)),
    'ods-explore',
  );
  // admin
  expectUnavailable(await timed(() => call(`${h.url}/datasets/${d.id}`, { token: h.adminToken })), 'hub');
  return longest;
}

async function pushUntilOk(h: HubProcess, d: Dataset, i: number): Promise<number> {
  const started = Date.now();
  await eventually(
    async () => {
      const r = await pushResources(asTestHub(h), d.id, d.keys.pushKey, [milking(i)]);
      expect(r.status, r.text).to.be.oneOf([200, 503]);
      return r.status === 200 ? true : undefined;
    },
    60_000,
    'a push to succeed',
  );
  return Date.now() - started;
}

async function metric(h: HubProcess, sample: string): Promise<number> {
  const text = (await call(`${h.url}/metrics`)).text;
  const line = text.split('\n').find((l) => l.startsWith(sample + ' '));
  return line === undefined ? 0 : Number(line.slice(sample.length + 1));
}

describe('PostgreSQL engine: the database fails under the hub (issue 15)', function () {
  this.timeout(180_000);
  let server: PgServer;
  const hubs: HubProcess[] = [];

  before(async () => {
    server = await startPgServer();
  });
  after(async () => {
    for (const h of hubs) await h.stop().catch(() => undefined);
    await server?.destroy();
  });

  async function hubOn(schema: string, extra = ''): Promise<HubProcess> {
    const h = await spawnHub({
      env: { STORE_URL: `${server.url}?schema=${schema}&pool=6&${TIMEOUTS}${extra}` },
    });
    hubs.push(h);
    return h;
  }

  async function dataset(h: HubProcess): Promise<Dataset> {
    const id = uniqueId('fault');
    return { id, keys: await createDataset(asTestHub(h), id) };
  }

  async function admin<T>(f: (c: pg.Client) => Promise<T>): Promise<T> {
    const c = new pg.Client({ connectionString: server.adminUrl });
    await c.connect();
    try {
      return await f(c);
    } finally {
      await c.end();
    }
  }

  const terminateHubBackends = (where = 'true'): Promise<number> =>
    admin(
      async (c) =>
        (
          await c.query(
            `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE application_name = 'sync-hub' AND pid <> pg_backend_pid() AND (${where})`,
          )
        ).rowCount ?? 0,
    );

  it('when the server is killed (kill -9) and comes back, then no hub exits, every dialect answers 503 with Retry-After meanwhile, pushes work again and long-polls on the other hub wake', async () => {
    const schema = `f_kill_${process.pid}`;
    const a = await hubOn(schema);
    const b = await hubOn(schema);
    const d = await dataset(a);
    expect((await pushResources(asTestHub(a), d.id, d.keys.pushKey, [milking(1)])).status).to.equal(200);
    const start = await readChanges(asTestHub(b), d.id, d.keys.readKey);
    // a long-poll on b, waiting across the outage
    const poll = readChanges(
      asTestHub(b),
      d.id,
      d.keys.readKey,
      `since=${start.token}&feed=longpoll&timeout=90000`,
    );
    await eventually(async () =>
      (await metric(b, 'hub_feed_waiting_readers{feed="longpoll"}')) >= 1 ? true : undefined,
    );

    await server.signal('SIGKILL');
    const longest = await everyDialectUnavailable(a, d, 2);
    const ready = await call(`${a.url}/ready`);
    expect([ready.status, (ready.json as { status: string }).status]).to.deep.equal([503, 'unavailable']);
    alive(a);
    alive(b);

    await server.start();
    const backAfter = await pushUntilOk(a, d, 3);
    console.log(
      `      figure: kill -9: first successful push ${backAfter} ms after the server was back; longest 503 ${longest} ms`,
    );
    const woken = await poll;
    expect(woken.items.map((x) => (x.meta as { sourceId: string }).sourceId)).to.deep.equal(['mv-3']);
    expect((await call(`${a.url}/ready`)).json).to.deep.include({ status: 'ready', engine: 'postgresql' });
    await eventually(async () => ((await metric(a, 'hub_store_reconnects_total')) >= 1 ? true : undefined));
    expect(await metric(a, 'hub_store_errors_total{kind="connection"}')).to.be.at.least(1);
    alive(a);
    alive(b);
  });

  it('when the hub’s backends are terminated idle, mid-transaction and while listening, then the hub stays up, the cut request is a 503 and the next ones succeed', async () => {
    const schema = `f_term_${process.pid}`;
    const a = await hubOn(schema);
    const b = await hubOn(schema);
    const d = await dataset(a);
    expect((await pushResources(asTestHub(a), d.id, d.keys.pushKey, [milking(1)])).status).to.equal(200);

    // idle in the pool, and the LISTEN connections
    expect(await terminateHubBackends()).to.be.at.least(2);
    await pushUntilOk(a, d, 2);
    alive(a);

    // mid-transaction: a push waits on the dataset's head row, held by the test, when its backend goes
    const holder = new pg.Client({ connectionString: server.url });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query(`SELECT 1 FROM ${schema}.datasets WHERE name = $1 FOR UPDATE`, [d.id]);
      const cut = pushResources(asTestHub(a), d.id, d.keys.pushKey, [milking(3)]);
      await eventually(async () =>
        (await terminateHubBackends(`wait_event_type = 'Lock' AND state = 'active'`)) > 0 ? true : undefined,
      );
      expectUnavailable(await cut, 'hub');
    } finally {
      await holder.query('ROLLBACK');
      await holder.end();
    }
    alive(a);
    // the cut push stored nothing; the next one does
    await pushUntilOk(a, d, 4);
    const feed = await readChanges(asTestHub(a), d.id, d.keys.readKey);
    expect(feed.items.map((x) => (x.meta as { sourceId: string }).sourceId)).to.deep.equal([
      'mv-1',
      'mv-2',
      'mv-4',
    ]);

    // while listening: b's LISTEN connection is cut while a long-poll waits, and it still wakes
    const poll = readChanges(
      asTestHub(b),
      d.id,
      d.keys.readKey,
      `since=${feed.token}&feed=longpoll&timeout=60000`,
    );
    await eventually(async () =>
      (await metric(b, 'hub_feed_waiting_readers{feed="longpoll"}')) >= 1 ? true : undefined,
    );
    const reconnects = await metric(b, 'hub_store_reconnects_total');
    expect(await terminateHubBackends(`query ILIKE 'LISTEN%'`)).to.be.at.least(1);
    await eventually(async () =>
      (await metric(b, 'hub_store_reconnects_total')) > reconnects ? true : undefined,
    );
    expect((await pushResources(asTestHub(a), d.id, d.keys.pushKey, [milking(5)])).status).to.equal(200);
    expect((await poll).items.map((x) => (x.meta as { sourceId: string }).sourceId)).to.deep.equal(['mv-5']);
    alive(a);
    alive(b);
  });

  it('when a connection is cut without a word mid-transaction (its backend killed, as a proxy cuts it), then the hub stays up and answers 503, then 200', async () => {
    const schema = `f_cut_${process.pid}`;
    const a = await hubOn(schema);
    const d = await dataset(a);
    expect((await pushResources(asTestHub(a), d.id, d.keys.pushKey, [milking(1)])).status).to.equal(200);
    const holder = new pg.Client({ connectionString: server.url });
    holder.on('error', () => undefined);
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query(`SELECT 1 FROM ${schema}.datasets WHERE name = $1 FOR UPDATE`, [d.id]);
      const cut = pushResources(asTestHub(a), d.id, d.keys.pushKey, [milking(2)]);
      const pid = await eventually(() =>
        admin(async (c) => {
          const r = await c.query<{ pid: number }>(
            `SELECT pid FROM pg_stat_activity
             WHERE application_name = 'sync-hub' AND wait_event_type = 'Lock' AND state = 'active'`,
          );
          return r.rows[0]?.pid;
        }),
      );
      // no FATAL message, just a closed socket (the server then resets every session)
      process.kill(pid, 'SIGKILL');
      expectUnavailable(await cut, 'hub');
    } finally {
      await holder.end().catch(() => undefined);
    }
    alive(a);
    await pushUntilOk(a, d, 3);
    const feed = await readChanges(asTestHub(a), d.id, d.keys.readKey);
    expect(feed.items.map((x) => (x.meta as { sourceId: string }).sourceId)).to.deep.equal(['mv-1', 'mv-3']);
    alive(a);
  });

  it('when the server is frozen (SIGSTOP), then requests are answered 503 within the documented bound, and served again after SIGCONT', async () => {
    const a = await hubOn(`f_stop_${process.pid}`);
    const d = await dataset(a);
    expect((await pushResources(asTestHub(a), d.id, d.keys.pushKey, [milking(1)])).status).to.equal(200);
    await server.signal('SIGSTOP', { withBackends: true });
    let longest = 0;
    try {
      const replies = await Promise.all(
        [2, 3, 4, 5].map(async (i) => {
          const t = Date.now();
          const r = await pushResources(asTestHub(a), d.id, d.keys.pushKey, [milking(i)]);
          longest = Math.max(longest, Date.now() - t);
          return r;
        }),
      );
      const t = Date.now();
      const lookup = await call(`${a.url}/datasets/${d.id}/changes`, { token: d.keys.readKey });
      longest = Math.max(longest, Date.now() - t);
      for (const r of [...replies, lookup]) expectUnavailable(r, 'hub');
    } finally {
      await server.signal('SIGCONT', { withBackends: true });
    }
    console.log(`      figure: SIGSTOP: longest request ${longest} ms (bound ${BOUND_MS} ms)`);
    expect(longest).to.be.at.most(BOUND_MS);
    alive(a);
    await pushUntilOk(a, d, 6);
  });

  it('when the hub starts while the server is down, then it waits and comes up once the server is back', async () => {
    const schema = `f_wait_${process.pid}`;
    await server.stop();
    let waited = 0;
    const starting = spawnHub({
      env: { STORE_URL: `${server.url}?schema=${schema}&pool=6&${TIMEOUTS}` },
      onLog: (e) => void (e.msg === 'waiting for the database to start the hub' && waited++),
    });
    try {
      await eventually(
        async () => (waited >= 2 ? true : undefined),
        20_000,
        'the hub to wait for the database',
      );
    } finally {
      await server.start();
    }
    const h = await starting;
    hubs.push(h);
    const d = await dataset(h);
    expect((await pushResources(asTestHub(h), d.id, d.keys.pushKey, [milking(1)])).status).to.equal(200);
  });

  it('when the database comes back older than what the hub acknowledged, then the dataset gets a new epoch, collectors full-sync, and the rollback is counted', async () => {
    const schema = `f_back_${process.pid}`;
    const a = await hubOn(schema);
    const d = await dataset(a);
    expect((await pushResources(asTestHub(a), d.id, d.keys.pushKey, [milking(1)])).status).to.equal(200);
    // the server's files at seq 1
    await server.stop();
    const copy = `${server.dataDir}.copy`;
    execFileSync('cp', ['-a', server.dataDir, copy]);
    await server.start();
    await pushUntilOk(a, d, 2);
    expect((await pushResources(asTestHub(a), d.id, d.keys.pushKey, [milking(3)])).status).to.equal(200);
    const before = await readChanges(asTestHub(a), d.id, d.keys.readKey);
    expect(before.items).to.have.length(3);
    // back to seq 1
    await server.stop();
    execFileSync('rm', ['-rf', server.dataDir]);
    execFileSync('mv', [copy, server.dataDir]);
    await server.start();

    await eventually(
      async () => ((await metric(a, 'hub_store_rollbacks_total')) >= 1 ? true : undefined),
      30_000,
    );
    const after = await call(`${a.url}/datasets/${d.id}/changes?since=${before.token}`, {
      token: d.keys.readKey,
    });
    expect(after.status, after.text).to.equal(200);
    expect(after.headers.get('icar-full-sync')).to.equal('true');
    const items = (after.json as Array<{ meta?: { sourceId: string } }>).slice(1, -1);
    expect(items.map((x) => x.meta!.sourceId)).to.deep.equal(['mv-1']);
    // and writes go on in the new epoch
    expect((await pushResources(asTestHub(a), d.id, d.keys.pushKey, [milking(4)])).status).to.equal(200);
    alive(a);
  });
});
