import { expect } from 'chai';
import { parse as parseCsv } from 'csv-parse/sync';
import { createDataset, uniqueId, type DatasetKeys } from './helpers/data.js';
import { call, parseNdjson } from './helpers/http.js';
import { type TestHub } from './helpers/hub.js';
import { exploreUrl, odsDataset, odsPush, odsRecords } from './helpers/ods.js';

const FARMS = ['Paris', 'Lyon', 'Parthenay', 'nantes'];

interface Milk {
  n: number;
  farm: string;
  kg: number;
  robot: string;
  day: string;
  tags: string[];
  note: string;
  code: string;
  opt?: number;
}

/** 30 records whose fields make every operator of the ODSQL subset discriminate. */
function milk(n: number): Milk {
  const m: Milk = {
    n,
    farm: FARMS[n % 4]!,
    kg: n,
    robot: `r${n % 3}`,
    day: `2024-05-${String(1 + (n % 10)).padStart(2, '0')}T06:00:00Z`,
    tags: n % 5 === 0 ? ['organic', 'bio'] : ['plain'],
    note: n % 7 === 0 ? 'Fresh MILK sample' : 'routine',
    code: String(100 + n),
  };
  if (n % 2 === 0) m.opt = n;
  return m;
}
const ALL = Array.from({ length: 30 }, (_, n) => milk(n));
const ns = (pred: (m: Milk) => boolean): number[] => ALL.filter(pred).map((m) => m.n);

type ExploreError = { error_code: string; message: string };

