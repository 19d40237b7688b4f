import type { Expr } from './ast.js';
import { durationOf, timeOf } from './dates.js';
import type { Accumulator, ScalarFunction } from './functions.js';
import type { QueryRow, Value } from './values.js';
import { instantOf, isoInZone, localParts } from './zone.js';

/**
 * range(field, step): equal-width buckets, for group_by (docs/ods.md#analyses).
 *
 *   range(kg, 10)        numbers: the bucket "[20, 30[" (a number's bucket holds step × k ≤ x < step × (k+1))
 *   range(ts, 1 day)     dates: the start of the local day in the query's timezone, as ISO 8601
 *                        with its offset; also weeks (from Monday), months, years, hours, minutes,
 *                        seconds, with any whole count (range(ts, 15 minutes), range(ts, 3 months))
 *
 * A group's key is the bucket's start (a number or an instant), so groups sort by it; what the
 * group shows is the label above. Values that do not fit (text in a number range) are null.
 */

const isNumberStep = (e: Expr): boolean => e.kind === 'literal' && typeof e.value === 'number' && e.value > 0;

/** Floor of an instant to `n` units in the zone. */
function floorTime(t: number, n: number, unit: string, zone: string): number {
  const [y, mo, d, h, mi, s, , wd] = localParts(t, zone);
  switch (unit) {
    case 'year':
      return instantOf(zone, Math.floor(y / n) * n, 1);
    case 'month': {
      const k = Math.floor((y * 12 + mo - 1) / n) * n;
      return instantOf(zone, Math.floor(k / 12), (k % 12) + 1);
    }
    case 'week':
    case 'day': {
      // days since 1970-01-01 of the local date; weeks count from the Monday before
      const days = Math.floor(Date.UTC(y, mo - 1, d) / 86_400_000);
      const from = unit === 'week' ? days - (wd - 1) : days;
      const size = unit === 'week' ? 7 * n : n;
      const origin = unit === 'week' ? -3 : 0; // 1969-12-29 was a Monday
      const start = Math.floor((from - origin) / size) * size + origin;
      const day = new Date(start * 86_400_000);
      return instantOf(zone, day.getUTCFullYear(), day.getUTCMonth() + 1, day.getUTCDate());
    }
    case 'hour':
      return instantOf(zone, y, mo, d, Math.floor(h / n) * n);
    case 'minute':
      return instantOf(zone, y, mo, d, h, Math.floor(mi / n) * n);
    default:
      return instantOf(zone, y, mo, d, h, mi, Math.floor(s / n) * n);
  }
}

const numberLabel = (start: number, step: number): string => `[${start}, ${+(start + step).toPrecision(15)}[`;

/** range(field, step): the bucket of a number or a date, for the built-in list (builtins.ts). */
export const RANGE: ScalarFunction = {
  name: 'range',
  aggregate: false,
  check(args) {
    const usage = 'range() takes a field and a step: range(kg, 10), range(ts, 1 day)';
    if (args.length !== 2) return { message: usage };
    const step = args[1]!;
    if (isNumberStep(step)) return undefined;
    const d = durationOf(step);
    if (d && Number.isInteger(d.n) && d.n > 0) return undefined;
    return {
      message: `the step must be a positive number or a whole duration such as 1 day: ${usage}`,
      at: step.start,
    };
  },
  compile(args, compileArg, env) {
    const ev = compileArg(args[0]!);
    const step = args[1]!;
    if (isNumberStep(step)) {
      const width = (step as { value: number }).value;
      return (row) => {
        const v = ev(row);
        return typeof v === 'number' ? +(Math.floor(v / width) * width).toPrecision(15) : undefined;
      };
    }
    const { n, unit } = durationOf(step)!;
    const zone = env.timezone;
    return (row) => {
      const t = timeOf(ev(row));
      return t === undefined ? undefined : new Date(floorTime(t, n, unit, zone));
    };
  },
  groupSummary(args, compileArg, env) {
    const key = this.compile(args, compileArg, env);
    const step = args[1]!;
    const label = (v: Value): Value => {
      if (typeof v === 'number') return numberLabel(v, (step as { value: number }).value);
      if (v instanceof Date) return isoInZone(v.getTime(), env.timezone);
      return null;
    };
    return (): Accumulator => {
      let shown: Value = null;
      let seen = false;
      return {
        add(row: QueryRow) {
          if (seen) return;
          seen = true;
          shown = label(key(row));
        },
        result: () => (shown === undefined || shown instanceof Date ? null : shown),
      };
    };
  },
};
