import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { createDataset, pushResources, milking, readChanges, uniqueId } from './helpers/data.js';
import { call, rawRequest } from './helpers/http.js';
import { startTestHub, type TestHub } from './helpers/hub.js';
import { exploreUrl, odsDeleteByIdUrl, odsPush, odsPushUrl, odsRecords } from './helpers/ods.js';

const FIVE_MIB = 5 * 1024 * 1024;
/** shared/samples/ods-push.json (the ODS docs' library example), inlined so the tests stand alone. */
const sampleRecords: Record<string, unknown>[] = [
  { isbn: '978-0060589462', title: 'Zen and the Art of Motorcycle Maintenance', number_of_copies: 3 },
  {
    isbn: '978-2862744506',
    title: 'Le Petit Prince',
    number_of_copies: 5,
    cover: {
      content:
        'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==',
      'content-type': 'image/png',
    },
  },
];

/**
 * docs/ods.md#record-ids, written out independently of the hub's code: sha1 of the values in field-name
 * order.
 */
function expectedId(record: Record<string, unknown>, uniqueKeys?: string[]): string {
  const names = uniqueKeys ?? Object.keys(record).sort();
  return createHash('sha1')
    .update(JSON.stringify(names.map((n) => record[n])))
    .digest('hex');
}

interface DatasetInfo {
  count: number;
  lastSeq: number;
}

const datasetInfo = async (hub: TestHub, id: string): Promise<DatasetInfo> =>
  (await call(`${hub.url}/datasets/${id}`, { token: hub.adminToken })).json as DatasetInfo;

type OdsError = { status: string; errorcode: number; error: string };

