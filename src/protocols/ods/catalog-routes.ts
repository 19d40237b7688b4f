import type Router from '@koa/router';
import { catalogEntry, searchCatalog } from '../../query/catalog.js';
import { compileQuery } from '../../query/odsql/query.js';
import { datasetAccess } from '../../http/access.js';
import { scopedCatalog, scopedRecord } from '../scope.js';
import { credentialOf } from '../../http/auth.js';
import { errorBody } from '../../http/errors.js';
import { jsonpCallback, sendJson } from '../../http/jsonp.js';
import type { ProtocolDeps } from '../deps.js';
import { renderOdsExploreError } from './errors.js';
import { readRoute } from './read-route.js';
import { catalogParams, exportParams } from './params.js';
import { stringify } from 'csv-stringify/sync';
import { hubError } from '../../errors.js';
import type { JsonValue } from '../../store/types.js';

const CATALOG = '/api/explore/v2.1/catalog/datasets';
/** The catalog is a few hundred entries at most: its exports are built whole, not streamed. */
const CATALOG_EXPORTS = ['json', 'jsonl', 'csv'];

const csvCell = (v: JsonValue | undefined): string =>
  v === undefined || v === null
    ? ''
    : typeof v === 'string'
      ? v
      : typeof v === 'object'
        ? JSON.stringify(v)
        : String(v);

/**
 * The ODS catalog (docs/ods.md#catalog): dataset search — only the datasets the caller may read (its own with
 * a key, the public ones, all for admin) — and lookup of one dataset. Each entry is
 * `{"dataset_id","title","records_count","data_processed","fields":[{"name","type"}]}`.
 */
export function mountOdsCatalog(router: Router, deps: ProtocolDeps): void {
  const { hub } = deps;
  const errors = errorBody(renderOdsExploreError);

  readRoute(router, CATALOG, errors, async (ctx) => {
    // who asks comes first: a garbled credential is a 401 whatever the parameters
    const principal = await hub.datasets.identify(credentialOf(ctx));
    const callback = jsonpCallback(ctx);
    const { spec, page } = catalogParams(ctx);
    const q = compileQuery(spec);
    const { total, results } = searchCatalog(await scopedCatalog(hub, principal), q, page);
    sendJson(ctx, { total_count: total, results }, callback);
  });

  readRoute(router, '/api/explore/v2.1/catalog/exports/:format', errors, async (ctx) => {
    const principal = await hub.datasets.identify(credentialOf(ctx));
    const format = ctx.params.format!;
    if (!CATALOG_EXPORTS.includes(format)) {
      throw hubError(
        'INVALID_PARAMETER',
        `catalog export format must be one of: ${CATALOG_EXPORTS.join(', ')}`,
      );
    }
    const callback = format === 'json' ? jsonpCallback(ctx) : undefined;
    const { spec, offset, limit } = exportParams(ctx);
    const q = compileQuery({ where: spec.where, orderBy: spec.orderBy });
    const { results } = searchCatalog(await scopedCatalog(hub, principal), q, {
      offset,
      limit: limit ?? Infinity,
    });
    if (format === 'csv') {
      // nested values (fields, metas, features) as JSON text, as the records' CSV export writes them
      const columns = results.length > 0 ? Object.keys(results[0]!) : ['dataset_id'];
      const lines = [columns, ...results.map((r) => columns.map((c) => csvCell(r[c])))];
      ctx.set('Content-Disposition', 'attachment; filename="catalog.csv"');
      ctx.type = 'text/csv; charset=utf-8';
      ctx.body = stringify(lines, { delimiter: ';' });
    } else if (format === 'jsonl') {
      ctx.type = 'application/x-ndjson';
      ctx.body = results.map((r) => JSON.stringify(r) + '\n').join('');
    } else sendJson(ctx, results, callback);
  });

  readRoute(router, `${CATALOG}/:dataset`, errors, async (ctx) => {
    const { dataset, principal } = await datasetAccess(hub, ctx, ctx.params.dataset!, 'read');
    sendJson(ctx, catalogEntry(await scopedRecord(hub, principal, dataset)), jsonpCallback(ctx));
  });
}
