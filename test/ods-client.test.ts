import { expect } from 'chai';
import { type DatasetKeys } from './helpers/data.js';
import { type TestHub } from './helpers/hub.js';
import { odsDataset } from './helpers/ods.js';
import {
  fromCatalog,
  lower,
  odsClientFor,
  textStartWith,
  textSuggest,
  UserError,
} from './helpers/ods-client.js';

interface Page {
  total_count: number;
  results: Record<string, unknown>[];
}

/**
 * Around the DST change of Europe/Paris (2024-03-31 02:00 local → 03:00): the local day of
 * 2024-03-31 runs from 2024-03-30T23:00Z to 2024-03-31T22:00Z (23 hours).
 */
const ROWS = [
  { n: 1, city: 'Paris', note: 'fresh milk', kg: 10, ts: '2024-03-30T22:30:00Z' }, // Paris: 30th 23:30
  { n: 2, city: 'paris', note: 'Organic MILK', kg: 20, ts: '2024-03-30T23:30:00Z' }, // Paris: 31st 00:30
  { n: 3, city: 'Lyon', note: 'routine', kg: 30, ts: '2024-03-31T21:30:00Z' }, // Paris: 31st 23:30
  { n: 4, city: 'Parthenay', note: 'skimmed milk', kg: 40, ts: '2024-03-31T22:30:00Z' }, // Paris: 1st 00:30
  { n: 5, city: 'Nantes', note: 'routine', kg: 50, ts: '2024-04-01T12:00:00Z' },
];

describe('ODSQL functions through @opendatasoft/api-client (docs/ods.md#odsql)', () => {
  let hub: TestHub;
  let ds: string;
  let keys: DatasetKeys;
  let client: ReturnType<typeof odsClientFor>;
  before(async () => {
    ({ hub, ds, keys } = await odsDataset('client', ROWS));
    client = odsClientFor(hub, keys.readKey);
  });
  after(() => hub.close());

  const records = () => fromCatalog().dataset(ds).records().limit(100);
  const ns = (p: Page): number[] => p.results.map((r) => r.n as number).sort((a, b) => a - b);

  it("when the client's textStartWith and textSuggest build the where, then startswith and suggest filter", async () => {
    expect(ns(await client.get<Page>(records().where(textStartWith('par', ['city']))))).to.deep.equal([
      1, 2, 4,
    ]);
    expect(ns(await client.get<Page>(records().where(textSuggest('mil', ['note']))))).to.deep.equal([
      1, 2, 4,
    ]);
    expect(ns(await client.get<Page>(records().where(textSuggest('ski'))))).to.deep.equal([4]);
    expect(ns(await client.get<Page>(records().where(textStartWith('ilk'))))).to.deep.equal([]);
  });

  it("when the client's lower() groups and orders, then case variants are one group, in order", async () => {
    const p = await client.get<Page>(
      records()
        .select('count(*) as c')
        .groupBy(`${lower('city')} as city`)
        .orderBy(lower('city')),
    );
    expect(p.results).to.deep.equal([
      { city: 'lyon', c: 1 },
      { city: 'nantes', c: 1 },
      { city: 'paris', c: 2 },
      { city: 'parthenay', c: 1 },
    ]);
    const up = await client.get<Page>(records().select('upper(city) as u, n').where('lower(city) = "paris"'));
    expect(up.results.map((r) => r.u)).to.deep.equal(['PARIS', 'PARIS']);
    const sorted = await client.get<Page>(records().select('n').orderBy('lower(city) desc, n'));
    expect(sorted.results.map((r) => r.n)).to.deep.equal([4, 1, 2, 5, 3]);
  });

  it('when range() buckets numbers, then the groups are [low, high[ with their counts', async () => {
    const p = await client.get<Page>(records().select('count(*) as c').groupBy('range(kg, 25) as b'));
    expect(p.results).to.deep.equal([
      { b: '[0, 25[', c: 2 },
      { b: '[25, 50[', c: 2 },
      { b: '[50, 75[', c: 1 },
    ]);
  });

  it('when range(ts, 1 day) groups with timezone=Europe/Paris across the DST change, then local days hold their records', async () => {
    const utc = await client.get<Page>(records().select('count(*) as c').groupBy('range(ts, 1 day) as d'));
    expect(utc.results).to.deep.equal([
      { d: '2024-03-30T00:00:00Z', c: 2 },
      { d: '2024-03-31T00:00:00Z', c: 2 },
      { d: '2024-04-01T00:00:00Z', c: 1 },
    ]);
    const paris = await client.get<Page>(
      records().select('count(*) as c').groupBy('range(ts, 1 day) as d').timezone('Europe/Paris'),
    );
    expect(paris.results).to.deep.equal([
      { d: '2024-03-30T00:00:00+01:00', c: 1 },
      { d: '2024-03-31T00:00:00+01:00', c: 2 },
      { d: '2024-04-01T00:00:00+02:00', c: 2 },
    ]);
    const byDay = await client.get<Page>(
      records().select('count(*) as c').groupBy('day(ts) as d, hour(ts) as h').timezone('Europe/Paris'),
    );
    expect(byDay.results.map((r) => [r.d, r.h])).to.deep.equal([
      [1, 0],
      [1, 14],
      [30, 23],
      [31, 0],
      [31, 23],
    ]);
  });

  it('when refine names a day with timezone, then the day is the local one', async () => {
    const utc = await client.get<Page>(records().refine('ts:2024/03/31'));
    expect(ns(utc)).to.deep.equal([3, 4]);
    const paris = await client.get<Page>(records().refine('ts:2024/03/31').timezone('Europe/Paris'));
    expect(ns(paris)).to.deep.equal([2, 3]);
  });

  it('when date_format and median/percentile are selected, then they answer in the timezone', async () => {
    const f = await client.get<Page>(
      records()
        .select(`n, date_format(ts, "yyyy-MM-dd HH:mm") as local`)
        .where('n <= 2')
        .orderBy('n')
        .timezone('Europe/Paris'),
    );
    expect(f.results).to.deep.equal([
      { n: 1, local: '2024-03-30 23:30' },
      { n: 2, local: '2024-03-31 00:30' },
    ]);
    const a = await client.get<Page>(records().select('median(kg) as m, percentile(kg, 25) as q1'));
    expect(a.results).to.deep.equal([{ m: 30, q1: 20 }]);
  });

  it('when where uses now() with date arithmetic, then records are compared with the query time', async () => {
    expect((await client.get<Page>(records().where('ts < now() - 1 day'))).total_count).to.equal(5);
    expect((await client.get<Page>(records().where('ts > now(years=-100)'))).total_count).to.equal(5);
    expect((await client.get<Page>(records().where('ts > now()'))).total_count).to.equal(0);
  });

  it('when the timezone is not an IANA name, then the client gets a UserError with an InvalidRESTParameterError', async () => {
    try {
      await client.get<Page>(records().timezone('Mars/Olympus'));
      expect.fail('no error');
    } catch (e) {
      expect(e).to.be.instanceOf(UserError);
      expect((e as { details: { error_code: string } }).details.error_code).to.equal(
        'InvalidRESTParameterError',
      );
    }
  });
});
