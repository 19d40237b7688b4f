import type { DatasetRecord, JsonObject, JsonValue } from '../store/types.js';
import { recordFields, type FieldType } from './field-types.js';
import { toPoint } from './odsql/geo.js';

/**
 * Record values as ODS answers them, per the field's inferred type (docs/ods.md#values): whatever
 * form a point was pushed in ("lat,lon", [lat, lon], {lon, lat}, a GeoJSON Point), a geo_point_2d
 * is `{"lon": …, "lat": …}` — what map widgets read; a date-time field's values are ISO 8601 with
 * seconds and a zone (`2024-05-02` → `2024-05-02T00:00:00Z`, `2024-05-02 06:00` →
 * `2024-05-02T06:00:00Z`, a text already so is left as written); a date field's values are
 * `YYYY-MM-DD`. A value that does not read as its type is left as pushed. Stored records are not
 * changed: this is how they are shown.
 */
export type ValueNormaliser = (fields: JsonObject) => JsonObject;

const FULL_DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const NO_ZONE = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?))?$/;
const DATE_PREFIX = /^(\d{4}-\d{2}-\d{2})(?:$|[T ])/;

function datetime(v: JsonValue): JsonValue {
  if (typeof v !== 'string' || FULL_DATETIME.test(v)) return v;
  const m = NO_ZONE.exec(v);
  // without a zone a date-time is UTC, as the date functions read it
  const t = Date.parse(m ? `${m[1]}T${m[2] ?? '00:00'}Z` : v);
  if (Number.isNaN(t)) return v;
  const iso = new Date(t).toISOString();
  return iso.endsWith('.000Z') ? `${iso.slice(0, -5)}Z` : iso;
}

function date(v: JsonValue): JsonValue {
  if (typeof v !== 'string') return v;
  const m = DATE_PREFIX.exec(v);
  return m ? m[1]! : v;
}

function point(v: JsonValue): JsonValue {
  const p = toPoint(v);
  return p ? { lon: p.lon, lat: p.lat } : v;
}

const CONVERT: Partial<Record<FieldType, (v: JsonValue) => JsonValue>> = {
  geo_point_2d: point,
  datetime,
  date,
};

/** The dataset's normaliser, or undefined when no field needs one (the rows are then untouched). */
export function valueNormaliser(dataset: DatasetRecord): ValueNormaliser | undefined {
  const steps: [string, (v: JsonValue) => JsonValue][] = [];
  for (const f of recordFields(dataset.attrs)) {
    const convert = CONVERT[f.type];
    if (convert) steps.push([f.name, convert]);
  }
  if (steps.length === 0) return undefined;
  return (fields) => {
    let out: JsonObject | undefined;
    for (const [name, convert] of steps) {
      if (!Object.hasOwn(fields, name)) continue;
      const v = fields[name]!;
      // a multi-valued field converts each value; a [lat, lon] pair is one point
      const next =
        Array.isArray(v) && !(convert === point && toPoint(v)) ? v.map((x) => convert(x)) : convert(v);
      if (next !== v) {
        out ??= { ...fields };
        out[name] = next;
      }
    }
    return out ?? fields;
  };
}
