import { expect } from 'chai';
import { createDataset, milking, pushResources, readChanges, uniqueId } from './helpers/data.js';
import { call } from './helpers/http.js';
import { startTestHub, type TestHub } from './helpers/hub.js';
import { liveRecords } from './ops-schedule.test.js';
import { fakeServer, type FakeServer } from './helpers/fake-server.js';
import { waitFor } from './helpers/poll.js';

type Json = Record<string, unknown>;

const recover = (hub: TestHub, id: string, token = hub.adminToken) =>
  call(`${hub.url}/datasets/${id}/recover`, { method: 'POST', token });

async function dataset(hub: TestHub, id: string): Promise<Json> {
  return (await call(`${hub.url}/datasets/${id}`, { token: hub.adminToken })).json as Json;
}

const deleted = (r: Record<string, unknown>) => ({
  ...r,
  meta: { ...(r.meta as object), isDeleted: true },
});

describe('recovery from the receive log (docs/operations.md#recovery)', () => {
  let hub: TestHub;
  let remote: FakeServer;
  let csv = '';

  before(async () => {
    hub = await startTestHub();
    remote = await fakeServer((_req, res) => res.writeHead(200, { 'content-type': 'text/csv' }).end(csv));
  });
  after(async () => {
    await hub.close();
    await remote.close();
  });

  it('when the schema is tightened and the dataset recovered, then a new epoch holds what passes, old tokens get a full sync, and refused requests are counted', async () => {
    const id = uniqueId('rec');
    const { pushKey, readKey } = await createDataset(hub, id, {});
    // milkingBoxNumber is 1 + i % 4: milking(2) is in box 3
    expect((await pushResources(hub, id, pushKey, [milking(1), milking(2)])).status).to.equal(200);
    expect((await pushResources(hub, id, pushKey, [milking(4)])).status).to.equal(200);
    expect(
      (await pushResources(hub, id, pushKey, [milking(5, 'com.example.robot', { milkingDuration: 1 })]))
        .status,
    ).to.equal(200);
    expect((await pushResources(hub, id, pushKey, [deleted(milking(4))])).status).to.equal(200);
    const before = await readChanges(hub, id, readKey);
    expect(before.items).to.have.length(5);

    const schema = {
      type: 'object',
      properties: { milkingBoxNumber: { enum: ['1', '2'] }, milkingDuration: { type: 'object' } },
    };
    await call(`${hub.url}/datasets/${id}`, { method: 'PUT', token: hub.adminToken, body: { schema } });
    const r = await recover(hub, id);
    expect(r.status).to.equal(200);
    expect(r.json).to.include({ status: 'OK', rebuilt: true, replayed: 2, skipped: 2, count: 0, lastSeq: 2 });
    const reasons = (r.json as { skippedReasons: Json[] }).skippedReasons;
    expect(reasons.map((x) => x.entry)).to.deep.equal([1, 3]);
    expect(String(reasons[0]!.message)).to.match(/schema/);

    const stale = await readChanges(hub, id, readKey, `since=${before.token}`);
    expect(stale.headers.get('icar-full-sync')).to.equal('true');
    expect(stale.items.map((x) => (x.meta as Json).sourceId)).to.deep.equal(['mv-4', 'mv-4']);
    expect(stale.items.map((x) => (x.meta as Json).isDeleted ?? false)).to.deep.equal([false, true]);
    // pushes after a recovery land in the new epoch as usual
    expect((await pushResources(hub, id, pushKey, [milking(8)])).status).to.equal(200);
    expect(await dataset(hub, id)).to.include({ count: 1, lastSeq: 3 });
  });

  it('when uniqueKeys is set after ODS pushes and the dataset recovered, then the records of one key merge into the last one pushed', async () => {
    const id = uniqueId('rec');
    const { pushKey, readKey } = await createDataset(hub, id, {});
    const push = (body: unknown) =>
      call(`${hub.url}/api/push/1.0/${id}/books/push/?pushkey=${pushKey}`, { body });
    // without unique keys every distinct record is its own: two versions of one book
    expect(
      (
        await push([
          { isbn: '978-0060589462', copies: 3 },
          { isbn: '978-2862744506', copies: 5 },
        ])
      ).status,
    ).to.equal(200);
    expect((await push({ isbn: '978-0060589462', copies: 2 })).status).to.equal(200);
    expect(await dataset(hub, id)).to.include({ count: 3 });
    const before = await readChanges(hub, id, readKey);

    await call(`${hub.url}/datasets/${id}`, {
      method: 'PUT',
      token: hub.adminToken,
      body: { uniqueKeys: ['isbn'] },
    });
    const r = await recover(hub, id);
    expect(r.json).to.include({ status: 'OK', rebuilt: true, replayed: 2, skipped: 0, count: 2 });
    expect(await liveRecords(hub, id, 'isbn')).to.deep.equal([
      { isbn: '978-0060589462', copies: 2 },
      { isbn: '978-2862744506', copies: 5 },
    ]);
    const stale = await readChanges(hub, id, readKey, `since=${before.token}`);
    expect(stale.headers.get('icar-full-sync')).to.equal('true');
    // pushes after the recovery follow the new keys: the same book is replaced, not added
    await push({ isbn: '978-2862744506', copies: 4 });
    expect(await dataset(hub, id)).to.include({ count: 2 });
  });

  it('when uniqueKeys is set after a scheduled pull and the dataset recovered, then the pulled records with the same key merge (the last row wins)', async () => {
    const id = uniqueId('rec');
    // a book listed twice: without unique keys, every distinct row is a record of its own
    csv = 'isbn,copies\n978-0060589462,3\n978-2862744506,5\n978-0060589462,2\n';
    await createDataset(hub, id, {
      schedule: { url: `${remote.url}/books.csv`, format: 'csv', everyMinutes: 60 },
    });
    await waitFor('the first pull', async () => ((await dataset(hub, id)).count === 3 ? true : undefined));

    // the remote now fails: what the dataset becomes is the recovery's doing, not a new pull
    csv = '';
    await call(`${hub.url}/datasets/${id}`, {
      method: 'PUT',
      token: hub.adminToken,
      body: { uniqueKeys: ['isbn'] },
    });
    const r = await recover(hub, id);
    expect(r.status).to.equal(200);
    expect(r.json).to.include({ replayed: 1, skipped: 0, count: 2 });
    expect(await liveRecords(hub, id, 'isbn')).to.deep.equal([
      { isbn: '978-0060589462', copies: '2' },
      { isbn: '978-2862744506', copies: '5' },
    ]);
  });

  it('when the receive log is scratched, then a recover leaves the dataset as it is, and requests after it start a new log', async () => {
    const id = uniqueId('rec');
    const { pushKey, readKey } = await createDataset(hub, id, {});
    await pushResources(hub, id, pushKey, [milking(1), milking(2)]);
    const scratch = await call(`${hub.url}/datasets/${id}/recovery`, {
      method: 'DELETE',
      token: hub.adminToken,
    });
    expect(scratch.status).to.equal(204);
    const before = await readChanges(hub, id, readKey);

    const empty = await recover(hub, id);
    expect(empty.json).to.include({ rebuilt: false, replayed: 0, count: 2, lastSeq: 2 });
    const same = await readChanges(hub, id, readKey, `since=${before.token}`);
    expect(same.headers.get('icar-full-sync')).to.equal(null);

    await pushResources(hub, id, pushKey, [milking(3)]);
    const r = await recover(hub, id);
    // only what the log holds: the request after the scratch
    expect(r.json).to.include({ rebuilt: true, replayed: 1, count: 1 });
  });

  it('when the receive log holds an entry that is not JSON, then recovery skips it, says why, and replays the rest', async () => {
    const id = uniqueId('rec');
    const { pushKey } = await createDataset(hub, id, {});
    await pushResources(hub, id, pushKey, [milking(1)]);
    // a damaged entry, written into the real store's receive log as a torn disk block would leave it
    await hub.running.hub.store.append(id, { writes: [], journal: '{"protocol":"icar","bo' });
    await pushResources(hub, id, pushKey, [milking(2)]);
    const r = await recover(hub, id);
    expect(r.status, r.text).to.equal(200);
    expect(r.json).to.include({ rebuilt: true, replayed: 2, skipped: 1, count: 2 });
    const reasons = (r.json as { skippedReasons: Json[] }).skippedReasons;
    expect(reasons).to.deep.equal([{ entry: 2, message: 'the journal entry is not JSON' }]);
  });

  it('when the receive log holds a protocol this hub cannot replay, then recovery is refused and the dataset keeps its epoch and data', async () => {
    const id = uniqueId('rec');
    const { pushKey, readKey } = await createDataset(hub, id, {});
    await pushResources(hub, id, pushKey, [milking(1), milking(2)]);
    await hub.running.hub.store.append(id, {
      writes: [],
      journal: '{"protocol":"carrier-pigeon","body":"[]"}',
    });
    const before = await readChanges(hub, id, readKey);
    const r = await recover(hub, id);
    expect(r.status, r.text).to.be.within(400, 499);
    expect((r.json as { error: Json }).error.code).to.equal('RECOVERY_UNSUPPORTED');
    const same = await readChanges(hub, id, readKey, `since=${before.token}`);
    expect(same.headers.get('icar-full-sync'), 'no new epoch').to.equal(null);
    expect(await dataset(hub, id)).to.include({ count: 2, lastSeq: 2 });
    // pushes go on as before
    expect((await pushResources(hub, id, pushKey, [milking(3)])).status).to.equal(200);
  });

  it('when the dataset does not exist, then recover is 404', async () => {
    const r = await recover(hub, uniqueId('missing'));
    expect(r.status).to.equal(404);
    expect((r.json as { error: Json }).error.code).to.equal('DATASET_NOT_FOUND');
  });

  it('when recovery is off, then nothing is logged and recover is 409 RECOVERY_DISABLED', async () => {
    const id = uniqueId('rec');
    const { pushKey } = await createDataset(hub, id, { recovery: false });
    await pushResources(hub, id, pushKey, [milking(1)]);
    const r = await recover(hub, id);
    expect(r.status).to.equal(409);
    expect((r.json as { error: Json }).error.code).to.equal('RECOVERY_DISABLED');
    await call(`${hub.url}/datasets/${id}`, { method: 'PUT', token: hub.adminToken, body: {} });
    expect((await recover(hub, id)).json).to.include({ rebuilt: false, count: 1 });
  });

  it('when a dataset key or no credential calls the recovery routes, then 403 or 401 and nothing changes', async () => {
    const id = uniqueId('rec');
    const { pushKey } = await createDataset(hub, id, {});
    await pushResources(hub, id, pushKey, [milking(1)]);
    expect((await recover(hub, id, pushKey)).status).to.equal(403);
    expect((await call(`${hub.url}/datasets/${id}/recover`, { method: 'POST' })).status).to.equal(401);
    expect(
      (await call(`${hub.url}/datasets/${id}/recovery`, { method: 'DELETE', token: pushKey })).status,
    ).to.equal(403);
    expect((await recover(hub, uniqueId('nope'))).status).to.equal(404);
    expect((await recover(hub, id)).json).to.include({ rebuilt: true, replayed: 1, count: 1 });
  });
});
