import { expect } from 'chai';
import { HubError } from '../../src/errors.js';
import type { Expr } from '../../src/query/odsql/ast.js';
import { BUILTINS } from '../../src/query/odsql/builtins.js';
import { parseGroupBy, parseOrderBy, parseSelect, parseWhere } from '../../src/query/odsql/parser.js';

/** An expression as a compact s-expression, so precedence reads at a glance. */
function sexp(e: Expr): string {
  switch (e.kind) {
    case 'literal':
      return JSON.stringify(e.value);
    case 'typed':
      return `${e.type}'${e.text}'`;
    case 'quantity':
      return `${e.value}${e.unit}`;
    case 'field':
      return e.path.join('.');
    case 'star':
      return '*';
    case 'not':
      return `(not ${sexp(e.operand)})`;
    case 'neg':
      return `(neg ${sexp(e.operand)})`;
    case 'and':
    case 'or':
      return `(${e.kind} ${sexp(e.left)} ${sexp(e.right)})`;
    case 'compare':
    case 'arith':
      return `(${e.op} ${sexp(e.left)} ${sexp(e.right)})`;
    case 'in':
      return `(${e.negated ? 'not-in' : 'in'} ${sexp(e.operand)} ${e.list.map(sexp).join(' ')})`;
    case 'like':
      return `(${e.negated ? 'not-like' : 'like'} ${sexp(e.operand)} ${JSON.stringify(e.pattern)})`;
    case 'isnull':
      return `(${e.negated ? 'is-not-null' : 'is-null'} ${sexp(e.operand)})`;
    case 'call':
      return `(${e.name}${e.args.map((a) => ' ' + sexp(a)).join('')})`;
  }
}

const where = (source: string): string => sexp(parseWhere(source)!);

/** The ODSQL error of `f`: its 1-based column, clause and message. */
function parseError(f: () => unknown): { column: unknown; clause: unknown; message: string } {
  try {
    f();
  } catch (e) {
    if (!(e instanceof HubError) || e.code !== 'ODSQL_ERROR') throw e;
    return { column: e.details.column, clause: e.details.clause, message: e.message };
  }
  throw new Error('no error');
}

