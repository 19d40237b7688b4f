import type { DatasetRecord, JsonObject, JsonValue, Store } from '../store/types.js';
import type { FieldInfo } from './field-types.js';
import { rawDoc } from './odsql/prefilter.js';
import { compileQuery, type QuerySpec } from './odsql/query.js';
import type { QueryRow } from './odsql/values.js';
import { localParts } from './odsql/zone.js';
import { rowOf } from './explore.js';
import { valueNormaliser } from './field-values.js';
import { RECORD_KIND } from '../domain/records.js';

/**
 * Facets (docs/ods.md#facets): for each faceted field, its values and how many matching records
 * hold each, as ODS's facets API answers them: `{"name","count","state","value"}` per value,
 * where state is `refined` (a refine names it), `excluded` (an exclude names it) or `displayed`.
 * Date and date-time fields are a hierarchy — years, then months (`2024/03`), then days
 * (`2024/03/31`) — in the query's timezone.
 *
 * Counts are over the records matching where and every refine and exclude, except that a field's
 * own excludes are lifted for that field's facet, so the excluded values still show (with their
 * counts) for a user to put back. One pass over the dataset, whatever the number of facets.
 */

export interface FacetField {
  readonly name: string;
  readonly date: boolean;
}

export interface FacetValue {
  name: string;
  count: number;
  state: 'displayed' | 'refined' | 'excluded';
  value: string;
  facets?: FacetValue[];
}

export interface Facet {
  readonly name: string;
  readonly facets: FacetValue[];
}

/** Values shown per facet (per level of a date hierarchy): the most frequent first. */
export const MAX_FACET_VALUES = 1000;

/** The fields faceted when the request names none: those whose values repeat (text, dates, booleans, integers). */
export function defaultFacets(fields: readonly FieldInfo[]): FacetField[] {
  return fields
    .filter((f) => ['text', 'date', 'datetime', 'boolean', 'int'].includes(f.type))
    .map((f) => ({ name: f.name, date: f.type === 'date' || f.type === 'datetime' }));
}

const PLAIN_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** [year, month, day] of a date value in the zone; undefined for what is not a date. */
function dayOf(v: JsonValue, zone: string): [string, string, string] | undefined {
  if (typeof v !== 'string') return undefined;
  const p = PLAIN_DATE.exec(v);
  if (p) return [p[1]!, p[2]!, p[3]!];
  if (!/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/.test(v)) return undefined;
  const t = Date.parse(/(Z|[+-]\d{2}:?\d{2})$/i.test(v) ? v : `${v.replace(' ', 'T')}Z`);
  if (Number.isNaN(t)) return undefined;
  const [y, m, d] = localParts(t, zone);
  return [String(y).padStart(4, '0'), String(m).padStart(2, '0'), String(d).padStart(2, '0')];
}

const facetText = (v: JsonValue): string | undefined =>
  typeof v === 'string'
    ? v === ''
      ? undefined
      : v
    : typeof v === 'number' || typeof v === 'boolean'
      ? String(v)
      : undefined;

/** Counts per value (a nested map for date levels). */
interface Node {
  count: number;
  children: Map<string, Node>;
}
const node = (): Node => ({ count: 0, children: new Map() });

function bump(map: Map<string, Node>, key: string): Node {
  let n = map.get(key);
  if (!n) map.set(key, (n = node()));
  n.count++;
  return n;
}

class FacetCounter {
  readonly root: Node = node();
  constructor(
    private readonly field: FacetField,
    private readonly zone: string,
  ) {}

