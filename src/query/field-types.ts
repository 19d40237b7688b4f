import type { JsonObject, JsonValue } from '../store/types.js';
import { looksLikePoint } from './odsql/geo.js';

/**
 * The field names and types of a dataset's records (docs/ods.md#catalog), inferred from the records
 * as they arrive and kept in the dataset's attrs — so the catalog never scans records.
 *
 * Types are those of ODS: text, int, double, boolean, date, datetime, geo_point_2d, file. A
 * value's type: integers are int and other numbers double; "YYYY-MM-DD" is date, an ISO 8601
 * date-time datetime; `{"lon","lat"}`, a GeoJSON Point or "lat,lon" text with decimal points
 * (48.85,2.35) geo_point_2d; a stored file reference `{"id","format","size","url"}` file; any
 * other text, object or mixed array text. An array (a multi-valued field) has the type of its
 * elements. null and empty text say nothing.
 *
 * Widening, when a field's values disagree: int + double → double, date + datetime → datetime,
 * any other mix → text. It is a lattice join (order-independent), so a recovery replay of the same
 * pushes in another grouping infers the same types. Types only widen: deleting the records that
 * made a field double does not make it int again.
 */
export type FieldType = 'text' | 'int' | 'double' | 'boolean' | 'date' | 'datetime' | 'geo_point_2d' | 'file';

const TYPES: ReadonlySet<string> = new Set([
  'text',
  'int',
  'double',
  'boolean',
  'date',
  'datetime',
  'geo_point_2d',
  'file',
]);

/** The attrs key (dataset attrs are shared by protocols: the name says whose it is). */
const RECORD_FIELDS_ATTR = 'recordFields';

/**
 * Field names tracked per dataset: attrs are rewritten with the dataset record, so a producer
 * inventing names must not grow it without bound (256 names is about 10 KB).
 */
const MAX_TRACKED_FIELDS = 256;

export interface FieldInfo {
  readonly name: string;
  readonly type: FieldType;
}

const DATE = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;
const DATETIME =
  /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])[T ]([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,9})?)?(Z|[+-]\d{2}(:?\d{2})?)?$/i;

const isObject = (v: JsonValue): v is JsonObject => v !== null && typeof v === 'object' && !Array.isArray(v);

/** A file field after the push replaced it (src/protocols/ods/files.ts). */
function isFileReference(v: JsonObject): boolean {
  return (
    typeof v.id === 'string' &&
    typeof v.format === 'string' &&
    typeof v.size === 'number' &&
    typeof v.url === 'string' &&
    Object.keys(v).length === 4
  );
}

/** The join of two types (see the module comment). */
function widen(a: FieldType, b: FieldType): FieldType {
  if (a === b) return a;
  const pair = (x: FieldType, y: FieldType) => (a === x && b === y) || (a === y && b === x);
  if (pair('int', 'double')) return 'double';
  if (pair('date', 'datetime')) return 'datetime';
  return 'text';
}

/** The type of one value; undefined for null, "" and empty arrays (they tell nothing). */
function typeOf(v: JsonValue): FieldType | undefined {
  switch (typeof v) {
    case 'boolean':
      return 'boolean';
    case 'number':
      return Number.isInteger(v) ? 'int' : 'double';
    case 'string':
      if (v === '') return undefined; // an empty cell, as CSV-minded producers send for "no value"
      if (DATE.test(v)) return 'date';
      if (DATETIME.test(v)) return 'datetime';
      return looksLikePoint(v) ? 'geo_point_2d' : 'text';
  }
  if (v === null) return undefined;
  // [lat, lon] is a point, not a multi-valued field (geo.ts says which pairs)
  if (Array.isArray(v) && looksLikePoint(v)) return 'geo_point_2d';
  if (Array.isArray(v)) {
    let t: FieldType | undefined;
    for (const x of v) {
      if (Array.isArray(x)) return 'text';
      const u = typeOf(x);
      if (u !== undefined) t = t === undefined ? u : widen(t, u);
    }
    return t;
  }
  if (isFileReference(v)) return 'file';
  return looksLikePoint(v) ? 'geo_point_2d' : 'text';
}

/** Collects the types of the records of one request, then merges them into the dataset's attrs. */
export class FieldTypes {
  private readonly seen = new Map<string, FieldType>();

  /** Top-level fields of one record. */
  add(doc: JsonObject): void {
    for (const name of Object.keys(doc)) {
      const t = typeOf(doc[name]!);
      if (t === undefined) continue;
      const before = this.seen.get(name);
      this.seen.set(name, before === undefined ? t : widen(before, t));
    }
  }

  /**
   * The attrs read-modify-write of the append (AppendRequest.attrs): undefined when nothing is
   * new, so that attrs are not rewritten on every push.
   */
  attrs(): ((current: JsonObject) => JsonObject | undefined) | undefined {
    if (this.seen.size === 0) return undefined;
    const seen = new Map(this.seen);
    return (current) => mergeFieldTypes(current, seen);
  }
}

/** The fields kept in a dataset's attrs, in the order they were first seen. */
export function recordFields(attrs: JsonObject): FieldInfo[] {
  const list = attrs[RECORD_FIELDS_ATTR];
  if (!Array.isArray(list)) return [];
  const out: FieldInfo[] = [];
  for (const f of list) {
    if (isObject(f) && typeof f.name === 'string' && typeof f.type === 'string' && TYPES.has(f.type)) {
      out.push({ name: f.name, type: f.type as FieldType });
    }
  }
  return out;
}

/** attrs with the newly seen names and widened types, or undefined when they change nothing. */
function mergeFieldTypes(current: JsonObject, seen: ReadonlyMap<string, FieldType>): JsonObject | undefined {
  const fields = recordFields(current);
  const index = new Map(fields.map((f, i) => [f.name, i] as const));
  let changed = false;
  for (const [name, type] of seen) {
    const i = index.get(name);
    if (i === undefined) {
      if (fields.length >= MAX_TRACKED_FIELDS) continue;
      index.set(name, fields.length);
      fields.push({ name, type });
      changed = true;
    } else {
      const widened = widen(fields[i]!.type, type);
      if (widened !== fields[i]!.type) {
        fields[i] = { name, type: widened };
        changed = true;
      }
    }
  }
  if (!changed) return undefined;
  return { ...current, [RECORD_FIELDS_ATTR]: fields.map((f) => ({ name: f.name, type: f.type })) };
}
