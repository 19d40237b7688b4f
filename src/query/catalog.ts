import type { DatasetRecord, JsonObject } from '../store/types.js';
import { configOf } from '../domain/config.js';
import { recordFields } from './field-types.js';
import type { CompiledQuery } from './odsql/query.js';
import type { QueryRow } from './odsql/values.js';

/**
 * The dataset catalog (docs/ods.md#catalog: search and lookup): each dataset described by its
 * id, title, record count, last push time and the field types inferred as its records arrived
 * (field-types.ts). Searched with the same ODSQL as records: a dataset is a row whose fields are
 * `dataset_id`, `title`, `records_count` and `data_processed`.
 */

export interface CatalogPage {
  readonly offset: number;
  readonly limit: number;
}

/**
 * What a dataset offers, as ODS's `features` lists it: `geo` with a geo_point_2d field, `timeserie`
 * with a date or datetime field, `analyze` with any field to aggregate.
 */
export function datasetFeatures(d: DatasetRecord): string[] {
  const types = new Set(recordFields(d.attrs).map((f) => f.type));
  const out: string[] = [];
  if (types.size > 0) out.push('analyze');
  if (types.has('geo_point_2d')) out.push('geo');
  if (types.has('date') || types.has('datetime')) out.push('timeserie');
  return out;
}

/** What `where` and `order_by` (and the catalog facets) see of a dataset. */
export function catalogRow(d: DatasetRecord): QueryRow {
  return {
    recordid: d.name,
    recorded: d.updatedAt,
    fields: {
      dataset_id: d.name,
      // every ODS dataset has a title: the id stands in for a dataset created without one
      title: configOf(d).title ?? d.name,
      records_count: d.count,
      data_processed: d.lastPushAt === null ? null : new Date(d.lastPushAt).toISOString(),
    },
  };
}

/** A dataset as the catalog shows it. */
export function catalogEntry(d: DatasetRecord): JsonObject {
  const row = catalogRow(d).fields;
  const features = datasetFeatures(d);
  return {
    ...row,
    has_records: d.count > 0,
    features,
    // ODS's metadata template `default`, which portals and the client's dataset pages read
    metas: {
      default: {
        title: row.title ?? d.name,
        description: null,
        records_count: d.count,
        modified: row.data_processed ?? new Date(d.updatedAt).toISOString(),
        data_processed: row.data_processed ?? null,
        metadata_processed: new Date(d.updatedAt).toISOString(),
        timezone: null,
        keyword: [],
        theme: [],
        publisher: null,
        license: null,
        features,
      },
    },
    fields: recordFields(d.attrs).map((f) => ({ name: f.name, type: f.type })),
  };
}

/** The datasets matching the query (all of them count), one page in the query's order or by id. */
export function searchCatalog(
  datasets: readonly DatasetRecord[],
  q: CompiledQuery,
  page: CatalogPage,
): { total: number; results: JsonObject[] } {
  const matches = datasets
    .map((d) => ({ d, row: catalogRow(d) }))
    .filter(({ row }) => !q.filter || q.filter(row));
  const byId = (a: DatasetRecord, b: DatasetRecord): number =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
  const order = q.order;
  if (order) {
    const keyed = matches.map((m) => ({ ...m, keys: order.keys(m.row) }));
    keyed.sort((a, b) => order.compare(a.keys, b.keys) || byId(a.d, b.d));
    matches.splice(0, matches.length, ...keyed);
  } else matches.sort((a, b) => byId(a.d, b.d));
  return {
    total: matches.length,
    results: matches.slice(page.offset, page.offset + page.limit).map(({ d }) => catalogEntry(d)),
  };
}
