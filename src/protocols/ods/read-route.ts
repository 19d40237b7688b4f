import type Router from '@koa/router';
import type { Context, Middleware, Next } from 'koa';
import { hubError } from '../../errors.js';
import { decodeUtf8, parseJsonText } from '../../http/body.js';
import { readRequestBody } from '../../http/json.js';
import { renderOdsExploreError, renderOdsPushError } from './errors.js';
import { ODS_PUSH_PREFIX } from './push-routes.js';

/** Parameters of a read API fit in far less: a POST body is a long URL, not an upload. */
const MAX_PARAMS_BYTES = 1024 * 1024;

type ParamValue = string | string[];

/** A JSON body's value as a query parameter: text, numbers and booleans as written, arrays repeated. */
function paramOf(name: string, v: unknown): ParamValue {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return v.map((x) => paramOf(name, x)).flat();
  throw hubError(
    'INVALID_PARAMETER',
    `body parameter '${name}' must be a string, a number, a boolean or an array of them`,
  );
}

/** The parameters of a POST body: a form (`a=1&b=2`) or a JSON object `{"a": "1"}` (as text/plain too). */
async function bodyParams(ctx: Context): Promise<Record<string, ParamValue>> {
  const bytes = await readRequestBody(ctx, { limit: MAX_PARAMS_BYTES });
  if (bytes.length === 0) return {};
  const type = (ctx.get('content-type').split(';')[0] ?? '').trim().toLowerCase();
  const text = decodeUtf8(bytes);
  // fetch() and XMLHttpRequest send a string body as text/plain: read it as what it looks like
  const json = type === 'application/json' || (type === 'text/plain' && text.trimStart().startsWith('{'));
  if (json) {
    const value = parseJsonText(text);
    if (value === null || typeof value !== 'object' || Array.isArray(value))
      throw hubError('INVALID_PARAMETER', 'a JSON body of a read API is an object of parameters');
    const out: Record<string, ParamValue> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = paramOf(k, v);
    return out;
  }
  if (type === 'application/x-www-form-urlencoded' || type === '' || type === 'text/plain') {
    const out: Record<string, ParamValue> = {};
    for (const [k, v] of new URLSearchParams(text)) {
      const before = out[k];
      out[k] = before === undefined ? v : [...(Array.isArray(before) ? before : [before]), v];
    }
    return out;
  }
  throw hubError(
    'UNSUPPORTED_MEDIA_TYPE',
    `a POST to a read API takes its parameters as application/x-www-form-urlencoded or application/json, not ${type}`,
  );
}

/**
 * The POST form of a read route: the body's parameters join the URL's (a name in both counts as
 * given twice), then the GET handler runs on them, so both methods answer the same.
 */
const postParams: Middleware = async (ctx, next) => {
  const merged: Record<string, ParamValue> = {};
  for (const [k, v] of Object.entries(ctx.query)) if (v !== undefined) merged[k] = v;
  for (const [k, v] of Object.entries(await bodyParams(ctx))) {
    const before = merged[k];
    merged[k] =
      before === undefined
        ? v
        : [...(Array.isArray(before) ? before : [before]), ...(Array.isArray(v) ? v : [v])];
  }
  ctx.query = merged;
  await next();
};

/**
 * Seed 003: "all the APIs endpoints accept GET and POST HTTP methods … The POST can be used to
 * workaround … limitations regarding the size of the HTTP URL". Every ODS read route is mounted
 * with both; `errors` comes first so that a bad body is answered in ODS's error shape too.
 */
export function readRoute(router: Router, path: string, errors: Middleware, handler: Middleware): void {
  router.get(path, errors, handler);
  router.post(path, errors, postParams, handler);
}

const EXPLORE_PREFIXES = ['/api/explore/', '/api/records/', '/api/datasets/'];

/**
 * Before the router: requests under the ODS prefixes answer errors in ODS's shape even when no
 * route matched (404) or the method is not one the route takes (405), which the router's
 * allowedMethods answers after no route handler ran.
 */
export async function odsErrorScope(ctx: Context, next: Next): Promise<void> {
  const path = ctx.path.toLowerCase();
  if (path.startsWith(ODS_PUSH_PREFIX)) ctx.state.renderError = renderOdsPushError;
  else if (EXPLORE_PREFIXES.some((p) => path.startsWith(p))) ctx.state.renderError = renderOdsExploreError;
  await next();
}
