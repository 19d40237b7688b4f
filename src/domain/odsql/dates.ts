import { arity, registerFunction } from './functions.js';
import type { Value } from './values.js';

/**
 * Date parts: year(f), month(f), day(f), hour(f), minute(f), second(f), in UTC (the ODS APIs'
 * default timezone). They group an analysis by period (`group_by=year(ts), month(ts)`) and filter
 * (`where=month(ts) = 5`). A value that is not a date gives null (a group of its own).
 */

/** year, month (1–12), day, hour, minute, second */
type Parts = readonly [number, number, number, number, number, number];

/** A date-time without a zone is read as UTC, not as the server's local time. */
const NO_ZONE = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)$/;

function timeOf(v: Value): number | undefined {
  if (v instanceof Date) return v.getTime();
  if (typeof v !== 'string') return undefined;
  const m = NO_ZONE.exec(v);
  const t = Date.parse(m ? `${m[1]}T${m[2]}Z` : v);
  return Number.isNaN(t) ? undefined : t;
}

/** ISO 8601 in UTC (Z or no zone): the parts are in the text, no Date needed. */
const ISO_UTC =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?(?:Z|[+-]00(?::?00)?)?$/i;

const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const leap = (y: number): boolean => y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
const daysIn = (year: number, month: number): number => (month === 2 && leap(year) ? 29 : DAYS[month - 1]!);

function partsOfTime(t: number): Parts {
  const d = new Date(t);
  return [
    d.getUTCFullYear(),
    d.getUTCMonth() + 1,
    d.getUTCDate(),
    d.getUTCHours(),
    d.getUTCMinutes(),
    d.getUTCSeconds(),
  ];
}

function parse(text: string): Parts | undefined {
  const m = ISO_UTC.exec(text);
  if (m) {
    const y = Number(m[1]);
    const mo = Number(m[2]);
    const d = Number(m[3]);
    const h = m[4] === undefined ? 0 : Number(m[4]);
    const mi = m[5] === undefined ? 0 : Number(m[5]);
    const s = m[6] === undefined ? 0 : Number(m[6]);
    if (mo >= 1 && mo <= 12 && d >= 1 && d <= daysIn(y, mo) && h <= 23 && mi <= 59 && s <= 59) {
      return [y, mo, d, h, mi, s];
    }
    return undefined;
  }
  const t = timeOf(text);
  return t === undefined ? undefined : partsOfTime(t);
}

// year(ts), month(ts) and day(ts) of one record read the same text one after the other: the last
// text's parts are kept, so it is parsed once
let lastText: string | undefined;
let lastParts: Parts | undefined;

function partsOf(v: Value): Parts | undefined {
  if (typeof v === 'string') {
    if (v !== lastText) {
      lastParts = parse(v);
      lastText = v;
    }
    return lastParts;
  }
  return v instanceof Date ? partsOfTime(v.getTime()) : undefined;
}

const PARTS = ['year', 'month', 'day', 'hour', 'minute', 'second'] as const;

PARTS.forEach((name, index) => {
  registerFunction({
    name,
    aggregate: false,
    check: arity(name, 1, `${name}(date_field)`),
    compile(args, compileArg) {
      const ev = compileArg(args[0]!);
      return (row) => partsOf(ev(row))?.[index];
    },
  });
});
