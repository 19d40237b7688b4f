import { expect } from 'chai';
import { parse as parseCsv } from 'csv-parse/sync';
import fc from 'fast-check';
import { createDataset, uniqueId, type DatasetKeys } from './helpers/data.js';
import { call, parseNdjson } from './helpers/http.js';
import { type TestHub } from './helpers/hub.js';
import { envelope, ingest } from './helpers/obsrv.js';
import { exploreUrl, odsDataset, odsPush, odsRecords } from './helpers/ods.js';

/** A milking as a robot reports it: who, when, how much. */
interface Milking {
  milking_id: string;
  robot: string;
  animal: string;
  ts: string;
  kg: number;
  duration_s: number;
  alarms?: string[];
}

const ROBOTS = ['robot-1', 'robot-2', 'robot-3'];
const DAYS = ['2024-05-01', '2024-05-02', '2024-05-03', '2024-06-01'];

/**
 * 120 milkings over 4 days and 3 robots, uneven on purpose (robot-3 milks less), yields in
 * quarter kilos so that sums are exact in floating point whatever the order they are added in.
 */
function milkings(): Milking[] {
  const out: Milking[] = [];
  for (let i = 0; i < 120; i++) {
    const robot = ROBOTS[i % 7 === 0 ? 2 : i % 2]!;
    const day = DAYS[i % 4]!;
    const hour = String(4 + (i % 16)).padStart(2, '0');
    const m: Milking = {
      milking_id: `mv-${String(i).padStart(4, '0')}`,
      robot,
      animal: `DE0${String(1000 + (i % 23))}`,
      ts: `${day}T${hour}:${String(i % 60).padStart(2, '0')}:00Z`,
      kg: 8 + (i % 17) * 0.25,
      duration_s: 280 + (i % 9) * 10,
    };
    if (i % 10 === 0) m.alarms = i % 20 === 0 ? ['conductivity', 'blood'] : ['conductivity'];
    out.push(m);
  }
  return out;
}

const monthOf = (m: Milking): number => Number(m.ts.slice(5, 7));

/** What an analysis per robot and day must answer, computed here from the pushed records. */
function perRobotAndDay(ms: Milking[]): Map<string, { n: number; total: number; max: number }> {
  const groups = new Map<string, { n: number; total: number; max: number }>();
  for (const m of ms) {
    const k = `${m.robot}|${m.ts.slice(0, 10)}`;
    const g = groups.get(k) ?? { n: 0, total: 0, max: -Infinity };
    g.n++;
    g.total += m.kg;
    g.max = Math.max(g.max, m.kg);
    groups.set(k, g);
  }
  return groups;
}

type Row = Record<string, unknown>;
type ExploreError = { error_code: string; message: string };

