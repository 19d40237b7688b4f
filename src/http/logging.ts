import type { Middleware } from 'koa';
import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';

/**
 * JSON lines for machines (a pipe, a file, a log shipper: what test/helpers/spawn.ts reads), lines a
 * person can read when stdout is a terminal. pino-pretty runs as a stream in this thread, so a line
 * is on the screen before the next one is logged (no worker to lose lines in at exit).
 */
export function createLogger(level: string, terminal = process.stdout.isTTY === true): Logger {
  const options = { level, base: undefined, redact: ['req.headers.authorization'] };
  if (!terminal) return pino(options);
  return pino(options, pretty({ colorize: true, sync: true, translateTime: 'SYS:HH:MM:ss.l' }));
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
