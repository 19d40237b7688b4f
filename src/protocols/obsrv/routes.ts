import type Router from '@koa/router';
import type { Context } from 'koa';
import { isHubError } from '../../errors.js';
import { datasetAccess } from '../../http/access.js';
import { errorBody } from '../../http/errors.js';
import { readJson } from '../../http/json.js';
import type { ProtocolDeps } from '../deps.js';
import { peekMsgid, readEnvelope } from './envelope.js';
import { renderObsrvError, successBody } from './render.js';
import { OBSRV_PROTOCOL, obsrvTranslator } from './translate.js';
import { pushGuardOf } from '../scope.js';

/**
 * How much of a refused request's body is read to echo its msgid: enough for any envelope's head,
 * little enough that a request without a valid key never makes the hub buffer a push.
 */
const MSGID_PEEK_BYTES = 64 * 1024;

/**
 * The gate refused the request (unknown dataset, no key…): Obsrv would have read the body first
 * and echoes its msgid in every error, so read a small body to find it. A larger one is left
 * unread and its connection closed.
 */
async function peekRefusedMsgid(ctx: Context): Promise<void> {
  const declared = Number(ctx.get('content-length'));
  if (!Number.isFinite(declared) || declared <= 0 || declared > MSGID_PEEK_BYTES) return;
  try {
    ctx.state.obsrvMsgid = peekMsgid(await readJson(ctx, { limit: MSGID_PEEK_BYTES }));
  } catch {
    // an unreadable body has no msgid; the gate's refusal is the answer
  }
}

/**
 * Obsrv ingest (docs/obsrv.md): Obsrv producers post here unchanged. Unlike Obsrv, validation against the
 * dataset schema and dedup happen before the answer: a 200 means every event is stored (or was a
 * duplicate), a 4xx that none is.
 */
export function mountObsrv(router: Router, deps: ProtocolDeps): void {
  const { hub } = deps;
  hub.ingestor.register(OBSRV_PROTOCOL, obsrvTranslator(hub.store));

  router.post('/v2/data/in/:dataset_id', errorBody(renderObsrvError), async (ctx) => {
    // the gate comes before the body: no unauthenticated request makes the hub buffer 5 MiB
    const access = await datasetAccess(hub, ctx, ctx.params.dataset_id!, 'push').catch(async (err) => {
      if (isHubError(err) && err.status < 500) await peekRefusedMsgid(ctx);
      throw err;
    });
    const body = await readJson(ctx);
    ctx.state.obsrvMsgid = peekMsgid(body);
    const envelope = readEnvelope(body);
    await hub.ingestor.ingest(
      access.dataset,
      { protocol: OBSRV_PROTOCOL, body: envelope.data, params: { msgid: envelope.params.msgid } },
      'push',
      pushGuardOf(hub.store, access.principal, access.dataset),
    );
    ctx.body = successBody(envelope.params.msgid);
  });
}
