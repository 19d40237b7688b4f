import type Router from '@koa/router';
import type { Context } from 'koa';
import { datasetAccess } from '../../http/access.js';
import { errorBody, renderHubError } from '../../http/errors.js';
import { readJson } from '../../http/json.js';
import type { JsonValue } from '../../store/types.js';
import type { ProtocolDeps } from '../deps.js';
import { serveCurrent } from '../pull/feeds.js';
import { fullSyncStatus, fullSyncToParams, parseFullSyncHeaders } from './fullsync.js';
import { entityForwarder } from './forward.js';
import { entityRenderer } from './render.js';
import { ENTITY_KIND, udaTranslator } from './translate.js';
import { pushGuardOf } from '../scope.js';

const header = (ctx: Context, name: string): string | undefined => {
  const v = ctx.get(name);
  return v === '' ? undefined : v;
};

/**
 * Universal Data API (docs/uda.md): push entities (plain upserts, or a full sync spread over several
 * requests), read the current state. The changes feed is the shared GET /datasets/{id}/changes,
 * where entities render through the `entity` kind renderer registered here.
 */
export function mountUda(router: Router, deps: ProtocolDeps): void {
  const { hub } = deps;
  hub.ingestor.register('uda', udaTranslator(deps.fullSyncLeaseMs));
  deps.renderers.register(ENTITY_KIND, entityRenderer);
  deps.forwarders.register(ENTITY_KIND, entityForwarder);
  hub.registerStatus('fullSync', (d) => fullSyncStatus(d.attrs, deps.fullSyncLeaseMs, Date.now()));
  const hubErrors = errorBody(renderHubError);

  router.post('/datasets/:id/entities', hubErrors, async (ctx) => {
    const { dataset, principal } = await datasetAccess(hub, ctx, ctx.params.id!, 'push');
    const sync = parseFullSyncHeaders(
      header(ctx, 'universal-data-api-full-sync-id'),
      header(ctx, 'universal-data-api-full-sync-start'),
      header(ctx, 'universal-data-api-full-sync-end'),
    );
    const body = (await readJson(ctx)) as JsonValue;
    const result = await hub.ingestor.ingest(
      dataset,
      { protocol: 'uda', body, ...(sync ? { params: fullSyncToParams(sync) } : {}) },
      'push',
      pushGuardOf(hub.store, principal, dataset),
    );
    ctx.body = { status: 'OK', received: result.received, changes: result.changes };
  });

  router.get('/datasets/:id/entities', hubErrors, async (ctx) => {
    const { dataset, principal } = await datasetAccess(hub, ctx, ctx.params.id!, 'read');
    await serveCurrent(deps, ctx, dataset, principal);
  });
}
