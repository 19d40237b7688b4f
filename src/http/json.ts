import type { Context } from 'koa';
import type { BodyBudget } from './admission.js';
import { MAX_BODY_BYTES, decodeUtf8, parseJsonText, readBody, type BodyOptions } from './body.js';

declare module 'koa' {
  interface DefaultState {
    /** the hub's limits, set by the app for every request */
    limits?: { readonly bodyIdleTimeoutMs: number };
    /** shared by every request of the app: bounds bodies in memory */
    bodyBudget?: BodyBudget;
  }
}

/**
 * Reads the request body within the push limits (5 MiB decompressed, the app's idle timeout), after
 * charging it to the app's body budget for the rest of the request (503 when the budget is spent).
 */
export function readRequestBody(ctx: Context, options: BodyOptions = {}): Promise<Buffer> {
  const limit = options.limit ?? MAX_BODY_BYTES;
  const declared = Number(ctx.get('content-length'));
  const charge =
    Number.isFinite(declared) && declared > 0 && !ctx.get('content-encoding')
      ? Math.min(declared, limit)
      : limit;
  const release = ctx.state.bodyBudget?.acquire(charge);
  if (release) {
    ctx.res.once('close', release);
    ctx.res.once('finish', release);
  }
  return readBody(ctx.req, { idleTimeoutMs: ctx.state.limits?.bodyIdleTimeoutMs, ...options });
}

/** Reads and parses a JSON request body within the push limits. */
export async function readJson(ctx: Context, options?: BodyOptions): Promise<unknown> {
  return (await readJsonText(ctx, options)).value;
}

/** Like readJson, also giving the text it parsed (journaled as received). */
export async function readJsonText(
  ctx: Context,
  options?: BodyOptions,
): Promise<{ value: unknown; text: string }> {
  const text = decodeUtf8(await readRequestBody(ctx, options));
  return { value: parseJsonText(text), text };
}

/** Answers JSON text that is already serialised (no parse/stringify round trip). */
export function sendJsonText(ctx: Context, text: string, status = 200): void {
  ctx.status = status;
  ctx.type = 'application/json';
  ctx.body = text;
}
