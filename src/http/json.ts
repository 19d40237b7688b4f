import type { Context } from 'koa';
import { decodeUtf8, parseJsonText, readBody, type BodyOptions } from './body.js';

/** Reads and parses a JSON request body within the push limits. */
export async function readJson(ctx: Context, options?: BodyOptions): Promise<unknown> {
  return (await readJsonText(ctx, options)).value;
}

/** Like readJson, also giving the text it parsed (journaled as received). */
export async function readJsonText(
  ctx: Context,
  options?: BodyOptions,
): Promise<{ value: unknown; text: string }> {
  const text = decodeUtf8(await readBody(ctx.req, options));
  return { value: parseJsonText(text), text };
}

/** Answers JSON text that is already serialised (no parse/stringify round trip). */
export function sendJsonText(ctx: Context, text: string, status = 200): void {
  ctx.status = status;
  ctx.type = 'application/json';
  ctx.body = text;
}
