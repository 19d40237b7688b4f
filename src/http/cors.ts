import type { Context, Middleware } from 'koa';

/** Headers a browser script may read from our answers (quota, feed and download metadata). */
const EXPOSED = [
  'X-RateLimit-Limit',
  'X-RateLimit-Remaining',
  'X-RateLimit-Reset',
  'Retry-After',
  'icar-full-sync',
  'universal-data-api-fullsync',
  'Content-Disposition',
].join(', ');
const METHODS = 'GET, HEAD, POST, PUT, DELETE, OPTIONS';
const DEFAULT_HEADERS = 'Authorization, Content-Type, Content-Encoding, Accept, Last-Event-ID';

export interface CorsOptions {
  /** requests this returns true for get no CORS headers and no preflight answer */
  readonly except?: (ctx: Context) => boolean;
}

/**
 * Cross-origin access for browsers (docs/ods.md#cors-jsonp-and-quotas): `Access-Control-Allow-Origin: *` on
 * every answer, errors included, and preflights (OPTIONS with Access-Control-Request-Method) answered 204
 * here. Credentials travel as keys (header or query), never cookies, so `*` is safe: no cookie is ever sent
 * cross-origin with it.
 */
export function cors(options: CorsOptions = {}): Middleware {
  return async (ctx, next) => {
    if (options.except?.(ctx)) return next();
    ctx.set('Access-Control-Allow-Origin', '*');
    ctx.set('Access-Control-Expose-Headers', EXPOSED);
    if (ctx.method === 'OPTIONS' && ctx.get('access-control-request-method') !== '') {
      const asked = ctx.get('access-control-request-headers');
      ctx.set('Access-Control-Allow-Methods', METHODS);
      ctx.set('Access-Control-Allow-Headers', asked !== '' ? asked : DEFAULT_HEADERS);
      ctx.set('Access-Control-Max-Age', '86400');
      ctx.vary('Access-Control-Request-Headers');
      ctx.status = 204;
      return;
    }
    await next();
  };
}
