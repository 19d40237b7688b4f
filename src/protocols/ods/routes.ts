import type Router from '@koa/router';
import type { Context } from 'koa';
import { RECORD_KIND } from '../../domain/records.js';
import type { ProtocolDeps } from '../deps.js';
import { mountOdsCatalog } from './catalog-routes.js';
import { mountOdsExplore } from './explore-routes.js';
import { mountOdsFacets } from './facets-routes.js';
import { mountOdsGeo } from './geo-routes.js';
import { ODS_PUSH_PREFIX, mountOdsPush } from './push-routes.js';
import { recordForwarder } from './forward.js';
import { recordRenderer } from './render.js';
export { odsErrorScope } from './read-route.js';
import { ODS_PROTOCOL, odsTranslator } from './translate.js';

/**
 * Opendatasoft push, delete, explore (records, analyses, exports), search, catalog and geo
 * clustering APIs (docs/ods.md) over the dataset changelogs.
 */
export function mountOds(router: Router, deps: ProtocolDeps): void {
  deps.hub.ingestor.register(ODS_PROTOCOL, odsTranslator(deps.hub.store));
  deps.renderers.register(RECORD_KIND, recordRenderer(deps.jsonld));
  deps.forwarders.register(RECORD_KIND, recordForwarder);
  mountOdsPush(router, deps);
  mountOdsExplore(router, deps);
  mountOdsFacets(router, deps);
  mountOdsCatalog(router, deps);
  mountOdsGeo(router, deps);
}

/** The push API is for servers and scripts: like ODS, it offers no CORS (app.ts skips it). */
export const isOdsPushRequest = (ctx: Context): boolean =>
  // routes match case-insensitively, so must this
  ctx.path.toLowerCase().startsWith(ODS_PUSH_PREFIX);