describe('ODS analysis: group_by and aggregates on the explore API (docs/ods.md#analyses)', () => {
  let hub: TestHub;
  let ds: string;
  let keys: DatasetKeys;
  const ALL = milkings();

  before(async () => {
    ({ hub, ds, keys } = await odsDataset('milkings', ALL, {
      config: { title: 'Robot milkings', uniqueKeys: ['milking_id'] },
      perPush: 50,
    }));
  });
  after(() => hub.close());

  const analysis = (params: Record<string, string | number>) => odsRecords(hub, ds, keys.readKey, params);

  async function fails(params: Record<string, string>): Promise<{ status: number; body: ExploreError }> {
    const qs = new URLSearchParams({ apikey: keys.readKey, ...params });
    const r = await call(`${exploreUrl(hub, ds, 'records')}?${qs}`);
    return { status: r.status, body: r.json as ExploreError };
  }

  it('when milkings are counted per robot per day, then each group has its count, total, average and maximum yield', async () => {
    const r = await analysis({
      select: 'count(*) as milkings, sum(kg) as total_kg, avg(kg) as avg_kg, max(kg)',
      group_by: 'robot, year(ts) as y, month(ts) as m, day(ts) as d',
      limit: 100,
    });
    const expected = perRobotAndDay(ALL);
    expect(r.total_count).to.equal(expected.size);
    expect(r.results).to.have.length(expected.size);
    for (const g of r.results) {
      expect(Object.keys(g)).to.deep.equal([
        'robot',
        'y',
        'm',
        'd',
        'milkings',
        'total_kg',
        'avg_kg',
        'max(kg)',
      ]);
      const day = `${g.y as number}-${String(g.m).padStart(2, '0')}-${String(g.d).padStart(2, '0')}`;
      const want = expected.get(`${g.robot as string}|${day}`)!;
      expect(want, `${g.robot as string} ${day}`).to.not.equal(undefined);
      expect(g).to.include({
        milkings: want.n,
        total_kg: want.total,
        avg_kg: want.total / want.n,
        'max(kg)': want.max,
      });
    }
    // without order_by, groups come in ascending order of their keys
    const order = r.results.map((g) => [g.robot, g.y, g.m, g.d].join('|'));
    expect(order).to.deep.equal(
      [...order].sort((a, b) => {
        const [ra, ...da] = a.split('|');
        const [rb, ...db] = b.split('|');
        return ra! < rb! ? -1 : ra! > rb! ? 1 : Number(da.join('')) - Number(db.join(''));
      }),
    );
  });

  it('when order_by names an aggregate or an alias, then groups are ranked by it and limit/offset page through them', async () => {
    const counts = new Map<string, number>();
    for (const m of ALL) counts.set(m.animal, (counts.get(m.animal) ?? 0) + 1);
    const ranked = [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));

    const top = await analysis({
      select: 'animal, count(*) as n',
      group_by: 'animal',
      order_by: 'n desc, animal',
      limit: 5,
    });
    expect(top.total_count).to.equal(counts.size);
    expect(top.results).to.deep.equal(ranked.slice(0, 5).map(([animal, n]) => ({ animal, n })));

    const byAggregate = await analysis({
      select: 'animal, count(*) as n',
      group_by: 'animal',
      order_by: 'count(*) desc, animal asc',
      limit: 5,
      offset: 5,
    });
    expect(byAggregate.results).to.deep.equal(ranked.slice(5, 10).map(([animal, n]) => ({ animal, n })));

    // an expression over aggregates, ascending
    const perRobot = await analysis({
      select: 'sum(kg) / count(*) as mean',
      group_by: 'robot',
      order_by: 'mean',
    });
    const means = ROBOTS.map((robot) => {
      const ms = ALL.filter((m) => m.robot === robot);
      return { robot, mean: ms.reduce((s, m) => s + m.kg, 0) / ms.length };
    }).sort((a, b) => a.mean - b.mean);
    expect(perRobot.results).to.deep.equal(means);
  });

  it('when aggregates are selected without group_by, then one result covers every matching record, and over none count is 0 and the rest null', async () => {
    const r = await analysis({
      select:
        'count(*) as n, count(alarms) as with_alarms, sum(kg), min(ts) as first, max(ts) as last, avg(duration_s)',
      where: 'robot = "robot-1"',
    });
    const ms = ALL.filter((m) => m.robot === 'robot-1');
    const times = ms.map((m) => m.ts).sort();
    expect(r.total_count).to.equal(1);
    expect(r.results).to.deep.equal([
      {
        n: ms.length,
        with_alarms: ms.filter((m) => m.alarms).length,
        'sum(kg)': ms.reduce((s, m) => s + m.kg, 0),
        first: times[0],
        last: times[times.length - 1],
        'avg(duration_s)': ms.reduce((s, m) => s + m.duration_s, 0) / ms.length,
      },
    ]);

    const none = await analysis({
      select: 'count(*) as n, sum(kg) as total, max(ts) as last',
      where: 'robot = "robot-9"',
    });
    expect(none.results).to.deep.equal([{ n: 0, total: null, last: null }]);
  });

  it('when a milking is upserted and another deleted, then the aggregates follow at once', async () => {
    const id = uniqueId('upsert');
    const k = await createDataset(hub, id, { uniqueKeys: ['milking_id'] });
    const day = ALL.filter((m) => m.robot === 'robot-2').slice(0, 6);
    await odsPush(hub, id, k.pushKey, day);
    const perRobot = async () =>
      (await odsRecords(hub, id, k.readKey, { select: 'count(*) as n, sum(kg) as kg', group_by: 'robot' }))
        .results;
    const sum = (ms: Milking[]) => ms.reduce((s, m) => s + m.kg, 0);
    expect(await perRobot()).to.deep.equal([{ robot: 'robot-2', n: 6, kg: sum(day) }]);

    // the robot re-sends milking 0 with a corrected yield, and milking 1 was reassigned to robot-1
    const corrected = { ...day[0]!, kg: day[0]!.kg + 2.5 };
    const moved = { ...day[1]!, robot: 'robot-1' };
    expect((await odsPush(hub, id, k.pushKey, [corrected, moved])).status).to.equal(200);
    expect(await perRobot()).to.deep.equal([
      { robot: 'robot-1', n: 1, kg: moved.kg },
      { robot: 'robot-2', n: 5, kg: sum(day) + 2.5 - day[1]!.kg },
    ]);

    // a wrong milking is deleted
    expect((await odsPush(hub, id, k.pushKey, [day[2]], 'delete')).status).to.equal(200);
    expect(await perRobot()).to.deep.equal([
      { robot: 'robot-1', n: 1, kg: moved.kg },
      { robot: 'robot-2', n: 4, kg: sum(day) + 2.5 - day[1]!.kg - day[2]!.kg },
    ]);
  });

  it('when where, refine and group_by combine, then only the matching records are grouped', async () => {
    const r = await analysis({
      select: 'count(*) as n',
      group_by: 'month(ts) as month',
      where: 'kg >= 10 and duration_s < 340',
      refine: 'robot:robot-1',
    });
    const ms = ALL.filter((m) => m.kg >= 10 && m.duration_s < 340 && m.robot === 'robot-1');
    const months = [...new Set(ms.map(monthOf))].sort();
    expect(r.results).to.deep.equal(
      months.map((month) => ({ month, n: ms.filter((m) => monthOf(m) === month).length })),
    );
  });

  it('when a group value is missing or multi-valued, then missing values make one null group and each element of an array its own group', async () => {
    const r = await analysis({ select: 'count(*) as n', group_by: 'alarms', limit: 100 });
    const withAlarm = (a: string) => ALL.filter((m) => m.alarms?.includes(a)).length;
    expect(r.results).to.deep.equal([
      { alarms: 'blood', n: withAlarm('blood') },
      { alarms: 'conductivity', n: withAlarm('conductivity') },
      { alarms: null, n: ALL.filter((m) => !m.alarms).length },
    ]);
  });

  it('when an analysis is exported, then json, jsonl and csv hold every group, the csv with the columns as header', async () => {
    const params = new URLSearchParams({
      apikey: keys.readKey,
      select: 'count(*) as n, max(kg) as best',
      group_by: 'robot, month(ts) as m, day(ts) as d',
      order_by: 'robot, m, d',
    });
    const json = await call(`${exploreUrl(hub, ds, 'exports/json')}?${params}`);
    expect(json.status).to.equal(200);
    const groups = json.json as Row[];
    expect(groups).to.have.length(perRobotAndDay(ALL).size);
    expect(groups[0]).to.have.keys('robot', 'm', 'd', 'n', 'best');

    const jsonl = await call(`${exploreUrl(hub, ds, 'exports/jsonl')}?${params}`);
    expect(parseNdjson(jsonl.text)).to.deep.equal(groups);

    const csv = await call(`${exploreUrl(hub, ds, 'exports/csv')}?${params}`);
    const rows = parseCsv(csv.text, { delimiter: ';' }) as string[][];
    expect(rows[0]).to.deep.equal(['robot', 'm', 'd', 'n', 'best']);
    expect(rows.slice(1)).to.deep.equal(
      groups.map((g) => [g.robot, String(g.m), String(g.d), String(g.n), String(g.best)]),
    );

    const limited = await call(`${exploreUrl(hub, ds, 'exports/json')}?${params}&limit=2&offset=1`);
    expect(limited.json).to.deep.equal(groups.slice(1, 3));
  });

  it('when group_by is used, then limit goes up to 20000 with offset + limit ≤ 20000 and total_count counts the groups', async () => {
    const r = await analysis({ group_by: 'milking_id', limit: 20000 });
    expect(r.total_count).to.equal(ALL.length);
    expect(r.results).to.have.length(ALL.length);
    expect(r.results[0]).to.deep.equal({ milking_id: 'mv-0000' });
    const tooMuch: Record<string, string>[] = [
      { group_by: 'robot', limit: '20001' },
      { group_by: 'robot', offset: '19990', limit: '11' },
      { select: 'count(*)', limit: '101' },
    ];
    for (const params of tooMuch) {
      const bad = await fails(params);
      expect(bad.status, JSON.stringify(params)).to.equal(400);
      expect(bad.body.error_code).to.equal('InvalidRESTParameterError');
    }
  });

  it('when an analysis is written wrong, then 400 ODSQLError names the clause and the column', async () => {
    const cases: Array<[Record<string, string>, string, RegExp]> = [
      [{ select: 'robot, count(*)' }, 'select', /'robot' must be inside an aggregate/],
      [{ select: 'kg, count(*)', group_by: 'robot' }, 'select', /'kg' is neither in group_by/],
      [{ select: '*, count(*)' }, 'select', /'\*' cannot be selected/],
      [{ group_by: '*' }, 'group_by', /cannot be grouped/],
      [{ group_by: 'count(*)' }, 'group_by', /aggregate count\(\) is not allowed/],
      [{ where: 'count(*) > 2' }, 'where', /aggregate count\(\) is not allowed/],
      [{ select: 'sum(*)' }, 'select', /only count\(\*\)/],
      [{ select: 'avg(kg, duration_s)' }, 'select', /avg\(\) takes one/],
      [{ select: 'count(sum(kg))' }, 'select', /cannot be inside another aggregate/],
      [{ order_by: 'count(*) desc' }, 'order_by', /add group_by/],
      [{ select: 'count(*)', group_by: 'robot', order_by: 'kg' }, 'order_by', /'kg' is neither/],
      [{ select: 'search("x") as hit, count(*)', group_by: 'robot' }, 'select', /whole records/],
      [{ group_by: 'year(ts, 2)' }, 'group_by', /year\(\) takes 1 argument/],
    ];
    for (const [params, clause, message] of cases) {
      const r = await fails(params);
      expect(r.status, JSON.stringify(params)).to.equal(400);
      expect(r.body.error_code, JSON.stringify(params)).to.equal('ODSQLError');
      expect(r.body.message, JSON.stringify(params)).to.include(`in ${clause} at column`).and.match(message);
    }
    const one = await call(`${exploreUrl(hub, ds, 'records/x')}?apikey=${keys.readKey}&select=count(*)`);
    expect(one.status).to.equal(400);
  });

  it('when select, group_by and order_by are assembled from random ODSQL pieces, then every answer is 200 or a 400 with an error code, never a 5xx', async () => {
    const piece = fc.constantFrom(
      'robot',
      'kg',
      'ts',
      'alarms',
      '`odd name`',
      'count(*)',
      'count(kg)',
      'sum(kg)',
      'avg(duration_s)',
      'min(ts)',
      'max(alarms)',
      'year(ts)',
      'day(ts)',
      'geo_cluster(loc, 3)',
      "within_distance(loc, geom'POINT(2 48)', 5km)",
      'in_bbox(loc, 1, 2, 3, 4)',
      'kg * 2',
      'sum(kg) / count(*)',
      'search("x")',
      '*',
      '1',
      'null',
      '"text"',
      'count(',
      ')',
      ',',
      'as n',
      'desc',
      'and',
    );
    const clause = fc.array(piece, { minLength: 0, maxLength: 5 }).map((xs) => xs.join(' '));
    const listed = fc.array(clause, { minLength: 1, maxLength: 3 }).map((xs) => xs.join(', '));
    await fc.assert(
      fc.asyncProperty(listed, listed, listed, async (select, groupBy, orderBy) => {
        const qs = new URLSearchParams({
          apikey: keys.readKey,
          select,
          group_by: groupBy,
          order_by: orderBy,
        });
        const r = await call(`${exploreUrl(hub, ds, 'records')}?${qs}`);
        if (r.status === 200) return;
        expect(r.status, `${select} | ${groupBy} | ${orderBy}: ${r.text}`).to.equal(400);
        expect((r.json as ExploreError).error_code).to.be.oneOf(['ODSQLError', 'InvalidRESTParameterError']);
      }),
      { numRuns: 300 },
    );
  });

  it('when date parts are used in where, then they filter by period in UTC (a date-time without a zone is UTC)', async () => {
    const r = await analysis({ where: 'month(ts) = 6 and hour(ts) >= 12', select: 'count(*) as n' });
    expect(r.results).to.deep.equal([
      { n: ALL.filter((m) => monthOf(m) === 6 && Number(m.ts.slice(11, 13)) >= 12).length },
    ]);
    const id = uniqueId('zones');
    const k = await createDataset(hub, id);
    await odsPush(hub, id, k.pushKey, [
      { t: '2024-05-01T23:30:00-02:00' }, // 2 May in UTC
      { t: '2024-05-01 23:30:00' }, // no zone: UTC
      { t: '2024-05-01' },
      { t: 'not a date' },
      { t: '2024-02-30' }, // no such day
    ]);
    const days = await odsRecords(hub, id, k.readKey, { select: 'count(*) as n', group_by: 'day(t) as d' });
    expect(days.results).to.deep.equal([
      { d: 1, n: 2 },
      { d: 2, n: 1 },
      { d: null, n: 2 },
    ]);
  });

  it('when an analysis is read from a browser, then it answers CORS, and JSONP with callback=', async () => {
    const qs = new URLSearchParams({ apikey: keys.readKey, select: 'count(*) as n', callback: 'draw' });
    const r = await call(`${exploreUrl(hub, ds, 'records')}?${qs}`, {
      headers: { origin: 'https://dash.example' },
    });
    expect(r.status).to.equal(200);
    expect(r.headers.get('access-control-allow-origin')).to.equal('*');
    expect(r.headers.get('content-type')).to.include('application/javascript');
    expect(r.text).to.equal(
      `/**/ draw(${JSON.stringify({ total_count: 1, results: [{ n: ALL.length }] })});`,
    );
  });

  it('when Obsrv events are in the dataset, then they are analysed like pushed records', async () => {
    const id = uniqueId('events');
    const k = await createDataset(hub, id);
    const events = ALL.slice(0, 9).map((m) => ({ ...m }));
    const r = await ingest(hub, id, k.pushKey, envelope(events));
    expect(r.status, r.text).to.equal(200);
    const a = await odsRecords(hub, id, k.readKey, {
      select: 'count(*) as n, sum(kg) as kg',
      group_by: 'robot',
    });
    expect(a.results).to.deep.equal(
      [...new Set(events.map((e) => e.robot))].sort().map((robot) => {
        const ms = events.filter((e) => e.robot === robot);
        return { robot, n: ms.length, kg: ms.reduce((s, m) => s + m.kg, 0) };
      }),
    );
  });
});
