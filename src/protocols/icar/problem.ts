import { ERROR_CATALOGUE } from '../../errors.js';
import { renderHubError, type ErrorRenderer } from '../../http/errors.js';

/** The media type of the ICAR routes' errors (RFC 9457). */
export const PROBLEM_JSON = 'application/problem+json';

/**
 * The ICAR routes' error body: an RFC 9457 problem (`type`, `title`, `status`, `detail`, `instance`)
 * with the hub's `code` and, for a refused push, `errors` — every problem found (element `index`,
 * JSON pointer `path`, `keyword`, `message`). The hub's own `error` member stays beside them, so
 * clients written against `{"error":{"code","message","index"}}` keep working.
 */
export const renderIcarProblem: ErrorRenderer = (err, ctx) => {
  const legacy = renderHubError(err, ctx) as { error: Record<string, unknown> };
  const errors = err.details.errors;
  return {
    type: `urn:sync-hub:error:${err.code}`,
    title: ERROR_CATALOGUE[err.code].meaning,
    status: err.status,
    detail: err.message,
    instance: ctx.path,
    code: err.code,
    ...(Array.isArray(errors) ? { errors } : {}),
    ...(err.details.truncated === true ? { truncated: true } : {}),
    error: legacy.error,
  };
};
