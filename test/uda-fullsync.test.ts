import { expect } from 'chai';
import type { Envelope } from '../src/domain/ingest.js';
import type { AppendRequest } from '../src/store/types.js';
import { createDataset, milking, pushResources, uniqueId, type DatasetKeys } from './helpers/data.js';
import { call, type Reply } from './helpers/http.js';
import { startTestHub, type TestHub } from './helpers/hub.js';

type Item = Record<string, unknown>;
type ErrorBody = { error: { code: string; message: string } };

const CTX = { id: '@context', namespaces: { ex: 'http://ex.example/', _: 'http://ex.example/p/' } };
const entity = (n: number, extra: object = {}) => ({ id: `ex:${n}`, props: { n, ...extra } });
const code = (r: Reply): string => (r.json as ErrorBody).error.code;

interface Sync {
  start?: boolean;
  end?: boolean;
}

function push(hub: TestHub, id: string, key: string, entities: unknown[], sync?: string, flags: Sync = {}) {
  const headers: Record<string, string> = {};
  if (sync !== undefined) headers['universal-data-api-full-sync-id'] = sync;
  if (flags.start) headers['universal-data-api-full-sync-start'] = 'true';
  if (flags.end) headers['universal-data-api-full-sync-end'] = 'true';
  return call(`${hub.url}/datasets/${id}/entities`, { token: key, body: [CTX, ...entities], headers });
}

async function feed(hub: TestHub, id: string, key: string, path = 'changes'): Promise<Item[]> {
  const r = await call(`${hub.url}/datasets/${id}/${path}`, { token: key });
  expect(r.status, r.text).to.equal(200);
  return (r.json as Item[]).slice(1, -1);
}

const liveIds = async (hub: TestHub, id: string, key: string): Promise<string[]> =>
  (await feed(hub, id, key, 'entities')).map((e) => e.id as string).sort();

