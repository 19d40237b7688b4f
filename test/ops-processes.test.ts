import { expect } from 'chai';
import { CONTEXT, milking, type DatasetKeys } from './helpers/data.js';
import { call } from './helpers/http.js';
import { freshSchema, TEST_STORE_URL, type TestSchema } from './helpers/pg.js';
import { spawnHub, type HubProcess } from './helpers/hub-process.js';
import { fakeServer, type FakeServer } from './helpers/fake-server.js';
import { quietPeriod, waitFor } from './helpers/poll.js';

/**
 * Background work with two hub processes on one PostgreSQL store: inactivity alerts sent once
 * whichever process sees the silence, and forwarding taken over when its process dies.
 */
type Json = Record<string, unknown>;

async function create(hub: HubProcess, id: string, config: object): Promise<DatasetKeys> {
  const r = await call(`${hub.url}/datasets/${id}`, { method: 'PUT', token: hub.adminToken, body: config });
  expect(r.status, r.text).to.equal(201);
  return r.json as DatasetKeys;
}

const push = (hub: HubProcess, id: string, key: string, n: number) =>
  call(`${hub.url}/datasets/${id}/resources`, { token: key, body: [CONTEXT, milking(n)] });

const status = async (hub: HubProcess, id: string): Promise<Json> =>
  (await call(`${hub.url}/datasets/${id}`, { token: hub.adminToken })).json as Json;

// registered only where a PostgreSQL is configured (npm run test:pg, CI's second pass)
if (TEST_STORE_URL)
  describe('background work with two hub processes on one PostgreSQL', function () {
    this.timeout(120_000);
    let schema: TestSchema;
    let a: HubProcess | undefined;
    let b: HubProcess | undefined;

    beforeEach(async () => {
      schema = freshSchema();
      a = await spawnHub({ env: { STORE_URL: schema.url, OPS_RETRY_MAX_MS: '200' } });
      b = await spawnHub({ env: { STORE_URL: schema.url, OPS_RETRY_MAX_MS: '200' } });
    });
    afterEach(async () => {
      await a?.stop();
      await b?.stop();
      await schema.drop();
    });

    it('when both processes watch a silent dataset, then one inactive alert and one resumed notice are sent per silence', async () => {
      const sent: Json[] = [];
      const webhook: FakeServer = await fakeServer((req, res) => {
        sent.push(JSON.parse(req.body) as Json);
        res.writeHead(204).end();
      });
      try {
        const id = `multi-alert-${process.pid}`;
        // 0.01 minutes: 600 ms of silence makes an alert
        const keys = await create(a!, id, {
          alert: { inactiveMinutes: 0.01, webhook: `${webhook.url}/hook` },
        });
        // both processes know the dataset (each arms its own watch from the store)
        await waitFor(
          'b sees the dataset',
          async () => (await status(b!, id)).alert !== undefined || undefined,
        );
        expect((await push(a!, id, keys.pushKey, 1)).status).to.equal(200);
        await waitFor('the alert', () => sent.some((s) => s.type === 'inactive') || undefined);
        // several thresholds of silence, long enough for both processes' timers to fire
        await quietPeriod(3_000);
        expect(sent.map((s) => s.type)).to.deep.equal(['inactive']);
        // records again, through the other process: one resumed notice
        expect((await push(b!, id, keys.pushKey, 2)).status).to.equal(200);
        await waitFor(
          'the next silence',
          () => sent.filter((s) => s.type === 'inactive').length >= 2 || undefined,
        );
        await quietPeriod(3_000);
        expect(sent.map((s) => s.type)).to.deep.equal(['inactive', 'resumed', 'inactive']);
      } finally {
        await webhook.close();
      }
    });

    it('when the process that forwards a dataset dies, then the other takes the lease over and forwards what is pushed after', async () => {
      const cloudSchema = freshSchema();
      const cloud = await spawnHub({ env: { STORE_URL: cloudSchema.url } });
      try {
        const cloudId = `cloud-${process.pid}`;
        const up = await create(cloud, cloudId, {});
        const id = `multi-forward-${process.pid}`;
        const keys = await create(a!, id, {
          upstream: { url: cloud.url, dataset: cloudId, key: up.pushKey },
        });
        // exactly one process forwards, the other stands by
        const roles = await waitFor('a leader and a standby', async () => {
          const states = [
            (await status(a!, id)).forwarding as Json | undefined,
            (await status(b!, id)).forwarding as Json | undefined,
          ].map((f) => f?.state);
          const standby = states.filter((s) => s === 'standby').length;
          const active = states.filter((s) => s !== undefined && s !== 'standby' && s !== 'starting').length;
          return standby === 1 && active === 1 ? states : undefined;
        });
        const [leader, survivor] = roles[0] === 'standby' ? [b!, a!] : [a!, b!];
        expect((await push(leader, id, keys.pushKey, 1)).status).to.equal(200);
        const cloudSeq = async (): Promise<number> => Number((await status(cloud, cloudId)).lastSeq);
        await waitFor('the first record upstream', async () => (await cloudSeq()) >= 1 || undefined);
        // the leader dies without handing the lease back: the survivor waits out its ttl (15 s)
        await leader.kill();
        if (leader === a) a = undefined;
        else b = undefined;
        expect((await push(survivor, id, keys.pushKey, 2)).status).to.equal(200);
        await waitFor(
          'the record pushed after the death, upstream',
          async () => (await cloudSeq()) >= 2 || undefined,
          60_000,
        );
        const f = (await status(survivor, id)).forwarding as Json;
        expect(f.state, 'the survivor forwards now').to.not.equal('standby');
      } finally {
        await cloud.stop();
        await cloudSchema.drop();
      }
    });
  });
