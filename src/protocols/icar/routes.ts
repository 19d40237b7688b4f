import type Router from '@koa/router';
import { hubError } from '../../errors.js';
import { datasetAccess } from '../../http/access.js';
import { errorBody } from '../../http/errors.js';
import { readJsonText, sendJsonText } from '../../http/json.js';
import type { JsonValue } from '../../store/types.js';
import type { ProtocolDeps } from '../deps.js';
import { renderOne, serveChanges, serveCurrent } from '../pull/feeds.js';
import { resourceForwarder } from './forward.js';
import { refuseFullSyncHeaders } from './push-rules.js';
import { PROBLEM_JSON, renderIcarProblem } from './problem.js';
import { resourceRenderer } from './render.js';
import { mountSchemaSets } from './schemas-routes.js';
import { RESOURCE_KIND, resourceKey, translateIcar } from './translate.js';
import { pushGuardOf, scopeCheckOf } from '../scope.js';

/**
 * ICAR / Mimiro generic data exchange (docs/icar.md): push resources, pull the changes feed and the
 * current state. Both `/dataset/…` (the ICAR draft's spelling) and `/datasets/…` are served.
 */
export function mountIcar(router: Router, deps: ProtocolDeps): void {
  const { hub } = deps;
  hub.ingestor.register('icar', translateIcar);
  deps.renderers.register(RESOURCE_KIND, resourceRenderer(deps.jsonld));
  deps.forwarders.register(RESOURCE_KIND, resourceForwarder);
  const hubErrors = errorBody(renderIcarProblem, PROBLEM_JSON);
  mountSchemaSets(router, deps);

  for (const base of ['/datasets', '/dataset']) {
    router.post(`${base}/:id/resources`, hubErrors, async (ctx) => {
      const { dataset, principal } = await datasetAccess(hub, ctx, ctx.params.id!, 'push');
      refuseFullSyncHeaders(ctx);
      const { value, text } = await readJsonText(ctx);
      const result = await hub.ingestor.ingest(
        dataset,
        { protocol: 'icar', body: value as JsonValue, bodyText: text },
        'push',
        pushGuardOf(hub.store, principal, dataset),
      );
      ctx.body = { status: 'OK', received: result.received, changes: result.changes };
    });

    router.get(`${base}/:id/changes`, hubErrors, async (ctx) => {
      const { dataset, principal } = await datasetAccess(hub, ctx, ctx.params.id!, 'read');
      await serveChanges(deps, ctx, dataset, principal);
    });

    router.get(`${base}/:id/resources`, hubErrors, async (ctx) => {
      const { dataset, principal } = await datasetAccess(hub, ctx, ctx.params.id!, 'read');
      await serveCurrent(deps, ctx, dataset, principal);
    });

    router.get(`${base}/:id/resources/:source/:sourceId`, hubErrors, async (ctx) => {
      const { dataset, principal } = await datasetAccess(hub, ctx, ctx.params.id!, 'read');
      const change = await hub.store.get(dataset.name, resourceKey(ctx.params.source!, ctx.params.sourceId!));
      // outside the key's scope is as absent as missing: a scoped key learns nothing of it
      const scope = scopeCheckOf(principal, dataset);
      if (!change || change.deleted || (scope && !scope.admits(change)))
        throw hubError('RESOURCE_NOT_FOUND', 'no such resource in this dataset');
      sendJsonText(ctx, await renderOne(deps, ctx, dataset, change));
    });
  }
}
