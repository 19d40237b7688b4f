import { expect } from 'chai';
import { gzipSync } from 'node:zlib';
import {
  CONTEXT,
  createDataset,
  milking,
  pushResources,
  readChanges,
  uniqueId,
  type DatasetKeys,
} from './helpers/data.js';
import { call, rawRequest } from './helpers/http.js';
import { startTestHub, type TestHub } from './helpers/hub.js';

interface ErrorBody {
  error: { code: string; message: string; index?: number };
}

describe('ICAR push (docs/icar.md#push)', () => {
  let hub: TestHub;
  before(async () => {
    hub = await startTestHub();
  });
  after(() => hub.close());

  async function fresh(): Promise<{ id: string; keys: DatasetKeys }> {
    const id = uniqueId('icar');
    return { id, keys: await createDataset(hub, id) };
  }

  async function lastSeq(id: string): Promise<number> {
    const r = await call(`${hub.url}/datasets/${id}`, { token: hub.adminToken });
    return (r.json as { lastSeq: number }).lastSeq;
  }

  it('when a batch is pushed, then 200 counts it and the feed holds the resources in push order, as pushed', async () => {
    const { id, keys } = await fresh();
    const resources = [milking(1), milking(2), milking(3)];
    const r = await pushResources(hub, id, keys.pushKey, resources);
    expect(r.status).to.equal(200);
    expect(r.json).to.deep.equal({ status: 'OK', received: 3, changes: 3 });
    const feed = await readChanges(hub, id, keys.readKey);
    expect(feed.context).to.deep.equal(CONTEXT);
    expect(feed.items).to.deep.equal(resources);
  });

  it('when the ICAR spelling /dataset/{id}/resources is used, then it stores like /datasets/{id}/resources', async () => {
    const { id, keys } = await fresh();
    const r = await call(`${hub.url}/dataset/${id}/resources`, {
      token: keys.pushKey,
      body: [CONTEXT, milking(7)],
    });
    expect(r.status).to.equal(200);
    expect((await readChanges(hub, id, keys.readKey)).items).to.have.length(1);
  });

  it('when one resource of a batch is invalid, then 400 names its index and nothing of the batch is stored', async () => {
    const { id, keys } = await fresh();
    const bad = milking(3);
    delete (bad.meta as Record<string, unknown>).sourceId;
    const r = await pushResources(hub, id, keys.pushKey, [milking(1), milking(2), bad, milking(4)]);
    expect(r.status).to.equal(400);
    const body = r.json as ErrorBody;
    expect(body.error.code).to.equal('INVALID_RESOURCE');
    expect(body.error.index).to.equal(3);
    expect(body.error.message).to.include('sourceId');
    expect(await lastSeq(id)).to.equal(0);
    expect((await readChanges(hub, id, keys.readKey)).items).to.deep.equal([]);
  });

  it('when the body breaks the ICAR shape, then each case is a 400 with the element index', async () => {
    const { id, keys } = await fresh();
    const noType = milking(1);
    delete noType.resourceType;
    const cases: Array<[unknown, number]> = [
      [[], 0],
      [{ id: '@context' }, 0],
      [[milking(1)], 0],
      [[CONTEXT, { id: '@continuation', token: 'x' }], 1],
      [[CONTEXT, noType], 1],
      [[CONTEXT, milking(1), 42], 2],
      [[CONTEXT, { ...milking(1), meta: 'x' }], 1],
      [[CONTEXT, { ...milking(1), meta: { source: 'a', sourceId: 'b', isDeleted: 'yes' } }], 1],
      [[CONTEXT, { ...milking(1), meta: { source: '', sourceId: 'b' } }], 1],
      [[{ id: '@context', namespaces: { x: 5 } }, milking(1)], 0],
      [[CONTEXT, milking(1), CONTEXT], 2],
    ];
    for (const [body, index] of cases) {
      const r = await call(`${hub.url}/datasets/${id}/resources`, { token: keys.pushKey, body });
      expect(r.status, JSON.stringify(body).slice(0, 80)).to.equal(400);
      expect((r.json as ErrorBody).error.index, JSON.stringify(body).slice(0, 80)).to.equal(index);
    }
    expect(await lastSeq(id)).to.equal(0);
  });

  it('when the same resources are pushed again, even with keys in another order, then no change is made', async () => {
    const { id, keys } = await fresh();
    const a = milking(1);
    await pushResources(hub, id, keys.pushKey, [a, milking(2)]);
    const reordered = Object.fromEntries(Object.entries(a).reverse());
    const again = await pushResources(hub, id, keys.pushKey, [reordered, milking(2)]);
    expect(again.json).to.deep.equal({ status: 'OK', received: 2, changes: 0 });
    const changed = await pushResources(hub, id, keys.pushKey, [
      { ...a, milkingComplete: false },
      milking(2),
    ]);
    expect(changed.json).to.deep.equal({ status: 'OK', received: 2, changes: 1 });
    expect(await lastSeq(id)).to.equal(3);
  });

  it('when a resource is deleted with meta.isDeleted, then the feed carries the delete once and the count drops', async () => {
    const { id, keys } = await fresh();
    await pushResources(hub, id, keys.pushKey, [milking(1), milking(2)]);
    const del = milking(1, undefined, {
      meta: { source: 'com.example.robot', sourceId: 'mv-1', isDeleted: true },
    });
    expect((await pushResources(hub, id, keys.pushKey, [del])).json).to.include({ changes: 1 });
    expect((await pushResources(hub, id, keys.pushKey, [del])).json).to.include({ changes: 0 });
    const feed = await readChanges(hub, id, keys.readKey);
    expect(feed.items).to.have.length(3);
    expect(feed.items[2]).to.deep.equal(del);
    const d = (await call(`${hub.url}/datasets/${id}`, { token: keys.readKey })).json as { count: number };
    expect(d.count).to.equal(1);
    // a delete of a key never seen has nothing to delete
    const ghost = milking(99, undefined, { meta: { source: 'x', sourceId: 'never', isDeleted: true } });
    expect((await pushResources(hub, id, keys.pushKey, [ghost])).json).to.include({
      received: 1,
      changes: 0,
    });
  });

  it('when the body is not JSON or not UTF-8, then 400 with a stable code and nothing stored', async () => {
    const { id, keys } = await fresh();
    const url = `${hub.url}/datasets/${id}/resources`;
    const cases: Array<[string | Uint8Array, string]> = [
      ['[{"id":"@context"},', 'INVALID_JSON'],
      ['', 'INVALID_JSON'],
      [new Uint8Array([0x5b, 0xff, 0xfe, 0x5d]), 'INVALID_UTF8'],
      ['['.repeat(10_000) + ']'.repeat(10_000), 'JSON_TOO_DEEP'],
    ];
    for (const [raw, code] of cases) {
      const r = await call(url, {
        token: keys.pushKey,
        raw,
        headers: { 'content-type': 'application/json' },
      });
      expect(r.status).to.equal(400);
      expect((r.json as ErrorBody).error.code).to.equal(code);
    }
    expect(await lastSeq(id)).to.equal(0);
  });

  it('when the body is gzip-encoded, then it is accepted; when the gzip is corrupt, then 400', async () => {
    const { id, keys } = await fresh();
    const body = gzipSync(JSON.stringify([CONTEXT, milking(1), milking(2)]));
    const ok = await call(`${hub.url}/datasets/${id}/resources`, {
      token: keys.pushKey,
      raw: body,
      headers: { 'content-encoding': 'gzip', 'content-type': 'application/json' },
    });
    expect(ok.status).to.equal(200);
    expect(ok.json).to.include({ changes: 2 });
    const corrupt = Buffer.from(body);
    corrupt.fill(0x41, 10, 30);
    const bad = await call(`${hub.url}/datasets/${id}/resources`, {
      token: keys.pushKey,
      raw: corrupt,
      headers: { 'content-encoding': 'gzip' },
    });
    expect(bad.status).to.equal(400);
    expect((bad.json as ErrorBody).error.code).to.equal('INVALID_GZIP');
    expect(await lastSeq(id)).to.equal(2);
  });

  it('when the body is 5 MiB + 1 byte, then 413 and nothing stored; a gzip bomb is a 413 too', async () => {
    const { id, keys } = await fresh();
    const limit = 5 * 1024 * 1024;
    const prefix = JSON.stringify([CONTEXT, milking(1)]).slice(0, -1) + ',';
    const filler = JSON.stringify({ ...milking(2), pad: '' });
    const padLen = limit + 1 - prefix.length - filler.length - 1;
    const big = prefix + JSON.stringify({ ...milking(2), pad: 'x'.repeat(padLen) }) + ']';
    expect(Buffer.byteLength(big)).to.equal(limit + 1);
    const r = await rawRequest(`${hub.url}/datasets/${id}/resources`, {
      headers: {
        authorization: `Bearer ${keys.pushKey}`,
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(big),
      },
      body: big,
    });
    expect(r.status).to.equal(413);
    expect((JSON.parse(r.text) as ErrorBody).error.code).to.equal('PAYLOAD_TOO_LARGE');

    // the same bytes sent chunked (no Content-Length): decided while reading
    const chunked = await rawRequest(`${hub.url}/datasets/${id}/resources`, {
      headers: { authorization: `Bearer ${keys.pushKey}`, 'transfer-encoding': 'chunked' },
      chunks: [Buffer.from(big.slice(0, limit / 2)), Buffer.from(big.slice(limit / 2))],
    });
    expect(chunked.status).to.equal(413);

    const bomb = gzipSync(Buffer.alloc(50 * 1024 * 1024, 0x20));
    expect(bomb.length).to.be.lessThan(limit);
    const b = await rawRequest(`${hub.url}/datasets/${id}/resources`, {
      headers: {
        authorization: `Bearer ${keys.pushKey}`,
        'content-encoding': 'gzip',
        'content-length': bomb.length,
      },
      body: bomb,
    });
    expect(b.status).to.equal(413);
    expect(await lastSeq(id)).to.equal(0);
    // exactly at the limit is accepted
    const atLimit = prefix + JSON.stringify({ ...milking(2), pad: 'x'.repeat(padLen - 1) }) + ']';
    expect(Buffer.byteLength(atLimit)).to.equal(limit);
    const ok = await call(`${hub.url}/datasets/${id}/resources`, { token: keys.pushKey, raw: atLimit });
    expect(ok.status).to.equal(200);
  });

  it('when two clients push 1,000 resources each concurrently, then there are 2,000 changes, each client in its own order, with no gaps', async () => {
    const { id, keys } = await fresh();
    const client = async (name: string): Promise<void> => {
      for (let b = 0; b < 50; b++) {
        const batch = Array.from({ length: 20 }, (_, i) => milking(b * 20 + i, `client.${name}`));
        const r = await pushResources(hub, id, keys.pushKey, batch);
        expect(r.status).to.equal(200);
      }
    };
    // the two clients' requests interleave and share group commits
    await Promise.all([client('a'), client('b')]);
    expect(await lastSeq(id)).to.equal(2000);
    const feed = await readChanges(hub, id, keys.readKey);
    expect(feed.items).to.have.length(2000);
    for (const name of ['a', 'b']) {
      const ids = feed.items
        .filter((r) => (r.meta as { source: string }).source === `client.${name}`)
        .map((r) => r.id);
      expect(ids).to.deep.equal(Array.from({ length: 1000 }, (_, i) => `mv-${i}`));
    }
  });

  it('when many concurrent requests hit one dataset, then every acknowledged resource is in the feed exactly once', async () => {
    const { id, keys } = await fresh();
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, c) =>
        pushResources(hub, id, keys.pushKey, [milking(c, `c${c}`), milking(c + 1000, `c${c}`)]),
      ),
    );
    expect(results.every((r) => r.status === 200)).to.equal(true);
    const feed = await readChanges(hub, id, keys.readKey);
    const seen = feed.items.map((r) => `${(r.meta as { source: string }).source}/${String(r.id)}`);
    expect(new Set(seen).size).to.equal(80);
    expect(seen).to.have.length(80);
  });
  it('when concurrent requests push the same keys, alternating two versions, then each request changes all of its keys or none, and no key records the same version twice in a row', async () => {
    const { id, keys } = await fresh();
    const KEYS = 50;
    const version = (v: number) =>
      Array.from({ length: KEYS }, (_, i) => milking(i, 'com.example.robot', { v }));
    // requests queue behind each other's group commits: their heads are read while earlier
    // groups writing the same keys are in flight, and must still decide against the latest version
    const results = await Promise.all(
      Array.from({ length: 120 }, (_, r) => pushResources(hub, id, keys.pushKey, version(r % 2))),
    );
    const changes = results.map((r) => {
      expect(r.status).to.equal(200);
      return (r.json as { changes: number }).changes;
    });
    for (const c of changes) expect([0, KEYS]).to.include(c);
    const total = changes.reduce((a, b) => a + b, 0);
    expect(await lastSeq(id)).to.equal(total);
    const feed = await readChanges(hub, id, keys.readKey);
    expect(feed.items).to.have.length(total);
    const versions = new Map<string, number[]>();
    for (const r of feed.items) {
      const k = String(r.id);
      versions.set(k, [...(versions.get(k) ?? []), r.v as number]);
    }
    expect(versions.size).to.equal(KEYS);
    for (const vs of versions.values()) {
      for (let i = 1; i < vs.length; i++) expect(vs[i]).to.not.equal(vs[i - 1]);
    }
  });
});
