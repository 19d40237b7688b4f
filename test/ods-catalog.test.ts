import { expect } from 'chai';
import { createDataset, uniqueId, type DatasetKeys } from './helpers/data.js';
import { call, type Reply } from './helpers/http.js';
import { startTestHub, type TestHub } from './helpers/hub.js';
import { envelope, ingest } from './helpers/obsrv.js';
import { odsPush } from './helpers/ods.js';
import { fakeServer } from './helpers/fake-server.js';
import { waitFor } from './helpers/poll.js';

interface CatalogDataset {
  dataset_id: string;
  title: string;
  records_count: number;
  data_processed: string | null;
  fields: { name: string; type: string }[];
}
interface CatalogAnswer {
  total_count: number;
  results: CatalogDataset[];
}

const PNG_1PX =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=';

describe('ODS catalog: dataset search and lookup (docs/ods.md#catalog)', () => {
  let hub: TestHub;
  const tag = uniqueId('cat');
  let milk: { id: string; keys: DatasetKeys };
  let herd: { id: string; keys: DatasetKeys };
  let weather: { id: string; keys: DatasetKeys };
  let empty: { id: string; keys: DatasetKeys };

  const catalogUrl = (tail = '') => `${hub.url}/api/explore/v2.1/catalog/datasets${tail}`;

  /** GET the catalog with a credential (or none) and query parameters. */
  async function search(
    key: string | undefined,
    params: Record<string, string | number> = {},
  ): Promise<Reply> {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) qs.set(k, String(v));
    if (key) qs.set('apikey', key);
    return call(`${catalogUrl()}?${qs}`);
  }
  const ids = (r: Reply): string[] => (r.json as CatalogAnswer).results.map((d) => d.dataset_id);
  /** only this test's datasets: other files' hubs are separate, but keep the filter explicit */
  const mine = `dataset_id like "${tag}*"`;

  before(async () => {
    hub = await startTestHub();
    const make = async (suffix: string, config: object) => {
      const id = `${tag}-${suffix}`;
      return { id, keys: await createDataset(hub, id, config) };
    };
    milk = await make('milk', { title: 'Robot milkings, farm 42', uniqueKeys: ['milking_id'] });
    herd = await make('herd', { title: 'Herd register', public: true });
    weather = await make('weather', { title: 'Weather station' });
    empty = await make('empty', {});
    expect(
      (
        await odsPush(hub, milk.id, milk.keys.pushKey, [
          { milking_id: 'mv-1', robot: 'robot-1', kg: 11, ts: '2024-05-02T06:11:42Z', ok: true },
          { milking_id: 'mv-2', robot: 'robot-2', kg: 12, ts: '2024-05-02T06:20:00Z', ok: false },
        ])
      ).status,
    ).to.equal(200);
    await odsPush(hub, herd.id, herd.keys.pushKey, [
      { animal: 'DE01', born: '2021-03-04', barn: '48.11,-1.68' },
    ]);
    await odsPush(hub, weather.id, weather.keys.pushKey, [{ station: 'w1', temp: 14.5 }]);
  });
  after(() => hub.close());

  it('when the catalog is searched by title, then the matching dataset is found with its count, last push and field types', async () => {
    const r = await search(milk.keys.readKey, { where: 'title like "robot milk*"' });
    expect(r.status).to.equal(200);
    const answer = r.json as CatalogAnswer;
    expect(answer.total_count).to.equal(1);
    const d = answer.results[0]!;
    expect(d).to.have.keys(
      'dataset_id',
      'title',
      'records_count',
      'data_processed',
      'fields',
      'has_records',
      'features',
      'metas',
    );
    expect(d.dataset_id).to.equal(milk.id);
    expect(d.title).to.equal('Robot milkings, farm 42');
    expect(d.records_count).to.equal(2);
    expect(Date.now() - Date.parse(d.data_processed!)).to.be.within(0, 60_000);
    expect(d.fields).to.deep.equal([
      { name: 'milking_id', type: 'text' },
      { name: 'robot', type: 'text' },
      { name: 'kg', type: 'int' },
      { name: 'ts', type: 'datetime' },
      { name: 'ok', type: 'boolean' },
    ]);
    // search() looks in the title and the id, case-insensitively
    const admin = await search(hub.adminToken, { where: `search("WEATHER") and ${mine}` });
    expect(ids(admin)).to.deep.equal([weather.id]);
  });

  it('when a dataset key searches the catalog, then it sees its own dataset and the public ones, never another private one', async () => {
    expect(ids(await search(milk.keys.readKey, { where: mine }))).to.deep.equal([herd.id, milk.id]);
    expect(ids(await search(milk.keys.pushKey, { where: mine }))).to.deep.equal([herd.id, milk.id]);
    // a title search cannot reveal a private dataset either
    const probe = await search(milk.keys.readKey, { where: 'title = "Weather station"' });
    expect(probe.json).to.deep.equal({ total_count: 0, results: [] });
    // anonymous: public only; admin: everything
    expect(ids(await search(undefined, { where: mine }))).to.deep.equal([herd.id]);
    expect(ids(await search(hub.adminToken, { where: mine, limit: 100 }))).to.deep.equal(
      [empty.id, herd.id, milk.id, weather.id].sort(),
    );
  });

  it('when the credential is unknown or garbled, then the catalog is 401, before its parameters are judged', async () => {
    const unknown = await search('f'.repeat(32), { where: '((( bad' });
    expect(unknown.status).to.equal(401);
    const garbled = await call(`${catalogUrl()}?limit=9999`, { headers: { authorization: 'Basic !!!' } });
    expect(garbled.status).to.equal(401);
    expect((garbled.json as { error_code: string }).error_code).to.equal('UnauthorizedError');
  });

  it('when where, order_by, limit and offset are given, then datasets are filtered, sorted and paged like records', async () => {
    const all = { where: mine };
    const byCount = await search(hub.adminToken, { ...all, order_by: 'records_count desc, dataset_id' });
    expect(ids(byCount)).to.deep.equal([milk.id, herd.id, weather.id, empty.id]);
    const paged = await search(hub.adminToken, { ...all, order_by: 'dataset_id', limit: 2, offset: 1 });
    expect((paged.json as CatalogAnswer).total_count).to.equal(4);
    expect(ids(paged)).to.deep.equal([herd.id, milk.id]);
    const pushed = await search(hub.adminToken, {
      where: `${mine} and records_count > 0 and data_processed is not null`,
    });
    expect(ids(pushed)).to.deep.equal([herd.id, milk.id, weather.id]);
    // a dataset created without a title is listed under its id, never pushed to
    const none = (await search(hub.adminToken, { where: `dataset_id = "${empty.id}"` }))
      .json as CatalogAnswer;
    expect(none.results).to.have.length(1);
    expect(none.results[0]).to.deep.include({
      dataset_id: empty.id,
      title: empty.id,
      records_count: 0,
      data_processed: null,
      fields: [],
      has_records: false,
      features: [],
    });

    const bad = await search(hub.adminToken, { where: 'title like' });
    expect(bad.status).to.equal(400);
    expect((bad.json as { error_code: string }).error_code).to.equal('ODSQLError');
    const limit = await search(hub.adminToken, { limit: 101 });
    expect((limit.json as { error_code: string }).error_code).to.equal('InvalidRESTParameterError');
  });

  it('when one dataset is looked up, then it is the catalog entry; another dataset key is 403 and an unknown id 404', async () => {
    const r = await call(`${catalogUrl(`/${milk.id}`)}?apikey=${milk.keys.readKey}`);
    expect(r.status).to.equal(200);
    const listed = (await search(milk.keys.readKey, { where: `dataset_id = "${milk.id}"` }))
      .json as CatalogAnswer;
    expect(r.json).to.deep.equal(listed.results[0]);
    expect((await call(`${catalogUrl(`/${weather.id}`)}?apikey=${milk.keys.readKey}`)).status).to.equal(403);
    expect((await call(catalogUrl(`/${weather.id}`))).status).to.equal(401);
    expect((await call(catalogUrl(`/${herd.id}`))).status).to.equal(200); // public
    const missing = await call(`${catalogUrl('/no-such-dataset')}?apikey=${hub.adminToken}`);
    expect(missing.status).to.equal(404);
    expect((missing.json as { error_code: string }).error_code).to.equal('DatasetNotFoundError');
  });

  it('when records arrive with new fields and other kinds of values, then the field types are kept up to date and widen as documented', async () => {
    const id = uniqueId('types');
    const k = await createDataset(hub, id);
    const fieldsOf = async () =>
      ((await call(`${catalogUrl(`/${id}`)}?apikey=${k.readKey}`)).json as CatalogDataset).fields;

    await odsPush(hub, id, k.pushKey, [
      {
        n: 1,
        day: '2024-05-02',
        place: { lon: 2.35, lat: 48.85 },
        where_text: '45.76,4.83',
        photo: { content: PNG_1PX, 'content-type': 'image/png' },
        tags: ['a', 'b'],
        mixed: 1,
        nothing: null,
        ratio: '12,5',
      },
    ]);
    expect(await fieldsOf()).to.deep.equal([
      { name: 'n', type: 'int' },
      { name: 'day', type: 'date' },
      { name: 'place', type: 'geo_point_2d' },
      { name: 'where_text', type: 'geo_point_2d' },
      { name: 'photo', type: 'file' },
      { name: 'tags', type: 'text' },
      { name: 'mixed', type: 'int' },
      { name: 'ratio', type: 'text' }, // a decimal comma is not a place
    ]);

    // int + double → double, date + datetime → datetime, int + text → text; null says nothing
    await odsPush(hub, id, k.pushKey, [
      { n: 2.5, day: '2024-05-03T06:00:00Z', mixed: 'many', nothing: null, later: true },
    ]);
    expect(await fieldsOf()).to.deep.include.members([
      { name: 'n', type: 'double' },
      { name: 'day', type: 'datetime' },
      { name: 'mixed', type: 'text' },
      { name: 'later', type: 'boolean' },
    ]);
    expect((await fieldsOf()).map((f) => f.name)).to.not.include('nothing');

    // types never narrow: an int afterwards, or deleting the double, leaves n a double
    await odsPush(hub, id, k.pushKey, [{ n: 3 }]);
    await odsPush(
      hub,
      id,
      k.pushKey,
      [{ n: 2.5, day: '2024-05-03T06:00:00Z', mixed: 'many', nothing: null, later: true }],
      'delete',
    );
    expect((await fieldsOf()).find((f) => f.name === 'n')).to.deep.equal({ name: 'n', type: 'double' });
  });

  it('when Obsrv events are ingested, then their fields are in the catalog too', async () => {
    const id = uniqueId('events');
    const k = await createDataset(hub, id);
    const r = await ingest(
      hub,
      id,
      k.pushKey,
      envelope([{ device: 'robot-7', temp: 38.6, at: '2024-05-02T06:11:42Z' }]),
    );
    expect(r.status).to.equal(200);
    const d = (await call(`${catalogUrl(`/${id}`)}?apikey=${k.readKey}`)).json as CatalogDataset;
    expect(d.records_count).to.equal(1);
    expect(d.fields).to.deep.equal([
      { name: 'device', type: 'text' },
      { name: 'temp', type: 'double' },
      { name: 'at', type: 'datetime' },
    ]);
  });

  it('when a scheduled pull brings records, then their fields are in the catalog too', async () => {
    const remote = await fakeServer((_req, res) => {
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify([{ parcel: 'P-12', area_ha: 4.25, grazed: true, last_visit: '2024-05-02' }]));
    });
    try {
      const id = uniqueId('pulled');
      const k = await createDataset(hub, id, {
        uniqueKeys: ['parcel'],
        schedule: { url: `${remote.url}/parcels.json`, format: 'json', everyMinutes: 60 },
      });
      // the first pull runs by itself once the schedule is configured
      const d = await waitFor('the first scheduled pull in the catalog', async () => {
        const r = (await call(`${catalogUrl(`/${id}`)}?apikey=${k.readKey}`)).json as CatalogDataset;
        return r.records_count === 1 && r;
      });
      expect(d.fields).to.deep.equal([
        { name: 'parcel', type: 'text' },
        { name: 'area_ha', type: 'double' },
        { name: 'grazed', type: 'boolean' },
        { name: 'last_visit', type: 'date' },
      ]);
    } finally {
      await remote.close();
    }
  });

  it('when the catalog is read from a browser, then it answers CORS, and JSONP with callback=', async () => {
    const r = await call(
      `${catalogUrl()}?where=${encodeURIComponent(`dataset_id = "${herd.id}"`)}&callback=cat.show`,
      {
        headers: { origin: 'https://portal.example' },
      },
    );
    expect(r.status).to.equal(200);
    expect(r.headers.get('access-control-allow-origin')).to.equal('*');
    expect(r.text).to.match(/^\/\*\*\/ cat\.show\(\{"total_count":1,/);
    const preflight = await fetch(catalogUrl(`/${herd.id}`), {
      method: 'OPTIONS',
      headers: { origin: 'https://portal.example', 'access-control-request-method': 'GET' },
    });
    expect(preflight.status).to.equal(204);
    expect(preflight.headers.get('access-control-allow-origin')).to.equal('*');
  });
});