  add(fields: JsonObject): void {
    const v = Object.hasOwn(fields, this.field.name) ? fields[this.field.name] : undefined;
    if (v === undefined || v === null) return;
    // a record counts once per distinct value of a multi-valued field
    const values = Array.isArray(v)
      ? [...new Set(v.map((x) => JSON.stringify(x)))].map((x) => JSON.parse(x) as JsonValue)
      : [v];
    const seen = new Set<string>();
    for (const x of values) {
      if (this.field.date) {
        const day = dayOf(x, this.zone);
        if (!day || seen.has(day.join('/'))) continue;
        seen.add(day.join('/'));
        bump(bump(bump(this.root.children, day[0]).children, day[1]).children, day[2]);
      } else {
        const text = facetText(x);
        if (text === undefined || seen.has(text)) continue;
        seen.add(text);
        bump(this.root.children, text);
      }
    }
  }
}

/** The refine/exclude values naming a field, as facet values (`2024/03` for dates). */
function named(list: readonly string[] | undefined, field: string): Set<string> {
  const out = new Set<string>();
  for (const r of list ?? []) {
    const colon = r.indexOf(':');
    if (colon > 0 && r.slice(0, colon).trim() === field) out.add(r.slice(colon + 1).replace(/-/g, '/'));
  }
  return out;
}

function render(
  map: Map<string, Node>,
  prefix: string,
  date: boolean,
  refined: Set<string>,
  excluded: Set<string>,
  depth: number,
): FacetValue[] {
  const entries = [...map.entries()];
  // dates in calendar order, other values the most frequent first (then by name)
  if (date) entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  else entries.sort(([a, x], [b, y]) => y.count - x.count || (a < b ? -1 : a > b ? 1 : 0));
  return entries.slice(0, MAX_FACET_VALUES).map(([name, n]) => {
    const value = prefix === '' ? name : `${prefix}/${name}`;
    const state = excluded.has(value) ? 'excluded' : refined.has(value) ? 'refined' : 'displayed';
    const out: FacetValue = { name, count: n.count, state, value };
    if (date && depth < 2) out.facets = render(n.children, value, date, refined, excluded, depth + 1);
    return out;
  });
}

export function renderFacets(counters: ReadonlyMap<FacetField, FacetCounter>, spec: QuerySpec): Facet[] {
  return [...counters].map(([f, c]) => ({
    name: f.name,
    facets: render(c.root.children, '', f.date, named(spec.refine, f.name), named(spec.exclude, f.name), 0),
  }));
}

/** Rows (records or catalog entries) → facets, with the per-field lifting of excludes. */
export function facetAccumulator(spec: QuerySpec, fields: readonly FacetField[]) {
  const base = compileQuery({
    ...spec,
    exclude: [],
    select: undefined,
    groupBy: undefined,
    orderBy: undefined,
  });
  const excludes = (spec.exclude ?? []).map((e) => ({
    field: e.slice(0, Math.max(0, e.indexOf(':'))).trim(),
    test: compileQuery({ exclude: [e], timezone: spec.timezone }).filter!,
  }));
  const zone = spec.timezone === undefined || spec.timezone === '' ? 'UTC' : spec.timezone;
  const counters = new Map(fields.map((f) => [f, new FacetCounter(f, zone)] as const));
  return {
    base,
    add(row: QueryRow): void {
      if (base.filter && !base.filter(row)) return;
      const failing = new Set<string>();
      for (const e of excludes) if (!e.test(row)) failing.add(e.field);
      for (const [f, c] of counters) {
        if (failing.size === 0 || (failing.size === 1 && failing.has(f.name))) c.add(row.fields);
      }
    },
    result: (): Facet[] => renderFacets(counters, spec),
  };
}

/** The facets of a dataset's records: one pass over its current state. */
export async function facetRecords(
  store: Store,
  dataset: DatasetRecord,
  spec: QuerySpec,
  fields: readonly FacetField[],
): Promise<Facet[]> {
  const acc = facetAccumulator(spec, fields);
  const raw = acc.base.raw;
  const norm = valueNormaliser(dataset);
  for await (const c of store.current(dataset.name, { epoch: dataset.epoch })) {
    if (c.kind !== RECORD_KIND) continue;
    if (raw && !raw(rawDoc(c.doc))) continue;
    acc.add(rowOf(c, norm));
  }
  return acc.result();
}