describe('ODS explore and search APIs (docs/ods.md#explore)', () => {
  let hub: TestHub;
  let ds: string;
  let keys: DatasetKeys;
  before(async () => {
    ({ hub, ds, keys } = await odsDataset('explore', ALL));
  });
  after(() => hub.close());

  /** The n of every matching record (limit 100 covers the dataset). */
  async function where(clause: string, extra: Record<string, string> = {}): Promise<number[]> {
    const r = await odsRecords(hub, ds, keys.readKey, { where: clause, limit: 100, ...extra });
    expect(r.results.length, clause).to.equal(r.total_count);
    return r.results.map((x) => x.n as number).sort((a, b) => a - b);
  }

  async function fails(params: Record<string, string>): Promise<{ status: number; body: ExploreError }> {
    const qs = new URLSearchParams({ apikey: keys.readKey, ...params });
    const r = await call(`${exploreUrl(hub, ds, 'records')}?${qs}`);
    return { status: r.status, body: r.json as ExploreError };
  }

  it('when records are listed, then total_count counts all of them, the default page is 10, and each result has recordid, record_timestamp and the fields', async () => {
    const r = await odsRecords(hub, ds, keys.readKey);
    expect(r.total_count).to.equal(30);
    expect(r.results).to.have.length(10);
    const first = r.results[0]!;
    expect(first.recordid).to.match(/^[0-9a-f]{40}$/);
    expect(Date.parse(first.record_timestamp as string)).to.be.greaterThan(0);
    const pushed = ALL.find((m) => m.n === first.n)!;
    expect(first).to.deep.include(pushed as unknown as Record<string, unknown>);
  });

  it('when where compares numbers and strings, then exactly the matching records are returned', async () => {
    expect(await where('kg > 20')).to.deep.equal(ns((m) => m.kg > 20));
    expect(await where('kg >= 20 and kg < 25')).to.deep.equal([20, 21, 22, 23, 24]);
    expect(await where('farm = "Paris"')).to.deep.equal(ns((m) => m.farm === 'Paris'));
    expect(await where("farm = 'Paris'")).to.deep.equal(ns((m) => m.farm === 'Paris'));
    expect(await where('farm != "Paris"')).to.deep.equal(ns((m) => m.farm !== 'Paris'));
    expect(await where('farm <> "Paris" AND kg <= 3')).to.deep.equal([1, 2, 3]);
    // a text that reads as a number compares with a number
    expect(await where('code = 105')).to.deep.equal([5]);
    expect(await where('kg = 7.0')).to.deep.equal([7]);
    expect(await where('kg * 2 = 14')).to.deep.equal([7]);
  });

  it('when where mixes OR, AND and NOT, then AND binds tighter than OR and NOT tighter than AND; parentheses override', async () => {
    expect(await where('farm = "Lyon" or farm = "Paris" and kg > 20')).to.deep.equal(
      ns((m) => m.farm === 'Lyon' || (m.farm === 'Paris' && m.kg > 20)),
    );
    expect(await where('(farm = "Lyon" or farm = "Paris") and kg > 20')).to.deep.equal(
      ns((m) => (m.farm === 'Lyon' || m.farm === 'Paris') && m.kg > 20),
    );
    expect(await where('not farm = "Paris" and kg < 4')).to.deep.equal(
      ns((m) => m.farm !== 'Paris' && m.kg < 4),
    );
    expect(await where('not (kg < 5 or kg > 25)')).to.deep.equal(ns((m) => !(m.kg < 5 || m.kg > 25)));
    expect(await where('NOT NOT kg = 3')).to.deep.equal([3]);
  });

  it('when where uses in, like, search and is null, then each behaves as documented', async () => {
    expect(await where('robot in ("r1", "r2")')).to.deep.equal(ns((m) => m.robot !== 'r0'));
    expect(await where('robot not in ("r1", "r2")')).to.deep.equal(ns((m) => m.robot === 'r0'));
    // * is any run of characters; like is case-insensitive and matches the whole value
    expect(await where('farm like "Par*"')).to.deep.equal(ns((m) => m.farm.startsWith('Par')));
    expect(await where('farm like "N*S"')).to.deep.equal(ns((m) => m.farm === 'nantes'));
    expect(await where('farm like "ari"')).to.deep.equal([]);
    // search: case-insensitive substring, in any field or in one
    expect(await where('search("milk")')).to.deep.equal(ns((m) => m.note.includes('MILK')));
    expect(await where('search(farm, "ANT")')).to.deep.equal(ns((m) => m.farm === 'nantes'));
    expect(await where('search(note, "paris")')).to.deep.equal([]);
    expect(await where('opt is null')).to.deep.equal(ns((m) => m.opt === undefined));
    expect(await where('opt is not null and opt < 5')).to.deep.equal([0, 2, 4]);
  });

  it('when where tests a multi-valued field, dates or the record metadata, then they match as values', async () => {
    expect(await where('tags = "organic"')).to.deep.equal(ns((m) => m.tags.includes('organic')));
    expect(await where("day >= date'2024-05-09'")).to.deep.equal(ns((m) => m.day >= '2024-05-09'));
    expect(await where("record_timestamp < date'2100-01-01'")).to.have.length(30);
    const one = (await odsRecords(hub, ds, keys.readKey, { where: 'n = 12' })).results[0]!;
    expect(await where(`recordid = "${one.recordid as string}"`)).to.deep.equal([12]);
  });

  it('when select names fields, expressions and aliases, then results hold exactly those names, missing values as null', async () => {
    const r = await odsRecords(hub, ds, keys.readKey, {
      where: 'n in (3, 4)',
      select: 'n, kg * 2 as double, farm, opt',
      order_by: 'n',
    });
    expect(r.results).to.deep.equal([
      { n: 3, double: 6, farm: 'nantes', opt: null },
      { n: 4, double: 8, farm: 'Paris', opt: 4 },
    ]);
    const star = await odsRecords(hub, ds, keys.readKey, { where: 'n = 1', select: '*' });
    expect(star.results[0]).to.include.keys('recordid', 'record_timestamp', 'farm', 'kg');
  });

  it('when order_by is given, then results are sorted (asc, desc, several keys) and offset pages through the same order', async () => {
    const desc = await odsRecords(hub, ds, keys.readKey, { order_by: 'kg desc', limit: 5 });
    expect(desc.results.map((x) => x.n)).to.deep.equal([29, 28, 27, 26, 25]);
    expect(desc.total_count).to.equal(30);
    const multi = await odsRecords(hub, ds, keys.readKey, { order_by: 'farm asc, kg DESC', limit: 100 });
    const expected = [...ALL]
      .sort((a, b) => (a.farm < b.farm ? -1 : a.farm > b.farm ? 1 : b.kg - a.kg))
      .map((m) => m.n);
    expect(multi.results.map((x) => x.n)).to.deep.equal(expected);
    const pages: unknown[] = [];
    for (let offset = 0; offset < 30; offset += 7) {
      const p = await odsRecords(hub, ds, keys.readKey, { order_by: 'farm, kg desc', limit: 7, offset });
      pages.push(...p.results.map((x) => x.n));
    }
    expect(pages).to.deep.equal(expected);
  });

  it('when paging without order_by, then the pages cover every record exactly once', async () => {
    const seen: number[] = [];
    for (let offset = 0; offset < 40; offset += 8) {
      const p = await odsRecords(hub, ds, keys.readKey, { limit: 8, offset });
      expect(p.total_count).to.equal(30);
      seen.push(...p.results.map((x) => x.n as number));
    }
    expect(seen.sort((a, b) => a - b)).to.deep.equal(ALL.map((m) => m.n));
    const none = await odsRecords(hub, ds, keys.readKey, { limit: 0 });
    expect(none).to.deep.equal({ total_count: 30, results: [] });
  });

  it('when refine and exclude are given, then they filter on field values (repeatable, dates by prefix)', async () => {
    const qs = (p: string) => call(`${exploreUrl(hub, ds, 'records')}?apikey=${keys.readKey}&limit=100&${p}`);
    const nsOf = (r: { json: unknown }) =>
      ((r.json as { results: { n: number }[] }).results.map((x) => x.n) as number[]).sort((a, b) => a - b);
    expect(nsOf(await qs('refine=farm:Paris'))).to.deep.equal(ns((m) => m.farm === 'Paris'));
    expect(nsOf(await qs('refine=farm:Paris&refine=robot:r1'))).to.deep.equal(
      ns((m) => m.farm === 'Paris' && m.robot === 'r1'),
    );
    expect(nsOf(await qs('refine=tags:organic'))).to.deep.equal(ns((m) => m.tags.includes('organic')));
    expect(nsOf(await qs('exclude=farm:Paris&where=kg<6'))).to.deep.equal([1, 2, 3, 5]);
    expect(nsOf(await qs('refine=day:2024/05/03'))).to.deep.equal(ns((m) => m.day.startsWith('2024-05-03')));
    expect(nsOf(await qs('refine=kg:7'))).to.deep.equal([7]);
  });

  it('when the where text does not parse, then 400 ODSQLError says where, by column', async () => {
    const cases: Array<[string, RegExp]> = [
      ['kg = = 1', /column 6/],
      ['(kg = 1', /at the end.*'\)'/],
      ['kg = 1)', /column 7/],
      ['farm = "Paris', /column 8.*unterminated/],
      ['nope(kg)', /column 1.*unknown function 'nope'/],
      ['kg = 1 = 2', /column 8/],
      ['search(kg)', /column 8.*quoted string/],
      ['kg > 1 and', /at the end/],
      ["day > date'yesterday'", /column 7.*not a date/],
      ['kg ! 1', /column 4.*unexpected character/],
    ];
    for (const [clause, message] of cases) {
      const r = await fails({ where: clause });
      expect(r.status, clause).to.equal(400);
      expect(r.body.error_code, clause).to.equal('ODSQLError');
      expect(r.body.message, clause).to.match(message);
    }
    const sel = await fails({ select: 'kg,' });
    expect(sel.body.error_code).to.equal('ODSQLError');
    expect(sel.body.message).to.include('select');
    const ord = await fails({ order_by: 'kg sideways' });
    expect(ord.body.error_code).to.equal('ODSQLError');
  });

  it('when limit, offset, refine or group_by are out of bounds, then 400 InvalidRESTParameterError', async () => {
    const bad: Record<string, string>[] = [
      { limit: '101' },
      { limit: '-1' },
      { limit: 'ten' },
      { offset: '9995', limit: '10' },
      { refine: 'no-colon' },
      { group_by: 'farm', limit: '20001' },
      { group_by: 'farm', offset: '19995', limit: '10' },
    ];
    for (const params of bad) {
      const r = await fails(params);
      expect(r.status, JSON.stringify(params)).to.equal(400);
      expect(r.body.error_code, JSON.stringify(params)).to.equal('InvalidRESTParameterError');
      expect(r.body.message).to.be.a('string').and.not.equal('');
    }
    const edge = await odsRecords(hub, ds, keys.readKey, { offset: 9990, limit: 10 });
    expect(edge).to.deep.equal({ total_count: 30, results: [] });
  });

  it('when one record is asked by id, then it is returned, and an unknown id is 404', async () => {
    const one = (await odsRecords(hub, ds, keys.readKey, { where: 'n = 5' })).results[0]!;
    const r = await call(
      `${exploreUrl(hub, ds, `records/${one.recordid as string}`)}?apikey=${keys.readKey}`,
    );
    expect(r.status).to.equal(200);
    expect(r.json).to.deep.equal(one);
    const missing = await call(`${exploreUrl(hub, ds, 'records/0000')}?apikey=${keys.readKey}`);
    expect(missing.status).to.equal(404);
    expect((missing.json as ExploreError).error_code).to.equal('RecordNotFoundError');
  });

  it('when the dataset is unknown or the key is missing, then 404 / 401 in the explore error body', async () => {
    const nf = await call(`${exploreUrl(hub, uniqueId('none'), 'records')}?apikey=${keys.readKey}`);
    expect(nf.status).to.equal(404);
    expect(nf.json).to.have.keys('error_code', 'message');
    const anon = await call(exploreUrl(hub, ds, 'records'));
    expect(anon.status).to.equal(401);
    expect(anon.json).to.have.keys('error_code', 'message');
  });

  it('when values hold quotes, escapes, non-ASCII text or numbers, then where finds them exactly (the text pre-filter never hides a match)', async () => {
    const id = uniqueId('escapes');
    const k = await createDataset(hub, id);
    const records = [
      { n: 1, s: 'say "hi"\\now', code: 105 },
      { n: 2, s: 'Zoë À Ærø', code: '105' },
      { n: 3, s: 'line\nbreak', code: 7 },
      { n: 4, s: 'plain', code: 'x105' },
    ];
    expect((await odsPush(hub, id, k.pushKey, records)).status).to.equal(200);
    const q = async (clause: string): Promise<number[]> =>
      (await odsRecords(hub, id, k.readKey, { where: clause, limit: 100 })).results
        .map((x) => x.n as number)
        .sort((a, b) => a - b);
    expect(await q('s = "say \\"hi\\"\\\\now"')).to.deep.equal([1]);
    expect(await q('s = "Zoë À Ærø"')).to.deep.equal([2]);
    expect(await q('search("ZOË")')).to.deep.equal([2]);
    expect(await q('search(s, "\\"hi")')).to.deep.equal([1]);
    expect(await q('s like "line*"')).to.deep.equal([3]);
    // "105" and 105 are the same value to ODSQL, whichever side is text
    expect(await q('code = "105"')).to.deep.equal([1, 2]);
    expect(await q('code = 105')).to.deep.equal([1, 2]);
    expect(await q('code in ("105", "x105")')).to.deep.equal([1, 2, 4]);
    expect(await q('search("105")')).to.deep.equal([1, 2, 4]);
  });

  it('when a field is named __proto__ or a keyword touches its string, then it is an ordinary field', async () => {
    const id = uniqueId('proto');
    const k = await createDataset(hub, id);
    const push = await call(`${hub.url}/api/push/1.0/${id}/r/push/?pushkey=${k.pushKey}`, {
      raw: '{"__proto__":{"polluted":true},"name":"Paris"}',
    });
    expect(push.status).to.equal(200);
    const r = await call(
      `${exploreUrl(hub, id, 'records')}?apikey=${k.readKey}&where=${encodeURIComponent('name like"Par*"')}`,
    );
    expect(r.status).to.equal(200);
    expect(r.text).to.include('"__proto__":{"polluted":true}');
    const sel = await call(
      `${exploreUrl(hub, id, 'records')}?apikey=${k.readKey}&select=${encodeURIComponent('`__proto__`, *')}`,
    );
    expect(sel.text).to.include('"__proto__":{"polluted":true}');
  });

  it('when records are deleted or replaced, then the explore APIs show the current state at once', async () => {
    const id = uniqueId('explore');
    const k = await createDataset(hub, id, { uniqueKeys: ['n'] });
    await odsPush(hub, id, k.pushKey, [milk(1), milk(2), milk(3)]);
    await odsPush(hub, id, k.pushKey, milk(2), 'delete');
    await odsPush(hub, id, k.pushKey, { ...milk(3), kg: 300 });
    const r = await odsRecords(hub, id, k.readKey, { order_by: 'n' });
    expect(r.total_count).to.equal(2);
    expect(r.results.map((x) => [x.n, x.kg])).to.deep.equal([
      [1, 1],
      [3, 300],
    ]);
  });

  describe('exports', () => {
    let big: string;
    let bk: DatasetKeys;
    const N = 250;
    before(async () => {
      big = uniqueId('export');
      bk = await createDataset(hub, big);
      // the ODS cookbook's loop: arrays of 100 records
      for (let start = 0; start < N; start += 100) {
        const batch = Array.from({ length: Math.min(100, N - start) }, (_, i) => ({
          i: start + i,
          name: `row ${start + i}`,
          even: (start + i) % 2 === 0,
        }));
        expect((await odsPush(hub, big, bk.pushKey, batch)).status).to.equal(200);
      }
    });
    const url = (format: string, params = '') =>
      `${exploreUrl(hub, big, `exports/${format}`)}?apikey=${bk.readKey}${params}`;

    it('when exported as json, then every record comes in one streamed array, with no limit of 100', async () => {
      const r = await call(url('json'));
      expect(r.status).to.equal(200);
      expect(r.headers.get('content-type')).to.match(/^application\/json/);
      const rows = r.json as { i: number; recordid: string }[];
      expect(rows).to.have.length(N);
      expect(rows.map((x) => x.i).sort((a, b) => a - b)).to.deep.equal(
        Array.from({ length: N }, (_, i) => i),
      );
      expect(rows[0]!.recordid).to.match(/^[0-9a-f]{40}$/);
    });

    it('when exported as jsonl with where, order_by, offset and limit, then one record a line, filtered and sorted', async () => {
      const r = await call(
        url('jsonl', '&where=even%20%3D%20true&order_by=i%20desc&offset=2&limit=3&select=i,name'),
      );
      expect(r.status).to.equal(200);
      expect(parseNdjson(r.text)).to.deep.equal([
        { i: 244, name: 'row 244' },
        { i: 242, name: 'row 242' },
        { i: 240, name: 'row 240' },
      ]);
      const all = parseNdjson((await call(url('jsonl', '&limit=-1'))).text);
      expect(all).to.have.length(N);
    });

    it('when exported as csv, then a ; separated header row and one row a record, quoted where needed', async () => {
      const r = await call(url('csv'));
      expect(r.status).to.equal(200);
      expect(r.headers.get('content-type')).to.match(/^text\/csv/);
      const rows = parseCsv(r.text, { delimiter: ';', columns: true }) as Record<string, string>[];
      expect(rows).to.have.length(N);
      expect(Object.keys(rows[0]!)).to.deep.equal(['recordid', 'record_timestamp', 'i', 'name', 'even']);
      expect(rows.find((x) => x.i === '7')).to.include({ name: 'row 7', even: 'false' });

      const id = uniqueId('csv');
      const k = await createDataset(hub, id);
      const tricky = { text: 'a;b "quoted"\nnext line', nested: { x: [1, 2] }, none: null };
      await odsPush(hub, id, k.pushKey, tricky);
      const t = await call(
        `${exploreUrl(hub, id, 'exports/csv')}?apikey=${k.readKey}&select=text,nested,none`,
      );
      expect(parseCsv(t.text, { delimiter: ';', columns: true })).to.deep.equal([
        { text: tricky.text, nested: '{"x":[1,2]}', none: '' },
      ]);
    });

    it('when the export format is unknown or the query is bad, then 400 before anything is streamed', async () => {
      const fmt = await call(url('xml'));
      expect(fmt.status).to.equal(400);
      expect((fmt.json as ExploreError).error_code).to.equal('InvalidRESTParameterError');
      const bad = await call(url('csv', '&where=i%20%3E'));
      expect(bad.status).to.equal(400);
      expect((bad.json as ExploreError).error_code).to.equal('ODSQLError');
      expect(bad.headers.get('content-disposition')).to.equal(null);
    });

    it('when the client accepts gzip, then exports are compressed', async () => {
      const r = await fetch(url('jsonl'), { headers: { 'accept-encoding': 'gzip' } });
      expect(r.headers.get('content-encoding')).to.equal('gzip');
      expect(parseNdjson(await r.text())).to.have.length(N);
    });
  });

  describe('v1 records search', () => {
    const v1 = (params: string) =>
      call(`${hub.url}/api/records/1.0/search/?apikey=${keys.readKey}&${params}`);
    type V1 = {
      nhits: number;
      parameters: Record<string, unknown>;
      records: { datasetid: string; recordid: string; fields: Milk; record_timestamp: string }[];
    };

    it('when searched, then nhits, the parameters and records with datasetid, recordid, fields and record_timestamp come back', async () => {
      const r = await v1(`dataset=${ds}`);
      expect(r.status).to.equal(200);
      const body = r.json as V1;
      expect(body.nhits).to.equal(30);
      expect(body.parameters).to.include({ dataset: ds, rows: 10, start: 0 });
      expect(body.records).to.have.length(10);
      const rec = body.records[0]!;
      expect(rec).to.have.keys('datasetid', 'recordid', 'fields', 'record_timestamp');
      expect(rec.datasetid).to.equal(ds);
      expect(rec.fields).to.deep.equal(ALL.find((m) => m.n === rec.fields.n));
    });

    it('when q, refine.<field>, rows, start and sort are given, then they filter, page and sort (sort=f descending, -f ascending)', async () => {
      const q = (await v1(`dataset=${ds}&q=milk&rows=100`)).json as V1;
      expect(q.records.map((x) => x.fields.n).sort((a, b) => a - b)).to.deep.equal(
        ns((m) => m.note.includes('MILK')),
      );
      const refined = (await v1(`dataset=${ds}&refine.farm=Lyon&sort=kg&rows=3`)).json as V1;
      expect(refined.nhits).to.equal(ns((m) => m.farm === 'Lyon').length);
      expect(refined.records.map((x) => x.fields.kg)).to.deep.equal([29, 25, 21]);
      expect(refined.parameters).to.deep.include({ refine: { farm: 'Lyon' }, sort: ['kg'] });
      const asc = (await v1(`dataset=${ds}&sort=-kg&rows=2&start=3`)).json as V1;
      expect(asc.records.map((x) => x.fields.kg)).to.deep.equal([3, 4]);
    });

    it('when the dataset parameter is missing or rows is out of range, then 400', async () => {
      expect((await v1('rows=1')).status).to.equal(400);
      expect((await v1(`dataset=${ds}&rows=10001`)).status).to.equal(400);
    });
  });
});
