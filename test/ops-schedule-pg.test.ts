import { expect } from 'chai';
import { uniqueId } from './helpers/data.js';
import { call } from './helpers/http.js';
import { freshSchema, TEST_STORE_URL, type TestSchema } from './helpers/pg.js';
import { eventually, quietPeriod } from './helpers/poll.js';
import { spawnHub, type HubProcess } from './helpers/hub-process.js';
import { fakeServer, type FakeServer } from './helpers/fake-server.js';

type Json = Record<string, unknown>;

// registered only where a PostgreSQL is configured (npm run test:pg, CI's second pass)
if (TEST_STORE_URL)
  describe('scheduled pulls with two hub processes on one PostgreSQL', function () {
    // a calendar rule's smallest step is a minute: this waits for one real minute boundary
    this.timeout(150_000);
    let schema: TestSchema;
    let a: HubProcess;
    let b: HubProcess;
    let remote: FakeServer;
    /** real time each GET arrived */
    const pulls: number[] = [];

    before(async () => {
      remote = await fakeServer((_req, res) => {
        pulls.push(Date.now());
        // a slow download: a second run of the same due time would overlap it and be seen
        setTimeout(() => {
          res
            .writeHead(200, { 'content-type': 'application/json' })
            .end(JSON.stringify([{ n: pulls.length }]));
        }, 1_500);
      });
      schema = freshSchema();
      a = await spawnHub({ env: { STORE_URL: schema.url } });
      b = await spawnHub({ env: { STORE_URL: schema.url } });
    });
    after(async () => {
      await a?.stop();
      await b?.stop();
      await remote?.close();
      await schema?.drop();
    });

    const scheduleOn = async (hub: HubProcess, id: string): Promise<Json> => {
      const r = await call(`${hub.url}/datasets/${id}`, { token: hub.adminToken });
      expect(r.status).to.equal(200);
      return (r.json as Json).schedule as Json;
    };

    it('when two processes share a dataset with a rule due every minute, then each due time runs once and both show the same next run', async () => {
      const id = uniqueId('pgsched');
      const put = await call(`${a.url}/datasets/${id}`, {
        method: 'PUT',
        token: a.adminToken,
        body: { schedule: { url: `${remote.url}/data.json`, rules: [{ cron: '* * * * *' }] } },
      });
      expect(put.status).to.equal(201);
      // the new schedule runs at once, in one of the two processes
      const first = await eventually(async () => {
        const s = await scheduleOn(b, id);
        return s.lastSuccessAt ? s : undefined;
      }, 20_000);
      expect(pulls).to.have.length(1);
      const boundary = Date.parse(first.nextRunAt as string);
      expect(boundary % 60_000).to.equal(0);
      expect((await scheduleOn(a, id)).nextRunAt).to.equal(first.nextRunAt);

      // the next minute: one run, whichever process holds the lease
      await eventually(
        async () => {
          const [sa, sb] = await Promise.all([scheduleOn(a, id), scheduleOn(b, id)]);
          const done = (s: Json): boolean =>
            s.running === false && Date.parse((s.lastSuccessAt as string) ?? '') >= boundary;
          return done(sa) && done(sb) && sa.nextRunAt === sb.nextRunAt ? true : undefined;
        },
        90_000,
        'the run of the next minute, seen by both processes',
      );
      // a second run of that due time would have started within the download's 1.5 s
      await quietPeriod(2_000);
      const inMinute = pulls.filter((t) => t >= boundary && t < boundary + 60_000);
      expect(inMinute, 'pulls of the due time').to.have.length(1);
      expect(
        pulls.filter((t) => t < boundary),
        'pulls before it',
      ).to.have.length(1);
      expect((await call(`${b.url}/datasets/${id}`, { token: b.adminToken })).json).to.include({ count: 1 });
    });
  });
