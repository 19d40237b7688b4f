import { expect } from 'chai';
import { createDataset, uniqueId } from './helpers/data.js';
import { startTestHub, type TestHub } from './helpers/hub.js';
import { eventually } from './helpers/poll.js';
import { envelope, figures, ingest, sendAndHangUp, telemetry, type ObsrvErrorBody } from './helpers/obsrv.js';

describe('Obsrv ingest: idempotent retries and dedupKey (docs/obsrv.md#keys-retries-and-dedup)', () => {
  let hub: TestHub;
  before(async () => {
    hub = await startTestHub();
  });
  after(() => hub.close());

  const stored = async (id: string, key: string) => {
    const c = await hub.running.hub.store.get(id, key);
    return c === undefined ? undefined : (JSON.parse(c.doc) as Record<string, unknown>);
  };

  it('when the client times out after sending and re-sends the same msgid, then the retry answers 200 and makes no new change', async () => {
    const id = uniqueId();
    const { pushKey } = await createDataset(hub, id);
    const body = envelope([telemetry(1), telemetry(2), telemetry(3)], 'retry-after-timeout');
    // the client gives up before reading any answer; the hub has stored the first attempt by then
    // (the realistic timeout: the data arrived, the 200 was lost)
    await sendAndHangUp(`${hub.url}/v2/data/in/${id}`, pushKey, body, () =>
      eventually(
        async () => ((await figures(hub, id)).lastSeq === 3 ? true : undefined),
        10_000,
        'the first attempt to be stored',
      ),
    );

    const retry = await ingest(hub, id, pushKey, body);
    expect(retry.status, retry.text).to.equal(200);
    expect(retry.json).to.deep.include({ responseCode: 'OK' });
    expect((retry.json as { params: { msgid: string } }).params.msgid).to.equal('retry-after-timeout');
    expect(await figures(hub, id)).to.deep.equal({ lastSeq: 3, count: 3 });
  });

  it('when a stored msgid is re-sent with other events, then nothing changes (a retry, not new data)', async () => {
    const id = uniqueId();
    const { pushKey } = await createDataset(hub, id);
    expect((await ingest(hub, id, pushKey, envelope([telemetry(1)], 'same'))).status).to.equal(200);
    const r = await ingest(hub, id, pushKey, envelope([telemetry(7), telemetry(8)], 'same'));
    expect(r.status, r.text).to.equal(200);
    expect(await figures(hub, id)).to.deep.equal({ lastSeq: 1, count: 1 });
    expect(await stored(id, 'same:0')).to.deep.equal(telemetry(1));
    expect(await stored(id, 'same:1')).to.equal(undefined);
  });

  it('when the same msgid is sent twice at once, then exactly one of them is applied', async () => {
    const id = uniqueId();
    const { pushKey } = await createDataset(hub, id);
    const bodies = [envelope([telemetry(1)], 'racing'), envelope([telemetry(2), telemetry(3)], 'racing')];
    const replies = await Promise.all([...bodies, ...bodies].map((b) => ingest(hub, id, pushKey, b)));
    expect(replies.map((r) => r.status)).to.deep.equal([200, 200, 200, 200]);
    // whichever came first is stored whole; nothing of the other one
    const { lastSeq } = await figures(hub, id);
    const winner = lastSeq === 1 ? bodies[0]! : bodies[1]!;
    expect(lastSeq).to.be.oneOf([1, 2]);
    expect([await stored(id, 'racing:0'), await stored(id, 'racing:1')]).to.deep.equal(
      lastSeq === 1 ? [winner.data[0], undefined] : winner.data,
    );
  });

  it('when a msgid was rejected, then the corrected request with the same msgid is stored; and a msgid is per dataset', async () => {
    const id = uniqueId();
    const other = uniqueId();
    const { pushKey } = await createDataset(hub, id, { dedupKey: 'mid' });
    const k2 = await createDataset(hub, other);
    const bad = await ingest(hub, id, pushKey, envelope([telemetry(1), { eid: 'NO_MID' }], 'fix-me'));
    expect(bad.status).to.equal(400);
    const fixed = await ingest(hub, id, pushKey, envelope([telemetry(1), telemetry(2)], 'fix-me'));
    expect(fixed.status, fixed.text).to.equal(200);
    expect((await figures(hub, id)).count).to.equal(2);
    const elsewhere = await ingest(hub, other, k2.pushKey, envelope([telemetry(1)], 'fix-me'));
    expect(elsewhere.status).to.equal(200);
    expect((await figures(hub, other)).count).to.equal(1);
  });

  it('when dedupKey is set, then each event is keyed by its value and an event whose value is already stored is dropped', async () => {
    const id = uniqueId();
    const { pushKey } = await createDataset(hub, id, { dedupKey: 'mid' });
    expect((await ingest(hub, id, pushKey, envelope([telemetry(1), telemetry(2)]))).status).to.equal(200);
    // m-2 again, with other content, in a new request: dropped; m-3 is new
    const again = [telemetry(2, { eid: 'CHANGED' }), telemetry(3)];
    const r = await ingest(hub, id, pushKey, envelope(again));
    expect(r.status, r.text).to.equal(200);
    expect(await figures(hub, id)).to.deep.equal({ lastSeq: 3, count: 3 });
    expect(await stored(id, 'm-2')).to.deep.equal(telemetry(2));
    expect(await stored(id, 'm-3')).to.deep.equal(telemetry(3));
  });

  it('when two events of one batch share a dedup value, then the first is kept and the second dropped', async () => {
    const id = uniqueId();
    const { pushKey } = await createDataset(hub, id, { dedupKey: 'mid' });
    const batch = [telemetry(1, { n: 'first' }), telemetry(2), telemetry(1, { n: 'second' })];
    expect((await ingest(hub, id, pushKey, envelope(batch))).status).to.equal(200);
    expect(await figures(hub, id)).to.deep.equal({ lastSeq: 2, count: 2 });
    expect(await stored(id, 'm-1')).to.deep.include({ n: 'first' });
  });

  it('when dedupKey is a dotted path, then the nested value (number or string) is the key', async () => {
    const id = uniqueId();
    const { pushKey } = await createDataset(hub, id, { dedupKey: 'context.event.id' });
    const ev = (eid: unknown) => ({ eid: 'LOG', context: { event: { id: eid } } });
    expect((await ingest(hub, id, pushKey, envelope([ev(42), ev('a-1')]))).status).to.equal(200);
    expect((await ingest(hub, id, pushKey, envelope([ev(42), ev('a-1'), ev(43)]))).status).to.equal(200);
    expect(await figures(hub, id)).to.deep.equal({ lastSeq: 3, count: 3 });
    expect(await stored(id, '42')).to.deep.equal(ev(42));
    expect(await stored(id, 'a-1')).to.deep.equal(ev('a-1'));
  });

  it('when an event has no usable value at the dedup path, then 400 naming its index and nothing of the batch is stored', async () => {
    const id = uniqueId();
    const { pushKey } = await createDataset(hub, id, { dedupKey: 'actor.id' });
    const bad: Array<[Record<string, unknown>, RegExp]> = [
      [{ eid: 'X' }, /no value at 'actor\.id'/],
      [{ actor: { id: null } }, /no value at 'actor\.id'/],
      [{ actor: { id: '' } }, /no value at 'actor\.id'/],
      [{ actor: 'robot' }, /no value at 'actor\.id'/],
      [{ actor: { id: { nested: 1 } } }, /must be a string, a number or a boolean/],
    ];
    for (const [event, message] of bad) {
      const r = await ingest(hub, id, pushKey, envelope([telemetry(1), event, telemetry(2)], 'mid-x'));
      expect(r.status, r.text).to.equal(400);
      const err = r.json as ObsrvErrorBody;
      expect(err.error.code).to.equal('DATA_INGESTION_INVALID_INPUT');
      expect(err.error.index).to.equal(1);
      expect(err.error.message)
        .to.match(/^element 1: /)
        .and.match(message);
      expect(err.params.msgid).to.equal('mid-x');
    }
    expect((await figures(hub, id)).lastSeq).to.equal(0);
  });
});