describe('Universal Data API: full sync (docs/uda.md#full-sync)', () => {
  let hub: TestHub;
  before(async () => {
    hub = await startTestHub();
  });
  after(() => hub.close());

  async function fiveEntities(): Promise<{ id: string; keys: DatasetKeys }> {
    const id = uniqueId('sync');
    const keys = await createDataset(hub, id);
    const r = await push(
      hub,
      id,
      keys.pushKey,
      [1, 2, 3, 4, 5].map((n) => entity(n)),
    );
    expect(r.json).to.include({ changes: 5 });
    return { id, keys };
  }

  it('when a full sync sends 3 of 5 existing entities, then the other 2 are deleted in the feed, in one batch at the end', async () => {
    const { id, keys } = await fiveEntities();
    const start = await push(hub, id, keys.pushKey, [entity(1)], 's1', { start: true });
    expect(start.json).to.deep.equal({ status: 'OK', received: 1, changes: 0 });
    const middle = await push(hub, id, keys.pushKey, [entity(3, { changed: true })], 's1');
    expect(middle.json).to.include({ changes: 1 });
    // nothing is deleted before the end
    expect(await liveIds(hub, id, keys.readKey)).to.have.length(5);
    const end = await push(hub, id, keys.pushKey, [entity(5)], 's1', { end: true });
    expect(end.json).to.deep.equal({ status: 'OK', received: 1, changes: 2 });

    const changes = await feed(hub, id, keys.readKey);
    const deletes = changes.filter((c) => c.deleted === true);
    expect(deletes.map((d) => d.id).sort()).to.deep.equal(['ex:2', 'ex:4']);
    // one append: the same recording time, and the tombstone is the entity as it was
    expect(deletes[0]!.recorded).to.equal(deletes[1]!.recorded);
    expect(deletes.find((d) => d.id === 'ex:2')).to.deep.include({ props: { n: 2 }, refs: {} });
    expect(await liveIds(hub, id, keys.readKey)).to.deep.equal(['ex:1', 'ex:3', 'ex:5']);
    const d = await call(`${hub.url}/datasets/${id}`, { token: keys.readKey });
    expect(d.json).to.include({ count: 3, lastSeq: 8 });
  });

  it('when a second sync starts while one runs, then it gets 409 and plain upserts still go through', async () => {
    const { id, keys } = await fiveEntities();
    expect((await push(hub, id, keys.pushKey, [entity(1)], 'a', { start: true })).status).to.equal(200);

    const other = await push(hub, id, keys.pushKey, [entity(2)], 'b', { start: true });
    expect(other.status, other.text).to.equal(409);
    expect(code(other)).to.equal('FULL_SYNC_IN_PROGRESS');
    const otherMore = await push(hub, id, keys.pushKey, [entity(9)], 'b');
    expect(otherMore.status).to.equal(409);
    const otherEnd = await push(hub, id, keys.pushKey, [], 'b', { end: true });
    expect(otherEnd.status).to.equal(409);

    // a plain upsert meanwhile: stored, not part of the sync (so the sync's end deletes it)
    const plain = await push(hub, id, keys.pushKey, [entity(6)]);
    expect(plain.json).to.include({ changes: 1 });
    const end = await push(hub, id, keys.pushKey, [entity(2)], 'a', { end: true });
    expect(end.status, end.text).to.equal(200);
    expect(await liveIds(hub, id, keys.readKey)).to.deep.equal(['ex:1', 'ex:2']);

    // the sync has ended: b may start now
    expect((await push(hub, id, keys.pushKey, [entity(2)], 'b', { start: true })).status).to.equal(200);
  });

  it('when a sync request comes for a sync that is not running, then 409 FULL_SYNC_NOT_RUNNING and nothing is stored', async () => {
    const { id, keys } = await fiveEntities();
    const cont = await push(hub, id, keys.pushKey, [entity(7)], 'never');
    expect(cont.status).to.equal(409);
    expect(code(cont)).to.equal('FULL_SYNC_NOT_RUNNING');
    const end = await push(hub, id, keys.pushKey, [], 'never', { end: true });
    expect(code(end)).to.equal('FULL_SYNC_NOT_RUNNING');
    expect(await liveIds(hub, id, keys.readKey)).to.have.length(5);

    // after a sync has ended, its id is not running any more either
    await push(
      hub,
      id,
      keys.pushKey,
      [1, 2, 3, 4, 5].map((n) => entity(n)),
      'done',
      { start: true, end: true },
    );
    const late = await push(hub, id, keys.pushKey, [entity(8)], 'done');
    expect(code(late)).to.equal('FULL_SYNC_NOT_RUNNING');
  });

  it('when one request carries start and end, then only its entities stay', async () => {
    const { id, keys } = await fiveEntities();
    const r = await push(hub, id, keys.pushKey, [entity(4), entity(10)], 'whole', { start: true, end: true });
    expect(r.json).to.deep.equal({ status: 'OK', received: 2, changes: 5 });
    expect(await liveIds(hub, id, keys.readKey)).to.deep.equal(['ex:10', 'ex:4']);
  });

  it('when a sync is started again with the same id, then what it sent before the restart no longer counts', async () => {
    const { id, keys } = await fiveEntities();
    await push(hub, id, keys.pushKey, [entity(1), entity(2)], 'r', { start: true });
    await push(hub, id, keys.pushKey, [entity(3)], 'r', { start: true });
    const end = await push(hub, id, keys.pushKey, [], 'r', { end: true });
    expect(end.json).to.include({ received: 0, changes: 4 });
    expect(await liveIds(hub, id, keys.readKey)).to.deep.equal(['ex:3']);
  });

  it('when a sync sends entities already deleted or deletes, then they count as sent and the end deletes only the rest', async () => {
    const { id, keys } = await fiveEntities();
    await push(hub, id, keys.pushKey, [{ id: 'ex:1', deleted: true }], 'd', { start: true });
    await push(hub, id, keys.pushKey, [entity(2)], 'd');
    const end = await push(hub, id, keys.pushKey, [], 'd', { end: true });
    expect(end.json).to.include({ changes: 3 });
    expect(await liveIds(hub, id, keys.readKey)).to.deep.equal(['ex:2']);
  });

  it('when a dataset also holds ICAR resources, then a UDA full sync deletes entities only', async () => {
    const { id, keys } = await fiveEntities();
    expect((await pushResources(hub, id, keys.pushKey, [milking(1)])).status).to.equal(200);
    await push(hub, id, keys.pushKey, [entity(1)], 'mixed', { start: true, end: true });
    const resources = await feed(hub, id, keys.readKey, 'resources');
    expect(resources.map((r) => (r.meta as Item | undefined)?.sourceId ?? r.id).sort()).to.deep.equal([
      'ex:1',
      'mv-1',
    ]);
  });

  it('when a sync header is malformed, then 400 INVALID_FULL_SYNC', async () => {
    const { id, keys } = await fiveEntities();
    const noId = await call(`${hub.url}/datasets/${id}/entities`, {
      token: keys.pushKey,
      body: [CTX],
      headers: { 'universal-data-api-full-sync-start': 'true' },
    });
    expect(noId.status).to.equal(400);
    expect(code(noId)).to.equal('INVALID_FULL_SYNC');
    const badFlag = await call(`${hub.url}/datasets/${id}/entities`, {
      token: keys.pushKey,
      body: [CTX],
      headers: { 'universal-data-api-full-sync-id': 'x', 'universal-data-api-full-sync-end': 'yes' },
    });
    expect(code(badFlag)).to.equal('INVALID_FULL_SYNC');
    expect(await liveIds(hub, id, keys.readKey)).to.have.length(5);
  });

  it('when recovery replays the journal through the translator, then syncs end in the same state and a running sync goes on', async () => {
    const { id, keys } = await fiveEntities();
    await push(hub, id, keys.pushKey, [entity(1), entity(2)], 'A', { start: true });
    await push(hub, id, keys.pushKey, [entity(3)], 'A');
    await push(hub, id, keys.pushKey, [], 'A', { end: true });
    await push(hub, id, keys.pushKey, [entity(1), entity(6)], 'B', { start: true, end: true });
    await push(hub, id, keys.pushKey, [entity(1), entity(7)], 'C', { start: true });
    const before = await feed(hub, id, keys.readKey, 'entities');
    expect(before.map((e) => e.id).sort()).to.deep.equal(['ex:1', 'ex:6', 'ex:7']);

    // what recovery does: each journaled envelope through its translator in replay mode
    const running = hub.running.hub;
    const store = running.store;
    async function* replay(): AsyncGenerator<AppendRequest> {
      for await (const entry of store.journal(id)) {
        const envelope = JSON.parse(entry.text) as Envelope;
        const dataset = (await store.getDataset(id))!;
        const t = await running.ingestor.translator(envelope.protocol)({
          envelope,
          dataset,
          config: dataset.config,
          mode: 'replay',
          now: entry.recorded,
        });
        const { received: _r, subjects: _s, ...request } = t;
        yield { ...request, recorded: entry.recorded };
      }
    }
    await store.rebuild(id, replay());

    const after = await feed(hub, id, keys.readKey, 'entities');
    const strip = (items: Item[]) => items.map(({ recorded: _r, ...rest }) => rest);
    expect(strip(after)).to.deep.equal(strip(before));
    // sync C still runs with what it had sent: its end keeps 1 and 7
    const end = await push(hub, id, keys.pushKey, [], 'C', { end: true });
    expect(end.status, end.text).to.equal(200);
    expect(await liveIds(hub, id, keys.readKey)).to.deep.equal(['ex:1', 'ex:7']);
  });
});

