import type Router from '@koa/router';
import type { Context } from 'koa';
import { catalogRow, datasetFeatures } from '../../query/catalog.js';
import { facetAccumulator, facetRecords, defaultFacets, type FacetField } from '../../query/facets.js';
import { recordFields } from '../../query/field-types.js';
import type { QuerySpec } from '../../query/odsql/query.js';
import { hubError } from '../../errors.js';
import { datasetAccess } from '../../http/access.js';
import { scopeCheckOf, scopedCatalog } from '../scope.js';
import { credentialOf } from '../../http/auth.js';
import { errorBody } from '../../http/errors.js';
import { jsonpCallback, sendJson } from '../../http/jsonp.js';
import type { ProtocolDeps } from '../deps.js';
import { queryString } from '../pull/query.js';
import { renderOdsExploreError } from './errors.js';
import { readRoute } from './read-route.js';

const FIELD = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Facets a request may ask for at once: each is a counter held during the pass. */
const MAX_FACETS = 50;

function many(ctx: Context, name: string): string[] {
  const v = ctx.query[name];
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/** facet=, refine=, exclude=, where=, timezone= of both facets APIs. */
function facetParams(ctx: Context): { spec: QuerySpec; names: string[] } {
  const names = many(ctx, 'facet')
    .flatMap((f) => f.split(','))
    .map((f) => f.trim())
    .filter((f) => f !== '');
  const bad = names.find((n) => !FIELD.test(n));
  if (bad !== undefined) throw hubError('INVALID_PARAMETER', `facet: '${bad}' is not a field name`);
  if (names.length > MAX_FACETS) throw hubError('INVALID_PARAMETER', `at most ${MAX_FACETS} facets at once`);
  return {
    names: [...new Set(names)],
    spec: {
      where: queryString(ctx, 'where'),
      refine: many(ctx, 'refine'),
      exclude: many(ctx, 'exclude'),
      timezone: queryString(ctx, 'timezone'),
    },
  };
}

/** Catalog facets: what ODS portals facet their catalog by. */
const CATALOG_FACETS: readonly FacetField[] = [
  { name: 'features', date: false },
  { name: 'modified', date: true },
];

/**
 * The ODS facets APIs (docs/ods.md#facets): …/datasets/{id}/facets over a dataset's records and
 * /catalog/facets over the datasets the caller may read, in ODS's answer shape
 * `{"facets":[{"name","facets":[{"name","count","state","value"[,"facets"]}]}]}`.
 */
export function mountOdsFacets(router: Router, deps: ProtocolDeps): void {
  const { hub } = deps;
  const errors = errorBody(renderOdsExploreError);

  readRoute(router, '/api/explore/v2.1/catalog/datasets/:dataset/facets', errors, async (ctx) => {
    const { dataset, principal } = await datasetAccess(hub, ctx, ctx.params.dataset!, 'read');
    const callback = jsonpCallback(ctx);
    const { spec: asked, names } = facetParams(ctx);
    const scope = scopeCheckOf(principal, dataset);
    const spec = scope ? { ...asked, scope: scope.rows } : asked;
    const fields = recordFields(dataset.attrs);
    const types = new Map(fields.map((f) => [f.name, f.type] as const));
    const wanted =
      names.length > 0
        ? names.map((name) => ({ name, date: types.get(name) === 'date' || types.get(name) === 'datetime' }))
        : defaultFacets(fields);
    const facets = await facetRecords(hub.store, dataset, spec, wanted);
    sendJson(ctx, { facets }, callback);
  });

  readRoute(router, '/api/explore/v2.1/catalog/facets', errors, async (ctx) => {
    const principal = await hub.datasets.identify(credentialOf(ctx));
    const callback = jsonpCallback(ctx);
    const { spec, names } = facetParams(ctx);
    const unknown = names.find((n) => !CATALOG_FACETS.some((f) => f.name === n));
    if (unknown !== undefined) {
      throw hubError(
        'INVALID_PARAMETER',
        `facet: the catalog has no facet '${unknown}' (it has: ${CATALOG_FACETS.map((f) => f.name).join(', ')})`,
      );
    }
    const wanted = names.length > 0 ? CATALOG_FACETS.filter((f) => names.includes(f.name)) : CATALOG_FACETS;
    const acc = facetAccumulator(spec, wanted);
    for (const d of await scopedCatalog(hub, principal)) {
      const row = catalogRow(d);
      acc.add({
        ...row,
        fields: { ...row.fields, features: datasetFeatures(d), modified: row.fields.data_processed ?? null },
      });
    }
    sendJson(ctx, { facets: acc.result() }, callback);
  });
}
