/**
 * The one error type of the hub. Every layer (store, domain, protocols) throws a HubError with a
 * stable `code` and an HTTP `status`; each protocol renders it in its own body in exactly one place
 * (see http/errors.ts). This module imports nothing so that every layer may use it.
 */
export interface HubErrorDetails {
  /** Position of the offending element in the request's JSON array. */
  index?: number;
  /** Seconds a client should wait before retrying (503 overload, 429 quota). */
  retryAfter?: number;
  [extra: string]: unknown;
}

export class HubError extends Error {
  override readonly name = 'HubError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: HubErrorDetails = {},
  ) {
    super(message);
  }
}

export const badRequest = (code: string, message: string, details?: HubErrorDetails): HubError =>
  new HubError(400, code, message, details);
export const notFound = (code: string, message: string): HubError => new HubError(404, code, message);
export const conflict = (code: string, message: string, details?: HubErrorDetails): HubError =>
  new HubError(409, code, message, details);

export function isHubError(err: unknown): err is HubError {
  return err instanceof HubError;
}

/**
 * The store cannot serve the request now (database unreachable, restarting, failing over,
 * read-only, out of resources, too slow): 503 with Retry-After; nothing of the request was stored,
 * and the same request may simply be sent again.
 */
export const storeUnavailable = (message: string, retryAfter: number): HubError =>
  new HubError(503, 'STORE_UNAVAILABLE', message, { retryAfter });

/**
 * The connection broke during COMMIT and the hub could not learn whether the transaction
 * committed: 503 with Retry-After. Re-sending the request is safe (a re-push of the same data is a
 * no-op), and the only way to know.
 */
export const storeOutcomeUnknown = (retryAfter: number): HubError =>
  new HubError(
    503,
    'STORE_OUTCOME_UNKNOWN',
    'the database connection broke while committing; the write may or may not be stored: send it again',
    { retryAfter },
  );
