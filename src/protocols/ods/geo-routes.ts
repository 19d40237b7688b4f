import type Router from '@koa/router';
import { analyzeRecords } from '../../query/explore.js';
import { recordFields } from '../../query/field-types.js';
import { compileQuery } from '../../query/odsql/query.js';
import { scopeCheckOf } from '../scope.js';
import { hubError } from '../../errors.js';
import { datasetAccess } from '../../http/access.js';
import { errorBody } from '../../http/errors.js';
import { jsonpCallback, sendJson } from '../../http/jsonp.js';
import type { ProtocolDeps } from '../deps.js';
import { queryString } from '../pull/query.js';
import { renderOdsExploreError } from './errors.js';
import { readRoute } from './read-route.js';
import { geoclusterParams } from './params.js';
import { v1GeoClusters } from './render.js';

/**
 * The ODS v1 geo clustering API (docs/ods.md#geo) that map widgets call as the map moves:
 * GET /api/records/1.0/geocluster?dataset=&clusterprecision=<zoom>&geofilter.bbox=<view>. It is
 * an analysis of the explore engine (group_by geo_cluster(field, precision)), rendered in the v1
 * shape; the v2.1 records API answers the same with group_by=geo_cluster(…).
 */
export function mountOdsGeo(router: Router, deps: ProtocolDeps): void {
  const { hub } = deps;
  const errors = errorBody(renderOdsExploreError);

  readRoute(router, '/api/records/1.0/geocluster', errors, async (ctx) => {
    const id = queryString(ctx, 'dataset');
    if (id === undefined || id === '')
      throw hubError('INVALID_PARAMETER', "the 'dataset' parameter is required");
    // who may ask comes first: nothing about the request is judged for a caller without access
    const { dataset, principal } = await datasetAccess(hub, ctx, id, 'read');
    const scope = scopeCheckOf(principal, dataset);
    const callback = jsonpCallback(ctx);
    const geoFields = recordFields(dataset.attrs)
      .filter((f) => f.type === 'geo_point_2d')
      .map((f) => f.name);
    const { spec, polygons } = geoclusterParams(ctx, geoFields);
    const q = compileQuery(scope ? { ...spec, scope: scope.rows } : spec);
    const { rows } = await analyzeRecords(hub.store, dataset, q, { offset: 0, limit: Infinity });
    sendJson(ctx, v1GeoClusters(rows, polygons), callback);
  });
}
