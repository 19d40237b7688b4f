import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { Ajv } from 'ajv';
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

const obsrvSchema = JSON.parse(
  readFileSync(new URL('../spec/schemas/obsrv-envelope.json', import.meta.url), 'utf8'),
) as object;
/** Obsrv's ValidationService, restated: ajv 8 defaults, first error, `schemaPath.replace('/', '') + ' ' + message`. */
const obsrvValidate = new Ajv().compile(obsrvSchema);
function obsrvFormula(body: unknown): string | undefined {
  if (obsrvValidate(body)) return undefined;
  const e = obsrvValidate.errors![0]!;
  return `${e.schemaPath.replace('/', '')} ${e.message}`;
}

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

  it("when an envelope field is missing, then 400 with Obsrv's message (#required must have required property 'id'), the pointer apart and the msgid echoed", async () => {
    const id = uniqueId();
    const { pushKey } = await createDataset(hub, id);
    for (const field of ['id', 'ver', 'ts', 'data'] as const) {
      const body: Record<string, unknown> = envelope(telemetry(1), `msg-${field}`);
      delete body[field];
      const r = await ingest(hub, id, pushKey, body);
      const err = obsrvError(r, 400, 'DATA_INGESTION_INVALID_INPUT', 'BAD_REQUEST');
      expect(err.error.message).to.equal(`#required must have required property '${field}'`);
      expect(err.error).to.have.property('pointer', '');
      expect(err.params.msgid).to.equal(`msg-${field}`);
    }
    const noParams: Record<string, unknown> = envelope(telemetry(1));
    delete noParams.params;
    const r1 = await ingest(hub, id, pushKey, noParams);
    expect(obsrvError(r1, 400, 'DATA_INGESTION_INVALID_INPUT', 'BAD_REQUEST').error.message).to.equal(
      "#required must have required property 'params'",
    );
    const r2 = await ingest(hub, id, pushKey, { ...envelope(telemetry(1)), params: {} });
    const e2 = obsrvError(r2, 400, 'DATA_INGESTION_INVALID_INPUT', 'BAD_REQUEST').error;
    expect(e2.message).to.equal("#properties/params/required must have required property 'msgid'");
    expect(e2).to.have.property('pointer', '/params');
    const r3 = await ingest(hub, id, pushKey, { ...envelope(telemetry(1)), ts: 1711966306164 });
    expect(obsrvError(r3, 400, 'DATA_INGESTION_INVALID_INPUT', 'BAD_REQUEST').error.message).to.equal(
      '#properties/ts/type must be string',
    );
    expect((await figures(hub, id)).lastSeq).to.equal(0);
  });

  it("when any invalid envelope is sent, then the message is exactly Obsrv's formula (schema path without its first '/', ajv's message) over Obsrv's schema", async () => {
    const id = uniqueId();
    const { pushKey } = await createDataset(hub, id);
    const ok = envelope(telemetry(1), 'formula');
    const invalid: unknown[] = [
      { ...ok, id: 'api.data.out' },
      { ...ok, id: 7 },
      { ...ok, ver: 2 },
      { ...ok, ts: null },
      { ...ok, params: 'x' },
      { ...ok, params: { msgid: 5 } },
      { ...ok, params: { msgid: 'formula', extra: 1 } },
      { ...ok, data: 'INTERACT' },
      { ...ok, data: 5 },
      { ...ok, data: [telemetry(1), 'oops'] },
      { ...ok, additionalProperties: 1 },
      [ok],
      'x',
    ];
    for (const body of invalid) {
      const expected = obsrvFormula(body);
      expect(expected, JSON.stringify(body)).to.be.a('string');
      const r = await ingest(hub, id, pushKey, body);
      const err = obsrvError(r, 400, 'DATA_INGESTION_INVALID_INPUT', 'BAD_REQUEST');
      expect(err.error.message, JSON.stringify(body)).to.equal(expected);
      expect(err.error.message).to.not.match(/\(at /);
    }
    // Obsrv's own words for two of them, as its validator prints them
    const params = await ingest(hub, id, pushKey, { ...ok, params: { msgid: 'p', extra: 1 } });
    const perr = obsrvError(params, 400, 'DATA_INGESTION_INVALID_INPUT', 'BAD_REQUEST');
    expect(perr.error.message).to.equal(
      '#properties/params/additionalProperties must NOT have additional properties',
    );
    expect(perr.params.msgid).to.equal('p');
    const data = await ingest(hub, id, pushKey, { ...ok, data: 'INTERACT' });
    expect(obsrvError(data, 400, 'DATA_INGESTION_INVALID_INPUT', 'BAD_REQUEST').error.message).to.equal(
      '#properties/data/oneOf/0/type must be object',
    );
    expect((await figures(hub, id)).lastSeq).to.equal(0);
  });

  it('when data is neither an event nor an array of events, then 400 (naming the index of a non-object event) and nothing of the batch is stored; an empty batch stores nothing', async () => {
    const id = uniqueId();
    const { pushKey } = await createDataset(hub, id);
    const cases: Array<[unknown, number | undefined]> = [
      ['INTERACT', undefined],
      [[telemetry(1), telemetry(2), 'oops', telemetry(4)], 2],
      [[telemetry(1), [telemetry(2)]], 1],
    ];
    for (const [data, index] of cases) {
      const r = await ingest(hub, id, pushKey, { ...envelope([]), data });
      const err = obsrvError(r, 400, 'DATA_INGESTION_INVALID_INPUT', 'BAD_REQUEST');
      expect(err.error.message).to.equal('#properties/data/oneOf/0/type must be object');
      expect(err.error.index).to.equal(index);
    }
    expect((await figures(hub, id)).lastSeq).to.equal(0);
    const empty = await ingest(hub, id, pushKey, envelope([]));
    expect(empty.status, empty.text).to.equal(200);
    expect((await figures(hub, id)).lastSeq).to.equal(0);
  });

  it("when the dataset does not exist, then seed 002's answer exactly: 404, responseCode BAD_REQUEST, DATASET_NOT_FOUND, 'Dataset with id not found', the msgid echoed; no dataset is created", async () => {
    const id = uniqueId();
    const seedBody = {
      id: 'api.data.in',
      ver: 'v2',
      ts: '1711966306164',
      params: { msgid: 'e180ecac-8f41-4f21-9a21-0b3a1a368917' },
      data: { eid: 'INTERACT', date: '2022-01-01', ver: '3.0', syncts: 1668591949682, ets: 1668591949682 },
    };
    for (const token of [hub.adminToken, undefined]) {
      const r = await call(`${hub.url}/v2/data/in/${id}`, { token, body: seedBody });
      const body = obsrvError(r, 404, 'DATASET_NOT_FOUND', 'BAD_REQUEST');
      expect(body.error.message).to.equal('Dataset with id not found');
      expect(Object.keys(body.params)).to.deep.equal(['status', 'msgid', 'resmsgid']);
      expect(body.params.msgid).to.equal('e180ecac-8f41-4f21-9a21-0b3a1a368917');
    }
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
      // every error envelope echoes the msgid, refusals of the gate too
      expect(obsrvError(r, status, code, responseCode).params.msgid).to.equal(
        (JSON.parse(body) as { params: { msgid: string } }).params.msgid,
      );
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
