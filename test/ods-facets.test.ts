import { expect } from 'chai';
import { type DatasetKeys } from './helpers/data.js';
import { call } from './helpers/http.js';
import { type TestHub } from './helpers/hub.js';
import { exploreUrl, odsDataset } from './helpers/ods.js';
import { fromCatalog, odsClientFor } from './helpers/ods-client.js';

interface FacetValue {
  name: string;
  count: number;
  state: string;
  value: string;
  facets?: FacetValue[];
}
interface Facets {
  facets: { name: string; facets: FacetValue[] }[];
}

const ROWS = [
  { n: 1, city: 'Paris', kind: 'cow', ts: '2024-03-30T22:30:00Z' },
  { n: 2, city: 'Paris', kind: 'goat', ts: '2024-03-30T23:30:00Z' },
  { n: 3, city: 'Lyon', kind: 'cow', ts: '2024-03-31T21:30:00Z' },
  { n: 4, city: 'Nantes', kind: ['cow', 'goat'], ts: '2024-04-01T12:00:00Z' },
  { n: 5, city: 'Paris', kind: 'sheep', ts: '2023-12-31T12:00:00Z' },
];

const flat = (values: FacetValue[]) => values.map((v) => [v.name, v.count, v.state]);

describe('ODS facets APIs through @opendatasoft/api-client (docs/ods.md#facets)', () => {
  let hub: TestHub;
  let ds: string;
  let keys: DatasetKeys;
  let client: ReturnType<typeof odsClientFor>;
  before(async () => {
    ({ hub, ds, keys } = await odsDataset('facets', ROWS));
    client = odsClientFor(hub, keys.readKey);
  });
  after(() => hub.close());

  const facets = () => fromCatalog().dataset(ds).facets();
  const facet = (answer: Facets, name: string) => answer.facets.find((f) => f.name === name)!.facets;

  it('when a value facet is asked, then values come most frequent first with counts and the displayed state', async () => {
    const a = await client.get<Facets>(facets().facet('city').facet('kind'));
    expect(a.facets.map((f) => f.name)).to.deep.equal(['city', 'kind']);
    expect(facet(a, 'city')).to.deep.equal([
      { name: 'Paris', count: 3, state: 'displayed', value: 'Paris' },
      { name: 'Lyon', count: 1, state: 'displayed', value: 'Lyon' },
      { name: 'Nantes', count: 1, state: 'displayed', value: 'Nantes' },
    ]);
    // a multi-valued field counts the record under each of its values
    expect(flat(facet(a, 'kind'))).to.deep.equal([
      ['cow', 3, 'displayed'],
      ['goat', 2, 'displayed'],
      ['sheep', 1, 'displayed'],
    ]);
  });

  it('when refine, exclude and where narrow, then counts follow and the named values carry their state', async () => {
    const a = await client.get<Facets>(
      facets().facet('city').facet('kind').refine('kind:cow').exclude('city:Lyon'),
    );
    // city's own exclude is lifted for the city facet: Lyon shows, excluded
    expect(flat(facet(a, 'city'))).to.deep.equal([
      ['Lyon', 1, 'excluded'],
      ['Nantes', 1, 'displayed'],
      ['Paris', 1, 'displayed'],
    ]);
    expect(flat(facet(a, 'kind'))).to.deep.equal([
      ['cow', 2, 'refined'],
      ['goat', 1, 'displayed'],
    ]);
    const w = await client.get<Facets>(facets().facet('city').where('n >= 4'));
    expect(flat(facet(w, 'city'))).to.deep.equal([
      ['Nantes', 1, 'displayed'],
      ['Paris', 1, 'displayed'],
    ]);
  });

  it('when a date field is faceted, then it is a year/month/day hierarchy, in the timezone', async () => {
    const utc = facet(await client.get<Facets>(facets().facet('ts')), 'ts');
    expect(utc.map((y) => [y.name, y.count, y.value])).to.deep.equal([
      ['2023', 1, '2023'],
      ['2024', 4, '2024'],
    ]);
    const y2024 = utc[1]!;
    expect(y2024.facets!.map((m) => [m.name, m.count, m.value])).to.deep.equal([
      ['03', 3, '2024/03'],
      ['04', 1, '2024/04'],
    ]);
    expect(y2024.facets![0]!.facets!.map((d) => [d.name, d.count, d.value])).to.deep.equal([
      ['30', 2, '2024/03/30'],
      ['31', 1, '2024/03/31'],
    ]);
    const paris = facet(await client.get<Facets>(facets().facet('ts').timezone('Europe/Paris')), 'ts');
    expect(paris[1]!.facets![0]!.facets!.map((d) => [d.name, d.count])).to.deep.equal([
      ['30', 1],
      ['31', 2],
    ]);
    const refined = facet(await client.get<Facets>(facets().facet('ts').refine('ts:2024/03')), 'ts');
    expect(refined.map((y) => [y.name, y.count])).to.deep.equal([['2024', 3]]);
    expect(refined[0]!.facets![0]).to.deep.include({ value: '2024/03', state: 'refined' });
  });

  it('when no facet is named, then the text, date, boolean and integer fields are faceted', async () => {
    const a = await client.get<Facets>(facets());
    expect(a.facets.map((f) => f.name).sort()).to.deep.equal(['city', 'kind', 'n', 'ts']);
  });

  it('when the catalog facets are asked, then features and modified facet the readable datasets', async () => {
    const a = await odsClientFor(hub, keys.readKey).get<Facets>(fromCatalog().facets());
    expect(a.facets.map((f) => f.name)).to.deep.equal(['features', 'modified']);
    expect(flat(facet(a, 'features'))).to.deep.equal([
      ['analyze', 1, 'displayed'],
      ['timeserie', 1, 'displayed'],
    ]);
    expect(facet(a, 'modified')[0]!.name).to.equal(String(new Date().getUTCFullYear()));
    const bad = await call(`${hub.url}/api/explore/v2.1/catalog/facets?facet=nothing`);
    expect(bad.status).to.equal(400);
    expect(bad.json).to.deep.include({ error_code: 'InvalidRESTParameterError' });
  });

  it('when facets are asked by POST or with a bad field name, then POST answers as GET and the name is a 400', async () => {
    const qs = new URLSearchParams({ facet: 'city', refine: 'kind:goat' });
    const get = await call(`${exploreUrl(hub, ds, 'facets')}?${qs}&apikey=${keys.readKey}`);
    const post = await call(`${exploreUrl(hub, ds, 'facets')}?apikey=${keys.readKey}`, {
      method: 'POST',
      raw: qs.toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(get.status).to.equal(200);
    expect(post.json).to.deep.equal(get.json);
    const bad = await call(`${exploreUrl(hub, ds, 'facets')}?facet=a-b&apikey=${keys.readKey}`);
    expect(bad.status).to.equal(400);
  });
});
