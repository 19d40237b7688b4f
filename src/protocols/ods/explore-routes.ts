import type Router from '@koa/router';
import type { Context } from 'koa';
import { stringify } from 'csv-stringify/sync';
import { analyzeRecords, columnsOf, rowOf, searchRecords, streamRecords } from '../../query/explore.js';
import { valueNormaliser } from '../../query/field-values.js';
import { recordFields } from '../../query/field-types.js';
import { compileQuery, type CompiledQuery, type QuerySpec } from '../../query/odsql/query.js';
import { scopeCheckOf, type ScopeCheck } from '../scope.js';
import { RECORD_KIND } from '../../domain/records.js';
import { hubError } from '../../errors.js';
import { datasetAccess } from '../../http/access.js';
import { errorBody } from '../../http/errors.js';
import { JSONP_TYPE, jsonpCallback, jsonpStream, sendJson } from '../../http/jsonp.js';
import { jsonArray, ndjson, sendStream } from '../../http/stream.js';
import type { DatasetRecord, JsonObject, JsonValue } from '../../store/types.js';
import type { ProtocolDeps } from '../deps.js';
import { queryString } from '../pull/query.js';
import { renderOdsExploreError } from './errors.js';
import { readRoute } from './read-route.js';
import { geojsonFeatures, parquetStream, xlsxStream } from './export-formats.js';
import { FILE_ID } from './files.js';
import { exportParams, recordsParams, v1Params } from './params.js';
import { v1Record } from './render.js';

const V21 = '/api/explore/v2.1/catalog/datasets/:dataset';
const EXPORT_FORMATS = ['json', 'jsonl', 'csv', 'geojson', 'xlsx', 'parquet'] as const;
type ExportFormat = (typeof EXPORT_FORMATS)[number];

async function* map<T, U>(items: AsyncIterable<T>, f: (item: T) => U): AsyncGenerator<U> {
  for await (const item of items) yield f(item);
}

/** A CSV cell: text as is, numbers and booleans as JSON writes them, objects as JSON, missing empty. */
function cell(v: JsonValue | undefined): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

const csvLine = (cells: string[]): string => stringify([cells], { delimiter: ';' });

async function* csvRows(columns: string[], results: AsyncIterable<JsonObject>): AsyncGenerator<string> {
  yield csvLine(columns);
  for await (const out of results) yield csvLine(columns.map((c) => cell(out[c])));
}

async function* fromArray<T>(items: readonly T[]): AsyncGenerator<T> {
  yield* items;
}

/**
 * The ODS explore and search APIs over the current state (docs/ods.md#explore): v2.1 `records` (one page and
 * the total), `records/{id}`, `exports/{json|jsonl|csv}` (everything, streamed), the v1
 * `records/1.0/search`, and the files pushed in file fields. JSON GETs answer JSONP when given
 * `callback=` (exports/json included, streamed); CORS is added for all of them in app.ts.
 */
