import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { expect } from 'chai';
import { createDataset, uniqueId } from './helpers/data.js';
import { call, rawRequest } from './helpers/http.js';
import { startTestHub, type TestHub } from './helpers/hub.js';
import {
  envelope,
  figures,
  ingest,
  telemetry,
  type ObsrvErrorBody,
  type ObsrvEvent,
} from './helpers/obsrv.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** ISO-8601 with a time zone: `Z` or an offset */
const ISO_WITH_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

const sample = (name: string) =>
  JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8')) as {
    params: { msgid: string };
    data: ObsrvEvent | ObsrvEvent[];
  };

/** Checks the Obsrv error envelope field by field and returns it. */
function obsrvError(
  r: { status: number; json: unknown; text: string },
  status: number,
  code: string,
  responseCode: string,
): ObsrvErrorBody {
  expect(r.status, r.text).to.equal(status);
  const body = r.json as ObsrvErrorBody;
  expect(Object.keys(body)).to.have.members(['id', 'ver', 'ts', 'params', 'responseCode', 'result', 'error']);
  expect(body).to.include({ id: 'api.data.in', ver: 'v2', responseCode });
  expect(body.ts).to.match(ISO_WITH_ZONE);
  expect(body.params.status).to.equal('FAILED');
  expect(body.params.resmsgid).to.match(UUID);
  expect(body.result).to.deep.equal({});
  expect(body.error.code).to.equal(code);
  expect(body.error.trace).to.equal('');
  expect(body.error.message).to.be.a('string').and.not.equal('');
  return body;
}

