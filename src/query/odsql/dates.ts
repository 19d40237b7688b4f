import type { Expr } from './ast.js';
import { arity, type FunctionDef, type FunctionProblem, type ScalarFunction } from './functions.js';
import type { QueryEnv, Value } from './values.js';
import { instantOf, localParts } from './zone.js';

/**
 * Date functions (docs/ods.md#odsql), in the query's `timezone` (UTC by default):
 * year(f), month(f), day(f), hour(f), minute(f), second(f) and weekday(f) (1 = Monday), which group
 * an analysis by period and filter (`where=month(ts) = 5`); date_format(f, 'yyyy-MM-dd'); now(),
 * also with calendar shifts (`now(days=-1)`). A value that is not a date gives null. A plain date
 * ("2024-05-02") has the parts it is written with whatever the timezone; a date-time is an instant,
 * seen in the timezone.
 */

/** year, month (1–12), day, hour, minute, second, ms, weekday */
type Parts = readonly [number, number, number, number, number, number, number, number];

/** A date-time without a zone is read as UTC, not as the server's local time. */
const NO_ZONE = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)$/;
const PLAIN_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** The instant of a date value (Date, ISO text; a plain date is its UTC midnight); undefined otherwise. */
export function timeOf(v: Value): number | undefined {
  if (v instanceof Date) return v.getTime();
  if (typeof v !== 'string') return undefined;
  const m = NO_ZONE.exec(v);
  const t = Date.parse(m ? `${m[1]}T${m[2]}Z` : v);
  return Number.isNaN(t) ? undefined : t;
}

const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const leap = (y: number): boolean => y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
const daysIn = (year: number, month: number): number => (month === 2 && leap(year) ? 29 : DAYS[month - 1]!);

function weekdayOf(y: number, m: number, d: number): number {
  const wd = new Date(Date.UTC(y, m - 1, d)).getUTCDay();
  return wd === 0 ? 7 : wd;
}

function parse(text: string, zone: string): Parts | undefined {
  const p = PLAIN_DATE.exec(text);
  if (p) {
    const y = Number(p[1]);
    const mo = Number(p[2]);
    const d = Number(p[3]);
    if (mo < 1 || mo > 12 || d < 1 || d > daysIn(y, mo)) return undefined;
    return [y, mo, d, 0, 0, 0, 0, weekdayOf(y, mo, d)];
  }
  const t = timeOf(text);
  return t === undefined ? undefined : localParts(t, zone);
}

// year(ts), month(ts) and day(ts) of one record read the same text one after the other: the last
// text's parts are kept, so it is parsed once
let lastText: string | undefined;
let lastZone: string | undefined;
let lastParts: Parts | undefined;

export function partsOf(v: Value, zone: string): Parts | undefined {
  if (typeof v === 'string') {
    if (v !== lastText || zone !== lastZone) {
      lastParts = parse(v, zone);
      lastText = v;
      lastZone = zone;
    }
    return lastParts;
  }
  return v instanceof Date ? localParts(v.getTime(), zone) : undefined;
}

const PARTS = ['year', 'month', 'day', 'hour', 'minute', 'second'] as const;

const DATE_PARTS: readonly ScalarFunction[] = PARTS.map((name, index) => ({
  name,
  aggregate: false,
  check: arity(name, 1, `${name}(date_field)`),
  compile(args, compileArg, env) {
    const ev = compileArg(args[0]!);
    const zone = env.timezone;
    return (row) => partsOf(ev(row), zone)?.[index];
  },
}));

const WEEKDAY: ScalarFunction = {
  name: 'weekday',
  aggregate: false,
  check: arity('weekday', 1, 'weekday(date_field) (1 = Monday … 7 = Sunday)'),
  compile(args, compileArg, env) {
    const ev = compileArg(args[0]!);
    const zone = env.timezone;
    return (row) => partsOf(ev(row), zone)?.[7];
  },
};

// ---- date_format ------------------------------------------------------------------------------

const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];
const WEEKDAY_NAMES = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];

type Piece = string | ((p: Parts) => string);

const pad = (n: number, w: number): string => String(n).padStart(w, '0');

/** The pattern letters date_format understands (Java's DateTimeFormatter / Joda subset ODS documents). */
function letterRun(letter: string, n: number): Piece | undefined {
  switch (letter) {
    case 'y':
    case 'Y':
      return n === 2 ? (p) => pad(p[0] % 100, 2) : (p) => pad(p[0], n);
    case 'M':
      if (n >= 4) return (p) => MONTHS[p[1] - 1]!;
      if (n === 3) return (p) => MONTHS[p[1] - 1]!.slice(0, 3);
      return (p) => pad(p[1], n);
    case 'd':
      return (p) => pad(p[2], n);
    case 'H':
      return (p) => pad(p[3], n);
    case 'h':
      return (p) => pad(p[3] % 12 === 0 ? 12 : p[3] % 12, n);
    case 'a':
      return (p) => (p[3] < 12 ? 'AM' : 'PM');
    case 'm':
      return (p) => pad(p[4], n);
    case 's':
      return (p) => pad(p[5], n);
    case 'S':
      return (p) => pad(p[6], 3).slice(0, n);
    case 'E':
      return n >= 4 ? (p) => WEEKDAY_NAMES[p[7] - 1]! : (p) => WEEKDAY_NAMES[p[7] - 1]!.slice(0, 3);
    case 'e':
      return (p) => String(p[7]);
    default:
      return undefined;
  }
}

