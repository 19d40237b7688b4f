import type { Context } from 'koa';
import { hubError } from '../../errors.js';

/** One value of a query parameter; repeated parameters are a 400, not a silent pick. */
export function queryString(ctx: Context, name: string): string | undefined {
  const v = ctx.query[name];
  if (Array.isArray(v))
    throw hubError('INVALID_PARAMETER', `query parameter '${name}' is given more than once`);
  return v;
}

export function queryInt(ctx: Context, name: string, min: number, max: number): number | undefined {
  const v = queryString(ctx, name);
  if (v === undefined || v === '') return undefined;
  if (!/^\d{1,16}$/.test(v) || Number(v) < min || Number(v) > max) {
    throw hubError('INVALID_PARAMETER', `query parameter '${name}' must be an integer from ${min} to ${max}`);
  }
  return Number(v);
}

export function queryBool(ctx: Context, name: string): boolean | undefined {
  const v = queryString(ctx, name);
  if (v === undefined || v === '') return undefined;
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw hubError('INVALID_PARAMETER', `query parameter '${name}' must be true or false`);
}

export function queryEnum<T extends string>(
  ctx: Context,
  name: string,
  allowed: readonly T[],
): T | undefined {
  const v = queryString(ctx, name);
  if (v === undefined || v === '') return undefined;
  if (!(allowed as readonly string[]).includes(v)) {
    throw hubError('INVALID_PARAMETER', `query parameter '${name}' must be one of: ${allowed.join(', ')}`);
  }
  return v as T;
}
