import type { JsonObject, JsonValue } from '../../store/types.js';

/**
 * What ODSQL expressions evaluate to: a record's JSON values, `undefined` for a missing field, and
 * `Date` for date'…' literals (so that a date compares with a date string by time, not by text).
 */
export type Value = JsonValue | undefined | Date;

/** A record as queries see it: its id, its arrival time and its fields. */
export interface QueryRow {
  readonly recordid: string;
  /** ms since epoch: the change's `recorded` */
  readonly recorded: number;
  readonly fields: JsonObject;
}

/** Names every record answers to besides its own fields (ODS's record metadata). */
export const RECORD_ID_FIELD = 'recordid';
export const RECORD_TIMESTAMP_FIELD = 'record_timestamp';

export const isoTime = (ms: number): string => new Date(ms).toISOString();

/** A field path's value; the metadata names win over fields of the same name. */
export function fieldValue(row: QueryRow, path: readonly string[]): Value {
  const head = path[0]!;
  let v: Value;
  if (path.length === 1 && head === RECORD_ID_FIELD) return row.recordid;
  if (path.length === 1 && head === RECORD_TIMESTAMP_FIELD) return isoTime(row.recorded);
  v = Object.prototype.hasOwnProperty.call(row.fields, head) ? row.fields[head] : undefined;
  for (let i = 1; i < path.length; i++) {
    if (v === null || typeof v !== 'object' || Array.isArray(v) || v instanceof Date) return undefined;
    const obj: JsonObject = v;
    const k = path[i]!;
    v = Object.prototype.hasOwnProperty.call(obj, k) ? obj[k] : undefined;
  }
  return v;
}

const NUMERIC = /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/;

/** A string that reads as a number compares as that number with numbers ("5" = 5). */
function asNumber(v: string): number | undefined {
  return NUMERIC.test(v) ? Number(v) : undefined;
}

function asTime(v: Value): number | undefined {
  if (v instanceof Date) return v.getTime();
  if (typeof v === 'string') {
    const t = Date.parse(v);
    return Number.isNaN(t) ? undefined : t;
  }
  return undefined;
}

/**
 * Orders two scalar values of comparable types: numbers (and numeric strings against numbers),
 * strings, booleans, dates (against date strings). undefined when they do not compare (a string
 * and a boolean, anything with null or missing), which makes every comparison false.
 */
export function compareScalars(a: Value, b: Value): number | undefined {
  if (a === undefined || b === undefined || a === null || b === null) return undefined;
  if (a instanceof Date || b instanceof Date) {
    const ta = asTime(a);
    const tb = asTime(b);
    return ta === undefined || tb === undefined ? undefined : ta - tb;
  }
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === 'number' && typeof b === 'string') {
    const nb = asNumber(b);
    return nb === undefined ? undefined : a - nb;
  }
  if (typeof a === 'string' && typeof b === 'number') {
    const na = asNumber(a);
    return na === undefined ? undefined : na - b;
  }
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  return undefined;
}

/**
 * Multi-valued fields (JSON arrays) match when any of their elements does, as ODS treats
 * multivalued fields: `tags = "a"` is true for `["a","b"]`.
 */
export function anyPair(a: Value, b: Value, test: (x: Value, y: Value) => boolean): boolean {
  if (Array.isArray(a)) return a.some((x) => anyPair(x, b, test));
  if (Array.isArray(b)) return b.some((y) => anyPair(a, y, test));
  return test(a, b);
}

/** Does `v` (any nesting) contain `needle` (already lower-cased), case-insensitively? */
export function containsText(v: Value, needle: string): boolean {
  if (typeof v === 'string') return v.toLowerCase().includes(needle);
  if (typeof v === 'number') return String(v).toLowerCase().includes(needle);
  if (Array.isArray(v)) return v.some((x) => containsText(x, needle));
  if (v !== null && typeof v === 'object' && !(v instanceof Date)) {
    for (const x of Object.values(v)) if (containsText(x, needle)) return true;
  }
  return false;
}

const TYPE_RANK = (v: Value): number =>
  typeof v === 'number'
    ? 0
    : typeof v === 'string'
      ? 1
      : typeof v === 'boolean'
        ? 2
        : v instanceof Date
          ? 0
          : 3;

/**
 * A total order for order_by: numbers, then strings, then booleans, then anything else (by JSON
 * text); missing and null values sort last whatever the direction, so they never crowd the top.
 */
export function sortCompare(a: Value, b: Value, descending: boolean): number {
  const an = a === undefined || a === null;
  const bn = b === undefined || b === null;
  if (an || bn) return an === bn ? 0 : an ? 1 : -1;
  const ra = TYPE_RANK(a);
  const rb = TYPE_RANK(b);
  let c: number;
  if (ra !== rb) c = ra - rb;
  else if (ra === 3) {
    const ta = JSON.stringify(a);
    const tb = JSON.stringify(b);
    c = ta < tb ? -1 : ta > tb ? 1 : 0;
  } else c = compareScalars(a instanceof Date ? a.getTime() : a, b instanceof Date ? b.getTime() : b) ?? 0;
  return descending ? -c : c;
}

/** A compiled expression: evaluates against one record. */
export type Evaluator = (row: QueryRow) => Value;

/**
 * What a query is evaluated against besides records: the `timezone` parameter (an IANA name, UTC by
 * default) that date parts, date_format, range buckets, date refines and calendar arithmetic use,
 * and the instant `now()` reads (one per query, so every record sees the same now).
 */
export interface QueryEnv {
  readonly timezone: string;
  readonly now: number;
}

export const UTC_ENV: QueryEnv = { timezone: 'UTC', now: 0 };
