import type Router from '@koa/router';
import { catalogEntry, searchCatalog } from '../../domain/catalog.js';
import { compileQuery } from '../../domain/odsql/query.js';
import { datasetAccess } from '../../http/access.js';
import { credentialOf } from '../../http/auth.js';
import { errorBody } from '../../http/errors.js';
import { jsonpCallback, sendJson } from '../../http/jsonp.js';
import type { ProtocolDeps } from '../deps.js';
import { renderOdsExploreError } from './errors.js';
import { catalogParams } from './params.js';

const CATALOG = '/api/explore/v2.1/catalog/datasets';

/**
 * The ODS catalog (docs/ods.md#catalog): dataset search — only the datasets the caller may read (its own with
 * a key, the public ones, all for admin) — and lookup of one dataset. Each entry is
 * `{"dataset_id","title","records_count","data_processed","fields":[{"name","type"}]}`.
 */
export function mountOdsCatalog(router: Router, deps: ProtocolDeps): void {
  const { hub } = deps;
  const errors = errorBody(renderOdsExploreError);

  router.get(CATALOG, errors, async (ctx) => {
    // who asks comes first: a garbled credential is a 401 whatever the parameters
    const principal = await hub.datasets.identify(credentialOf(ctx));
    const callback = jsonpCallback(ctx);
    const { spec, page } = catalogParams(ctx);
    const q = compileQuery(spec);
    const { total, results } = searchCatalog(await hub.datasets.readable(principal), q, page);
    sendJson(ctx, { total_count: total, results }, callback);
  });

  router.get(`${CATALOG}/:dataset`, errors, async (ctx) => {
    const { dataset } = await datasetAccess(hub, ctx, ctx.params.dataset!, 'read');
    sendJson(ctx, catalogEntry(dataset), jsonpCallback(ctx));
  });
}
