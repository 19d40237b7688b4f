import { expect } from 'chai';
import { createDataset, pushResources, milking, uniqueId } from './helpers/data.js';
import { call } from './helpers/http.js';
import { startTestHub, type TestHub } from './helpers/hub.js';

describe('datasets, keys and auth (docs/datasets.md)', () => {
  let hub: TestHub;
  before(async () => {
    hub = await startTestHub();
  });
  after(() => hub.close());

  it('when /health is asked, then it answers ok', async () => {
    const r = await call(`${hub.url}/health`);
    expect(r.status).to.equal(200);
    expect(r.json).to.deep.equal({ status: 'ok' });
  });

  it('when a dataset is created, then 201 carries 128-bit hex push and read keys, and a second PUT is 200 keeping them', async () => {
    const id = uniqueId();
    const first = await call(`${hub.url}/datasets/${id}`, {
      method: 'PUT',
      token: hub.adminToken,
      body: { title: 'Robot milkings' },
    });
    expect(first.status).to.equal(201);
    const { pushKey, readKey } = first.json as { pushKey: string; readKey: string };
    expect(pushKey).to.match(/^[0-9a-f]{32,}$/);
    expect(readKey).to.match(/^[0-9a-f]{32,}$/);
    expect(pushKey).to.not.equal(readKey);

    const second = await call(`${hub.url}/datasets/${id}`, {
      method: 'PUT',
      token: hub.adminToken,
      body: { title: 'Renamed' },
    });
    expect(second.status).to.equal(200);
    expect(second.json).to.not.have.property('pushKey');
    const push = await pushResources(hub, id, pushKey, [milking(1)]);
    expect(push.status).to.equal(200);
    const d = await call(`${hub.url}/datasets/${id}`, { token: readKey });
    expect(d.json).to.include({ title: 'Renamed', count: 1, lastSeq: 1, name: id });
  });

  it('when keys are stored, then neither key appears in the data directory files', async () => {
    const id = uniqueId();
    const { pushKey, readKey } = await createDataset(hub, id);
    // the keys work: they are stored somewhere, so an empty grep means they are stored hashed
    expect((await pushResources(hub, id, pushKey, [milking(1)])).status).to.equal(200);
    expect((await call(`${hub.url}/datasets/${id}/changes`, { token: readKey })).status).to.equal(200);
    const { execFileSync } = await import('node:child_process');
    for (const [name, key] of [
      ['push key', pushKey],
      ['read key', readKey],
    ]) {
      // grep -a reads LevelDB's binary files too; -F: the key as a fixed string; exit 1 = not found
      let found = '';
      try {
        found = execFileSync('grep', ['-rlaF', key!, hub.dataDir]).toString().trim();
      } catch (err) {
        expect((err as { status?: number }).status, `grep for the ${name} failed`).to.equal(1);
      }
      expect(found, `the ${name} in clear in ${found}`).to.equal('');
    }
  });

  it('when a dataset id is invalid, then PUT is 400 and nothing is created', async () => {
    for (const bad of ['-lead', 'a'.repeat(129), 'sp%20ace', '..', 'a%2Fb', 'x!y']) {
      const r = await call(`${hub.url}/datasets/${bad}`, { method: 'PUT', token: hub.adminToken, body: {} });
      // '..' is resolved by the client: PUT / meets the console page, which is GET only (405)
      expect(r.status, bad).to.be.oneOf([400, 404, 405]);
      expect((r.json as { error: { code: string } }).error.code).to.be.a('string');
    }
    const list = await call(`${hub.url}/datasets`, { token: hub.adminToken });
    expect((list.json as { name: string }[]).map((d) => d.name)).to.not.include('..');
  });

  it('when a config field is unknown or of the wrong type, then PUT is 400 INVALID_CONFIG', async () => {
    const id = uniqueId();
    for (const body of [
      { nope: 1 },
      { uniqueKeys: 'isbn' },
      { schedule: { url: 'ftp://x', everyMinutes: 0.5 } },
      [],
    ]) {
      const r = await call(`${hub.url}/datasets/${id}`, { method: 'PUT', token: hub.adminToken, body });
      expect(r.status).to.equal(400);
      expect((r.json as { error: { code: string } }).error.code).to.equal('INVALID_CONFIG');
    }
  });

  it('when the schema does not compile, then PUT is 400 INVALID_SCHEMA', async () => {
    const r = await call(`${hub.url}/datasets/${uniqueId()}`, {
      method: 'PUT',
      token: hub.adminToken,
      body: { schema: { type: 'object', properties: { a: { type: 'nonsense' } } } },
    });
    expect(r.status).to.equal(400);
    expect((r.json as { error: { code: string } }).error.code).to.equal('INVALID_SCHEMA');
  });

  it('when every credential form is used, then each is accepted', async () => {
    const id = uniqueId();
    const { readKey } = await createDataset(hub, id);
    const url = `${hub.url}/datasets/${id}/changes`;
    const forms: Array<[string, Record<string, string>]> = [
      [url, { authorization: `Bearer ${readKey}` }],
      [url, { authorization: `Apikey ${readKey}` }],
      [url, { authorization: `Basic ${Buffer.from(`user:${readKey}`).toString('base64')}` }],
      [`${url}?apikey=${readKey}`, {}],
      [`${url}?pushkey=${readKey}`, {}],
    ];
    for (const [u, headers] of forms) {
      const r = await call(u, { headers });
      expect(r.status, JSON.stringify(headers)).to.equal(200);
    }
  });

  it('when credentials are missing, unknown or garbled, then 401; when valid but not granting, then 403', async () => {
    const a = uniqueId('a');
    const b = uniqueId('b');
    const ka = await createDataset(hub, a);
    await createDataset(hub, b);
    const body = [{ id: '@context' }, milking(1)];
    const cases: Array<[string, Record<string, string>, number]> = [
      [`${hub.url}/datasets/${a}/resources`, {}, 401],
      [
        `${hub.url}/datasets/${a}/resources`,
        { authorization: 'Bearer 00000000000000000000000000000000' },
        401,
      ],
      [`${hub.url}/datasets/${a}/resources`, { authorization: 'Bearer' }, 401],
      [`${hub.url}/datasets/${a}/resources`, { authorization: 'Digest abc' }, 401],
      [`${hub.url}/datasets/${a}/resources`, { authorization: 'Basic %%%' }, 401],
      [`${hub.url}/datasets/${a}/resources`, { authorization: `Bearer ${ka.readKey}` }, 403],
      [`${hub.url}/datasets/${b}/resources`, { authorization: `Bearer ${ka.pushKey}` }, 403],
    ];
    for (const [url, headers, status] of cases) {
      const r = await call(url, { headers, body });
      expect(r.status, JSON.stringify(headers)).to.equal(status);
      expect((r.json as { error: { code: string } }).error.code).to.equal(
        status === 401 ? 'UNAUTHORIZED' : 'FORBIDDEN',
      );
    }
    // a dataset key on an admin route
    const admin = await call(`${hub.url}/datasets/${a}`, { method: 'PUT', token: ka.pushKey, body: {} });
    expect(admin.status).to.equal(403);
    const anon = await call(`${hub.url}/datasets/${a}`, { method: 'DELETE' });
    expect(anon.status).to.equal(401);
    // reading another dataset with a key of this one
    expect((await call(`${hub.url}/datasets/${b}/changes`, { token: ka.readKey })).status).to.equal(403);
  });

  it('when pushing to a dataset that does not exist, then 404 and no dataset is created', async () => {
    const id = uniqueId();
    const r = await pushResources(hub, id, hub.adminToken, [milking(1)]);
    expect(r.status).to.equal(404);
    expect((r.json as { error: { code: string } }).error.code).to.equal('DATASET_NOT_FOUND');
    expect((await call(`${hub.url}/datasets/${id}`, { token: hub.adminToken })).status).to.equal(404);
  });

  it('when a dataset is public, then anyone reads it and GET /datasets lists it to anonymous callers, but not private ones', async () => {
    const pub = uniqueId('pub');
    const priv = uniqueId('priv');
    await createDataset(hub, pub, { public: true });
    const kp = await createDataset(hub, priv);
    expect((await call(`${hub.url}/datasets/${pub}/changes`)).status).to.equal(200);
    expect((await call(`${hub.url}/datasets/${priv}/changes`)).status).to.equal(401);
    const anon = (await call(`${hub.url}/datasets`)).json as { name: string }[];
    expect(anon.map((d) => d.name))
      .to.include(pub)
      .and.not.include(priv);
    const withKey = (await call(`${hub.url}/datasets`, { token: kp.readKey })).json as {
      name: string;
      url: string;
      changes: string;
    }[];
    expect(withKey.map((d) => d.name))
      .to.include(priv)
      .and.include(pub);
    const item = withKey.find((d) => d.name === priv)!;
    expect(item).to.have.keys('name', 'url', 'changes', 'containedTypes');
    expect(item.changes).to.equal(`${item.url}/changes`);
    // a public dataset still needs the push key to push
    expect((await pushResources(hub, pub, '', [milking(1)])).status).to.equal(401);
  });

  it('when keys are renewed, then the old keys stop working and the new ones work', async () => {
    const id = uniqueId();
    const old = await createDataset(hub, id);
    const r = await call(`${hub.url}/datasets/${id}/keys/renew`, { method: 'POST', token: hub.adminToken });
    expect(r.status).to.equal(200);
    const fresh = r.json as { pushKey: string; readKey: string };
    expect(fresh.pushKey).to.not.equal(old.pushKey);
    expect((await pushResources(hub, id, old.pushKey, [milking(1)])).status).to.equal(401);
    expect((await call(`${hub.url}/datasets/${id}/changes`, { token: old.readKey })).status).to.equal(401);
    expect((await pushResources(hub, id, fresh.pushKey, [milking(1)])).status).to.equal(200);
    expect((await call(`${hub.url}/datasets/${id}/changes`, { token: fresh.readKey })).status).to.equal(200);
  });

  it('when a dataset is deleted, then it is 404 and a re-created one of the same name starts empty', async () => {
    const id = uniqueId();
    const k = await createDataset(hub, id);
    await pushResources(hub, id, k.pushKey, [milking(1), milking(2)]);
    const del = await call(`${hub.url}/datasets/${id}`, { method: 'DELETE', token: hub.adminToken });
    expect(del.status).to.equal(204);
    expect((await call(`${hub.url}/datasets/${id}/changes`, { token: hub.adminToken })).status).to.equal(404);
    expect(
      (await call(`${hub.url}/datasets/${id}`, { method: 'DELETE', token: hub.adminToken })).status,
    ).to.equal(404);
    const k2 = await createDataset(hub, id);
    const d = (await call(`${hub.url}/datasets/${id}`, { token: k2.readKey })).json as {
      count: number;
      lastSeq: number;
    };
    expect(d).to.include({ count: 0, lastSeq: 0 });
    // the old keys do not open the new dataset
    expect((await pushResources(hub, id, k.pushKey, [milking(1)])).status).to.equal(401);
  });

  it('when a daily quota is set, then keys get X-RateLimit headers and a 429 past it, and admin is never limited', async () => {
    const id = uniqueId();
    const k = await createDataset(hub, id, { quota: { perDay: 2 } });
    const r1 = await call(`${hub.url}/datasets/${id}/changes`, { token: k.readKey });
    expect(r1.headers.get('x-ratelimit-limit')).to.equal('2');
    expect(r1.headers.get('x-ratelimit-remaining')).to.equal('1');
    expect(Number(r1.headers.get('x-ratelimit-reset'))).to.be.greaterThan(Date.now() / 1000);
    expect((await call(`${hub.url}/datasets/${id}/changes`, { token: k.readKey })).status).to.equal(200);
    const r3 = await call(`${hub.url}/datasets/${id}/changes`, { token: k.readKey });
    expect(r3.status).to.equal(429);
    expect((r3.json as { error: { code: string } }).error.code).to.equal('QUOTA_EXCEEDED');
    // the push key has its own count
    expect((await pushResources(hub, id, k.pushKey, [milking(1)])).status).to.equal(200);
    for (let i = 0; i < 4; i++)
      expect((await call(`${hub.url}/datasets/${id}/changes`, { token: hub.adminToken })).status).to.equal(
        200,
      );
  });

  it('when the hub restarts, then a key keeps what it used of its daily quota', async () => {
    let own = await startTestHub();
    try {
      const id = uniqueId();
      const k = await createDataset(own, id, { quota: { perDay: 3 } });
      for (let i = 0; i < 2; i++)
        expect((await call(`${own.url}/datasets/${id}/changes`, { token: k.readKey })).status).to.equal(200);
      own = await own.restart();
      const third = await call(`${own.url}/datasets/${id}/changes`, { token: k.readKey });
      expect(third.status).to.equal(200);
      expect(third.headers.get('x-ratelimit-remaining')).to.equal('0');
      expect((await call(`${own.url}/datasets/${id}/changes`, { token: k.readKey })).status).to.equal(429);
      // renewed keys start their own count
      const renewed = (
        await call(`${own.url}/datasets/${id}/keys/renew`, { method: 'POST', token: own.adminToken })
      ).json as { readKey: string };
      expect((await call(`${own.url}/datasets/${id}/changes`, { token: renewed.readKey })).status).to.equal(
        200,
      );
    } finally {
      await own.close();
    }
  });

  it('when /metrics is scraped after a push, then request and per-dataset change counters are there', async () => {
    const id = uniqueId();
    const k = await createDataset(hub, id);
    await pushResources(hub, id, k.pushKey, [milking(1), milking(2)]);
    const r = await call(`${hub.url}/metrics`);
    expect(r.status).to.equal(200);
    expect(r.text).to.match(new RegExp(`hub_changes_written_total\\{dataset="${id}"\\} 2`));
    expect(r.text).to.include('hub_http_requests_total{');
    expect(r.text).to.include('hub_http_request_duration_seconds_bucket');
  });
});
