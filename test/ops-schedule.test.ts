import { expect } from 'chai';
import { createDataset, uniqueId } from './helpers/data.js';
import { call, parseNdjson } from './helpers/http.js';
import { FakeClock } from './helpers/clock.js';
import { startTestHub, type TestHub } from './helpers/hub.js';
import { fakeServer, type FakeServer } from './helpers/fake-server.js';
import { waitFor } from './helpers/poll.js';

type Json = Record<string, unknown>;

/** A record as the feeds show it: its fields (ODS record shape once that renderer is mounted). */
export const fieldsOf = (item: Json): Json =>
  item.fields && typeof item.fields === 'object' ? (item.fields as Json) : item;

/** The dataset's live records (current state), as field objects sorted by `sortKey`. */
export async function liveRecords(hub: TestHub, id: string, sortKey: string): Promise<Json[]> {
  const r = await call(`${hub.url}/datasets/${id}/resources?format=ndjson`, { token: hub.adminToken });
  expect(r.status).to.equal(200);
  const lines = parseNdjson(r.text) as Json[];
  return lines
    .slice(1, -1)
    .map(fieldsOf)
    .sort((a, b) => String(a[sortKey]).localeCompare(String(b[sortKey])));
}

async function dataset(hub: TestHub, id: string): Promise<Json> {
  const r = await call(`${hub.url}/datasets/${id}`, { token: hub.adminToken });
  expect(r.status).to.equal(200);
  return r.json as Json;
}

