import { expect } from 'chai';
import { createDataset, uniqueId } from './helpers/data.js';
import { startTestHub, TEST_ENGINE, type TestHub } from './helpers/hub.js';
import { eventually } from './helpers/poll.js';
import { envelope, figures, ingest, telemetry, type ObsrvErrorBody } from './helpers/obsrv.js';

describe(`Obsrv batch extraction and dedup window (${TEST_ENGINE})`, () => {
  let hub: TestHub;
  before(async () => {
    hub = await startTestHub();
  });
  after(() => hub.close());

  const stored = async (id: string, key: string) => {
    const c = await hub.running.hub.store.get(id, key);
    return c === undefined ? undefined : (JSON.parse(c.doc) as Record<string, unknown>);
  };

  const batchEvent = (id: string, events: object[]) => ({ id, producer: 'sensor-gw', events });

  it('when a dataset has extraction_config with is_batch_event, then one event holding an array at extraction_key is stored as its events', async () => {
    const id = uniqueId();
    const { pushKey } = await createDataset(hub, id, {
      extraction_config: { is_batch_event: true, extraction_key: 'events' },
    });
    const r = await ingest(
      hub,
      id,
      pushKey,
      envelope(batchEvent('b-1', [telemetry(1), telemetry(2), telemetry(3)]), 'extract-1'),
    );
    expect(r.status, r.text).to.equal(200);
    expect(await figures(hub, id)).to.deep.equal({ lastSeq: 3, count: 3 });
    for (const i of [0, 1, 2]) expect(await stored(id, `extract-1:${i}`)).to.deep.equal(telemetry(i + 1));
    // a batch of batches: the events of every batch, in order
    const two = await ingest(
      hub,
      id,
      pushKey,
      envelope(
        [batchEvent('b-2', [telemetry(4)]), batchEvent('b-3', [telemetry(5), telemetry(6)])],
        'extract-2',
      ),
    );
    expect(two.status, two.text).to.equal(200);
    expect(await stored(id, 'extract-2:2')).to.deep.equal(telemetry(6));
    expect((await figures(hub, id)).count).to.equal(6);
  });

  it('when extraction_key is a dotted path and batch_id names the batch, then the batch sent again under another msgid adds nothing', async () => {
    const id = uniqueId();
    const { pushKey } = await createDataset(hub, id, {
      extraction_config: { is_batch_event: true, extraction_key: 'payload.items', batch_id: 'batch.id' },
    });
    const batch = { batch: { id: 'B-77' }, payload: { items: [telemetry(1), telemetry(2)] } };
    expect((await ingest(hub, id, pushKey, envelope(batch, 'first'))).status).to.equal(200);
    expect(await stored(id, 'batch:B-77:1')).to.deep.equal(telemetry(2));
    const again = await ingest(hub, id, pushKey, envelope(batch, 'second'));
    expect(again.status, again.text).to.equal(200);
    expect(await figures(hub, id)).to.deep.equal({ lastSeq: 2, count: 2 });
  });

  it('when a batch event has no array at extraction_key, then 400 naming its index, and nothing of the request is stored', async () => {
    const id = uniqueId();
    const { pushKey } = await createDataset(hub, id, {
      extraction_config: { is_batch_event: true, extraction_key: 'events' },
    });
    for (const bad of [{ events: 'nope' }, { other: [] }, { events: [telemetry(1), 7] }]) {
      const r = await ingest(
        hub,
        id,
        pushKey,
        envelope([batchEvent('ok', [telemetry(0)]), bad], 'bad-batch'),
      );
      expect(r.status, r.text).to.equal(400);
      const body = r.json as ObsrvErrorBody;
      expect(body.error.code).to.equal('DATA_INGESTION_INVALID_INPUT');
      expect(body.error.index).to.equal(1);
      expect(body.params.msgid).to.equal('bad-batch');
    }
    expect((await figures(hub, id)).lastSeq).to.equal(0);
  });

  it('when extraction and a dataset schema are both set, then every extracted event is checked against the schema', async () => {
    const id = uniqueId();
    const { pushKey } = await createDataset(hub, id, {
      extraction_config: { is_batch_event: true },
      schema: { type: 'object', required: ['mid'] },
    });
    const r = await ingest(hub, id, pushKey, envelope(batchEvent('b', [telemetry(1), { eid: 'no-mid' }])));
    expect(r.status, r.text).to.equal(400);
    expect((await figures(hub, id)).lastSeq).to.equal(0);
  });

  it('when dedup_config drops duplicates, then an event whose dedup_key value was seen within dedup_period is dropped, in the same request or a later one', async () => {
    const id = uniqueId();
    const { pushKey } = await createDataset(hub, id, {
      dedup_config: { drop_duplicates: true, dedup_key: 'mid', dedup_period: 3600 },
    });
    const r1 = await ingest(hub, id, pushKey, envelope([telemetry(1), telemetry(2), telemetry(1)], 'w-1'));
    expect(r1.status, r1.text).to.equal(200);
    expect(await figures(hub, id)).to.deep.equal({ lastSeq: 2, count: 2 });
    const r2 = await ingest(hub, id, pushKey, envelope([telemetry(2, { late: true }), telemetry(3)], 'w-2'));
    expect(r2.status, r2.text).to.equal(200);
    expect(await figures(hub, id)).to.deep.equal({ lastSeq: 3, count: 3 });
    expect(await stored(id, 'w-2:1')).to.deep.equal(telemetry(3));
    expect(await stored(id, 'w-2:0')).to.equal(undefined);
  });

  it('when the dedup_period has passed since a value was first seen, then the same value is accepted again', async () => {
    const id = uniqueId();
    const { pushKey } = await createDataset(hub, id, {
      dedup_config: { drop_duplicates: true, dedup_key: 'mid', dedup_period: 1 },
    });
    const started = Date.now();
    expect((await ingest(hub, id, pushKey, envelope([telemetry(1)]))).status).to.equal(200);
    // re-sent (as a new request) until the hub takes it: never before the window of 1 s is over
    const acceptedAt = await eventually(
      async () => {
        const r = await ingest(hub, id, pushKey, envelope([telemetry(1, { again: true })]));
        expect(r.status, r.text).to.equal(200);
        return (await figures(hub, id)).count === 2 ? Date.now() : undefined;
      },
      15_000,
      'the duplicate to be accepted after its window',
    );
    expect(acceptedAt - started).to.be.at.least(1000);
  });

  it('when dedup_config has drop_duplicates false, then nothing is deduplicated', async () => {
    const id = uniqueId();
    const { pushKey } = await createDataset(hub, id, {
      dedup_config: { drop_duplicates: false, dedup_key: 'mid', dedup_period: 3600 },
    });
    await ingest(hub, id, pushKey, envelope([telemetry(1), telemetry(1)]));
    expect((await figures(hub, id)).count).to.equal(2);
  });
});