describe('Universal Data API: full sync lease (FULL_SYNC_LEASE_MS)', () => {
  let hub: TestHub;
  before(async () => {
    hub = await startTestHub({ fullSyncLeaseMs: 1000 });
  });
  after(() => hub.close());

  it('when a sync sends no request for the lease time, then it expires: its requests are 409 and another may start', async () => {
    const id = uniqueId('lease');
    const keys = await createDataset(hub, id);
    await push(
      hub,
      id,
      keys.pushKey,
      [1, 2, 3].map((n) => entity(n)),
    );
    expect((await push(hub, id, keys.pushKey, [entity(1)], 'old', { start: true })).status).to.equal(200);
    const status = async (): Promise<Item | undefined> =>
      (await call(`${hub.url}/datasets/${id}`, { token: keys.readKey })).json as Item | undefined;
    expect((await status())?.fullSync).to.include({ id: 'old', running: true });

    // wait, polling the dataset's status, until the lease has run out
    const deadline = Date.now() + 15_000;
    while (((await status())?.fullSync as Item).running === true && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const late = await push(hub, id, keys.pushKey, [entity(2)], 'old');
    expect(late.status).to.equal(409);
    expect(code(late)).to.equal('FULL_SYNC_NOT_RUNNING');
    expect((late.json as ErrorBody).error.message).to.include('expired');
    const lateEnd = await push(hub, id, keys.pushKey, [], 'old', { end: true });
    expect(code(lateEnd)).to.equal('FULL_SYNC_NOT_RUNNING');
    expect(await liveIds(hub, id, keys.readKey)).to.have.length(3);

    // another sync takes over; what the expired one sent does not count for it
    const whole = await push(hub, id, keys.pushKey, [entity(2), entity(3)], 'new', {
      start: true,
      end: true,
    });
    expect(whole.json).to.include({ changes: 1 });
    expect(await liveIds(hub, id, keys.readKey)).to.deep.equal(['ex:2', 'ex:3']);
    expect(await status()).to.not.have.property('fullSync');
  });
});