describe('scheduled pulls (docs/operations.md#schedules)', () => {
  let hub: TestHub;
  let remote: FakeServer;
  const files = new Map<string, { type: string; body: string; status?: number }>();

  before(async () => {
    hub = await startTestHub({ opsRetryMaxMs: 200 });
    remote = await fakeServer((req, res) => {
      const f = files.get(req.url);
      if (!f) {
        res.writeHead(404).end('not here');
        return;
      }
      res.writeHead(f.status ?? 200, { 'content-type': f.type }).end(f.body);
    });
  });
  after(async () => {
    await hub.close();
    await remote.close();
  });

  it('when a scheduled CSV loses a row and changes another, then a run deletes and updates them in one batch, and an unchanged run makes no change', async () => {
    const id = uniqueId('sched');
    const path = `/${id}.csv`;
    files.set(path, { type: 'text/csv', body: 'isbn;title;copies\n1;Zen;3\n2;Dune;5\n3;Emma;1\n' });
    await createDataset(hub, id, {
      uniqueKeys: ['isbn'],
      schedule: { url: `${remote.url}${path}`, format: 'csv', everyMinutes: 60 },
    });
    // the first pull runs by itself once the schedule is configured
    const first = await waitFor('the first scheduled pull', async () => {
      const d = await dataset(hub, id);
      return (d.schedule as Json).lastSuccessAt ? d : undefined;
    });
    expect(first).to.include({ count: 3, lastSeq: 3 });
    expect((first.schedule as Json).lastResult).to.include({ outcome: 'applied', records: 3, changes: 3 });
    expect(await liveRecords(hub, id, 'isbn')).to.deep.equal([
      { isbn: '1', title: 'Zen', copies: '3' },
      { isbn: '2', title: 'Dune', copies: '5' },
      { isbn: '3', title: 'Emma', copies: '1' },
    ]);

    files.set(path, { type: 'text/csv', body: 'isbn;title;copies\n1;Zen;2\n2;Dune;5\n' });
    const second = await call(`${hub.url}/datasets/${id}/schedule/run`, {
      method: 'POST',
      token: hub.adminToken,
    });
    expect(second.status).to.equal(200);
    expect(second.json).to.include({ status: 'OK', outcome: 'applied', records: 2, changes: 2, deleted: 1 });
    expect(await dataset(hub, id)).to.include({ count: 2, lastSeq: 5 });
    expect(await liveRecords(hub, id, 'isbn')).to.deep.equal([
      { isbn: '1', title: 'Zen', copies: '2' },
      { isbn: '2', title: 'Dune', copies: '5' },
    ]);

    const third = await call(`${hub.url}/datasets/${id}/schedule/run`, {
      method: 'POST',
      token: hub.adminToken,
    });
    expect(third.json).to.include({ outcome: 'unchanged', changes: 0 });
    expect(await dataset(hub, id)).to.include({ count: 2, lastSeq: 5 });
  });

  it('when a schedule is configured, then the pull repeats every everyMinutes by itself and a changed resource is applied without a manual run', async () => {
    // a hub of its own on a clock the test moves: a minute passes at once
    const clock = new FakeClock('2026-06-01T08:00:00Z');
    const own = await startTestHub({ opsRetryMaxMs: 200, runtime: { operations: { clock } } });
    try {
      const id = uniqueId('sched');
      const path = `/${id}.csv`;
      files.set(path, { type: 'text/csv', body: 'isbn;title\n1;Zen\n' });
      const fetches = () => remote.received.filter((r) => r.url === path).length;
      await createDataset(own, id, {
        uniqueKeys: ['isbn'],
        schedule: { url: `${remote.url}${path}`, format: 'csv', everyMinutes: 1 },
      });
      await waitFor('the first pull', async () => ((await dataset(own, id)).count === 1 ? true : undefined));
      const after = fetches();
      files.set(path, { type: 'text/csv', body: 'isbn;title\n1;Zen\n2;Dune\n' });
      // the repeat is armed a minute after the first run; no POST …/schedule/run anywhere
      await waitFor('the repeat armed', () => (clock.pending().length > 0 ? true : undefined));
      clock.advanceTo(Date.parse('2026-06-01T08:01:00Z'));
      await waitFor('a repeated pull with the change', async () =>
        (await dataset(own, id)).count === 2 ? true : undefined,
      );
      expect(fetches(), 'fetched again by the schedule').to.equal(after + 1);
      expect(await liveRecords(own, id, 'isbn')).to.deep.equal([
        { isbn: '1', title: 'Zen' },
        { isbn: '2', title: 'Dune' },
      ]);
    } finally {
      await own.close();
    }
  });

  it('when no format is configured, then the Content-Type decides, and rows with the same record id are one record (the last wins)', async () => {
    const id = uniqueId('sched');
    const path = `/${id}.ndjson`;
    files.set(path, { type: 'application/x-ndjson', body: '{"k":"a","v":1}\n{"k":"b","v":2}\n' });
    // no format: the Content-Type decides
    await createDataset(hub, id, {
      uniqueKeys: ['k'],
      schedule: { url: `${remote.url}${path}`, everyMinutes: 60 },
    });
    await waitFor('the first pull', async () => ((await dataset(hub, id)).count === 2 ? true : undefined));
    files.set(path, { type: 'application/json', body: '[{"k":"b","v":3},{"k":"c","v":4},{"k":"c","v":5}]' });
    const r = await call(`${hub.url}/datasets/${id}/schedule/run`, { method: 'POST', token: hub.adminToken });
    expect(r.json).to.include({ outcome: 'applied', format: 'json', records: 3, deleted: 1 });
    // two rows with the same record id are one record: the last wins
    expect(await liveRecords(hub, id, 'k')).to.deep.equal([
      { k: 'b', v: 3 },
      { k: 'c', v: 5 },
    ]);
  });

  it('when the resource fails or cannot be parsed, then nothing is applied, the run is a 502 and the status shows the error', async () => {
    const id = uniqueId('sched');
    const path = `/${id}.csv`;
    files.set(path, { type: 'text/csv', body: 'a,b\n1,2\n' });
    await createDataset(hub, id, {
      schedule: { url: `${remote.url}${path}`, format: 'csv', everyMinutes: 60 },
    });
    await waitFor('the first pull', async () => ((await dataset(hub, id)).count === 1 ? true : undefined));

    // a quote that never closes: the CSV is broken at its end, after valid rows
    files.set(path, { type: 'text/csv', body: 'a,b\n3,4\n5,"6\n' });
    const broken = await call(`${hub.url}/datasets/${id}/schedule/run`, {
      method: 'POST',
      token: hub.adminToken,
    });
    expect(broken.status).to.equal(502);
    expect((broken.json as { error: Json }).error).to.include({ code: 'SCHEDULE_FAILED' });
    let d = await dataset(hub, id);
    expect(d).to.include({ count: 1, lastSeq: 1 });
    expect((d.schedule as Json).lastError).to.match(/CSV/);

    files.set(path, { type: 'text/plain', body: 'down for maintenance', status: 503 });
    const down = await call(`${hub.url}/datasets/${id}/schedule/run`, {
      method: 'POST',
      token: hub.adminToken,
    });
    expect(down.status).to.equal(502);
    d = await dataset(hub, id);
    expect((d.schedule as Json).lastError).to.match(/503/);
    expect(d).to.include({ count: 1, lastSeq: 1 });
    expect((await call(`${hub.url}/health`)).status).to.equal(200);

    // and when it comes back, the next run applies it
    files.set(path, { type: 'text/csv', body: 'a,b\n7,8\n' });
    const back = await call(`${hub.url}/datasets/${id}/schedule/run`, {
      method: 'POST',
      token: hub.adminToken,
    });
    expect(back.json).to.include({ outcome: 'applied', changes: 2, deleted: 1 });
    expect(((await dataset(hub, id)).schedule as Json).lastError).to.equal(null);
  });

  it('when a snapshot record breaks the dataset schema, then the whole snapshot is refused', async () => {
    const id = uniqueId('sched');
    const path = `/${id}.json`;
    files.set(path, { type: 'application/json', body: '[{"n":1},{"n":2}]' });
    await createDataset(hub, id, {
      schema: { type: 'object', properties: { n: { type: 'integer' } } },
      schedule: { url: `${remote.url}${path}`, everyMinutes: 60 },
    });
    await waitFor('the first pull', async () => ((await dataset(hub, id)).count === 2 ? true : undefined));
    files.set(path, { type: 'application/json', body: '[{"n":3},{"n":"four"}]' });
    const r = await call(`${hub.url}/datasets/${id}/schedule/run`, { method: 'POST', token: hub.adminToken });
    expect(r.status).to.equal(502);
    expect((r.json as { error: Json }).error.message).to.match(/schema/);
    expect(await dataset(hub, id)).to.include({ count: 2, lastSeq: 2 });
  });

  it('when a dataset has no schedule or the caller is not admin, then run is 409 or 403', async () => {
    const id = uniqueId('sched');
    const { pushKey } = await createDataset(hub, id, {});
    const none = await call(`${hub.url}/datasets/${id}/schedule/run`, {
      method: 'POST',
      token: hub.adminToken,
    });
    expect(none.status).to.equal(409);
    expect((none.json as { error: Json }).error.code).to.equal('NO_SCHEDULE');
    const key = await call(`${hub.url}/datasets/${id}/schedule/run`, { method: 'POST', token: pushKey });
    expect(key.status).to.equal(403);
    const missing = await call(`${hub.url}/datasets/${uniqueId('nope')}/schedule/run`, {
      method: 'POST',
      token: hub.adminToken,
    });
    expect(missing.status).to.equal(404);
  });
});
