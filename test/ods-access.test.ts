import { expect } from 'chai';
import { createDataset, uniqueId, type DatasetKeys } from './helpers/data.js';
import { call } from './helpers/http.js';
import { type TestHub } from './helpers/hub.js';
import { exploreUrl, odsDataset, odsPush, odsPushUrl } from './helpers/ods.js';

describe('ODS cross-origin access, JSONP and quotas (docs/ods.md#cors-jsonp-and-quotas)', () => {
  let hub: TestHub;
  let ds: string;
  let keys: DatasetKeys;
  before(async () => {
    ({ hub, ds, keys } = await odsDataset(
      'access',
      [
        { city: 'Paris', n: 1 },
        { city: 'Lyon', n: 2 },
      ],
      { config: {} },
    ));
  });
  after(() => hub.close());

  it('when a browser reads any read route, then Access-Control-Allow-Origin is *, on errors too', async () => {
    const origin = { origin: 'https://app.example.org' };
    for (const url of [
      `${exploreUrl(hub, ds, 'records')}?apikey=${keys.readKey}`,
      `${exploreUrl(hub, ds, 'exports/csv')}?apikey=${keys.readKey}`,
      `${hub.url}/api/records/1.0/search?dataset=${ds}&apikey=${keys.readKey}`,
      `${hub.url}/datasets/${ds}/changes?apikey=${keys.readKey}`,
      `${hub.url}/health`,
      exploreUrl(hub, ds, 'records'), // 401
      `${exploreUrl(hub, ds, 'records')}?apikey=${keys.readKey}&where=%3D`, // 400
    ]) {
      const r = await call(url, { headers: origin });
      expect(r.headers.get('access-control-allow-origin'), url).to.equal('*');
      expect(r.headers.get('access-control-expose-headers'), url).to.include('X-RateLimit-Remaining');
    }
  });

  it('when a browser sends a preflight for a read route, then 204 allows the method and the asked headers', async () => {
    const r = await fetch(exploreUrl(hub, ds, 'records'), {
      method: 'OPTIONS',
      headers: {
        origin: 'https://app.example.org',
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'authorization',
      },
    });
    expect(r.status).to.equal(204);
    expect(r.headers.get('access-control-allow-origin')).to.equal('*');
    expect(r.headers.get('access-control-allow-methods')).to.include('GET');
    expect(r.headers.get('access-control-allow-headers')).to.equal('authorization');
  });

  it('when a browser calls the push API, then neither the push nor its preflight carries CORS headers', async () => {
    const push = await call(`${odsPushUrl(hub, ds)}?pushkey=${keys.pushKey}`, {
      raw: '{"city":"Nice"}',
      headers: { origin: 'https://app.example.org' },
    });
    expect(push.status).to.equal(200);
    expect(push.headers.get('access-control-allow-origin')).to.equal(null);
    const pre = await fetch(odsPushUrl(hub, ds), {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example.org', 'access-control-request-method': 'POST' },
    });
    expect(pre.headers.get('access-control-allow-origin')).to.equal(null);
    expect(pre.headers.get('access-control-allow-methods')).to.equal(null);
    // routes match case-insensitively, and so does the exception
    const upper = await call(`${hub.url}/API/PUSH/1.0/${ds}/realtime/push/?pushkey=${keys.pushKey}`, {
      raw: '{"city":"Nice"}',
    });
    expect(upper.status).to.equal(200);
    expect(upper.headers.get('access-control-allow-origin')).to.equal(null);
  });

  it('when callback= is given on a JSON GET, then the answer is a JSONP call of the same JSON', async () => {
    const plain = await call(`${exploreUrl(hub, ds, 'records')}?apikey=${keys.readKey}&order_by=n`);
    const r = await call(
      `${exploreUrl(hub, ds, 'records')}?apikey=${keys.readKey}&order_by=n&callback=app.onData`,
    );
    expect(r.status).to.equal(200);
    expect(r.headers.get('content-type')).to.match(/^application\/javascript/);
    expect(r.headers.get('x-content-type-options')).to.equal('nosniff');
    const m = /^\/\*\*\/ app\.onData\(([\s\S]*)\);$/.exec(r.text);
    expect(m, r.text).to.not.equal(null);
    expect(JSON.parse(m![1]!)).to.deep.equal(plain.json);

    const v1 = await call(
      `${hub.url}/api/records/1.0/search?dataset=${ds}&apikey=${keys.readKey}&callback=cb`,
    );
    expect(v1.text).to.match(/^\/\*\*\/ cb\(\{"nhits":3,/);
    const exp = await call(`${exploreUrl(hub, ds, 'exports/json')}?apikey=${keys.readKey}&callback=cb_2`);
    const em = /^\/\*\*\/ cb_2\(([\s\S]*)\);$/.exec(exp.text);
    expect(em, exp.text).to.not.equal(null);
    expect(JSON.parse(em![1]!)).to.have.length(3);
  });

  it('when the callback is not a plain function name, then 400 and no script is echoed', async () => {
    for (const cb of ['alert(1)//', '1abc', 'a..b', '<script>', 'x'.repeat(200)]) {
      const r = await call(
        `${exploreUrl(hub, ds, 'records')}?apikey=${keys.readKey}&callback=${encodeURIComponent(cb)}`,
      );
      expect(r.status, cb).to.equal(400);
      expect((r.json as { error_code: string }).error_code).to.equal('InvalidRESTParameterError');
      expect(r.text).to.not.include(cb);
    }
  });

  it('when a daily quota is set, then ODS routes carry X-RateLimit headers and past it answer 429 {"errorcode":10002,...}', async () => {
    const id = uniqueId('quota');
    const k = await createDataset(hub, id, { quota: { perDay: 2 } });
    const read = `${exploreUrl(hub, id, 'records')}?apikey=${k.readKey}`;
    const first = await call(read);
    expect(first.status).to.equal(200);
    expect(first.headers.get('x-ratelimit-limit')).to.equal('2');
    expect(first.headers.get('x-ratelimit-remaining')).to.equal('1');
    expect(Number(first.headers.get('x-ratelimit-reset'))).to.be.greaterThan(Date.now() / 1000);
    expect((await call(read)).status).to.equal(200);
    const over = await call(read);
    expect(over.status).to.equal(429);
    expect(over.headers.get('x-ratelimit-remaining')).to.equal('0');
    expect(Object.keys(over.json as object)).to.deep.equal(['errorcode', 'error']);
    expect((over.json as { errorcode: number; error: string }).errorcode).to.equal(10002);
    expect((over.json as { error: string }).error).to.match(/^Too many requests/);

    // the push key has its own count, and the push API answers the same body past it
    expect((await odsPush(hub, id, k.pushKey, { a: 1 })).status).to.equal(200);
    expect((await odsPush(hub, id, k.pushKey, { a: 2 })).status).to.equal(200);
    const pushOver = await odsPush(hub, id, k.pushKey, { a: 3 });
    expect(pushOver.status).to.equal(429);
    expect(pushOver.json).to.deep.include({ errorcode: 10002 });
    expect(Object.keys(pushOver.json as object)).to.deep.equal(['errorcode', 'error']);
  });
});