describe('ODSQL parser (unit)', () => {
  it('when or, and and not mix, then not binds tighter than and, and tighter than or', () => {
    expect(where('a = 1 or b = 2 and not c = 3')).to.equal('(or (= a 1) (and (= b 2) (not (= c 3))))');
    expect(where('not a = 1 and b = 2')).to.equal('(and (not (= a 1)) (= b 2))');
    expect(where('not not a')).to.equal('(not (not a))');
    expect(where('(a = 1 or b = 2) and c = 3')).to.equal('(and (or (= a 1) (= b 2)) (= c 3))');
    // same level: left-associative
    expect(where('a or b or c')).to.equal('(or (or a b) c)');
    expect(where('a and b and c')).to.equal('(and (and a b) c)');
    // keywords are case-insensitive
    expect(where('a OR b AnD NOT c')).to.equal('(or a (and b (not c)))');
  });

  it('when arithmetic mixes with comparisons, then * / % bind tighter than + -, and both tighter than =', () => {
    expect(where('a + b * c = d - e / f % g')).to.equal('(= (+ a (* b c)) (- d (% (/ e f) g)))');
    expect(where('a - b - c > 0')).to.equal('(> (- (- a b) c) 0)');
    expect(where('(a + b) * c <= 1')).to.equal('(<= (* (+ a b) c) 1)');
    expect(where('-a * 2 < -3')).to.equal('(< (* (neg a) 2) -3)');
    expect(where('a <> 1')).to.equal('(!= a 1)');
    expect(where('a != 1 and b >= 2 and c < 3')).to.equal('(and (and (!= a 1) (>= b 2)) (< c 3))');
  });

  it('when in, like and is null are written, with or without not, then each is one predicate node', () => {
    expect(where('a in (1, "x", b + 1)')).to.equal('(in a 1 "x" (+ b 1))');
    expect(where('a not in (1) and b')).to.equal('(and (not-in a 1) b)');
    expect(where('name like "Par*"')).to.equal('(like name "Par*")');
    expect(where('name not like "Par*" or x')).to.equal('(or (not-like name "Par*") x)');
    expect(where('a is null')).to.equal('(is-null a)');
    expect(where('a IS NOT NULL')).to.equal('(is-not-null a)');
    expect(where('not a in (1)')).to.equal('(not (in a 1))');
  });

  it('when literals of every kind are written, then they parse to their values', () => {
    expect(where('a = "x"')).to.equal('(= a "x")');
    expect(where("a = 'x'")).to.equal('(= a "x")');
    expect(where('a = 2.5e1')).to.equal('(= a 25)');
    expect(where('a = true or b = FALSE or c = null')).to.equal(
      '(or (or (= a true) (= b false)) (= c null))',
    );
    expect(where(`d >= date'2024-05-02T10:00:00Z'`)).to.equal(`(>= d date'2024-05-02T10:00:00Z')`);
    expect(where(`within_distance(p, geom'POINT(2.35 48.85)', 10km)`)).to.equal(
      `(within_distance p geom'POINT(2.35 48.85)' 10km)`,
    );
    expect(where('a.b.c = 1')).to.equal('(= a.b.c 1)');
    expect(where('`and`.`x y` = 1')).to.equal('(= and.x y 1)');
  });

  it('when dates and durations are written, then date literals are checked and durations are quantities', () => {
    expect(where('ts > now() - 7 days')).to.equal('(> ts (- (now) 7days))');
    expect(where('ts > now(days=-1, hours=2)')).to.equal('(> ts (now (= days -1) (= hours 2)))');
    expect(sexp(parseGroupBy('range(ts, 1 day)')[0]!.expr)).to.equal('(range ts 1day)');
    expect(sexp(parseGroupBy('range(ts, 2hours)')[0]!.expr)).to.equal('(range ts 2hours)');
    // a unit word followed by '(' is a call, not a unit
    expect(where('year(ts) = 2024')).to.equal('(= (year ts) 2024)');
    expect(parseError(() => parseWhere(`ts > date'yesterday'`))).to.deep.include({ column: 6 });
    expect(parseError(() => parseWhere(`ts > date'yesterday'`)).message).to.match(/is not a date/);
    expect(parseError(() => parseWhere(`p = geom'LINE(1 2)'`)).message).to.match(/is not a point/);
    expect(parseError(() => parseWhere(`p = foo'x'`)).message).to.match(/unknown literal type 'foo'/);
  });

  it('when the syntax is wrong, then the error points at the column of the offending token', () => {
    const cases: Array<[string, number, RegExp]> = [
      ['a = = 1', 5, /expected a value, a field or '\(', found '='/],
      ['a = 1 = 2', 7, /comparisons do not chain/],
      ['a = 1)', 6, /unexpected '\)' \(a parenthesis is not opened\)/],
      ['(a = 1', 7, /expected '\)' to close the parenthesis/],
      ['a in ()', 7, /the 'in' list is empty/],
      ['a in 1', 6, /expected '\(' after 'in'/],
      ['a in (1, 2', 11, /to close the 'in' list/],
      ['a like b', 8, /'like' needs a quoted pattern/],
      ['a is 1', 6, /expected 'null' after 'is'/],
      ['a is not 1', 10, /expected 'null' after 'is not'/],
      ['a = and', 5, /'and' is a keyword here/],
      ['a. = 1', 4, /expected a field name after '\.'/],
      ['a = ()', 6, /empty parentheses/],
      ['a = 1 b', 7, /unexpected 'b'/],
      ['a =', 4, /but the text ends here/],
      ['nosuch(a) = 1', 1, /unknown function 'nosuch'/],
    ];
    for (const [source, column, message] of cases) {
      const e = parseError(() => parseWhere(source));
      expect(e, source).to.deep.include({ column, clause: 'where' });
      expect(e.message, source).to.match(message);
    }
    expect(parseError(() => parseWhere('a =')).message).to.match(/^ODSQL error in where at the end:/);
  });

  it('when select, group_by and order_by lists are parsed, then items carry their names and directions', () => {
    expect(parseSelect('*, a.b, x + 1 as y, count(*)').map((i) => i.name)).to.deep.equal([
      '*',
      'a.b',
      'y',
      'count(*)',
    ]);
    expect(parseOrderBy('a desc, b ASC, c').map((i) => [sexp(i.expr), i.descending])).to.deep.equal([
      ['a', true],
      ['b', false],
      ['c', false],
    ]);
    expect(parseGroupBy('year(ts) as y, city').map((i) => i.name)).to.deep.equal(['y', 'city']);
    expect(parseWhere('   ')).to.equal(undefined);
    expect(parseError(() => parseSelect('a,, b'))).to.deep.include({ column: 3, clause: 'select' });
    expect(parseError(() => parseSelect('a,'))).to.deep.include({ column: 3 });
    expect(parseError(() => parseSelect('a as 1')).message).to.match(/expected a name after 'as'/);
    expect(parseError(() => parseGroupBy('a, *'))).to.deep.include({ column: 4, clause: 'group_by' });
    expect(parseError(() => parseOrderBy('a desc b'))).to.deep.include({ column: 8, clause: 'order_by' });
    expect(parseError(() => parseWhere('a ?', 'refine'))).to.deep.include({ column: 3, clause: 'refine' });
  });

  /**
   * Every built-in: a call that parses, and one with a wrong argument list whose error names the
   * function's rule at its column. The table must list exactly the built-ins, so a function added
   * to builtins.ts without a test here fails the last assertion.
   */
  const CALLS: Record<string, { ok: string; bad: string; message: RegExp; at?: number }> = {
    search: { ok: 'search("milk")', bad: 'search()', message: /search\(\) takes a text/ },
    startswith: { ok: 'startswith(name, "mi")', bad: 'startswith(name)', message: /quoted string/, at: 12 },
    suggest: { ok: 'suggest(a, b, "mi")', bad: 'suggest(1, "x")', message: /must be field names/, at: 9 },
    lower: {
      ok: 'lower(city)',
      bad: 'lower(a, b)',
      message: /lower\(\) takes 1 argument: lower\(text_field\)/,
    },
    upper: { ok: 'upper(city)', bad: 'upper()', message: /upper\(\) takes 1 argument/ },
    year: { ok: 'year(ts)', bad: 'year(ts, 1)', message: /year\(\) takes 1 argument/ },
    month: { ok: 'month(ts)', bad: 'month()', message: /month\(\) takes 1 argument/ },
    day: { ok: 'day(ts)', bad: 'day(*)', message: /'\*' is only allowed as count\(\*\)/, at: 5 },
    hour: { ok: 'hour(ts)', bad: 'hour(a, b)', message: /hour\(\) takes 1 argument/ },
    minute: { ok: 'minute(ts)', bad: 'minute()', message: /minute\(\) takes 1 argument/ },
    second: { ok: 'second(ts)', bad: 'second(a, b)', message: /second\(\) takes 1 argument/ },
    weekday: { ok: 'weekday(ts)', bad: 'weekday()', message: /weekday\(\) takes 1 argument/ },
    date_format: {
      ok: `date_format(ts, 'yyyy-MM')`,
      bad: 'date_format(ts, 3)',
      message: /the date pattern must be a quoted string/,
      at: 17,
    },
    now: { ok: 'now(days=-1)', bad: 'now(1)', message: /now\(\) takes shifts/, at: 5 },
    range: {
      ok: 'range(kg, 10)',
      bad: 'range(kg, -1)',
      message: /the step must be a positive number/,
      at: 11,
    },
    within_distance: {
      ok: `within_distance(p, geom'POINT(1 2)', 5km)`,
      bad: 'within_distance(p, 1)',
      message: /within_distance\(\) takes 3 arguments/,
    },
    in_bbox: {
      ok: 'in_bbox(p, 1, 2, 3, 4)',
      bad: 'in_bbox(p, 1, 2, 3)',
      message: /in_bbox\(\) takes 5 arguments/,
    },
    geo_cluster: {
      ok: 'geo_cluster(p, 5)',
      bad: 'geo_cluster(p)',
      message: /geo_cluster\(\) takes 2 arguments/,
    },
    count: { ok: 'count(*)', bad: 'count()', message: /count\(\) takes \* or one field/ },
    sum: { ok: 'sum(kg)', bad: 'sum(*)', message: /sum\(\*\) is not allowed/, at: 5 },
    avg: { ok: 'avg(kg)', bad: 'avg(a, b)', message: /avg\(\) takes one field or expression/ },
    min: { ok: 'min(kg)', bad: 'min()', message: /min\(\) takes one field or expression/ },
    max: { ok: 'max(kg)', bad: 'max(a, b)', message: /max\(\) takes one field or expression/ },
    median: { ok: 'median(kg)', bad: 'median()', message: /median\(\) takes one field or expression/ },
    percentile: { ok: 'percentile(kg, 90)', bad: 'percentile(kg, 101)', message: /from 0 to 100/, at: 16 },
  };

  it('when every built-in is called rightly and wrongly, then the right call parses and the wrong one names its rule at its column', () => {
    const prefix = 'a, ';
    for (const [name, { ok, bad, message, at }] of Object.entries(CALLS)) {
      const [, item] = parseSelect(prefix + ok);
      expect(item!.expr, ok).to.deep.include({ kind: 'call', name });
      // names are case-insensitive, like keywords
      expect(parseSelect(ok.replace(name, name.toUpperCase()))[0]!.expr, ok).to.deep.include({ name });
      const e = parseError(() => parseSelect(prefix + bad));
      expect(e.message, bad).to.match(message);
      expect(e.column, bad).to.equal(prefix.length + (at ?? 1));
    }
    expect(Object.keys(CALLS).sort(), 'the built-ins this test covers').to.deep.equal(
      BUILTINS.map((f) => f.name).sort(),
    );
  });

  it('when a built-in is listed, then its name is unique and lower case (lookups are case-insensitive)', () => {
    const names = BUILTINS.map((f) => f.name);
    expect(new Set(names).size).to.equal(names.length);
    expect(names.filter((n) => n !== n.toLowerCase())).to.deep.equal([]);
    expect(BUILTINS.filter((f) => f.aggregate).map((f) => f.name)).to.deep.equal([
      'count',
      'sum',
      'avg',
      'min',
      'max',
      'median',
      'percentile',
    ]);
  });
});
