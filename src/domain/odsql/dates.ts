import { arity, registerFunction } from './functions.js';
import type { Value } from './values.js';

/**
 * Date parts: year(f), month(f), day(f), hour(f), minute(f), second(f), in UTC (the ODS APIs'
 * default timezone). They group an analysis by period (`group_by=year(ts), month(ts)`) and filter
 * (`where=month(ts) = 5`). A value that is not a date gives null (a group of its own).
 */

/** A date-time without a zone is read as UTC, not as the server's local time. */
const NO_ZONE = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)$/;

export function timeOf(v: Value): number | undefined {
  if (v instanceof Date) return v.getTime();
  if (typeof v !== 'string') return undefined;
  const m = NO_ZONE.exec(v);
  const t = Date.parse(m ? `${m[1]}T${m[2]}Z` : v);
  return Number.isNaN(t) ? undefined : t;
}

const PARTS: ReadonlyArray<readonly [string, (d: Date) => number]> = [
  ['year', (d) => d.getUTCFullYear()],
  ['month', (d) => d.getUTCMonth() + 1],
  ['day', (d) => d.getUTCDate()],
  ['hour', (d) => d.getUTCHours()],
  ['minute', (d) => d.getUTCMinutes()],
  ['second', (d) => d.getUTCSeconds()],
];

for (const [name, part] of PARTS) {
  registerFunction({
    name,
    aggregate: false,
    check: arity(name, 1, `${name}(date_field)`),
    compile(args, compileArg) {
      const ev = compileArg(args[0]!);
      return (row) => {
        const t = timeOf(ev(row));
        return t === undefined ? undefined : part(new Date(t));
      };
    },
  });
}
