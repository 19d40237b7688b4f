import type { Middleware } from 'koa';
import { pino, type Logger } from 'pino';

export function createLogger(level: string): Logger {
  return pino({ level, base: undefined, redact: ['req.headers.authorization'] });
}

/** Credentials may travel in the query string: never log them. */
export function redactUrl(url: string): string {
  return url.replace(/([?&](?:apikey|pushkey)=)[^&]*/gi, '$1***');
}

/** One structured line per request at info level (debug for health and metrics scrapes). */
export function requestLog(logger: Logger): Middleware {
  return async (ctx, next) => {
    const start = performance.now();
    try {
      await next();
    } finally {
      const quiet = ctx.path === '/health' || ctx.path === '/metrics';
      const line = {
        method: ctx.method,
        url: redactUrl(ctx.originalUrl),
        status: ctx.status,
        ms: Math.round((performance.now() - start) * 10) / 10,
      };
      if (quiet) logger.debug(line, 'request');
      else logger.info(line, 'request');
    }
  };
}
