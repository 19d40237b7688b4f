import { expect } from 'chai';
import fc from 'fast-check';
import { gzipSync } from 'node:zlib';
import { CONTEXT, createDataset, milking, uniqueId, type DatasetKeys } from './helpers/data.js';
import { call, rawRequest } from './helpers/http.js';
import { startTestHub, type TestHub } from './helpers/hub.js';

/** Runs per property in `npm test`; FUZZ_RUNS=5000 for a long session. */
const RUNS = Number(process.env.FUZZ_RUNS ?? 400);

interface Route {
  readonly method: string;
  readonly path: string;
}

const DATASET_PARAMS = ['id', 'dataset', 'dataset_id'];

/** Hostile values for path segments: traversal, encodings, control bytes, huge, unicode. */
const segment = fc.oneof(
  fc.constantFrom(
    '..',
    '%2e%2e',
    '..%2f..%2fetc%2fpasswd',
    '%00',
    '%ff%fe',
    '%E2%80%AE',
    'a'.repeat(300),
    '~',
    ' ',
    '%20',
    '__proto__',
    'constructor',
  ),
  fc.string({ maxLength: 40 }).map(encodeURIComponent),
);

/** Adversarial JSON values: prototype keys, deep nesting, giant strings and arrays, scalars. */
const hostileJson = fc.oneof(
  fc.json({ maxDepth: 6 }),
  fc.constant('{"__proto__":{"polluted":true},"constructor":{"prototype":{"x":1}}}'),
  fc.constant(
    '[{"id":"@context","__proto__":{"a":1}},{"resourceType":"x","meta":{"source":"a","sourceId":"b","__proto__":{"isDeleted":true}}}]',
  ),
  fc.constant('{"a":1,"a":2,"a":{"b":3}}'),
  fc.integer({ min: 1, max: 20_000 }).map((n) => '['.repeat(n) + ']'.repeat(n)),
  fc.integer({ min: 1, max: 20_000 }).map((n) => '{"a":'.repeat(n) + '1' + '}'.repeat(n)),
  fc.integer({ min: 1, max: 4_000_000 }).map((n) => JSON.stringify({ s: 'x'.repeat(n) })),
  fc.integer({ min: 1, max: 200_000 }).map((n) => JSON.stringify(Array.from({ length: n }, () => 0))),
  fc.constantFrom('null', 'true', '0', '"str"', '[]', '{}', '[null]', '[[]]', '1e999', '-0', '"\\ud800"'),
  fc.string({ maxLength: 200 }),
  fc.constant(JSON.stringify([CONTEXT, milking(1), { ...milking(2), meta: null }])),
);

const contentType = fc.constantFrom(
  undefined,
  'application/json',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/json; charset=latin1',
  'garbage/;;;',
);

interface HostileRequest {
  readonly route: Route;
  readonly segments: string[];
  readonly query: string;
  readonly credential: 'none' | 'push' | 'read' | 'admin' | 'garbled';
  readonly body:
    | { kind: 'json'; text: string }
    | { kind: 'bytes'; bytes: Uint8Array }
    | { kind: 'gzip'; text: string; corrupt: boolean };
  readonly contentType: string | undefined;
  /** sent chunked, without a Content-Length, in pieces */
  readonly chunked: boolean;
}

const query = fc.oneof(
  fc.constant(''),
  fc.constantFrom(
    'since=garbage',
    'since=',
    'limit=-1',
    'limit=99999999999999999999',
    'limit=abc',
    'from=%00',
    'latestOnly=maybe',
    'feed=longpoll&timeout=1',
    'format=xml',
    'where=((((',
    'where=a%20%3D%20%22',
    'select=*,,,',
    'rows=-5',
    'start=1e9',
    'callback=alert(1)',
    'limit=1&limit=2',
    'apikey=&pushkey=',
  ),
  fc
    .dictionary(
      fc.constantFrom('since', 'limit', 'from', 'where', 'order_by', 'refine', 'offset', 'rows', 'q'),
      fc.string({ maxLength: 30 }),
      {
        maxKeys: 3,
      },
    )
    .map((d) => new URLSearchParams(d).toString()),
);

