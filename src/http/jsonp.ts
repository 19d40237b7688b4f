import type { Context } from 'koa';
import { hubError } from '../errors.js';

/** A dotted path of JavaScript identifiers (`cb`, `jQuery123_45`, `app.handlers.onData`), nothing else. */
const CALLBACK = /^[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)*$/;
const MAX_CALLBACK = 128;
export const JSONP_TYPE = 'application/javascript; charset=utf-8';

/**
 * The JSONP callback of a request (`?callback=`), checked so that it can only name a function:
 * anything else would let the URL inject script into our answer. Undefined when not asked for.
 */
export function jsonpCallback(ctx: Context): string | undefined {
  const v = ctx.query.callback;
  if (v === undefined) return undefined;
  if (Array.isArray(v) || v.length === 0 || v.length > MAX_CALLBACK || !CALLBACK.test(v)) {
    throw hubError(
      'INVALID_CALLBACK',
      'callback must be a JavaScript function name such as handleData or app.onData (at most 128 characters)',
    );
  }
  return v;
}

/**
 * The `/**\/` prefix keeps a response from ever starting with attacker-chosen bytes (content
 * sniffing of the callback name as another file type); nosniff does the rest.
 */
const prefix = (callback: string): string => `/**/ ${callback}(`;

/** Answers a JSON value, or the JSONP call of it when a callback was given. */
export function sendJson(ctx: Context, value: unknown, callback: string | undefined): void {
  if (callback === undefined) {
    ctx.body = value;
    return;
  }
  ctx.type = JSONP_TYPE;
  ctx.set('X-Content-Type-Options', 'nosniff');
  ctx.body = `${prefix(callback)}${JSON.stringify(value)});`;
}

/** Wraps streamed JSON text into a JSONP call (for streamed JSON answers). */
export async function* jsonpStream(callback: string, json: AsyncIterable<string>): AsyncGenerator<string> {
  yield prefix(callback);
  yield* json;
  yield ');';
}
