import { expect } from 'chai';
import { createDataset, milking, pushResources, uniqueId } from './helpers/data.js';
import { call, parseNdjson } from './helpers/http.js';
import { startTestHub, type TestHub } from './helpers/hub.js';
import { waitFor } from './helpers/poll.js';

type Json = Record<string, unknown>;

/** A hub's current state of a dataset, as the resources it holds, in key order. */
async function state(hub: TestHub, id: string): Promise<Json[]> {
  const r = await call(`${hub.url}/datasets/${id}/resources?format=ndjson`, { token: hub.adminToken });
  expect(r.status).to.equal(200);
  return (parseNdjson(r.text) as Json[]).slice(1, -1);
}

async function forwarding(hub: TestHub, id: string): Promise<Json & { lastSeq: number; forwarding: Json }> {
  return (await call(`${hub.url}/datasets/${id}`, { token: hub.adminToken })).json as Json & {
    lastSeq: number;
    forwarding: Json;
  };
}

const deleted = (r: Json): Json => ({ ...r, meta: { ...(r.meta as object), isDeleted: true } });

describe('hub-to-hub sync (docs/operations.md#forwarding)', () => {
  let farm: TestHub;
  let cloud: TestHub;

  beforeEach(async () => {
    cloud = await startTestHub();
    farm = await startTestHub({ opsRetryMaxMs: 300 });
  });
  afterEach(async () => {
    await farm.close();
    await cloud.close();
  });

  it('when the cloud hub is stopped mid-sync and the farm hub restarts meanwhile, then the cloud still ends equal to the farm', async () => {
    const cloudId = uniqueId('cloud');
    const farmId = uniqueId('farm');
    const { pushKey: cloudKey } = await createDataset(cloud, cloudId, {});
    const { pushKey } = await createDataset(farm, farmId, {
      upstream: { url: cloud.url, dataset: cloudId, key: cloudKey },
    });
    for (let b = 0; b < 4; b++) {
      const batch = Array.from({ length: 300 }, (_, i) => milking(b * 300 + i));
      expect((await pushResources(farm, farmId, pushKey, batch)).status).to.equal(200);
    }
    await waitFor('the first changes upstream', async () => {
      const d = (await call(`${cloud.url}/datasets/${cloudId}`, { token: cloud.adminToken })).json as Json;
      return Number(d.lastSeq) > 0 ? true : undefined;
    });

    // the uplink goes down: the cloud stops (its data stays), the farm keeps receiving
    const cloudPort = cloud.running.port;
    const cloudDir = cloud.dataDir;
    await cloud.running.close();
    await pushResources(
      farm,
      farmId,
      pushKey,
      Array.from({ length: 100 }, (_, i) => milking(i, 'com.example.robot', { milkingComplete: false })),
    );
    await pushResources(farm, farmId, pushKey, [deleted(milking(7)), deleted(milking(1100))]);
    const failing = await waitFor('the forwarding error', async () => {
      const d = await forwarding(farm, farmId);
      return d.forwarding.lastError ? d : undefined;
    });
    expect(failing.forwarding.lag).to.be.above(0);
    const acknowledged = failing.forwarding.forwardedSeq;
    expect(acknowledged).to.be.above(0);

    // the farm hub restarts while the cloud is away: it resumes from its stored position
    farm = await farm.restart();
    const resumed = await waitFor('the forwarder to start', async () => {
      const d = await forwarding(farm, farmId);
      return d.forwarding.state !== 'starting' ? d.forwarding : undefined;
    });
    expect(resumed.forwardedSeq).to.equal(acknowledged);
    await pushResources(farm, farmId, pushKey, [milking(5000)]);
    cloud = await startTestHub({ port: cloudPort }, cloudDir);

    const done = await waitFor(
      'the farm to catch up',
      async () => {
        const d = await forwarding(farm, farmId);
        return d.forwarding.lag === 0 && d.forwarding.lastError === null ? d : undefined;
      },
      60_000,
    );
    expect(done.forwarding).to.include({ forwardedSeq: done.lastSeq, dataset: cloudId });
    const [farmState, cloudState] = [await state(farm, farmId), await state(cloud, cloudId)];
    expect(farmState).to.have.length(1200 - 2 + 1);
    expect(cloudState).to.deep.equal(farmState);
  });

  it('when UDA entities (nested, refs, a full sync that deletes) are forwarded, then the cloud lists the same entities with the same prefixes', async () => {
    const cloudId = uniqueId('cloud');
    const farmId = uniqueId('farm');
    const { pushKey: cloudKey } = await createDataset(cloud, cloudId, {});
    const { pushKey } = await createDataset(farm, farmId, {
      upstream: { url: cloud.url, dataset: cloudId, key: cloudKey },
    });
    const context = {
      id: '@context',
      namespaces: {
        _: 'http://data.example.org/props/',
        animal: 'http://data.example.org/animal/',
      },
    };
    const entities = (body: unknown[], headers?: Record<string, string>) =>
      call(`${farm.url}/datasets/${farmId}/entities`, { token: pushKey, body: [context, ...body], headers });
    const first = await entities([
      {
        id: 'animal:1',
        props: { name: 'Bella', calf: { id: 'animal:9', props: { name: 'Tiny' } } },
        refs: { mother: 'animal:7' },
      },
      {
        id: 'animal:2',
        props: { name: 'Dora' },
        refs: { memberOf: ['urn:herd:1', 'http://data.example.org/herd/2'] },
      },
      { id: 'animal:3', props: { name: 'Emma' } },
    ]);
    expect(first.status, first.text).to.equal(200);
    // a full sync that no longer lists animal:3: the farm deletes it, and so must the cloud
    const sync = { 'universal-data-api-full-sync-id': 's1' };
    await entities([{ id: 'animal:1', props: { name: 'Bella II' } }], {
      ...sync,
      'universal-data-api-full-sync-start': 'true',
    });
    const end = await entities(
      [{ id: 'animal:2', props: { name: 'Dora' }, refs: { memberOf: ['urn:herd:1'] } }],
      {
        ...sync,
        'universal-data-api-full-sync-end': 'true',
      },
    );
    expect(end.status, end.text).to.equal(200);

    await waitFor('the farm to catch up', async () => {
      const d = await forwarding(farm, farmId);
      return d.forwarding.lag === 0 && d.lastSeq > 0 ? true : undefined;
    });
    const listing = async (hub: TestHub, id: string) => {
      const r = await call(`${hub.url}/datasets/${id}/entities`, { token: hub.adminToken });
      expect(r.status, r.text).to.equal(200);
      const arr = r.json as Json[];
      return { context: arr[0], items: arr.slice(1, -1).map(({ recorded: _r, ...rest }) => rest) };
    };
    const [f, c] = [await listing(farm, farmId), await listing(cloud, cloudId)];
    expect(f.items.map((e) => e.id)).to.deep.equal(['animal:1', 'animal:2']);
    expect(c).to.deep.equal(f);
  });

  it('when ODS records are pushed and deleted and Obsrv events arrive, then the cloud ends with the same records', async () => {
    const cloudId = uniqueId('cloud');
    const farmId = uniqueId('farm');
    const { pushKey: cloudKey } = await createDataset(cloud, cloudId, { uniqueKeys: ['isbn'] });
    const { pushKey } = await createDataset(farm, farmId, {
      uniqueKeys: ['isbn'],
      upstream: { url: cloud.url, dataset: cloudId, key: cloudKey },
    });
    const ods = (op: string, body: unknown) =>
      call(`${farm.url}/api/push/1.0/${farmId}/books/${op}/?pushkey=${pushKey}`, { body });
    const books = Array.from({ length: 50 }, (_, i) => ({ isbn: `978-${i}`, copies: i }));
    expect((await ods('push', books)).status).to.equal(200);
    expect((await ods('push', { isbn: '978-3', copies: 99 })).status).to.equal(200);
    expect(
      (
        await ods('delete', [
          { isbn: '978-4', copies: 4 },
          { isbn: '978-5', copies: 5 },
        ])
      ).status,
    ).to.equal(200);
    const obsrv = await call(`${farm.url}/v2/data/in/${farmId}`, {
      token: pushKey,
      body: {
        id: 'api.data.in',
        ver: 'v2',
        ts: '2024-05-02T06:11:42Z',
        params: { msgid: 'm-1' },
        data: [
          { isbn: '979-1', copies: 1 },
          { isbn: '979-2', copies: 2 },
        ],
      },
    });
    expect(obsrv.status, obsrv.text).to.equal(200);

    await waitFor('the farm to catch up', async () => {
      const d = await forwarding(farm, farmId);
      return d.forwarding.lag === 0 && d.lastSeq > 0 ? d : undefined;
    });
    // Obsrv events are keyed by msgid:index on the farm and by ODS record id upstream: compare fields
    const fields = async (hub: TestHub, id: string) =>
      (await state(hub, id))
        .map((r) => r.fields as Json)
        .sort((a, b) => String(a.isbn).localeCompare(String(b.isbn)));
    const [f, c] = [await fields(farm, farmId), await fields(cloud, cloudId)];
    expect(f).to.have.length(50);
    expect(f.find((r) => r.isbn === '978-3')).to.deep.equal({ isbn: '978-3', copies: 99 });
    expect(c).to.deep.equal(f);
  });

  it('when the upstream refuses the key, then the forwarder keeps retrying and shows the error, and a fixed key catches up from the same position', async () => {
    const cloudId = uniqueId('cloud');
    const farmId = uniqueId('farm');
    const { pushKey: cloudKey, readKey } = await createDataset(cloud, cloudId, {});
    const upstream = { url: cloud.url, dataset: cloudId, key: readKey };
    const { pushKey } = await createDataset(farm, farmId, { upstream });
    await pushResources(farm, farmId, pushKey, [milking(1), milking(2)]);
    const refused = await waitFor('the refusal', async () => {
      const d = await forwarding(farm, farmId);
      return d.forwarding.lastError ? d.forwarding : undefined;
    });
    expect(refused.lastError).to.match(/HTTP 403/);
    expect(refused).to.include({ lag: 2, forwardedSeq: 0 });
    // the admin view never shows the upstream key
    const admin = (await call(`${farm.url}/datasets/${farmId}`, { token: farm.adminToken })).json as {
      config: { upstream: Json };
    };
    expect(admin.config.upstream.key).to.equal('***');

    await call(`${farm.url}/datasets/${farmId}`, {
      method: 'PUT',
      token: farm.adminToken,
      body: { upstream: { ...upstream, key: cloudKey } },
    });
    await waitFor('the farm to catch up', async () => {
      const d = await forwarding(farm, farmId);
      return d.forwarding.lag === 0 ? true : undefined;
    });
    expect(await state(cloud, cloudId)).to.deep.equal(await state(farm, farmId));
  });

  it('when the config is read back and PUT again with the masked upstream key, then the stored key is kept and forwarding goes on', async () => {
    const cloudId = uniqueId('cloud');
    const farmId = uniqueId('farm');
    const { pushKey: cloudKey } = await createDataset(cloud, cloudId, {});
    const { pushKey } = await createDataset(farm, farmId, {
      upstream: { url: cloud.url, dataset: cloudId, key: cloudKey },
    });
    // read-modify-write, as the console's push toggle does: the key comes back as the mask
    const read = (await call(`${farm.url}/datasets/${farmId}`, { token: farm.adminToken })).json as {
      config: Json;
    };
    expect((read.config.upstream as Json).key).to.equal('***');
    const put = await call(`${farm.url}/datasets/${farmId}`, {
      method: 'PUT',
      token: farm.adminToken,
      body: { ...read.config, title: 'renamed' },
    });
    expect(put.status).to.equal(200);
    await pushResources(farm, farmId, pushKey, [milking(1), milking(2)]);
    await waitFor('the farm to forward with the kept key', async () => {
      const d = await forwarding(farm, farmId);
      return d.forwarding.lag === 0 && d.lastSeq === 2 ? true : undefined;
    });
    expect(await state(cloud, cloudId)).to.have.length(2);
  });

  it('when the farm dataset is recovered into a new epoch, then the forwarder sends the new epoch from its start and the cloud ends equal to the farm', async () => {
    const cloudId = uniqueId('cloud');
    const farmId = uniqueId('farm');
    const { pushKey: cloudKey } = await createDataset(cloud, cloudId, {});
    const { pushKey } = await createDataset(farm, farmId, {
      recovery: true,
      upstream: { url: cloud.url, dataset: cloudId, key: cloudKey },
    });
    // milkingBoxNumber is 1 + i % 4: a schema of boxes 1 and 2 keeps milking(4) and milking(5)
    expect((await pushResources(farm, farmId, pushKey, [milking(4), milking(2)])).status).to.equal(200);
    expect((await pushResources(farm, farmId, pushKey, [milking(5)])).status).to.equal(200);
    await waitFor('the first epoch upstream', async () =>
      (await forwarding(farm, farmId)).forwarding.lag === 0 ? true : undefined,
    );
    expect(await state(cloud, cloudId)).to.have.length(3);
    const schema = { type: 'object', properties: { milkingBoxNumber: { enum: ['1', '2'] } } };
    await call(`${farm.url}/datasets/${farmId}`, {
      method: 'PUT',
      token: farm.adminToken,
      body: { recovery: true, schema, upstream: { url: cloud.url, dataset: cloudId, key: cloudKey } },
    });
    const r = await call(`${farm.url}/datasets/${farmId}/recover`, {
      method: 'POST',
      token: farm.adminToken,
    });
    expect(r.status, r.text).to.equal(200);
    // requests are replayed whole: the first (box 3 in it) is refused, the new epoch holds milking(5)
    expect(r.json).to.include({ rebuilt: true, replayed: 1, skipped: 1, lastSeq: 1 });
    await waitFor('the new epoch forwarded', async () => {
      const d = await forwarding(farm, farmId);
      return d.lastSeq === 1 && d.forwarding.lag === 0 && d.forwarding.forwardedSeq === 1 ? true : undefined;
    });
    expect(await state(cloud, cloudId)).to.deep.equal(await state(farm, farmId));
  });

  it('when a recovery drops UDA entities and ODS records from the farm dataset, then the cloud drops them too (a UDA full sync and ODS deletes upstream)', async () => {
    const cloudId = uniqueId('cloud');
    const farmId = uniqueId('farm');
    const { pushKey: cloudKey } = await createDataset(cloud, cloudId, { uniqueKeys: ['isbn'] });
    const { pushKey } = await createDataset(farm, farmId, {
      recovery: true,
      uniqueKeys: ['isbn'],
      upstream: { url: cloud.url, dataset: cloudId, key: cloudKey },
    });
    const context = {
      id: '@context',
      namespaces: { _: 'http://data.example.org/props/', animal: 'http://data.example.org/animal/' },
    };
    const entities = (body: unknown[]) =>
      call(`${farm.url}/datasets/${farmId}/entities`, { token: pushKey, body: [context, ...body] });
    const books = (body: unknown) =>
      call(`${farm.url}/api/push/1.0/${farmId}/books/push/?pushkey=${pushKey}`, { body });
    const e1 = await entities([{ id: 'animal:1', props: { name: 'Bella' } }]);
    expect(e1.status, e1.text).to.equal(200);
    expect((await books([{ isbn: '978-1', copies: 1 }])).status).to.equal(200);
    await waitFor('the first epoch upstream', async () =>
      (await forwarding(farm, farmId)).forwarding.lag === 0 ? true : undefined,
    );
    expect(await state(cloud, cloudId)).to.have.length(2);
    // the receive log starts again: a recovery rebuilds from what arrives from now on only
    const scratch = await call(`${farm.url}/datasets/${farmId}/recovery`, {
      method: 'DELETE',
      token: farm.adminToken,
    });
    expect(scratch.status).to.equal(204);
    expect((await entities([{ id: 'animal:2', props: { name: 'Dora' } }])).status).to.equal(200);
    expect((await books([{ isbn: '978-2', copies: 2 }])).status).to.equal(200);
    const r = await call(`${farm.url}/datasets/${farmId}/recover`, {
      method: 'POST',
      token: farm.adminToken,
    });
    expect(r.status, r.text).to.equal(200);
    expect(r.json).to.include({ rebuilt: true, lastSeq: 2 });
    await waitFor('the new epoch forwarded', async () => {
      const d = await forwarding(farm, farmId);
      return d.lastSeq === 2 && d.forwarding.forwardedSeq === 2 && d.forwarding.lag === 0 ? true : undefined;
    });
    const keys = (items: Json[]) =>
      items.map((i) => (i.recordid ? `record ${String((i.fields as Json).isbn)}` : `entity ${String(i.id)}`));
    const [f, c] = [await state(farm, farmId), await state(cloud, cloudId)];
    expect(keys(f)).to.have.members(['entity animal:2', 'record 978-2']);
    expect(keys(c)).to.have.members(keys(f));
  });

  it('when the upstream is changed to another dataset, then the new upstream gets everything from the start', async () => {
    const firstId = uniqueId('cloud');
    const secondId = uniqueId('cloud');
    const farmId = uniqueId('farm');
    const first = await createDataset(cloud, firstId, {});
    const second = await createDataset(cloud, secondId, {});
    const { pushKey } = await createDataset(farm, farmId, {
      upstream: { url: cloud.url, dataset: firstId, key: first.pushKey },
    });
    await pushResources(farm, farmId, pushKey, [milking(1), milking(2)]);
    await waitFor('the first upstream', async () =>
      (await state(cloud, firstId)).length === 2 ? true : undefined,
    );
    const put = await call(`${farm.url}/datasets/${farmId}`, {
      method: 'PUT',
      token: farm.adminToken,
      body: { upstream: { url: cloud.url, dataset: secondId, key: second.pushKey } },
    });
    expect(put.status).to.equal(200);
    await pushResources(farm, farmId, pushKey, [milking(3)]);
    await waitFor('the second upstream', async () =>
      (await state(cloud, secondId)).length === 3 ? true : undefined,
    );
    expect(await state(cloud, secondId)).to.deep.equal(await state(farm, farmId));
  });
});
