import type { Context } from 'koa';
import { readBody, parseJsonBody, type BodyOptions } from './body.js';

/** Reads and parses a JSON request body within the push limits. */
export async function readJson(ctx: Context, options?: BodyOptions): Promise<unknown> {
  return parseJsonBody(await readBody(ctx.req, options));
}

/** Answers JSON text that is already serialised (no parse/stringify round trip). */
export function sendJsonText(ctx: Context, text: string, status = 200): void {
  ctx.status = status;
  ctx.type = 'application/json';
  ctx.body = text;
}
