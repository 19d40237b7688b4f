import type Router from '@koa/router';
import type { Context } from 'koa';
import { hubError } from '../../errors.js';
import { compactDocument, contextNames, contextText, expandDocument } from '../../domain/jsonld.js';
import { errorBody, renderHubError } from '../../http/errors.js';
import { readJson } from '../../http/json.js';
import type { ProtocolDeps } from '../deps.js';

const LD_JSON = 'application/ld+json';

function sendLd(ctx: Context, value: unknown): void {
  ctx.status = 200;
  ctx.type = LD_JSON;
  ctx.body = JSON.stringify(value);
}

/**
 * JSON-LD (docs/jsonld.md): the hub's contexts, and expansion/compaction with jsonld.js whose only
 * document loader serves those contexts. The contexts are vocabulary, not data: no credential.
 */
export function mountJsonLd(router: Router, deps: ProtocolDeps): void {
  const hubErrors = errorBody(renderHubError);

  router.get('/contexts', hubErrors, (ctx) => {
    const base = deps.baseUrl(ctx);
    ctx.body = contextNames().map((name) => ({ name, url: `${base}/contexts/${name}` }));
  });

  router.get('/contexts/:name', hubErrors, (ctx) => {
    const text = contextText(ctx.params.name!);
    if (text === undefined)
      throw hubError('CONTEXT_NOT_FOUND', `no context '${ctx.params.name}' on this hub`);
    ctx.status = 200;
    ctx.type = LD_JSON;
    ctx.body = text;
  });

  router.post('/jsonld/expand', hubErrors, async (ctx) => {
    const doc = await readJson(ctx);
    sendLd(ctx, await expandDocument(doc));
  });

  router.post('/jsonld/compact', hubErrors, async (ctx) => {
    const body = await readJson(ctx);
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw hubError('INVALID_REQUEST', 'the body must be {"document": <JSON-LD>, "context": <context>}');
    }
    const { document, context } = body as { document?: unknown; context?: unknown };
    if (document === undefined) throw hubError('INVALID_REQUEST', '"document" is missing');
    if (context === undefined) throw hubError('INVALID_REQUEST', '"context" is missing');
    sendLd(ctx, await compactDocument(document, context));
  });
}
