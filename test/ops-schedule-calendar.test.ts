import { expect } from 'chai';
import { createDataset, uniqueId } from './helpers/data.js';
import { FakeClock } from './helpers/clock.js';
import { call } from './helpers/http.js';
import { startTestHub, type TestHub } from './helpers/hub.js';
import { eventually, quietPeriod } from './helpers/poll.js';
import { fakeServer, type FakeServer } from './helpers/fake-server.js';

type Json = Record<string, unknown>;

/**
 * Calendar schedules over HTTP, on a fake clock: the hub's scheduler waits on a clock the test
 * moves, so a due time days away is reached at once and each run is seen at its own instant.
 */
describe('scheduled pulls on calendar rules (seed 001 scheduling, fake clock)', () => {
  let remote: FakeServer;
  /** fake time of each GET the remote received, by path */
  const pulls = new Map<string, string[]>();
  let clock: FakeClock | undefined;
  /** a path whose answer waits until the test opens it */
  const gates = new Map<string, Promise<void>>();
  const hubs: TestHub[] = [];

  before(async () => {
    remote = await fakeServer((req, res) => {
      const times = pulls.get(req.url) ?? [];
      times.push(new Date(clock!.now()).toISOString());
      pulls.set(req.url, times);
      const body = JSON.stringify([{ k: 'a', n: times.length }]);
      const answer = (): void => void res.writeHead(200, { 'content-type': 'application/json' }).end(body);
      const gate = gates.get(req.url);
      if (gate) void gate.then(answer);
      else answer();
    });
  });
  after(async () => {
    await Promise.all(hubs.map((h) => h.close()));
    await remote.close();
  });

  async function hubAt(start: string): Promise<TestHub> {
    clock = new FakeClock(start);
    const hub = await startTestHub({ runtime: { operations: { clock } } });
    hubs.push(hub);
    return hub;
  }

  async function scheduleOf(hub: TestHub, id: string): Promise<Json> {
    const r = await call(`${hub.url}/datasets/${id}`, { token: hub.adminToken });
    expect(r.status).to.equal(200);
    return (r.json as Json).schedule as Json;
  }

  /**
   * Waits until the dataset pulled `runs` times and the scheduler is idle, waiting for `next`: its
   * timer is set for that instant and the status shows it as the next run.
   */
  async function settled(hub: TestHub, id: string, runs: number, next: string): Promise<Json> {
    return eventually(
      async () => {
        const s = await scheduleOf(hub, id);
        const done = (pulls.get(`/${id}.json`) ?? []).length === runs && s.running === false;
        return done && s.nextRunAt === next && clock!.pending().includes(Date.parse(next)) ? s : undefined;
      },
      10_000,
      `${runs} pulls of ${id}, then a timer for ${next}`,
    );
  }

  it('when a rule runs at 02:30 Paris time and the clock crosses the spring-forward day, then the pull runs once, at 03:00 CEST', async () => {
    const hub = await hubAt('2026-03-28T12:00:00Z');
    const id = uniqueId('spring');
    await createDataset(hub, id, {
      uniqueKeys: ['k'],
      schedule: { url: `${remote.url}/${id}.json`, rules: [{ cron: '30 2 * * *' }] },
    });
    // a new schedule runs at once, then waits for 02:30 CET+1 = 03:00 CEST on 2026-03-29
    let s = await settled(hub, id, 1, '2026-03-29T01:00:00.000Z');
    expect(s).to.deep.include({
      timeZone: 'Europe/Paris',
      rules: [{ cron: '30 2 * * *', timeZone: 'Europe/Paris' }],
    });
    expect((s.nextRuns as string[]).slice(0, 3)).to.deep.equal([
      '2026-03-29T01:00:00.000Z',
      '2026-03-30T00:30:00.000Z',
      '2026-03-31T00:30:00.000Z',
    ]);
    clock!.advanceTo('2026-03-29T01:00:00Z');
    s = await settled(hub, id, 2, '2026-03-30T00:30:00.000Z');
    expect(s.lastRunAt).to.equal('2026-03-29T01:00:00.000Z');
    // the rest of that local day (to midnight CEST) holds no other due time
    clock!.advanceTo('2026-03-29T21:59:00Z');
    expect(clock!.pending()[0]).to.equal(Date.parse('2026-03-30T00:30:00Z'));
    expect(pulls.get(`/${id}.json`)).to.deep.equal(['2026-03-28T12:00:00.000Z', '2026-03-29T01:00:00.000Z']);
  });

  it('when a rule runs at 02:30 Paris time and the clock crosses the fall-back day, then the pull runs at the first 02:30 only', async () => {
    const hub = await hubAt('2026-10-24T12:00:00Z');
    const id = uniqueId('autumn');
    await createDataset(hub, id, {
      schedule: { url: `${remote.url}/${id}.json`, format: 'json', rules: [{ cron: '30 2 * * *' }] },
    });
    await settled(hub, id, 1, '2026-10-25T00:30:00.000Z');
    clock!.advanceTo('2026-10-25T00:30:00Z');
    // 02:30 CET (01:30Z) comes an hour later: not a second run; the next is the 26th
    await settled(hub, id, 2, '2026-10-26T01:30:00.000Z');
    clock!.advanceTo('2026-10-25T23:00:00Z');
    expect(clock!.pending()[0]).to.equal(Date.parse('2026-10-26T01:30:00Z'));
    clock!.advanceTo('2026-10-26T01:30:00Z');
    await settled(hub, id, 3, '2026-10-27T01:30:00.000Z');
    expect(pulls.get(`/${id}.json`)).to.deep.equal([
      '2026-10-24T12:00:00.000Z',
      '2026-10-25T00:30:00.000Z',
      '2026-10-26T01:30:00.000Z',
    ]);
  });

  it('when a dataset has several rules (Monday 07:00, Wednesday 15:00, every 4 days), then it runs at each of them in turn', async () => {
    const hub = await hubAt('2026-12-04T12:00:00Z'); // a Friday
    const id = uniqueId('weekly');
    await createDataset(hub, id, {
      schedule: {
        url: `${remote.url}/${id}.json`,
        rules: [{ cron: '0 7 * * MON' }, { cron: '0 15 * * WED' }, { everyMinutes: 5760 }],
      },
    });
    const s = await settled(hub, id, 1, '2026-12-05T00:00:00.000Z');
    // every 5760 minutes: the multiples of 4 days since 1970-01-01T00:00Z (2026-12-05 is one)
    expect(s.nextRuns).to.deep.equal([
      '2026-12-05T00:00:00.000Z',
      '2026-12-07T06:00:00.000Z',
      '2026-12-09T00:00:00.000Z',
      '2026-12-09T14:00:00.000Z',
      '2026-12-13T00:00:00.000Z',
    ]);
    const times = s.nextRuns as string[];
    for (let i = 0; i < 4; i++) {
      clock!.advanceTo(times[i]!);
      await settled(hub, id, i + 2, times[i + 1]!);
    }
    expect(pulls.get(`/${id}.json`)).to.deep.equal(['2026-12-04T12:00:00.000Z', ...times.slice(0, 4)]);
  });

  it('when a run is still going at the next due times, then no second run starts; once it ends, the missed minutes are one run', async () => {
    const hub = await hubAt('2026-05-01T10:00:30Z');
    const id = uniqueId('overlap');
    let open!: () => void;
    gates.set(`/${id}.json`, new Promise<void>((resolve) => (open = resolve)));
    await createDataset(hub, id, {
      schedule: { url: `${remote.url}/${id}.json`, rules: [{ cron: '* * * * *' }] },
    });
    await eventually(async () => ((await scheduleOf(hub, id)).running === true ? true : undefined));
    expect(pulls.get(`/${id}.json`)).to.have.length(1);
    // four due times pass while the first download hangs
    for (const at of ['2026-05-01T10:01:00Z', '2026-05-01T10:02:00Z', '2026-05-01T10:05:00Z'])
      clock!.advanceTo(at);
    await quietPeriod(300);
    expect(pulls.get(`/${id}.json`)).to.have.length(1);
    gates.delete(`/${id}.json`);
    open();
    const s = await settled(hub, id, 2, '2026-05-01T10:06:00.000Z');
    expect(s.lastRunAt).to.equal('2026-05-01T10:05:00.000Z');
    expect(pulls.get(`/${id}.json`)).to.deep.equal(['2026-05-01T10:00:30.000Z', '2026-05-01T10:05:00.000Z']);
  });

  it('when a cron expression, a time zone or the URL scheme is invalid, then PUT is 400 INVALID_CONFIG naming the field and nothing is scheduled', async () => {
    const hub = await hubAt('2026-05-01T10:00:00Z');
    const url = `${remote.url}/never.json`;
    const cases: Array<[Json, RegExp]> = [
      [{ url, rules: [{ cron: '0 25 * * *' }] }, /#\/schedule\/rules\/0\/cron/],
      [
        { url, rules: [{ everyMinutes: 60 }, { cron: '0 7 * * MON', timeZone: 'Europe/Pariss' }] },
        /#\/schedule\/rules\/1\/timeZone/,
      ],
      [{ url, timeZone: 'CEST+2', rules: [{ cron: '0 7 * * MON' }] }, /#\/schedule\/timeZone/],
      [{ url: 'sftp://127.0.0.1/x.csv', everyMinutes: 60 }, /#\/schedule\/url/],
      [{ url, rules: [{ cron: '0 */5 * * * *' }] }, /five fields/],
      [{ url, rules: [{ everyMinutes: 0.5 }] }, /#\/schedule\/rules\/0\/everyMinutes/],
    ];
    for (const [schedule, field] of cases) {
      const id = uniqueId('bad');
      const r = await call(`${hub.url}/datasets/${id}`, {
        method: 'PUT',
        token: hub.adminToken,
        body: { schedule },
      });
      expect(r.status, JSON.stringify(schedule)).to.equal(400);
      const error = (r.json as { error: Json }).error;
      expect(error.code).to.equal('INVALID_CONFIG');
      expect(error.message).to.match(field);
      expect(error.field, JSON.stringify(schedule))
        .to.be.a('string')
        .and.match(/^\/schedule/);
      expect((await call(`${hub.url}/datasets/${id}`, { token: hub.adminToken })).status).to.equal(404);
    }
    expect(pulls.get('/never.json')).to.equal(undefined);
    expect(clock!.pending()).to.deep.equal([]);
  });
});