function build(
  hub: TestHub,
  r: HostileRequest,
  dataset: string,
  keys: DatasetKeys,
): { url: string; headers: Record<string, string> } {
  let i = 0;
  let path = r.route.path;
  for (const p of DATASET_PARAMS)
    path = path.replace(`{${p}}`, i++ % 3 === 0 ? dataset : (r.segments[0] ?? dataset));
  path = path.replace(/\{[^}]+\}/g, () => r.segments[i++ % Math.max(1, r.segments.length)] ?? 'x');
  const headers: Record<string, string> = {};
  const key = {
    push: keys.pushKey,
    read: keys.readKey,
    admin: hub.adminToken,
    garbled: '\u0000\u00ff',
    none: '',
  }[r.credential];
  if (key) headers.authorization = `Bearer ${encodeURIComponent(key)}`;
  if (r.contentType) headers['content-type'] = r.contentType;
  return { url: `${hub.url}${path}${r.query ? `?${r.query}` : ''}`, headers };
}

/** A 4xx must come with a JSON body that carries a stable error code, in the protocol's shape. */
function errorCodeOf(json: unknown): unknown {
  const j = json as Record<string, unknown> | undefined;
  if (!j || typeof j !== 'object') return undefined;
  const e = j.error as Record<string, unknown> | string | undefined;
  if (e && typeof e === 'object' && typeof e.code === 'string') return e.code; // hub, obsrv
  if (typeof j.errorcode === 'number') return j.errorcode; // ODS push
  if (typeof j.error_code === 'string') return j.error_code; // ODS explore
  return undefined;
}

