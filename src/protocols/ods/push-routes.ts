import type Router from '@koa/router';
import type { Context } from 'koa';
import { datasetAccess } from '../../http/access.js';
import { errorBody } from '../../http/errors.js';
import { readJsonText } from '../../http/json.js';
import type { JsonValue } from '../../store/types.js';
import type { ProtocolDeps } from '../deps.js';
import { renderOdsPushError } from './errors.js';
import { ODS_PROTOCOL, TOO_LARGE_MESSAGE, type OdsOperation } from './translate.js';
import { pushGuardOf } from '../scope.js';

/** Every push-API path starts with this (CORS is not offered there, as on ODS). */
export const ODS_PUSH_PREFIX = '/api/push/';
const BASE = '/api/push/1.0/:dataset/:resource';

/**
 * The ODS real-time push API (docs/ods.md#push): push and delete by values (one record or an array, the
 * raw body read as JSON whatever the Content-Type, at most 5 MiB decided while reading), delete by
 * record id. Success is `{"status":"OK"}`, once the change is durable.
 */
export function mountOdsPush(router: Router, deps: ProtocolDeps): void {
  const { hub } = deps;
  const errors = errorBody(renderOdsPushError);

  async function run(ctx: Context, operation: OdsOperation, withBody: boolean): Promise<void> {
    const { dataset, principal } = await datasetAccess(hub, ctx, ctx.params.dataset!, 'push');
    // the shared reader: 5 MiB decided while reading, the hub's idle timeout and body budget
    const read = withBody ? await readJsonText(ctx, { tooLargeMessage: TOO_LARGE_MESSAGE }) : undefined;
    await hub.ingestor.ingest(
      dataset,
      {
        protocol: ODS_PROTOCOL,
        body: read ? (read.value as JsonValue) : null,
        params: { ...operation },
        ...(read ? { bodyText: read.text } : {}),
      },
      'push',
      pushGuardOf(hub.store, principal, dataset),
    );
    ctx.body = { status: 'OK' };
  }

  router.post(`${BASE}/push`, errors, (ctx) =>
    run(ctx, { op: 'push', resource: ctx.params.resource! }, true),
  );
  router.post(`${BASE}/delete`, errors, (ctx) =>
    run(ctx, { op: 'delete', resource: ctx.params.resource! }, true),
  );
  router.get(`${BASE}/:recordId/delete`, errors, (ctx) =>
    run(ctx, { op: 'deleteById', resource: ctx.params.resource!, recordid: ctx.params.recordId! }, false),
  );
}
