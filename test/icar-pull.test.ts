import { expect } from 'chai';
import { cpSync } from 'node:fs';
import {
  createDataset,
  milking,
  pushResources,
  readChanges,
  uniqueId,
  type DatasetKeys,
} from './helpers/data.js';
import { call, parseNdjson } from './helpers/http.js';
import { startTestHub, tempDir, TEST_ENGINE, type TestHub } from './helpers/hub.js';
import { waitForMetric } from './helpers/poll.js';
import { readSse } from './helpers/sse.js';

interface ErrorBody {
  error: { code: string; message: string };
}

describe('ICAR pull: changes feed and current state (docs/icar.md#pull)', () => {
  let hub: TestHub;
  before(async () => {
    hub = await startTestHub();
  });
  after(() => hub.close());

  async function fresh(config: object = {}): Promise<{ id: string; keys: DatasetKeys }> {
    const id = uniqueId('pull');
    return { id, keys: await createDataset(hub, id, config) };
  }

  it('when reading from a token, then only later changes come, and with nothing new the same token comes back', async () => {
    const { id, keys } = await fresh();
    await pushResources(hub, id, keys.pushKey, [milking(1), milking(2)]);
    const first = await readChanges(hub, id, keys.readKey);
    expect(first.items).to.have.length(2);
    const idle = await readChanges(hub, id, keys.readKey, `since=${first.token}`);
    expect(idle.items).to.deep.equal([]);
    expect(idle.token).to.equal(first.token);
    await pushResources(hub, id, keys.pushKey, [milking(3)]);
    const next = await readChanges(hub, id, keys.readKey, `since=${first.token}`);
    expect(next.items.map((r) => r.id)).to.deep.equal(['mv-3']);
    expect(next.token).to.not.equal(first.token);
  });

  it('when paging through 10,000 changes with limit=100, then each comes exactly once, in order', async () => {
    const { id, keys } = await fresh();
    for (let b = 0; b < 10; b++) {
      const r = await pushResources(
        hub,
        id,
        keys.pushKey,
        Array.from({ length: 1000 }, (_, i) => milking(b * 1000 + i)),
      );
      expect(r.status).to.equal(200);
    }
    const seen: string[] = [];
    let token = '';
    for (let page = 0; page < 200; page++) {
      const p = await readChanges(hub, id, keys.readKey, `limit=100${token ? `&since=${token}` : ''}`);
      if (p.items.length === 0) break;
      expect(p.items.length).to.be.at.most(100);
      seen.push(...p.items.map((r) => String(r.id)));
      token = p.token;
    }
    expect(seen).to.deep.equal(Array.from({ length: 10_000 }, (_, i) => `mv-${i}`));
  });

  it('when latestOnly=true, then a key updated twice appears once, with its latest version', async () => {
    const { id, keys } = await fresh();
    await pushResources(hub, id, keys.pushKey, [milking(1), milking(2)]);
    await pushResources(hub, id, keys.pushKey, [milking(1, undefined, { milkingComplete: false })]);
    const all = await readChanges(hub, id, keys.readKey);
    expect(all.items).to.have.length(3);
    const latest = await readChanges(hub, id, keys.readKey, 'latestOnly=true');
    expect(latest.items.map((r) => [r.id, r.milkingComplete])).to.deep.equal([
      ['mv-2', true],
      ['mv-1', false],
    ]);
    // the token covers what was skipped: nothing is read twice
    expect(
      (await readChanges(hub, id, keys.readKey, `latestOnly=true&since=${latest.token}`)).items,
    ).to.deep.equal([]);
  });

  it('when a token is malformed or belongs to another dataset, then 400 INVALID_TOKEN', async () => {
    const a = await fresh();
    const b = await fresh();
    await pushResources(hub, a.id, a.keys.pushKey, [milking(1)]);
    const tokenA = (await readChanges(hub, a.id, a.keys.readKey)).token;
    for (const since of ['garbage', 'AAAA', tokenA.slice(0, -2), encodeURIComponent('🐄')]) {
      const r = await call(`${hub.url}/datasets/${a.id}/changes?since=${since}`, { token: a.keys.readKey });
      expect(r.status, since).to.equal(400);
      expect((r.json as ErrorBody).error.code).to.equal('INVALID_TOKEN');
    }
    const cross = await call(`${hub.url}/datasets/${b.id}/changes?since=${tokenA}`, {
      token: b.keys.readKey,
    });
    expect(cross.status).to.equal(400);
  });

  it('when limit, latestOnly, feed or timeout are out of range, then 400 INVALID_PARAMETER', async () => {
    const { id, keys } = await fresh();
    for (const q of [
      'limit=-1',
      'limit=abc',
      'limit=1e3',
      'latestOnly=yes',
      'feed=continuous',
      'timeout=99999999',
      'format=xml',
      'limit=1&limit=2',
    ]) {
      const r = await call(`${hub.url}/datasets/${id}/changes?${q}`, { token: keys.readKey });
      expect(r.status, q).to.equal(400);
      expect((r.json as ErrorBody).error.code).to.equal('INVALID_PARAMETER');
    }
  });

  it('when the dataset is re-created, then an old token gets the whole new feed with icar-full-sync: true', async () => {
    const { id, keys } = await fresh();
    await pushResources(hub, id, keys.pushKey, [milking(1), milking(2)]);
    const old = (await readChanges(hub, id, keys.readKey)).token;
    await call(`${hub.url}/datasets/${id}`, { method: 'DELETE', token: hub.adminToken });
    const k2 = await createDataset(hub, id);
    await pushResources(hub, id, k2.pushKey, [milking(5)]);
    const r = await readChanges(hub, id, k2.readKey, `since=${old}`);
    expect(r.headers.get('icar-full-sync')).to.equal('true');
    expect(r.items.map((x) => x.id)).to.deep.equal(['mv-5']);
    const normal = await readChanges(hub, id, k2.readKey, `since=${r.token}`);
    expect(normal.headers.get('icar-full-sync')).to.equal(null);
  });

  it('when a long-poll waits and a push arrives, then the reader gets it well under a second after the push', async () => {
    const { id, keys } = await fresh();
    const start = await readChanges(hub, id, keys.readKey);
    const poll = readChanges(hub, id, keys.readKey, `since=${start.token}&feed=longpoll&timeout=20000`);
    // push once the poll is waiting on the server
    await waitForMetric(hub, 'hub_feed_waiting_readers{feed="longpoll"}', (v) => v >= 1);
    const pushedAt = Date.now();
    await pushResources(hub, id, keys.pushKey, [milking(42)]);
    const got = await poll;
    const latency = Date.now() - pushedAt;
    expect(got.items.map((r) => r.id)).to.deep.equal(['mv-42']);
    expect(latency).to.be.lessThan(1000);
  });

  it('when a long-poll times out with nothing new, then it answers an empty page with the same token', async () => {
    const { id, keys } = await fresh();
    const start = await readChanges(hub, id, keys.readKey);
    const t0 = Date.now();
    const r = await readChanges(hub, id, keys.readKey, `since=${start.token}&feed=longpoll&timeout=300`);
    expect(Date.now() - t0).to.be.at.least(250);
    expect(r.items).to.deep.equal([]);
    expect(r.token).to.equal(start.token);
  });

  it('when a long-poll starts behind, then it answers at once without waiting', async () => {
    const { id, keys } = await fresh();
    await pushResources(hub, id, keys.pushKey, [milking(1)]);
    const t0 = Date.now();
    const r = await readChanges(hub, id, keys.readKey, 'feed=longpoll&timeout=20000');
    expect(r.items).to.have.length(1);
    expect(Date.now() - t0).to.be.lessThan(10_000);
  });

  it('when format=ndjson or Accept: application/x-ndjson, then one JSON value comes per line, same elements', async () => {
    const { id, keys } = await fresh();
    await pushResources(hub, id, keys.pushKey, [milking(1), milking(2)]);
    const json = (await call(`${hub.url}/datasets/${id}/changes`, { token: keys.readKey })).json;
    const a = await call(`${hub.url}/datasets/${id}/changes?format=ndjson`, { token: keys.readKey });
    expect(a.headers.get('content-type')).to.include('application/x-ndjson');
    expect(parseNdjson(a.text)).to.deep.equal(json);
    const b = await call(`${hub.url}/datasets/${id}/changes`, {
      token: keys.readKey,
      headers: { accept: 'application/x-ndjson' },
    });
    expect(parseNdjson(b.text)).to.deep.equal(json);
  });

  it('when the client accepts gzip, then the feed is gzip-encoded', async () => {
    const { id, keys } = await fresh();
    await pushResources(hub, id, keys.pushKey, [milking(1)]);
    const r = await fetch(`${hub.url}/datasets/${id}/changes`, {
      headers: { authorization: `Bearer ${keys.readKey}`, 'accept-encoding': 'gzip' },
    });
    expect(r.headers.get('content-encoding')).to.equal('gzip');
    expect(((await r.json()) as unknown[]).length).to.equal(3);
  });

  it('when feed=eventsource, then each change is an event whose id resumes the stream via Last-Event-ID', async () => {
    const { id, keys } = await fresh();
    await pushResources(hub, id, keys.pushKey, [milking(1), milking(2)]);
    const url = `${hub.url}/datasets/${id}/changes?feed=eventsource`;
    const first = await readSse(url, { authorization: `Bearer ${keys.readKey}` }, 2, async () => undefined);
    expect(first.map((e) => (JSON.parse(e.data) as { id: string }).id)).to.deep.equal(['mv-1', 'mv-2']);
    // resume after the first event; a push while connected arrives live
    const resumed = await readSse(
      url,
      { authorization: `Bearer ${keys.readKey}`, 'last-event-id': first[0]!.id! },
      2,
      async () => {
        await pushResources(hub, id, keys.pushKey, [milking(3)]);
      },
    );
    expect(resumed.map((e) => (JSON.parse(e.data) as { id: string }).id)).to.deep.equal(['mv-2', 'mv-3']);
  });

  it('when /resources is read, then live resources come in key order, paged with from tokens, deletes left out', async () => {
    const { id, keys } = await fresh();
    await pushResources(
      hub,
      id,
      keys.pushKey,
      Array.from({ length: 25 }, (_, i) => milking(i)),
    );
    await pushResources(hub, id, keys.pushKey, [
      milking(3, undefined, { meta: { source: 'com.example.robot', sourceId: 'mv-3', isDeleted: true } }),
    ]);
    const seen: string[] = [];
    let from = '';
    for (let page = 0; page < 10; page++) {
      const r = await call(`${hub.url}/datasets/${id}/resources?limit=10${from ? `&from=${from}` : ''}`, {
        token: keys.readKey,
      });
      expect(r.status).to.equal(200);
      const arr = r.json as Array<Record<string, unknown>>;
      const items = arr.slice(1, -1);
      const cont = arr[arr.length - 1]!;
      expect(cont.id).to.equal('@continuation');
      if (items.length === 0) break;
      seen.push(...items.map((x) => String(x.id)));
      from = String(cont.token);
    }
    expect(seen).to.have.length(24);
    expect(seen).to.not.include('mv-3');
    expect(seen).to.deep.equal([...seen].sort());
    const since = (
      (await call(`${hub.url}/datasets/${id}/resources`, { token: keys.readKey })).json as Array<
        Record<string, unknown>
      >
    ).at(-1)!.since as string;
    expect((await readChanges(hub, id, keys.readKey, `since=${since}`)).items).to.deep.equal([]);
  });

  it('when one resource is asked by source and sourceId, then it comes back; deleted or unknown ones are 404', async () => {
    const { id, keys } = await fresh();
    const r = milking(1, 'com.example/odd source');
    await pushResources(hub, id, keys.pushKey, [r, milking(2)]);
    const got = await call(
      `${hub.url}/datasets/${id}/resources/${encodeURIComponent('com.example/odd source')}/mv-1`,
      { token: keys.readKey },
    );
    expect(got.status).to.equal(200);
    expect(got.json).to.deep.equal(r);
    expect(
      (await call(`${hub.url}/datasets/${id}/resources/nope/mv-1`, { token: keys.readKey })).status,
    ).to.equal(404);
    await pushResources(hub, id, keys.pushKey, [
      milking(2, undefined, { meta: { source: 'com.example.robot', sourceId: 'mv-2', isDeleted: true } }),
    ]);
    const gone = await call(`${hub.url}/datasets/${id}/resources/com.example.robot/mv-2`, {
      token: keys.readKey,
    });
    expect(gone.status).to.equal(404);
    expect((gone.json as ErrorBody).error.code).to.equal('RESOURCE_NOT_FOUND');
  });

  it('when the hub restarts, then data, sequence and tokens survive', async () => {
    const own = await startTestHub();
    try {
      const id = uniqueId('restart');
      const keys = await createDataset(own, id);
      await pushResources(own, id, keys.pushKey, [milking(1), milking(2)]);
      const token = (await readChanges(own, id, keys.readKey)).token;
      const again = await own.restart();
      await pushResources(again, id, keys.pushKey, [milking(3)]);
      const r = await readChanges(again, id, keys.readKey, `since=${token}`);
      expect(r.headers.get('icar-full-sync')).to.equal(null);
      expect(r.items.map((x) => x.id)).to.deep.equal(['mv-3']);
      const d = (await call(`${again.url}/datasets/${id}`, { token: keys.readKey })).json as {
        lastSeq: number;
        count: number;
      };
      expect(d).to.include({ lastSeq: 3, count: 3 });
      await again.close();
    } catch (err) {
      await own.close().catch(() => undefined);
      throw err;
    }
  });

  // the older copy is a copy of the LevelDB directory; a PostgreSQL restore is the DBA's tooling
  if (TEST_ENGINE === 'leveldb')
    it('when a token is beyond the last change (data restored from an older copy), then 400', async function () {
      const dir = tempDir();
      let own = await startTestHub({}, dir);
      const id = uniqueId('restore');
      const keys = await createDataset(own, id);
      await pushResources(own, id, keys.pushKey, [milking(1)]);
      await own.running.close();
      const backup = tempDir();
      cpSync(dir, backup, { recursive: true });
      own = await startTestHub({}, dir);
      await pushResources(own, id, keys.pushKey, [milking(2), milking(3)]);
      const ahead = (await readChanges(own, id, keys.readKey)).token;
      await own.close();
      const restored = await startTestHub({}, backup);
      try {
        const r = await call(`${restored.url}/datasets/${id}/changes?since=${ahead}`, {
          token: keys.readKey,
        });
        expect(r.status).to.equal(400);
        expect((r.json as ErrorBody).error.code).to.equal('INVALID_TOKEN');
      } finally {
        await restored.close();
      }
    });
});