describe('Obsrv ingest: POST /v2/data/in/{dataset_id} (docs/obsrv.md)', () => {
  let hub: TestHub;
  before(async () => {
    hub = await startTestHub();
  });
  after(() => hub.close());

  it('when the single-event sample is pushed, then 200 answers exactly the Obsrv success body and the event is stored as a record under <msgid>:0', async () => {
    const id = uniqueId();
    const { pushKey } = await createDataset(hub, id);
    const body = sample('obsrv-single.json');
    const r = await ingest(hub, id, pushKey, body);
    expect(r.status, r.text).to.equal(200);
    const ok = r.json as Record<string, unknown> & { ts: string; params: Record<string, string> };
    expect(Object.keys(ok)).to.deep.equal(['id', 'ver', 'ts', 'params', 'responseCode', 'result']);
    expect(ok).to.deep.include({
      id: 'api.data.in',
      ver: 'v2',
      responseCode: 'OK',
      result: { message: 'Data ingested successfully' },
    });
    expect(ok.ts).to.match(ISO_WITH_ZONE);
    expect(Math.abs(Date.parse(ok.ts) - Date.now())).to.be.below(60_000);
    expect(Object.keys(ok.params)).to.deep.equal(['status', 'msgid', 'resmsgid']);
    expect(ok.params.status).to.equal('SUCCESS');
    expect(ok.params.msgid).to.equal(body.params.msgid);
    expect(ok.params.resmsgid).to.match(UUID);

    expect(await figures(hub, id)).to.deep.equal({ lastSeq: 1, count: 1 });
    const stored = await hub.running.hub.store.get(id, `${body.params.msgid}:0`);
    expect(stored?.kind).to.equal('record');
    expect(JSON.parse(stored!.doc)).to.deep.equal(body.data);
  });

  it('when the batch sample is pushed, then every event is stored in order under <msgid>:<index>, and each answer has a fresh resmsgid', async () => {
    const id = uniqueId();
    const { pushKey } = await createDataset(hub, id);
    const body = sample('obsrv-batch.json');
    const first = await ingest(hub, id, pushKey, body);
    expect(first.status, first.text).to.equal(200);
    const events = body.data as ObsrvEvent[];
    expect(await figures(hub, id)).to.deep.equal({ lastSeq: events.length, count: events.length });
    for (const [i, event] of events.entries()) {
      const stored = await hub.running.hub.store.get(id, `${body.params.msgid}:${i}`);
      expect(stored?.seq).to.equal(i + 1);
      expect(JSON.parse(stored!.doc)).to.deep.equal(event);
    }
    const again = await ingest(hub, id, pushKey, envelope([telemetry(9)]));
    const ids = [first, again].map((r) => (r.json as { params: { resmsgid: string } }).params.resmsgid);
    expect(ids[0]).to.not.equal(ids[1]);
  });

  it('when the body is gzip-compressed, then it is ingested like a plain one', async () => {
    const id = uniqueId();
    const { pushKey } = await createDataset(hub, id);
    const r = await call(`${hub.url}/v2/data/in/${id}`, {
      token: pushKey,
      raw: gzipSync(JSON.stringify(envelope([telemetry(1), telemetry(2)]))),
      headers: { 'content-encoding': 'gzip', 'content-type': 'application/json' },
    });
    expect(r.status, r.text).to.equal(200);
    expect((await figures(hub, id)).count).to.equal(2);
  });

  it('when the body is not JSON (or not UTF-8, or broken gzip), then 400 DATA_INGESTION_INVALID_INPUT without a msgid, and nothing is stored', async () => {
    const id = uniqueId();
    const { pushKey } = await createDataset(hub, id);
    const bodies: Array<[string | Uint8Array, Record<string, string>]> = [
      ['{"id":"api.data.in","params":{"msgid":"x"},', {}],
      ['', {}],
      [new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), {}],
      [new Uint8Array([1, 2, 3, 4]), { 'content-encoding': 'gzip' }],
    ];
    for (const [raw, headers] of bodies) {
      const r = await call(`${hub.url}/v2/data/in/${id}`, { token: pushKey, raw, headers });
      const body = obsrvError(r, 400, 'DATA_INGESTION_INVALID_INPUT', 'BAD_REQUEST');
      expect(body.params).to.not.have.property('msgid');
    }
    expect((await figures(hub, id)).lastSeq).to.equal(0);
  });

  it("when an envelope field is missing, then 400 with ajv's message in Obsrv's form (#required must have required property 'id') and the msgid echoed", async () => {
    const id = uniqueId();
    const { pushKey } = await createDataset(hub, id);
    for (const field of ['id', 'ver', 'ts', 'data'] as const) {
      const body: Record<string, unknown> = envelope(telemetry(1), `msg-${field}`);
      delete body[field];
      const r = await ingest(hub, id, pushKey, body);
      const err = obsrvError(r, 400, 'DATA_INGESTION_INVALID_INPUT', 'BAD_REQUEST');
      expect(err.error.message).to.equal(`#required must have required property '${field}'`);
      expect(err.params.msgid).to.equal(`msg-${field}`);
    }
    const noParams: Record<string, unknown> = envelope(telemetry(1));
    delete noParams.params;
    const r1 = await ingest(hub, id, pushKey, noParams);
    expect(obsrvError(r1, 400, 'DATA_INGESTION_INVALID_INPUT', 'BAD_REQUEST').error.message).to.equal(
      "#required must have required property 'params'",
    );
    const r2 = await ingest(hub, id, pushKey, { ...envelope(telemetry(1)), params: {} });
    expect(obsrvError(r2, 400, 'DATA_INGESTION_INVALID_INPUT', 'BAD_REQUEST').error.message).to.equal(
      "#properties/params/required must have required property 'msgid' (at /params)",
    );
    const r3 = await ingest(hub, id, pushKey, { ...envelope(telemetry(1)), id: 'api.data.out' });
    expect(obsrvError(r3, 400, 'DATA_INGESTION_INVALID_INPUT', 'BAD_REQUEST').error.message).to.match(
      /^#properties\/id\/enum must be equal to one of the allowed values/,
    );
    expect((await figures(hub, id)).lastSeq).to.equal(0);
  });

  it('when data is neither an event nor a non-empty array of events, then 400 (naming the index of a non-object event) and nothing of the batch is stored', async () => {
    const id = uniqueId();
    const { pushKey } = await createDataset(hub, id);
    const cases: Array<[unknown, RegExp, number | undefined]> = [
      ['INTERACT', /^#properties\/data\/type must be object,array/, undefined],
      [[], /^#properties\/data\/minItems must NOT have fewer than 1 items/, undefined],
      [[telemetry(1), telemetry(2), 'oops', telemetry(4)], /must be object \(at \/data\/2\)$/, 2],
      [[telemetry(1), [telemetry(2)]], /must be object \(at \/data\/1\)$/, 1],
    ];
    for (const [data, message, index] of cases) {
      const r = await ingest(hub, id, pushKey, { ...envelope([]), data });
      const err = obsrvError(r, 400, 'DATA_INGESTION_INVALID_INPUT', 'BAD_REQUEST');
      expect(err.error.message).to.match(message);
      expect(err.error.index).to.equal(index);
    }
    expect((await figures(hub, id)).lastSeq).to.equal(0);
  });

  it('when the dataset does not exist, then 404 DATASET_NOT_FOUND with responseCode NOT_FOUND, and no dataset is created', async () => {
    const id = uniqueId();
    const r = await ingest(hub, id, hub.adminToken, envelope(telemetry(1)));
    obsrvError(r, 404, 'DATASET_NOT_FOUND', 'NOT_FOUND');
    expect((await call(`${hub.url}/datasets/${id}`, { token: hub.adminToken })).status).to.equal(404);
  });

  it('when credentials are missing, unknown or garbled, then 401; when valid but not granting a push, then 403; all in the Obsrv body', async () => {
    const a = uniqueId('a');
    const b = uniqueId('b');
    const ka = await createDataset(hub, a);
    await createDataset(hub, b);
    const body = JSON.stringify(envelope(telemetry(1)));
    const cases: Array<[string, Record<string, string>, number, string, string]> = [
      [a, {}, 401, 'UNAUTHORIZED', 'UNAUTHORIZED'],
      [a, { authorization: 'Bearer 0000' }, 401, 'UNAUTHORIZED', 'UNAUTHORIZED'],
      [a, { authorization: 'Digest x' }, 401, 'UNAUTHORIZED', 'UNAUTHORIZED'],
      [a, { authorization: `Bearer ${ka.readKey}` }, 403, 'FORBIDDEN', 'FORBIDDEN'],
      [b, { authorization: `Bearer ${ka.pushKey}` }, 403, 'FORBIDDEN', 'FORBIDDEN'],
    ];
    for (const [ds, headers, status, code, responseCode] of cases) {
      const r = await call(`${hub.url}/v2/data/in/${ds}`, { raw: body, headers });
      obsrvError(r, status, code, responseCode);
    }
    for (const url of [`${hub.url}/v2/data/in/${a}?apikey=${ka.pushKey}`, `${hub.url}/v2/data/in/${a}`]) {
      const headers: Record<string, string> = url.includes('apikey')
        ? {}
        : { authorization: `Basic ${Buffer.from(`:${ka.pushKey}`).toString('base64')}` };
      const r = await call(url, { raw: JSON.stringify(envelope(telemetry(2))), headers });
      expect(r.status, r.text).to.equal(200);
    }
    expect(await figures(hub, a)).to.deep.equal({ lastSeq: 2, count: 2 });
    expect((await figures(hub, b)).lastSeq).to.equal(0);
  });

  it('when push is disabled, then 403 PUSH_DISABLED and the data is kept', async () => {
    const id = uniqueId();
    const { pushKey } = await createDataset(hub, id);
    expect((await ingest(hub, id, pushKey, envelope(telemetry(1)))).status).to.equal(200);
    await call(`${hub.url}/datasets/${id}`, {
      method: 'PUT',
      token: hub.adminToken,
      body: { push: { enabled: false } },
    });
    const r = await ingest(hub, id, pushKey, envelope(telemetry(2), 'while-disabled'));
    const err = obsrvError(r, 403, 'PUSH_DISABLED', 'FORBIDDEN');
    expect(err.params.msgid).to.equal('while-disabled');
    expect(await figures(hub, id)).to.deep.equal({ lastSeq: 1, count: 1 });
  });

  it('when the body is over 5 MiB, then 413 PAYLOAD_TOO_LARGE in the Obsrv body and nothing is stored', async () => {
    const id = uniqueId();
    const { pushKey } = await createDataset(hub, id);
    const big = Array.from({ length: 12_000 }, (_, i) => telemetry(i, { pad: 'x'.repeat(450) }));
    const text = JSON.stringify(envelope(big));
    expect(text.length).to.be.above(5 * 1024 * 1024);
    const r = await rawRequest(`${hub.url}/v2/data/in/${id}`, {
      headers: { authorization: `Bearer ${pushKey}`, 'content-type': 'application/json' },
      chunks: [Buffer.from(text)],
    });
    obsrvError({ ...r, json: JSON.parse(r.text) as unknown }, 413, 'PAYLOAD_TOO_LARGE', 'PAYLOAD_TOO_LARGE');
    expect((await figures(hub, id)).lastSeq).to.equal(0);
  });

  it('when the daily quota of a key is used up, then 429 QUOTA_EXCEEDED with responseCode TOO_MANY_REQUESTS and Retry-After', async () => {
    const id = uniqueId();
    const { pushKey } = await createDataset(hub, id, { quota: { perDay: 1 } });
    expect((await ingest(hub, id, pushKey, envelope(telemetry(1)))).status).to.equal(200);
    const r = await ingest(hub, id, pushKey, envelope(telemetry(2)));
    obsrvError(r, 429, 'QUOTA_EXCEEDED', 'TOO_MANY_REQUESTS');
    expect(Number(r.headers.get('retry-after'))).to.be.above(0);
    expect((await figures(hub, id)).lastSeq).to.equal(1);
  });
});
