import { expect } from 'chai';
import { tokenize } from '../src/query/odsql/lexer.js';
import { parseGroupBy, parseOrderBy, parseSelect, parseWhere } from '../src/query/odsql/parser.js';
import { compileQuery } from '../src/query/odsql/query.js';
import type { QueryRow } from '../src/query/odsql/values.js';
import { instantOf, isoInZone, localParts } from '../src/query/odsql/zone.js';
import type { JsonObject } from '../src/store/types.js';

const row = (fields: JsonObject): QueryRow => ({ recordid: 'r', recorded: 0, fields });
const matches = (where: string, fields: JsonObject, timezone?: string): boolean =>
  compileQuery({ where, timezone }).filter!(row(fields));
const selected = (select: string, fields: JsonObject, timezone?: string) =>
  compileQuery({ select, timezone }).project(row(fields));
const odsqlError = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    return (e as { code: string; message: string }).code + ' ' + (e as Error).message;
  }
  return 'no error';
};

describe('ODSQL functions of the ODS client and reference (unit: lexer, parser, compiler)', () => {
  it('when a duration is written with or without a space, then it is one quantity node', () => {
    const glued = tokenize('1day', 'group_by');
    expect(glued[0]).to.deep.include({ type: 'number', value: 1, unit: 'day' });
    const [item] = parseGroupBy('range(ts, 1 day)');
    expect(item!.expr).to.deep.include({ kind: 'call', name: 'range' });
    const step = (item!.expr as { args: readonly unknown[] }).args[1];
    expect(step).to.deep.include({ kind: 'quantity', value: 1, unit: 'day' });
    expect(parseWhere('ts > now() - 7 days')).to.deep.include({ kind: 'compare' });
  });

  it('when startswith, suggest and search name fields or none, then they parse and match case-insensitively', () => {
    expect(parseWhere('startswith(name, city, "par")')).to.deep.include({ kind: 'call', name: 'startswith' });
    expect(matches('startswith(city, "par")', { city: 'Paris' })).to.equal(true);
    expect(matches('startswith(city, "ari")', { city: 'Paris' })).to.equal(false);
    expect(matches('startswith("lyo")', { a: 1, city: 'Lyon' })).to.equal(true);
    expect(matches('suggest(note, "mil")', { note: 'Fresh MILK sample' })).to.equal(true);
    expect(matches('suggest(note, "ilk")', { note: 'Fresh MILK sample' })).to.equal(false);
    expect(matches('search(a, b, "ilk")', { a: 'x', b: 'milk' })).to.equal(true);
    expect(odsqlError(() => parseWhere('startswith(1, "a")'))).to.match(/^ODSQL_ERROR .*must be field names/);
    expect(odsqlError(() => parseWhere('suggest(city)'))).to.match(/quoted string/);
  });

  it('when lower and upper are used in where, select, group_by and order_by, then they change the case', () => {
    expect(matches('lower(city) = "paris"', { city: 'PaRis' })).to.equal(true);
    expect(selected('upper(city) as c', { city: 'Lyon' })).to.deep.equal({ c: 'LYON' });
    expect(parseOrderBy('lower(city) desc')[0]).to.deep.include({ descending: true });
    expect(parseGroupBy('lower(city) as c')[0]!.name).to.equal('c');
    const run = compileQuery({ select: 'count(*) as n', groupBy: 'lower(city) as c' }).analysis!.start();
    for (const city of ['Paris', 'PARIS', 'lyon']) run.add(row({ city }));
    expect(run.results({ offset: 0, limit: 10 }).rows).to.deep.equal([
      { c: 'lyon', n: 1 },
      { c: 'paris', n: 2 },
    ]);
    expect(odsqlError(() => parseSelect('lower(a, b)'))).to.match(/lower\(\) takes 1 argument/);
  });

  it('when range() buckets numbers and dates, then groups are labelled and ordered by their start', () => {
    const run = compileQuery({ select: 'count(*) as n', groupBy: 'range(kg, 10) as b' }).analysis!.start();
    for (const kg of [1, 9, 10, 25, -3]) run.add(row({ kg }));
    expect(run.results({ offset: 0, limit: 10 }).rows).to.deep.equal([
      { b: '[-10, 0[', n: 1 },
      { b: '[0, 10[', n: 2 },
      { b: '[10, 20[', n: 1 },
      { b: '[20, 30[', n: 1 },
    ]);
    const months = compileQuery({
      select: 'count(*) as n',
      groupBy: 'range(ts, 1 month) as m',
    }).analysis!.start();
    for (const ts of ['2024-01-31T10:00:00Z', '2024-02-01T00:00:00Z', '2024-02-29T23:59:59Z'])
      months.add(row({ ts }));
    expect(months.results({ offset: 0, limit: 10 }).rows).to.deep.equal([
      { m: '2024-01-01T00:00:00Z', n: 1 },
      { m: '2024-02-01T00:00:00Z', n: 2 },
    ]);
    expect(odsqlError(() => parseGroupBy('range(kg, 0)'))).to.match(/positive number/);
    expect(odsqlError(() => parseGroupBy('range(ts, 1 fortnight)'))).to.match(/ODSQL_ERROR/);
  });

  it('when date_format formats a date, then the pattern letters and quoted text come out in the timezone', () => {
    const ts = '2024-07-14T22:30:05Z';
    expect(selected("date_format(ts, 'yyyy-MM-dd HH:mm:ss') as d", { ts })).to.deep.equal({
      d: '2024-07-14 22:30:05',
    });
    expect(selected(`date_format(ts, "EEEE d MMMM yyyy, HH'h'") as d`, { ts }, 'Europe/Paris')).to.deep.equal(
      {
        d: 'Monday 15 July 2024, 00h',
      },
    );
    expect(odsqlError(() => parseSelect("date_format(ts, 'yyyy-QQ')"))).to.match(/not a date pattern letter/);
  });

  it('when median and percentile aggregate, then they interpolate between ranks', () => {
    const run = compileQuery({
      select: 'median(kg) as m, percentile(kg, 90) as p90, percentile(kg, 0) as p0',
    }).analysis!.start();
    for (const kg of [4, 1, 3, 2, 10]) run.add(row({ kg }));
    const [r] = run.results({ offset: 0, limit: 1 }).rows;
    expect(r).to.deep.include({ m: 3, p0: 1 });
    expect(r!.p90).to.be.closeTo(7.6, 1e-9);
    expect(odsqlError(() => parseSelect('percentile(kg, 120)'))).to.match(/from 0 to 100/);
    expect(odsqlError(() => compileQuery({ where: 'median(kg) > 1' }))).to.match(/not allowed here/);
  });

  it('when now() is shifted or used in date arithmetic, then it is the query time moved in the calendar', () => {
    const before = Date.now();
    const out = selected('now() as n, now(days=-1) as y, now() - 1 day as z, now() + 2 hours as h', {});
    const n = Date.parse(out.n as string);
    expect(n).to.be.within(before, Date.now());
    expect(Date.parse(out.y as string)).to.equal(n - 86_400_000);
    expect(Date.parse(out.z as string)).to.equal(n - 86_400_000);
    expect(Date.parse(out.h as string)).to.equal(n + 7_200_000);
    expect(
      matches('ts > now() - 7 days', { ts: new Date(Date.now() - 3 * 86_400_000).toISOString() }),
    ).to.equal(true);
    expect(
      matches('ts > now() - 7 days', { ts: new Date(Date.now() - 8 * 86_400_000).toISOString() }),
    ).to.equal(false);
    expect(odsqlError(() => parseWhere('now(fortnights=1) > ts'))).to.match(/now\(\) takes shifts/);
  });

  it('when the timezone crosses a DST change, then a local day is 23 hours and date parts follow it', () => {
    // Europe/Paris went from +01:00 to +02:00 at 2024-03-31 02:00 local
    expect(instantOf('Europe/Paris', 2024, 3, 31)).to.equal(Date.parse('2024-03-30T23:00:00Z'));
    expect(instantOf('Europe/Paris', 2024, 4, 1)).to.equal(Date.parse('2024-03-31T22:00:00Z'));
    expect(isoInZone(Date.parse('2024-03-31T12:00:00Z'), 'Europe/Paris')).to.equal(
      '2024-03-31T14:00:00+02:00',
    );
    expect(localParts(Date.parse('2024-03-30T23:30:00Z'), 'Europe/Paris').slice(0, 4)).to.deep.equal([
      2024, 3, 31, 0,
    ]);
    expect(matches('day(ts) = 31', { ts: '2024-03-30T23:30:00Z' }, 'Europe/Paris')).to.equal(true);
    expect(matches('day(ts) = 31', { ts: '2024-03-30T23:30:00Z' })).to.equal(false);
    // a plain date keeps its day whatever the zone
    expect(matches('day(d) = 30', { d: '2024-03-30' }, 'America/New_York')).to.equal(true);
    expect(odsqlError(() => compileQuery({ timezone: 'Mars/Olympus' }))).to.match(/^INVALID_PARAMETER/);
  });
});
