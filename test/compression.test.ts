import { request, type IncomingMessage } from 'node:http';
import { brotliDecompressSync, createBrotliDecompress, createGunzip, gunzipSync } from 'node:zlib';
import type { Transform } from 'node:stream';
import { expect } from 'chai';
import { createDataset, milking, pushResources, uniqueId, type DatasetKeys } from './helpers/data.js';
import { call } from './helpers/http.js';
import { startTestHub, type TestHub } from './helpers/hub.js';
import { odsPush } from './helpers/ods.js';
import { eventually } from './helpers/poll.js';

interface RawReply {
  readonly status: number;
  readonly headers: IncomingMessage['headers'];
  /** the bytes as they came over the wire (nothing decoded) */
  readonly bytes: Buffer;
}

/** A GET that decodes nothing: fetch would undo the compression this file is about. */
function rawGet(url: string, headers: Record<string, string>): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    request(url, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode!, headers: res.headers, bytes: Buffer.concat(chunks) }),
      );
      res.on('error', reject);
    })
      .on('error', reject)
      .end();
  });
}

const decoders: Record<string, (b: Buffer) => Buffer> = { gzip: gunzipSync, br: brotliDecompressSync };

describe('compressed answers (koa-compress, src/http/compress.ts)', function () {
  this.timeout(60_000);
  let hub: TestHub;
  const icar = uniqueId('zicar');
  const uda = uniqueId('zuda');
  const ods = uniqueId('zods');
  let icarKeys: DatasetKeys;
  let udaKeys: DatasetKeys;
  let odsKeys: DatasetKeys;

  before(async () => {
    hub = await startTestHub();
    icarKeys = await createDataset(hub, icar);
    expect(
      (
        await pushResources(
          hub,
          icar,
          icarKeys.pushKey,
          Array.from({ length: 40 }, (_, i) => milking(i)),
        )
      ).status,
    ).to.equal(200);
    udaKeys = await createDataset(hub, uda);
    const entities = [
      { id: '@context', namespaces: { ex: 'http://ex.example/', _: 'http://ex.example/props/' } },
      ...Array.from({ length: 40 }, (_, i) => ({
        id: `ex:animal-${i}`,
        props: { name: `cow ${i}`, birthDate: '2021-03-14', weight: 500 + i },
        refs: { memberOf: 'ex:herd-42' },
      })),
    ];
    expect(
      (await call(`${hub.url}/datasets/${uda}/entities`, { token: udaKeys.pushKey, body: entities })).status,
    ).to.equal(200);
    odsKeys = await createDataset(hub, ods);
    const records = Array.from({ length: 100 }, (_, i) => ({
      station: `st-${i % 17}`,
      city: ['Paris', 'Lyon', 'Lille', 'Nantes'][i % 4],
      temperature: 12 + (i % 50) / 10,
      location: { lat: 48.85 + i / 1000, lon: 2.35 + i / 1000 },
    }));
    expect((await odsPush(hub, ods, odsKeys.pushKey, records)).status).to.equal(200);
    // enough datasets for the catalog and the dataset list to pass 1 KiB
    for (let i = 0; i < 8; i++) await createDataset(hub, uniqueId('zmore'));
  });
  after(() => hub.close());

  /** Every read route of every dialect, each answer well above the 1 KiB threshold. */
  const routes = (): Array<[string, string, Record<string, string>, RegExp]> => {
    const icarAuth = { authorization: `Bearer ${icarKeys.readKey}` };
    const udaAuth = { authorization: `Bearer ${udaKeys.readKey}` };
    const explore = `${hub.url}/api/explore/v2.1/catalog/datasets`;
    const key = `apikey=${odsKeys.readKey}`;
    return [
      ['ICAR /changes (JSON)', `${hub.url}/datasets/${icar}/changes`, icarAuth, /^application\/json/],
      [
        'ICAR /changes (NDJSON)',
        `${hub.url}/datasets/${icar}/changes?format=ndjson`,
        icarAuth,
        /^application\/x-ndjson/,
      ],
      ['ICAR /resources', `${hub.url}/datasets/${icar}/resources`, icarAuth, /^application\/json/],
      [
        'ICAR /changes as JSON-LD',
        `${hub.url}/datasets/${icar}/changes?format=jsonld`,
        icarAuth,
        /^application\/json/,
      ],
      [
        'ICAR long-poll with changes',
        `${hub.url}/datasets/${icar}/changes?feed=longpoll`,
        icarAuth,
        /^application\/json/,
      ],
      ['UDA /entities', `${hub.url}/datasets/${uda}/entities`, udaAuth, /^application\/json/],
      ['UDA /changes', `${hub.url}/datasets/${uda}/changes`, udaAuth, /^application\/json/],
      [
        'UDA /entities as JSON-LD',
        `${hub.url}/datasets/${uda}/entities?format=jsonld`,
        udaAuth,
        /^application\/json/,
      ],
      ['ODS explore records', `${explore}/${ods}/records?limit=100&${key}`, {}, /^application\/json/],
      ['ODS export json', `${explore}/${ods}/exports/json?${key}`, {}, /^application\/json/],
      ['ODS export jsonl', `${explore}/${ods}/exports/jsonl?${key}`, {}, /^application\/x-ndjson/],
      ['ODS export csv', `${explore}/${ods}/exports/csv?${key}`, {}, /^text\/csv/],
      [
        'ODS v1 search',
        `${hub.url}/api/records/1.0/search/?dataset=${ods}&rows=100&${key}`,
        {},
        /^application\/json/,
      ],
      // the admin sees every dataset of this file's hub in the catalog
      ['ODS catalog', explore, { authorization: `Bearer ${hub.adminToken}` }, /^application\/json/],
      [
        'admin dataset list',
        `${hub.url}/datasets`,
        { authorization: `Bearer ${hub.adminToken}` },
        /^application\/json/,
      ],
      ['JSON-LD context', `${hub.url}/contexts/icar`, {}, /^application\/ld\+json/],
      ['OpenAPI', `${hub.url}/openapi.json`, {}, /^application\/json/],
      ['console page', `${hub.url}/`, {}, /^text\/html/],
    ];
  };

  for (const encoding of ['gzip', 'br']) {
    it(`when the client accepts ${encoding}, then every read route answers ${encoding} that decodes to the uncompressed answer`, async () => {
      const failures: string[] = [];
      for (const [name, url, headers, type] of routes()) {
        const plain = await rawGet(url, { ...headers, 'accept-encoding': 'identity' });
        const packed = await rawGet(url, { ...headers, 'accept-encoding': encoding });
        if (plain.status !== 200 || packed.status !== 200) {
          failures.push(
            `${name}: status ${plain.status}/${packed.status} ${plain.bytes.toString().slice(0, 200)}`,
          );
          continue;
        }
        if (!type.test(String(plain.headers['content-type'])))
          failures.push(`${name}: ${plain.headers['content-type']}`);
        if (plain.bytes.length < 1024)
          failures.push(`${name}: only ${plain.bytes.length} B, below the threshold`);
        if (plain.headers['content-encoding'] !== undefined) failures.push(`${name}: identity came encoded`);
        if (packed.headers['content-encoding'] !== encoding) {
          failures.push(`${name}: Content-Encoding ${packed.headers['content-encoding']}`);
          continue;
        }
        expect(packed.headers.vary, name).to.match(/accept-encoding/i);
        const decoded = decoders[encoding]!(packed.bytes);
        if (!decoded.equals(plain.bytes))
          failures.push(`${name}: decoded body differs from the uncompressed one`);
        if (packed.bytes.length >= plain.bytes.length) failures.push(`${name}: not smaller`);
      }
      expect(failures).to.deep.equal([]);
    });
  }

  it('when the client takes both, then brotli is chosen; when it names neither, the answer is identity', async () => {
    const url = `${hub.url}/datasets/${icar}/changes`;
    const auth = { authorization: `Bearer ${icarKeys.readKey}` };
    expect(
      (await rawGet(url, { ...auth, 'accept-encoding': 'gzip, deflate, br' })).headers['content-encoding'],
    ).to.equal('br');
    expect(
      (await rawGet(url, { ...auth, 'accept-encoding': 'gzip;q=1, br;q=0.5' })).headers['content-encoding'],
    ).to.equal('gzip');
    const none = await rawGet(url, auth);
    expect(none.headers['content-encoding']).to.equal(undefined);
    expect(JSON.parse(none.bytes.toString())).to.be.an('array');
  });

  it('when an answer is under 1 KiB, then it is sent as is even to a client that accepts gzip', async () => {
    const r = await rawGet(`${hub.url}/health`, { 'accept-encoding': 'gzip' });
    expect(r.status).to.equal(200);
    expect(r.headers['content-encoding']).to.equal(undefined);
    expect(JSON.parse(r.bytes.toString())).to.deep.equal({ status: 'ok' });
  });

  for (const [encoding, decoder] of [
    ['gzip', createGunzip],
    ['br', createBrotliDecompress],
  ] as Array<[string, () => Transform]>) {
    it(`when an event stream is read with ${encoding}, then each event arrives decoded while the stream stays open`, async () => {
      const id = uniqueId('zsse');
      const keys = await createDataset(hub, id);
      const req = request(`${hub.url}/datasets/${id}/changes?feed=eventsource`, {
        headers: { authorization: `Bearer ${keys.readKey}`, 'accept-encoding': encoding },
      });
      let text = '';
      const res = await new Promise<IncomingMessage>((resolve, reject) => {
        req.on('response', resolve).on('error', reject).end();
      });
      try {
        expect(res.headers['content-type']).to.match(/^text\/event-stream/);
        expect(res.headers['content-encoding']).to.equal(encoding);
        res.pipe(decoder()).on('data', (d: Buffer) => (text += d.toString()));
        // the context event is written before anything happens: only a flushed compressor lets it out
        await eventually(
          async () => (text.includes('event: context') ? true : undefined),
          10_000,
          'context event',
        );
        expect((await pushResources(hub, id, keys.pushKey, [milking(1)])).status).to.equal(200);
        await eventually(
          async () => (text.includes('"mv-1"') ? true : undefined),
          10_000,
          'the pushed event',
        );
        expect(res.complete).to.equal(false);
      } finally {
        req.destroy();
      }
    });
  }
});
