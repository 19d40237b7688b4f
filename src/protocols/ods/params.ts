import type { Context } from 'koa';
import type { Page } from '../../query/explore.js';
import type { QuerySpec } from '../../query/odsql/query.js';
import { hubError } from '../../errors.js';
import { MAX_CLUSTER_PRECISION, MIN_CLUSTER_PRECISION } from '../../query/odsql/geo.js';
import { queryBool, queryInt, queryString } from '../pull/query.js';

/** ODS caps paging by offset: deeper reads go through the exports API. */
export const MAX_WINDOW = 10_000;
export const MAX_RECORDS_LIMIT = 100;
/** ODS's limit (and offset + limit window) on grouped results of the records API. */
export const MAX_GROUPED_LIMIT = 20_000;
const MAX_EXPORT = 1_000_000_000;

/** A parameter that may be repeated (refine, exclude). */
function many(ctx: Context, name: string): string[] {
  const v = ctx.query[name];
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/** where, select, group_by, order_by, refine, exclude of the v2.1 APIs. */
function specOf(ctx: Context): QuerySpec {
  return {
    where: queryString(ctx, 'where'),
    select: queryString(ctx, 'select'),
    groupBy: queryString(ctx, 'group_by'),
    orderBy: queryString(ctx, 'order_by'),
    refine: many(ctx, 'refine'),
    exclude: many(ctx, 'exclude'),
    timezone: queryString(ctx, 'timezone'),
  };
}

/**
 * GET …/records: limit 0–100 (default 10), offset + limit ≤ 10000; with group_by, as ODS allows
 * for grouped results, limit up to 20000 and offset + limit ≤ 20000.
 */
export function recordsParams(ctx: Context): { spec: QuerySpec; page: Page } {
  const spec = specOf(ctx);
  const grouped = (spec.groupBy ?? '').trim() !== '';
  const maxLimit = grouped ? MAX_GROUPED_LIMIT : MAX_RECORDS_LIMIT;
  const window = grouped ? MAX_GROUPED_LIMIT : MAX_WINDOW;
  const limit = queryInt(ctx, 'limit', 0, maxLimit) ?? 10;
  const offset = queryInt(ctx, 'offset', 0, window) ?? 0;
  if (offset + limit > window) {
    throw hubError(
      'INVALID_PARAMETER',
      `offset + limit must not exceed ${window} (got ${offset + limit}); use the exports API to read further`,
    );
  }
  return { spec, page: { offset, limit } };
}

/** GET …/exports/{format}: no limit by default (limit=-1 too), any offset. */
export function exportParams(ctx: Context): { spec: QuerySpec; offset: number; limit: number | undefined } {
  const raw = queryString(ctx, 'limit');
  const limit = raw === '-1' ? undefined : queryInt(ctx, 'limit', 0, MAX_EXPORT);
  const offset = queryInt(ctx, 'offset', 0, MAX_EXPORT) ?? 0;
  return { spec: specOf(ctx), offset, limit };
}

const PLAIN_FIELD = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** v1 `sort=f` sorts descending and `sort=-f` ascending (the v1 API's convention), comma-separated. */
function v1Sort(sort: string | undefined): string | undefined {
  if (sort === undefined || sort.trim() === '') return undefined;
  return sort
    .split(',')
    .map((s) => {
      const t = s.trim();
      const asc = t.startsWith('-');
      const name = asc ? t.slice(1) : t;
      if (!PLAIN_FIELD.test(name)) throw hubError('INVALID_PARAMETER', `sort: '${t}' is not a field name`);
      return `\`${name}\` ${asc ? 'asc' : 'desc'}`;
    })
    .join(', ');
}

/** `refine.<field>=value` / `exclude.<field>=value` of the v1 API, as `field:value`. */
function v1Facets(
  ctx: Context,
  prefix: 'refine.' | 'exclude.',
): { list: string[]; shown: Record<string, string> } {
  const list: string[] = [];
  const shown: Record<string, string> = {};
  for (const key of Object.keys(ctx.query)) {
    if (!key.startsWith(prefix)) continue;
    const field = key.slice(prefix.length);
    for (const v of many(ctx, key)) {
      list.push(`${field}:${v}`);
      shown[field] = v;
    }
  }
  return { list, shown };
}

export interface V1Params {
  readonly dataset: string;
  readonly spec: QuerySpec;
  readonly page: Page;
  /** echoed in the answer's `parameters`, as the v1 API does */
  readonly echo: Record<string, unknown>;
}

/** GET /api/records/1.0/search: dataset, q, rows (default 10), start, refine.*, exclude.*, sort. */
export function v1Params(ctx: Context): V1Params {
  const dataset = queryString(ctx, 'dataset');
  if (dataset === undefined || dataset === '')
    throw hubError('INVALID_PARAMETER', "the 'dataset' parameter is required");
  const rows = queryInt(ctx, 'rows', 0, MAX_WINDOW) ?? 10;
  const start = queryInt(ctx, 'start', 0, MAX_WINDOW) ?? 0;
  if (start + rows > MAX_WINDOW) {
    throw hubError('INVALID_PARAMETER', `start + rows must not exceed ${MAX_WINDOW} (got ${start + rows})`);
  }
  const q = queryString(ctx, 'q');
  const sort = queryString(ctx, 'sort');
  const refine = v1Facets(ctx, 'refine.');
  const exclude = v1Facets(ctx, 'exclude.');
  const timezone = queryString(ctx, 'timezone');
  const echo: Record<string, unknown> = { dataset, timezone: timezone || 'UTC', rows, start, format: 'json' };
  if (q !== undefined && q !== '') echo.q = q;
  if (sort !== undefined && sort !== '') echo.sort = sort.split(',').map((s) => s.trim());
  if (refine.list.length > 0) echo.refine = refine.shown;
  if (exclude.list.length > 0) echo.exclude = exclude.shown;
  return {
    dataset,
    spec: { q, orderBy: v1Sort(sort), refine: refine.list, exclude: exclude.list, timezone },
    page: { offset: start, limit: rows },
    echo,
  };
}

/** GET /api/explore/v2.1/catalog/datasets: where and order_by over the catalog, limit 0–100, offset. */
export function catalogParams(ctx: Context): { spec: QuerySpec; page: Page } {
  const limit = queryInt(ctx, 'limit', 0, MAX_RECORDS_LIMIT) ?? 10;
  const offset = queryInt(ctx, 'offset', 0, MAX_WINDOW) ?? 0;
  if (offset + limit > MAX_WINDOW) {
    throw hubError(
      'INVALID_PARAMETER',
      `offset + limit must not exceed ${MAX_WINDOW} (got ${offset + limit})`,
    );
  }
  return {
    spec: { where: queryString(ctx, 'where'), orderBy: queryString(ctx, 'order_by') },
    page: { offset, limit },
  };
}

const DECIMAL = /^-?\d+(\.\d+)?$/;

/** Comma-separated decimal numbers, as the v1 geofilter parameters write them; the texts are kept for ODSQL. */
function decimals(ctx: Context, name: string, count: number, example: string): string[] | undefined {
  const v = queryString(ctx, name);
  if (v === undefined || v === '') return undefined;
  const parts = v.split(',').map((p) => p.trim());
  if (parts.length !== count || !parts.every((p) => DECIMAL.test(p))) {
    throw hubError(
      'INVALID_PARAMETER',
      `${name} must be ${count} comma-separated numbers: ${name}=${example}`,
    );
  }
  return parts;
}

function latLon(name: string, lat: string, lon: string): void {
  if (Math.abs(Number(lat)) > 90 || Math.abs(Number(lon)) > 180) {
    throw hubError('INVALID_PARAMETER', `${name}: latitudes are within ±90 and longitudes within ±180`);
  }
}

/** Map zooms accepted for clusterprecision; outside 1–20 they act as the nearest precision. */
const MAX_MAP_ZOOM = 30;

export interface GeoclusterParams {
  readonly spec: QuerySpec;
  /** `cluster` as the envelope polygon of the points rather than the centre point */
  readonly polygons: boolean;
}

/**
 * GET /api/records/1.0/geocluster: clusterprecision (the map's zoom, 0–30, as precision 1–20) required;
 * geofilter.bbox=lat1,lon1,lat2,lon2 and geofilter.distance=lat,lon,metres narrow it, q and
 * refine.* / exclude.* filter as in search. The clustered field is `field=` (a hub addition) or
 * the dataset's first geo_point_2d field. clusterdistance and shapeprecision are accepted and
 * ignored (cells are fixed per precision). The query is an ODSQL analysis, so the explore engine
 * answers it: group_by geo_cluster(field, precision), where in_bbox/within_distance.
 */
export function geoclusterParams(ctx: Context, geoFields: readonly string[]): GeoclusterParams {
  const zoom = queryInt(ctx, 'clusterprecision', 0, MAX_MAP_ZOOM);
  if (zoom === undefined) {
    throw hubError(
      'INVALID_PARAMETER',
      `clusterprecision is required: the map's zoom level (0 to ${MAX_MAP_ZOOM})`,
    );
  }
  // maps send their zoom as it is (0 for the whole world, up to 22 on some tile servers)
  const precision = Math.min(MAX_CLUSTER_PRECISION, Math.max(MIN_CLUSTER_PRECISION, zoom));
  const named = queryString(ctx, 'field');
  const field = named === undefined || named === '' ? geoFields[0] : named;
  if (field === undefined) {
    throw hubError(
      'NO_GEO_FIELD',
      'the dataset has no geo_point_2d field (none seen in its records): name the field with field=',
    );
  }
  if (field.includes('`'))
    throw hubError('INVALID_PARAMETER', 'field: a field name cannot contain a backquote');
  const f = `\`${field}\``;

  const where: string[] = [];
  const bbox = decimals(ctx, 'geofilter.bbox', 4, '48.80,2.25,48.90,2.42');
  if (bbox) {
    latLon('geofilter.bbox', bbox[0]!, bbox[1]!);
    latLon('geofilter.bbox', bbox[2]!, bbox[3]!);
    where.push(`in_bbox(${f}, ${bbox.join(', ')})`);
  }
  const distance = decimals(ctx, 'geofilter.distance', 3, '48.85,2.35,5000');
  if (distance) {
    const [lat, lon, metres] = distance as [string, string, string];
    latLon('geofilter.distance', lat, lon);
    if (Number(metres) < 0)
      throw hubError('INVALID_PARAMETER', 'geofilter.distance: the distance is in metres, ≥ 0');
    where.push(`within_distance(${f}, geom'POINT(${lon} ${lat})', ${metres}m)`);
  }
  const polygons = queryBool(ctx, 'return_polygons') ?? false;
  const refine = v1Facets(ctx, 'refine.');
  const exclude = v1Facets(ctx, 'exclude.');
  return {
    spec: {
      q: queryString(ctx, 'q'),
      refine: refine.list,
      exclude: exclude.list,
      where: where.join(' and '),
      groupBy: `geo_cluster(${f}, ${precision}) as cluster`,
    },
    polygons,
  };
}
