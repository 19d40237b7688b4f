import type Router from '@koa/router';
import { datasetAccess } from '../../http/access.js';
import { errorBody } from '../../http/errors.js';
import { readJson } from '../../http/json.js';
import type { ProtocolDeps } from '../deps.js';
import { peekMsgid, readEnvelope } from './envelope.js';
import { renderObsrvError, successBody } from './render.js';
import { OBSRV_PROTOCOL, translateObsrv } from './translate.js';

/**
 * Obsrv ingest (docs/obsrv.md): Obsrv producers post here unchanged. Unlike Obsrv, validation against the
 * dataset schema and dedup happen before the answer: a 200 means every event is stored (or was a
 * duplicate), a 4xx that none is.
 */
export function mountObsrv(router: Router, deps: ProtocolDeps): void {
  const { hub } = deps;
  hub.ingestor.register(OBSRV_PROTOCOL, translateObsrv);

  router.post('/v2/data/in/:dataset_id', errorBody(renderObsrvError), async (ctx) => {
    // the gate comes before the body: no unauthenticated request makes the hub buffer 5 MiB
    const { dataset } = await datasetAccess(hub, ctx, ctx.params.dataset_id!, 'push');
    const body = await readJson(ctx);
    ctx.state.obsrvMsgid = peekMsgid(body);
    const envelope = readEnvelope(body);
    await hub.ingestor.ingest(dataset, {
      protocol: OBSRV_PROTOCOL,
      body: envelope.data,
      params: { msgid: envelope.params.msgid },
    });
    ctx.body = successBody(envelope.params.msgid);
  });
}