describe('ODS push API (docs/ods.md#push)', () => {
  let hub: TestHub;
  before(async () => {
    hub = await startTestHub();
  });
  after(() => hub.close());

  it('when one object and then an array are pushed with no Content-Type, then both answer {"status":"OK"} and are stored', async () => {
    const id = uniqueId('ods');
    const k = await createDataset(hub, id);
    const one = await rawRequest(`${odsPushUrl(hub, id)}?pushkey=${k.pushKey}`, {
      body: '{"message":"Hello World!"}',
    });
    expect(one.status).to.equal(200);
    expect(JSON.parse(one.text)).to.deep.equal({ status: 'OK' });
    const many = await odsPush(hub, id, k.pushKey, [{ message: '¡Hola Mundo!' }, { message: 'Hallo Welt!' }]);
    expect(many.status).to.equal(200);
    expect(many.json).to.deep.equal({ status: 'OK' });
    expect(await datasetInfo(hub, id)).to.include({ count: 3, lastSeq: 3 });
  });

  it('when the body comes as curl -d (form content type), text/plain or gzip, then it is still read as JSON', async () => {
    const id = uniqueId('ods');
    const k = await createDataset(hub, id);
    const url = `${odsPushUrl(hub, id)}?pushkey=${k.pushKey}`;
    const form = await call(url, {
      raw: '{"n":1}',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    const text = await call(url, { raw: '{"n":2}', headers: { 'content-type': 'text/plain' } });
    const gz = await call(url, {
      raw: gzipSync('[{"n":3},{"n":4}]'),
      headers: { 'content-encoding': 'gzip' },
    });
    expect([form.status, text.status, gz.status]).to.deep.equal([200, 200, 200]);
    expect((await datasetInfo(hub, id)).count).to.equal(4);
  });

  it('when the key is given as pushkey, apikey or an Apikey header, then the push is accepted; a read key is 403 and no key 401, in the ODS error body', async () => {
    const id = uniqueId('ods');
    const k = await createDataset(hub, id);
    const url = odsPushUrl(hub, id);
    expect((await call(`${url}?pushkey=${k.pushKey}`, { raw: '{"a":1}' })).status).to.equal(200);
    expect((await call(`${url}?apikey=${k.pushKey}`, { raw: '{"a":2}' })).status).to.equal(200);
    expect(
      (await call(url, { raw: '{"a":3}', headers: { authorization: `Apikey ${k.pushKey}` } })).status,
    ).to.equal(200);
    const read = await call(`${url}?apikey=${k.readKey}`, { raw: '{"a":4}' });
    expect(read.status).to.equal(403);
    expect(read.json).to.include({ status: 'error', errorcode: 403 });
    expect((read.json as OdsError).error)
      .to.be.a('string')
      .and.not.equal('');
    const none = await call(url, { raw: '{"a":5}' });
    expect(none.status).to.equal(401);
    expect(none.json).to.include({ status: 'error', errorcode: 401 });
    expect((await datasetInfo(hub, id)).count).to.equal(3);
  });

  it('when the dataset does not exist, then 404 in the ODS error body', async () => {
    const r = await call(`${odsPushUrl(hub, uniqueId('nope'))}?pushkey=${hub.adminToken}`, {
      raw: '{"a":1}',
    });
    expect(r.status).to.equal(404);
    expect(r.json).to.include({ status: 'error', errorcode: 404 });
  });

  it('when the body is not JSON, not UTF-8, empty, or holds a non-object, then 400 and nothing is stored', async () => {
    const id = uniqueId('ods');
    const k = await createDataset(hub, id);
    const url = `${odsPushUrl(hub, id)}?pushkey=${k.pushKey}`;
    for (const raw of [
      '{bad',
      '',
      '42',
      '"text"',
      '[{"a":1}, 7]',
      '[{"a":1}, [1]]',
      Buffer.from([0x7b, 0xff, 0x7d]),
    ]) {
      const r = await call(url, { raw });
      expect(r.status, String(raw)).to.equal(400);
      expect(r.json, String(raw)).to.include({ status: 'error', errorcode: 400 });
    }
    expect(await datasetInfo(hub, id)).to.include({ count: 0, lastSeq: 0 });
  });

  it('when a record is pushed, then its recordid is the sha1 of its values in field-name order and record_timestamp is its arrival time', async () => {
    const id = uniqueId('ods');
    const k = await createDataset(hub, id);
    const record = { value: 150, identifier: '230361', timestamp: '2014/01/27T04:15:00', parameter: 'speed' };
    const before = Date.now();
    expect((await odsPush(hub, id, k.pushKey, record)).status).to.equal(200);
    const after = Date.now();
    expect((await odsPush(hub, id, k.pushKey, { message: 'Hello World!' })).status).to.equal(200);
    const { items } = await readChanges(hub, id, k.readKey);
    expect(items[0]!.recordid).to.equal('d9ab4468332cb3daabdbbdf48b900e5ba06cdc16');
    expect(items[0]!.recordid).to.equal(expectedId(record));
    expect(items[1]!.recordid).to.equal('f7b1744ec0d0e36286393aed70df47a4d3fb8231');
    const ts = Date.parse(items[0]!.record_timestamp as string);
    expect(ts).to.be.within(before, after);
    expect(items[0]!.fields).to.deep.equal(record);
  });

  it('when uniqueKeys are set and a record with the same key is pushed again, then it replaces the record: one record, the new value, one new change', async () => {
    const id = uniqueId('ods');
    const k = await createDataset(hub, id, { uniqueKeys: ['isbn'] });
    expect((await odsPush(hub, id, k.pushKey, sampleRecords)).status).to.equal(200);
    const zenId = expectedId(sampleRecords[0]!, ['isbn']);
    expect(zenId).to.equal('252a1a11c4a96aee68b38d5c8eb95abf594cf38b');
    const first = await readChanges(hub, id, k.readKey);
    expect(first.items).to.have.length(2);

    const borrowed = { isbn: '978-0060589462', number_of_copies: 2 };
    expect((await odsPush(hub, id, k.pushKey, borrowed)).status).to.equal(200);

    const info = await datasetInfo(hub, id);
    expect(info).to.include({ count: 2, lastSeq: 3 });
    const next = await readChanges(hub, id, k.readKey, `since=${encodeURIComponent(first.token)}`);
    expect(next.items).to.have.length(1);
    expect(next.items[0]).to.include({ recordid: zenId });
    expect(next.items[0]!.fields).to.deep.equal(borrowed);
    const now = await odsRecords(hub, id, k.readKey, { where: `isbn = "978-0060589462"` });
    expect(now.total_count).to.equal(1);
    expect(now.results[0]).to.include({ recordid: zenId, number_of_copies: 2 });
  });

  it('when an identical record is pushed again, then no change is made', async () => {
    const id = uniqueId('ods');
    const k = await createDataset(hub, id);
    await odsPush(hub, id, k.pushKey, { a: 1, b: 'x' });
    expect((await odsPush(hub, id, k.pushKey, { b: 'x', a: 1 })).status).to.equal(200);
    expect(await datasetInfo(hub, id)).to.include({ count: 1, lastSeq: 1 });
  });

  it('when a record lacks a unique key field, then 400 names the element and nothing of the request is stored', async () => {
    const id = uniqueId('ods');
    const k = await createDataset(hub, id, { uniqueKeys: ['isbn'] });
    const r = await odsPush(hub, id, k.pushKey, [{ isbn: '1' }, { title: 'no isbn' }]);
    expect(r.status).to.equal(400);
    expect((r.json as OdsError).error)
      .to.include('record 1')
      .and.include('isbn');
    expect((await datasetInfo(hub, id)).lastSeq).to.equal(0);
  });

  it('when a record breaks the dataset schema, then 400 and nothing of the request is stored', async () => {
    const id = uniqueId('ods');
    const k = await createDataset(hub, id, {
      schema: { type: 'object', properties: { value: { type: 'number' } }, required: ['value'] },
    });
    const r = await odsPush(hub, id, k.pushKey, [{ value: 1 }, { value: 'high' }]);
    expect(r.status).to.equal(400);
    expect(r.json).to.include({ status: 'error', errorcode: 400 });
    expect((await datasetInfo(hub, id)).lastSeq).to.equal(0);
  });

  it('when the body is 5 MiB + 1 byte, then 413 in the ODS body, the connection closes and nothing is stored; exactly 5 MiB is accepted', async () => {
    const id = uniqueId('ods');
    const k = await createDataset(hub, id);
    const url = `${odsPushUrl(hub, id)}?pushkey=${k.pushKey}`;
    // {"pad":"xxx…"} padded to an exact size
    const body = (size: number): Buffer => Buffer.from(`{"pad":"${'x'.repeat(size - 10)}"}`);
    expect(body(FIVE_MIB).length).to.equal(FIVE_MIB);

    const over = await rawRequest(url, { body: body(FIVE_MIB + 1) });
    expect(over.status).to.equal(413);
    expect(over.headers.connection).to.equal('close');
    const err = JSON.parse(over.text) as OdsError;
    expect(err).to.include({ status: 'error', errorcode: 413 });
    expect(err.error).to.include('split it into smaller requests');
    // also when the client does not say how long the body is (chunked): decided while reading
    const chunked = await rawRequest(url, {
      headers: { 'transfer-encoding': 'chunked' },
      chunks: [body(FIVE_MIB + 1).subarray(0, 4_000_000), body(FIVE_MIB + 1).subarray(4_000_000)],
    });
    expect(chunked.status).to.equal(413);
    expect(await datasetInfo(hub, id)).to.include({ count: 0, lastSeq: 0 });

    const exact = await rawRequest(url, { body: body(FIVE_MIB) });
    expect(exact.status).to.equal(200);
    expect(await datasetInfo(hub, id)).to.include({ count: 1, lastSeq: 1 });
  });

  it('when records are deleted by their values, then they are gone from the records and /changes shows the delete with the last fields', async () => {
    const id = uniqueId('ods');
    const k = await createDataset(hub, id, { uniqueKeys: ['isbn'] });
    await odsPush(hub, id, k.pushKey, sampleRecords);
    const zen = { isbn: '978-0060589462', number_of_copies: 3 };
    const del = await odsPush(hub, id, k.pushKey, zen, 'delete');
    expect(del.status).to.equal(200);
    expect(del.json).to.deep.equal({ status: 'OK' });
    const left = await odsRecords(hub, id, k.readKey);
    expect(left.total_count).to.equal(1);
    expect(left.results[0]).to.include({ isbn: '978-2862744506' });
    const { items } = await readChanges(hub, id, k.readKey);
    const last = items[items.length - 1]!;
    expect(last).to.include({ recordid: expectedId(zen, ['isbn']), deleted: true });
    expect(last.fields).to.deep.equal(sampleRecords[0]);
    // deleting again is not an error (a retried script must not fail) and changes nothing
    expect((await odsPush(hub, id, k.pushKey, [zen], 'delete')).status).to.equal(200);
    expect((await datasetInfo(hub, id)).lastSeq).to.equal(3);
  });

  it('when a record is deleted by id, then it is gone; the same id again, or an unknown id, is 404', async () => {
    const id = uniqueId('ods');
    const k = await createDataset(hub, id);
    await odsPush(hub, id, k.pushKey, [{ message: 'Hello World!' }, { message: 'Bye' }]);
    const rid = 'f7b1744ec0d0e36286393aed70df47a4d3fb8231';
    const first = await call(`${odsDeleteByIdUrl(hub, id, rid)}?pushkey=${k.pushKey}`);
    expect(first.status).to.equal(200);
    expect(first.json).to.deep.equal({ status: 'OK' });
    const again = await call(`${odsDeleteByIdUrl(hub, id, rid)}?pushkey=${k.pushKey}`);
    expect(again.status).to.equal(404);
    expect(again.json).to.include({ status: 'error', errorcode: 404 });
    const unknown = await call(`${odsDeleteByIdUrl(hub, id, 'deadbeef')}?pushkey=${k.pushKey}`);
    expect(unknown.status).to.equal(404);
    expect(await datasetInfo(hub, id)).to.include({ count: 1, lastSeq: 3 });
    // a read key cannot delete
    expect((await call(`${odsDeleteByIdUrl(hub, id, rid)}?apikey=${k.readKey}`)).status).to.equal(403);
  });

  it('when a file field is pushed as base64 (content-type or content_type), then the record holds a reference and the bytes come back with their content type', async () => {
    const id = uniqueId('ods');
    const k = await createDataset(hub, id, { uniqueKeys: ['isbn'] });
    expect((await odsPush(hub, id, k.pushKey, sampleRecords)).status).to.equal(200);
    const png = Buffer.from((sampleRecords[1]!.cover as { content: string }).content, 'base64');
    const pdf = Buffer.from('%PDF-1.4 fake');
    const r = await odsPush(hub, id, k.pushKey, {
      isbn: 'x-1',
      manual: { content: pdf.toString('base64'), content_type: 'application/pdf' },
      cover: { content: png.toString('base64'), 'content-type': 'image/png' },
    });
    expect(r.status).to.equal(200);

    const prince = await odsRecords(hub, id, k.readKey, { where: 'isbn = "978-2862744506"' });
    const cover = prince.results[0]!.cover as { id: string; format: string; size: number; url: string };
    expect(cover).to.have.keys('id', 'format', 'size', 'url');
    expect(cover).to.include({ format: 'image/png', size: png.length });
    const other = await odsRecords(hub, id, k.readKey, { where: 'isbn = "x-1"' });
    const again = other.results[0]!.cover as { id: string };
    const manual = other.results[0]!.manual as { id: string; url: string; format: string };
    // stored once by content hash: the same bytes have the same id
    expect(again.id).to.equal(cover.id);
    expect(manual.format).to.equal('application/pdf');

    const file = await fetch(`${hub.url}${cover.url}?apikey=${k.readKey}`);
    expect(file.status).to.equal(200);
    expect(file.headers.get('content-type')).to.equal('image/png');
    expect(Buffer.from(await file.arrayBuffer()).equals(png)).to.equal(true);
    const pdfBack = await fetch(`${hub.url}/api/datasets/1.0/${id}/files/${manual.id}?apikey=${k.readKey}`);
    expect(pdfBack.headers.get('content-type')).to.equal('application/pdf');
    expect(Buffer.from(await pdfBack.arrayBuffer()).equals(pdf)).to.equal(true);
    // the record id is computed on the values as pushed, before the file is replaced
    const { items } = await readChanges(hub, id, k.readKey);
    expect(items.find((i) => (i.fields as { isbn: string }).isbn === 'x-1')!.recordid).to.equal(
      expectedId({ isbn: 'x-1' }, ['isbn']),
    );
    // an unknown file, or a file of another dataset, is 404
    const missing = await call(
      `${hub.url}/api/datasets/1.0/${id}/files/${'0'.repeat(64)}?apikey=${k.readKey}`,
    );
    expect(missing.status).to.equal(404);
    expect((await call(`${hub.url}/api/datasets/1.0/${id}/files/nope?apikey=${k.readKey}`)).status).to.equal(
      404,
    );
    // files need read access like the records
    expect((await call(`${hub.url}${cover.url}`)).status).to.equal(401);
  });

  it('when a file field has bad base64 or no valid content type, then 400 and nothing of the request is stored', async () => {
    const id = uniqueId('ods');
    const k = await createDataset(hub, id);
    for (const file of [
      { content: 'not base64 at all!', 'content-type': 'image/png' },
      { content: 'abcde', 'content-type': 'image/png' },
      { content: 42, 'content-type': 'image/png' },
      { content: 'aGVsbG8=', 'content-type': 'png' },
    ]) {
      const r = await odsPush(hub, id, k.pushKey, [{ ok: 1 }, { image: file }]);
      expect(r.status, JSON.stringify(file)).to.equal(400);
      expect((r.json as OdsError).error).to.include("'image'");
    }
    expect((await datasetInfo(hub, id)).lastSeq).to.equal(0);
  });

  it('when a large file is pushed, then its decoded bytes fit within the request limit and round-trip; a file over the limit is 413 and nothing is stored', async () => {
    const id = uniqueId('ods');
    const k = await createDataset(hub, id);
    const big = Buffer.alloc(3_800_000, 7);
    const ok = await odsPush(hub, id, k.pushKey, {
      name: 'big',
      blob: { content: big.toString('base64'), 'content-type': 'application/octet-stream' },
    });
    expect(ok.status).to.equal(200);
    const rec = await odsRecords(hub, id, k.readKey);
    const ref = rec.results[0]!.blob as { url: string; size: number };
    expect(ref.size).to.equal(big.length);
    const back = await fetch(`${hub.url}${ref.url}?apikey=${k.readKey}`);
    expect(Buffer.from(await back.arrayBuffer()).equals(big)).to.equal(true);

    const tooBig = Buffer.alloc(4_000_000, 1);
    const r = await rawRequest(`${odsPushUrl(hub, id)}?pushkey=${k.pushKey}`, {
      body: JSON.stringify({
        name: 'too big',
        blob: { content: tooBig.toString('base64'), 'content-type': 'image/png' },
      }),
    });
    expect(r.status).to.equal(413);
    expect((await datasetInfo(hub, id)).lastSeq).to.equal(1);
  });

  it('when push is disabled, then pushes and deletes are 403 with a clear error, the data is kept and reads still work; re-enabled, pushes work again', async () => {
    const id = uniqueId('ods');
    const k = await createDataset(hub, id, { uniqueKeys: ['isbn'] });
    await odsPush(hub, id, k.pushKey, sampleRecords);
    const put = await call(`${hub.url}/datasets/${id}`, {
      method: 'PUT',
      token: hub.adminToken,
      body: { uniqueKeys: ['isbn'], push: { enabled: false } },
    });
    expect(put.status).to.equal(200);

    const r = await odsPush(hub, id, k.pushKey, { isbn: 'new' });
    expect(r.status).to.equal(403);
    expect(r.json).to.include({ status: 'error', errorcode: 403 });
    expect((r.json as OdsError).error).to.match(/push is disabled/);
    const rid = expectedId(sampleRecords[0]!, ['isbn']);
    expect((await call(`${odsDeleteByIdUrl(hub, id, rid)}?pushkey=${k.pushKey}`)).status).to.equal(403);
    expect((await odsPush(hub, id, k.pushKey, sampleRecords[0], 'delete')).status).to.equal(403);

    const all = await odsRecords(hub, id, k.readKey);
    expect(all.total_count).to.equal(2);
    expect(await datasetInfo(hub, id)).to.include({ count: 2, lastSeq: 2 });

    await call(`${hub.url}/datasets/${id}`, {
      method: 'PUT',
      token: hub.adminToken,
      body: { uniqueKeys: ['isbn'], push: { enabled: true } },
    });
    expect((await odsPush(hub, id, k.pushKey, { isbn: 'new' })).status).to.equal(200);
  });

  it('when an ODS record is pushed, then it is visible at once in /records, /exports/csv and the ICAR /changes feed of the same dataset, beside ICAR resources', async () => {
    const id = uniqueId('ods');
    const k = await createDataset(hub, id);
    // the same dataset also holds an ICAR resource: the explore APIs show records only
    expect((await pushResources(hub, id, k.pushKey, [milking(1)])).status).to.equal(200);
    const record = { station: 'robot-3', kg: 11.5, at: '2024-05-02T06:11:42Z' };
    expect((await odsPush(hub, id, k.pushKey, record)).status).to.equal(200);
    const rid = expectedId(record);

    const recs = await odsRecords(hub, id, k.readKey);
    expect(recs.total_count).to.equal(1);
    expect(recs.results[0]).to.deep.include({ recordid: rid, ...record });

    const csv = await call(`${exploreUrl(hub, id, 'exports/csv')}?apikey=${k.readKey}`);
    expect(csv.status).to.equal(200);
    const lines = csv.text.trim().split('\n');
    expect(lines).to.have.length(2);
    const header = lines[0]!.split(';');
    const cells = lines[1]!.split(';');
    expect(cells[header.indexOf('recordid')]).to.equal(rid);
    expect(cells[header.indexOf('station')]).to.equal('robot-3');
    expect(cells[header.indexOf('kg')]).to.equal('11.5');

    const { items } = await readChanges(hub, id, k.readKey);
    expect(items).to.have.length(2);
    expect(items[0]).to.have.nested.property('meta.sourceId', 'mv-1');
    expect(items[1]).to.include({ recordid: rid });
    expect(items[1]!.fields).to.deep.equal(record);
    expect(items[1]!.record_timestamp).to.be.a('string');
  });

  it('when the push route is asked with GET, then 405', async () => {
    const id = uniqueId('ods');
    const k = await createDataset(hub, id);
    expect((await call(`${odsPushUrl(hub, id)}?pushkey=${k.pushKey}`)).status).to.equal(405);
  });
});