export function mountOdsExplore(router: Router, deps: ProtocolDeps): void {
  const { hub } = deps;
  const errors = errorBody(renderOdsExploreError);

  /** The dataset, and the reader's key scope (protocols/scope.ts) as every query's `scope`. */
  const access = async (
    ctx: Context,
    id: string,
  ): Promise<{ dataset: DatasetRecord; scoped: (spec: QuerySpec) => QuerySpec; scope?: ScopeCheck }> => {
    const { dataset, principal } = await datasetAccess(hub, ctx, id, 'read');
    const scope = scopeCheckOf(principal, dataset);
    return { dataset, scope, scoped: (spec) => (scope ? { ...spec, scope: scope.rows } : spec) };
  };

  /** An export of an analysis: the groups are computed (bounded by MAX_GROUPS), then streamed out. */
  const analysisResults = async (
    dataset: DatasetRecord,
    q: CompiledQuery,
    offset: number,
    limit: number | undefined,
  ): Promise<AsyncIterable<JsonObject>> => {
    const { rows } = await analyzeRecords(hub.store, dataset, q, { offset, limit: limit ?? Infinity });
    return fromArray(rows);
  };

  readRoute(router, `${V21}/records`, errors, async (ctx) => {
    const { dataset, scoped } = await access(ctx, ctx.params.dataset!);
    const callback = jsonpCallback(ctx);
    const { spec, page } = recordsParams(ctx);
    const q = compileQuery(scoped(spec));
    if (q.analysis) {
      // total_count counts the groups (one result without group_by)
      const { total, rows } = await analyzeRecords(hub.store, dataset, q, page);
      sendJson(ctx, { total_count: total, results: rows }, callback);
      return;
    }
    const { total, rows } = await searchRecords(hub.store, dataset, q, page);
    sendJson(ctx, { total_count: total, results: rows.map(q.project) }, callback);
  });

  readRoute(router, `${V21}/records/:recordId`, errors, async (ctx) => {
    const { dataset, scope } = await access(ctx, ctx.params.dataset!);
    const callback = jsonpCallback(ctx);
    const q = compileQuery({ select: queryString(ctx, 'select') });
    if (q.analysis) throw hubError('INVALID_PARAMETER', 'one record cannot be aggregated: use …/records');
    const c = await hub.store.get(dataset.name, ctx.params.recordId!);
    // outside the key's scope is as absent as missing
    if (!c || c.deleted || c.kind !== RECORD_KIND || (scope && !scope.admits(c))) {
      throw hubError(
        'RECORD_NOT_FOUND',
        `no record with id '${ctx.params.recordId!}' in dataset '${dataset.name}'`,
      );
    }
    sendJson(ctx, q.project(rowOf(c, valueNormaliser(dataset))), callback);
  });

  readRoute(router, `${V21}/exports/:format`, errors, async (ctx) => {
    // who may ask comes first: nothing about the request is judged for a caller without access
    const { dataset, scoped } = await access(ctx, ctx.params.dataset!);
    const format = ctx.params.format as ExportFormat;
    if (!EXPORT_FORMATS.includes(format)) {
      throw hubError('INVALID_PARAMETER', `export format must be one of: ${EXPORT_FORMATS.join(', ')}`);
    }
    const callback = format === 'json' ? jsonpCallback(ctx) : undefined;
    const { spec, offset, limit } = exportParams(ctx);
    const q = compileQuery(scoped(spec));
    const results = q.analysis
      ? await analysisResults(dataset, q, offset, limit)
      : map(streamRecords(hub.store, dataset, q, { offset, limit }), q.project);
    if (format === 'geojson') {
      const geo = recordFields(dataset.attrs)
        .filter((f) => f.type === 'geo_point_2d')
        .map((f) => f.name);
      ctx.set('Content-Disposition', `attachment; filename="${dataset.name}.geojson"`);
      await sendStream(ctx, geojsonFeatures(results, geo), { contentType: 'application/geo+json' });
      return;
    }
    if (format === 'xlsx' || format === 'parquet') {
      const columns = await columnsOf(hub.store, dataset, q);
      ctx.set('Content-Disposition', `attachment; filename="${dataset.name}.${format}"`);
      if (format === 'xlsx') {
        ctx.type = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
        ctx.body = xlsxStream(dataset.name, columns, results);
      } else {
        const types = new Map(recordFields(dataset.attrs).map((f) => [f.name, f.type] as const));
        ctx.type = 'application/vnd.apache.parquet';
        ctx.body = parquetStream(columns, q.analysis ? new Map() : types, results);
      }
      return;
    }
    if (format === 'csv') {
      const columns = await columnsOf(hub.store, dataset, q);
      ctx.set('Content-Disposition', `attachment; filename="${dataset.name}.csv"`);
      await sendStream(ctx, csvRows(columns, results), { contentType: 'text/csv; charset=utf-8' });
      return;
    }
    const items = map(results, (out) => JSON.stringify(out));
    if (format === 'jsonl') {
      await sendStream(ctx, ndjson(items), { contentType: 'application/x-ndjson' });
    } else if (callback !== undefined) {
      ctx.set('X-Content-Type-Options', 'nosniff');
      await sendStream(ctx, jsonpStream(callback, jsonArray(items)), { contentType: JSONP_TYPE });
    } else {
      await sendStream(ctx, jsonArray(items), { contentType: 'application/json' });
    }
  });

  readRoute(router, '/api/records/1.0/search', errors, async (ctx) => {
    const id = queryString(ctx, 'dataset');
    if (id === undefined || id === '')
      throw hubError('INVALID_PARAMETER', "the 'dataset' parameter is required");
    const { dataset, scoped } = await access(ctx, id);
    const callback = jsonpCallback(ctx);
    const p = v1Params(ctx);
    const { total, rows } = await searchRecords(hub.store, dataset, compileQuery(scoped(p.spec)), p.page);
    sendJson(
      ctx,
      { nhits: total, parameters: p.echo, records: rows.map((r) => v1Record(dataset.name, r)) },
      callback,
    );
  });

  router.get('/api/datasets/1.0/:dataset/files/:fileId', errors, async (ctx) => {
    const { dataset } = await access(ctx, ctx.params.dataset!);
    const id = ctx.params.fileId!;
    const blob = FILE_ID.test(id) ? await hub.store.getBlob(dataset.name, id) : undefined;
    if (!blob) throw hubError('FILE_NOT_FOUND', `no file '${id}' in dataset '${dataset.name}'`);
    ctx.type = blob.contentType;
    // content-addressed: the bytes behind an id never change
    ctx.set('Cache-Control', 'private, max-age=31536000, immutable');
    ctx.set('ETag', `"${id}"`);
    // pushed content is untrusted: never sniffed, never run as a page of the hub's origin
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Content-Security-Policy', "default-src 'none'; sandbox");
    ctx.body = Buffer.from(blob.bytes.buffer, blob.bytes.byteOffset, blob.bytes.byteLength);
  });
}
