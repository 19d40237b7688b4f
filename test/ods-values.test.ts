import { expect } from 'chai';
import { type DatasetKeys } from './helpers/data.js';
import { call } from './helpers/http.js';
import { type TestHub } from './helpers/hub.js';
import { exploreUrl, odsDataset } from './helpers/ods.js';
import { fromCatalog, odsClientFor } from './helpers/ods-client.js';

const ROWS = [
  { n: 1, where: '48.8566,2.3522', at: '2024-05-02', when: '2024-05-02T06:00:00Z', day: '2024-05-02' },
  {
    n: 2,
    where: [45.764, 4.8357],
    at: '2024-05-02 07:30',
    when: '2024-05-02T06:00:00+02:00',
    day: '2024-05-03',
  },
  {
    n: 3,
    where: { lon: -1.5536, lat: 47.2184 },
    at: '2024-05-02T08:00:00Z',
    when: '2024-05-02T06:00',
    day: '2024-05-04',
  },
  {
    n: 4,
    where: { type: 'Point', coordinates: [-0.5792, 44.8378] },
    at: '2024-05-02T09:00:00.250Z',
    when: 'soon',
    day: '2024-05-05',
  },
];

interface Page {
  total_count: number;
  results: Record<string, unknown>[];
}

describe('ODS values as ODS answers them, and the catalog metas (docs/ods.md#values)', () => {
  let hub: TestHub;
  let ds: string;
  let keys: DatasetKeys;
  let client: ReturnType<typeof odsClientFor>;
  before(async () => {
    ({ hub, ds, keys } = await odsDataset('values', ROWS, {
      config: { uniqueKeys: ['n'], title: 'Milk points' },
    }));
    client = odsClientFor(hub, keys.readKey);
  });
  after(() => hub.close());

  it('when points were pushed as "lat,lon", [lat, lon], {lon, lat} and GeoJSON, then every read answers {lon, lat}', async () => {
    const p = await client.get<Page>(fromCatalog().dataset(ds).records().select('n, where').orderBy('n'));
    expect(p.results).to.deep.equal([
      { n: 1, where: { lon: 2.3522, lat: 48.8566 } },
      { n: 2, where: { lon: 4.8357, lat: 45.764 } },
      { n: 3, where: { lon: -1.5536, lat: 47.2184 } },
      { n: 4, where: { lon: -0.5792, lat: 44.8378 } },
    ]);
    const exported = (await call(`${exploreUrl(hub, ds, 'exports/json')}?apikey=${keys.readKey}&order_by=n`))
      .json as Record<string, unknown>[];
    expect(exported.map((r) => r.where)).to.deep.equal(p.results.map((r) => r.where));
    const one = await client.get<Record<string, unknown>>(
      fromCatalog()
        .dataset(ds)
        .record(p.results.length > 0 ? await idOf(2) : ''),
    );
    expect(one.where).to.deep.equal({ lon: 4.8357, lat: 45.764 });
    const v1 = (await call(`${hub.url}/api/records/1.0/search/?dataset=${ds}&apikey=${keys.readKey}&sort=-n`))
      .json as {
      records: { fields: Record<string, unknown> }[];
    };
    expect(v1.records[0]!.fields.where).to.deep.equal({ lon: 2.3522, lat: 48.8566 });
    // the geo predicates read the [lat, lon] form too
    const near = await client.get<Page>(
      fromCatalog().dataset(ds).records().where(`within_distance(where, geom'POINT(4.83 45.76)', 10km)`),
    );
    expect(near.results.map((r) => r.n)).to.deep.equal([2]);
  });

  async function idOf(n: number): Promise<string> {
    const p = await client.get<Page>(
      fromCatalog().dataset(ds).records().where(`n = ${n}`).select('recordid'),
    );
    return p.results[0]!.recordid as string;
  }

  it('when date-times were pushed in several forms, then a datetime field answers ISO 8601 with seconds and a zone', async () => {
    const p = await client.get<Page>(
      fromCatalog().dataset(ds).records().select('n, at, when, day').orderBy('n'),
    );
    expect(p.results.map((r) => r.at)).to.deep.equal([
      '2024-05-02T00:00:00Z',
      '2024-05-02T07:30:00Z',
      '2024-05-02T08:00:00Z',
      '2024-05-02T09:00:00.250Z',
    ]);
    // `when` holds a text that is no date: the field is text, its values are as pushed
    expect(p.results.map((r) => r.when)).to.deep.equal(ROWS.map((r) => r.when));
    expect(p.results.map((r) => r.day)).to.deep.equal(ROWS.map((r) => r.day));
  });

  it('when the catalog is read, then the dataset carries metas.default with title, records_count and modified', async () => {
    const d = await client.get<Record<string, unknown>>(fromCatalog().dataset(ds).itself());
    const metas = (d.metas as { default: Record<string, unknown> }).default;
    expect(metas).to.deep.include({ title: 'Milk points', records_count: 4 });
    expect(Date.parse(metas.modified as string)).to.be.closeTo(Date.now(), 60_000);
    expect(metas.modified).to.equal(d.data_processed);
    expect(d.features).to.deep.equal(['analyze', 'geo', 'timeserie']);
    const types = Object.fromEntries(
      (d.fields as { name: string; type: string }[]).map((f) => [f.name, f.type]),
    );
    expect(types).to.deep.include({ where: 'geo_point_2d', at: 'datetime', day: 'date', when: 'text' });
    const listed = await client.get<Page>(fromCatalog().datasets().where(`dataset_id = "${ds}"`));
    expect((listed.results[0]!.metas as { default: unknown }).default).to.deep.equal(metas);
  });
});