describe('hostile input: generated bodies, URLs, encodings and credentials on every route', function () {
  this.timeout(600_000);
  let hub: TestHub;
  let routes: Route[];
  let dataset: string;
  let keys: DatasetKeys;
  let tried = 0;
  const statuses = new Map<number, number>();

  before(async () => {
    hub = await startTestHub({ limits: { bodyIdleTimeoutMs: 2000 } });
    const spec = (await call(`${hub.url}/openapi.json`)).json as {
      paths: Record<string, Record<string, unknown>>;
    };
    routes = Object.entries(spec.paths).flatMap(([path, item]) =>
      Object.keys(item)
        .filter((m) => ['get', 'put', 'post', 'delete'].includes(m))
        // long-lived feeds are exercised elsewhere; a fuzzer would only hold them open
        .map((m) => ({ method: m.toUpperCase(), path })),
    );
    dataset = uniqueId('fuzz');
    keys = await createDataset(hub, dataset, { public: false });
  });
  after(async () => {
    console.log(
      `      hostile input: ${tried} requests, statuses ${JSON.stringify(Object.fromEntries(statuses))}`,
    );
    await hub.close();
  });

  it('when hostile requests hit every route, then each answer is below 500 and every 4xx is JSON with a stable code', async () => {
    const request = fc.record({
      route: fc.constantFrom(...routes),
      segments: fc.array(segment, { minLength: 1, maxLength: 3 }),
      query,
      credential: fc.constantFrom('none', 'push', 'read', 'admin', 'garbled'),
      body: fc.oneof(
        hostileJson.map((text) => ({ kind: 'json' as const, text })),
        fc.uint8Array({ maxLength: 300 }).map((bytes) => ({ kind: 'bytes' as const, bytes })),
        fc.record({ text: hostileJson, corrupt: fc.boolean() }).map((g) => ({ kind: 'gzip' as const, ...g })),
      ),
      contentType,
      chunked: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const { url, headers } = build(hub, r, dataset, keys);
        let body: Buffer | undefined;
        if (r.route.method !== 'GET' && r.route.method !== 'DELETE') {
          if (r.body.kind === 'json') body = Buffer.from(r.body.text);
          else if (r.body.kind === 'bytes') body = Buffer.from(r.body.bytes);
          else {
            body = gzipSync(r.body.text);
            if (r.body.corrupt) body.fill(0x41, 10, Math.min(body.length, 40));
            headers['content-encoding'] = 'gzip';
          }
          if (!r.chunked) headers['content-length'] = String(body.length);
        }
        if (url.includes('feed=longpoll')) return; // a parked reader is not an answer
        // the fuzzer must not delete its own dataset or rotate its keys away
        if (r.credential === 'admin' && (r.route.method === 'DELETE' || r.route.path.endsWith('/renew')))
          return;
        const res = await rawRequest(url, {
          method: r.route.method,
          headers,
          ...(r.chunked && body
            ? { chunks: [body.subarray(0, body.length >> 1), body.subarray(body.length >> 1)] }
            : { body }),
        });
        tried++;
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        expect(res.status, `${r.route.method} ${url.slice(0, 200)}`).to.be.below(500);
        if (res.status >= 400) {
          let json: unknown;
          try {
            json = JSON.parse(res.text);
          } catch {
            json = undefined;
          }
          expect(
            errorCodeOf(json),
            `${res.status} ${r.route.method} ${url.slice(0, 120)}: ${res.text.slice(0, 200)}`,
          ).to.not.equal(undefined);
          expect(res.text).to.not.match(/\bat .+\.(ts|js):\d+|node_modules|\/work\//);
        }
        // the hub is still up and well after every hostile request
        expect((await call(`${hub.url}/health`)).status).to.equal(200);
      }),
      { numRuns: RUNS },
    );
    expect((await call(`${hub.url}/health`)).status).to.equal(200);
  });

  it('when a push carries __proto__ keys as JSON text, then no object prototype is polluted and the keys are kept as data', async () => {
    // as text: a `__proto__` key in an object literal sets the prototype and is never sent
    const icarExtra = '{"__proto__":{"polluted":true},"constructor":{"prototype":{"x":1}}}';
    const icar = JSON.stringify([CONTEXT, milking(1, 'src.proto')]).replace(
      /}\]$/,
      `,"extra":${icarExtra}}]`,
    );
    // UDA props hold values or entities: the hostile keys as property names
    const udaProps = '{"__proto__":"polluted","constructor":"prototype"}';
    const uda =
      '[{"id":"@context","namespaces":{"_":"http://data.example.org/props/","ex":"http://ex.org/"}},' +
      `{"id":"ex:proto","props":${udaProps},"refs":{}}]`;
    const udaId = uniqueId('proto-uda');
    const udaKeys = await createDataset(hub, udaId);
    const cases = [
      {
        push: `${hub.url}/datasets/${dataset}/resources`,
        text: icar,
        id: dataset,
        k: keys,
        sent: icarExtra,
        pick: (i: Record<string, unknown>) => i.extra,
      },
      {
        push: `${hub.url}/datasets/${udaId}/entities`,
        text: uda,
        id: udaId,
        k: udaKeys,
        sent: udaProps,
        pick: (i: Record<string, unknown>) => i.props,
      },
    ];
    for (const c of cases) {
      expect(c.text).to.contain(`"__proto__":`);
      const r = await call(c.push, {
        token: c.k.pushKey,
        raw: c.text,
        headers: { 'content-type': 'application/json' },
      });
      expect(r.status, `${c.push}: ${r.text}`).to.equal(200);
    }
    expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
    expect(Object.prototype).to.not.have.property('polluted');
    // read back: the keys are there as own data, exactly as sent
    for (const c of cases) {
      const r = await call(`${hub.url}/datasets/${c.id}/changes`, { token: c.k.readKey });
      expect(r.status).to.equal(200);
      const items = (JSON.parse(r.text) as Record<string, unknown>[]).slice(1, -1);
      const held = items
        .map((i) => c.pick(i) as Record<string, unknown> | undefined)
        .filter((e) => e !== undefined && Object.keys(e).includes('__proto__'));
      expect(held, `${c.id}: one record carries the hostile keys`).to.have.length(1);
      expect(Object.getPrototypeOf(held[0]), `${c.id}: a plain object`).to.equal(Object.prototype);
      expect(JSON.stringify(held[0]), `${c.id}: both keys kept as own data`).to.equal(c.sent);
    }
    expect((await call(`${hub.url}/health`)).status).to.equal(200);
  });
});
