import type { Context, Middleware } from 'koa';
import type { Logger } from 'pino';
import { hubError, type HubError, isHubError } from '../errors.js';

/** Turns a HubError into a protocol's own error body. Each protocol has exactly one. */
export type ErrorRenderer = (err: HubError, ctx: Context) => unknown;

declare module 'koa' {
  interface DefaultState {
    /** set by a protocol's routes: how its errors look */
    renderError?: ErrorRenderer;
    /** and their media type (default application/json; ICAR: application/problem+json) */
    errorType?: string;
  }
}

/** Details that steer the answer but are not part of any error body. */
const INTERNAL_DETAILS = new Set(['closeConnection', 'retryAfter', 'limit']);

/** The hub's own body (admin, ICAR, UDA, JSON-LD): {"error":{"code","message","index"?...}}. */
export const renderHubError: ErrorRenderer = (err) => {
  const extra: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(err.details)) if (!INTERNAL_DETAILS.has(k)) extra[k] = v;
  return { error: { code: err.code, message: err.message, ...extra } };
};

/** A middleware that makes the routes after it render errors in `renderer`'s body. */
export function errorBody(renderer: ErrorRenderer, type?: string): Middleware {
  return async (ctx, next) => {
    ctx.state.renderError = renderer;
    ctx.state.errorType = type;
    await next();
  };
}

/**
 * Anything thrown (ours, Koa's, the router's, a bug's) as a HubError; internals never leak. A status
 * someone else threw becomes its catalogued code; any other 4xx is a 400.
 */
export function toHubError(err: unknown): HubError {
  if (isHubError(err)) return err;
  const e = err as { status?: unknown; expose?: unknown; message?: unknown; type?: unknown };
  const status = typeof e?.status === 'number' ? e.status : 500;
  if (status >= 400 && status < 500) {
    const message = e.expose === true && typeof e.message === 'string' ? e.message : 'bad request';
    if (status === 404) return hubError('NOT_FOUND', message);
    if (status === 405) return hubError('METHOD_NOT_ALLOWED', message);
    if (status === 413) return hubError('PAYLOAD_TOO_LARGE', message);
    return hubError('BAD_REQUEST', message);
  }
  if (status === 501) return hubError('NOT_IMPLEMENTED', 'method not implemented');
  return hubError('INTERNAL', 'internal error');
}

/**
 * The one place errors become responses: the status, the protocol's body, Retry-After for 429/503,
 * and a closed connection after a body the hub stopped reading. 5xx are logged with their cause; no
 * stack or path ever reaches a client.
 */
export function errorHandler(logger: Logger): Middleware {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.status >= 400 && ctx.body == null) throw emptyAnswer(ctx.status, ctx.method, ctx.path);
    } catch (thrown) {
      const err = toHubError(thrown);
      if (err.status >= 500)
        logger.error({ err: thrown, path: ctx.path, method: ctx.method }, 'request failed');
      if (ctx.headerSent || !ctx.writable) return;
      const render = ctx.state.renderError ?? renderHubError;
      // headers set by the failed handler (content type of a stream, …) do not belong to the error
      for (const h of [
        'content-type',
        'content-encoding',
        'content-disposition',
        'icar-full-sync',
        'universal-data-api-fullsync',
      ])
        ctx.remove(h);
      ctx.status = err.status;
      ctx.body = render(err, ctx);
      ctx.type = ctx.state.errorType ?? 'application/json';
      if (err.details.retryAfter !== undefined) ctx.set('Retry-After', String(err.details.retryAfter));
      if (err.details.closeConnection === true || err.status === 413) ctx.set('Connection', 'close');
    }
  };
}

/** A status set without a body (unmatched route, the router's 405/501) as a JSON error. */
function emptyAnswer(status: number, method: string, path: string): HubError {
  if (status === 404) return hubError('NOT_FOUND', `no route for ${method} ${path}`);
  if (status === 405) return hubError('METHOD_NOT_ALLOWED', `${method} is not allowed on ${path}`);
  if (status === 501) return hubError('NOT_IMPLEMENTED', `method ${method} is not implemented`);
  return toHubError({ status });
}