/** Compiles a pattern such as `yyyy-MM-dd'T'HH:mm`; text in '…' is literal, '' is a quote. */
export function compileDatePattern(pattern: string): ((p: Parts) => string) | string {
  const pieces: Piece[] = [];
  let i = 0;
  while (i < pattern.length) {
    const c = pattern[i]!;
    if (c === "'") {
      const close = pattern.indexOf("'", i + 1);
      if (close < 0) return `the quote at position ${i + 1} of the pattern is not closed`;
      pieces.push(close === i + 1 ? "'" : pattern.slice(i + 1, close));
      i = close + 1;
      continue;
    }
    if (/[A-Za-z]/.test(c)) {
      let j = i;
      while (pattern[j] === c) j++;
      const piece = letterRun(c, j - i);
      if (!piece) return `'${c}' is not a date pattern letter (use y M d H h m s S E e a, text in '…')`;
      pieces.push(piece);
      i = j;
      continue;
    }
    pieces.push(c);
    i++;
  }
  return (p) => pieces.map((x) => (typeof x === 'string' ? x : x(p))).join('');
}

const DATE_FORMAT: ScalarFunction = {
  name: 'date_format',
  aggregate: false,
  check(args) {
    const problem = arity('date_format', 2, "date_format(date_field, 'yyyy-MM-dd')")(args);
    if (problem) return problem;
    const p = args[1]!;
    if (p.kind !== 'literal' || typeof p.value !== 'string')
      return { message: "the date pattern must be a quoted string such as 'yyyy-MM'", at: p.start };
    const compiled = compileDatePattern(p.value);
    return typeof compiled === 'string' ? { message: compiled, at: p.start } : undefined;
  },
  compile(args, compileArg, env) {
    const ev = compileArg(args[0]!);
    const format = compileDatePattern((args[1] as { value: string }).value) as (p: Parts) => string;
    const zone = env.timezone;
    return (row) => {
      const parts = partsOf(ev(row), zone);
      return parts === undefined ? undefined : format(parts);
    };
  },
};

// ---- durations and now() ----------------------------------------------------------------------

/** Time units of durations (`1 day`, `2hours`, `now(days=-1)`), singular and plural. */
type Unit = 'year' | 'month' | 'week' | 'day' | 'hour' | 'minute' | 'second';
const UNITS: Readonly<Record<string, Unit>> = Object.fromEntries(
  (['year', 'month', 'week', 'day', 'hour', 'minute', 'second'] as const).flatMap((u) => [
    [u, u],
    [`${u}s`, u],
  ]),
);

export function timeUnit(word: string): Unit | undefined {
  return Object.hasOwn(UNITS, word.toLowerCase()) ? UNITS[word.toLowerCase()] : undefined;
}

/**
 * t shifted by n units in the zone: years, months, weeks and days move the local calendar (a day
 * across a DST change is 23 or 25 hours; Jan 31 + 1 month is the last day of February), hours and
 * shorter are fixed lengths.
 */
export function shift(t: number, n: number, unit: Unit, zone: string): number {
  switch (unit) {
    case 'second':
      return t + n * 1000;
    case 'minute':
      return t + n * 60_000;
    case 'hour':
      return t + n * 3_600_000;
    default: {
      const [y, mo, d, h, mi, s, ms] = localParts(t, zone);
      if (unit === 'day' || unit === 'week')
        return instantOf(zone, y, mo, d + n * (unit === 'week' ? 7 : 1), h, mi, s, ms);
      const months = unit === 'year' ? n * 12 : n;
      const ty = y + Math.floor((mo - 1 + months) / 12);
      const tm = ((((mo - 1 + months) % 12) + 12) % 12) + 1;
      return instantOf(zone, ty, tm, Math.min(d, daysIn(ty, tm)), h, mi, s, ms);
    }
  }
}

/** A duration literal: a number with a time unit. */
export function durationOf(e: Expr): { n: number; unit: Unit } | undefined {
  if (e.kind !== 'quantity') return undefined;
  const unit = timeUnit(e.unit);
  return unit === undefined ? undefined : { n: e.value, unit };
}

function nowCheck(args: readonly Expr[]): FunctionProblem | undefined {
  for (const a of args) {
    const ok =
      a.kind === 'compare' &&
      a.op === '=' &&
      a.left.kind === 'field' &&
      a.left.path.length === 1 &&
      timeUnit(a.left.path[0]!) !== undefined &&
      a.right.kind === 'literal' &&
      typeof a.right.value === 'number' &&
      Number.isInteger(a.right.value);
    if (!ok)
      return {
        message:
          'now() takes shifts such as now(days=-1, hours=2) (years, months, weeks, days, hours, minutes, seconds)',
        at: a.start,
      };
  }
  return undefined;
}

const NOW: ScalarFunction = {
  name: 'now',
  aggregate: false,
  check: nowCheck,
  compile(args, _compileArg, env: QueryEnv) {
    let t = env.now;
    for (const a of args) {
      const c = a as Extract<Expr, { kind: 'compare' }>;
      const unit = timeUnit((c.left as Extract<Expr, { kind: 'field' }>).path[0]!)!;
      t = shift(t, (c.right as { value: number }).value, unit, env.timezone);
    }
    const d = new Date(t);
    return () => d;
  },
};

/** The date functions, for the built-in list (builtins.ts). */
export const DATE_FUNCTIONS: readonly FunctionDef[] = [...DATE_PARTS, WEEKDAY, DATE_FORMAT, NOW];
