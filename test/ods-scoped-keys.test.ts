import { expect } from 'chai';
import { readChanges, type DatasetKeys } from './helpers/data.js';
import { call } from './helpers/http.js';
import { type TestHub } from './helpers/hub.js';
import { exploreUrl, odsDataset, odsPush } from './helpers/ods.js';
import { fromCatalog, odsClientFor } from './helpers/ods-client.js';

interface Page {
  total_count: number;
  results: Record<string, unknown>[];
}
interface Facets {
  facets: { name: string; facets: { name: string; count: number }[] }[];
}

const ROWS = [
  { n: 1, city: 'Paris', kg: 10 },
  { n: 2, city: 'Lyon', kg: 20 },
  { n: 3, city: 'Paris', kg: 30 },
  { n: 4, city: 'Nantes', kg: 40 },
];

/**
 * Record-level access as seed 003 puts it ("records in a dataset"): a read key scoped by an ODSQL
 * where can neither see nor count a record outside it, through Opendatasoft's own client and on the
 * hub's feeds (docs/datasets.md#scoped-keys).
 */
describe('ODS record-level access: a read key scoped by a where (docs/datasets.md#scoped-keys)', () => {
  let hub: TestHub;
  let ds: string;
  let keys: DatasetKeys;
  let scoped: string;
  before(async () => {
    ({ hub, ds, keys } = await odsDataset('scoped', ROWS));
    const r = await call(`${hub.url}/datasets/${ds}/keys`, {
      method: 'POST',
      token: hub.adminToken,
      body: { role: 'read', where: "city = 'Paris'" },
    });
    expect(r.status, r.text).to.equal(201);
    scoped = (r.json as { key: string }).key;
  });
  after(() => hub.close());

  const dataset = () => fromCatalog().dataset(ds);
  const ns = (p: Page) => p.results.map((r) => r.n).sort();

  it('when the client reads records and aggregates with the scoped key, then only the scope is there and counted', async () => {
    const client = odsClientFor(hub, scoped);
    const page = await client.get<Page>(dataset().records().limit(100));
    expect(page.total_count).to.equal(2);
    expect(ns(page)).to.deep.equal([1, 3]);
    // a where of the caller's own cannot reach outside the key's
    const lyon = await client.get<Page>(dataset().records().where("city = 'Lyon'"));
    expect(lyon.total_count).to.equal(0);
    const sum = await client.get<Page>(dataset().records().select('count(*) as c, sum(kg) as kg'));
    expect(sum.results).to.deep.equal([{ c: 2, kg: 40 }]);
    // the unscoped read key still sees everything
    const all = await odsClientFor(hub, keys.readKey).get<Page>(dataset().records().limit(100));
    expect(all.total_count).to.equal(4);
  });

  it('when the client asks for facets and exports with the scoped key, then their counts and rows are the scope', async () => {
    const client = odsClientFor(hub, scoped);
    const f = await client.get<Facets>(dataset().facets().facet('city'));
    expect(f.facets.find((x) => x.name === 'city')!.facets.map((v) => [v.name, v.count])).to.deep.equal([
      ['Paris', 2],
    ]);
    const json = await call(`${exploreUrl(hub, ds, 'exports/json')}?apikey=${scoped}`);
    expect((json.json as { n: number }[]).map((r) => r.n).sort()).to.deep.equal([1, 3]);
    const v1 = await call(`${hub.url}/api/records/1.0/search/?dataset=${ds}&rows=100&apikey=${scoped}`);
    expect((v1.json as { nhits: number }).nhits).to.equal(2);
  });

  it("when the scoped key reads the dataset's changelog, then it gets only the records of its scope", async () => {
    const { items } = await readChanges(hub, ds, scoped);
    expect(items.map((i) => (i.fields as { n: number }).n).sort()).to.deep.equal([1, 3]);
  });

  it('when a push key scoped by a where pushes a record outside it, then 403 and nothing of the push is stored', async () => {
    const r = await call(`${hub.url}/datasets/${ds}/keys`, {
      method: 'POST',
      token: hub.adminToken,
      body: { role: 'push', where: "city = 'Paris'" },
    });
    const push = (r.json as { key: string }).key;
    const refused = await odsPush(hub, ds, push, [
      { n: 5, city: 'Paris', kg: 1 },
      { n: 6, city: 'Lyon', kg: 2 },
    ]);
    expect(refused.status, refused.text).to.equal(403);
    expect(refused.text).to.contain('outside its scope'); // in ODS's own error body
    const all = await odsClientFor(hub, keys.readKey).get<Page>(dataset().records().limit(100));
    expect(all.total_count).to.equal(4);
  });
});
