import got, { HTTPError, RequestError, type Got } from 'got';

/** How outgoing calls of background work behave: bounded retries with backoff, and timeouts. */
export interface ClientOptions {
  /** retries after the first attempt (so at most retries + 1 attempts per call) */
  readonly retries: number;
  /** the longest wait between two attempts */
  readonly backoffLimitMs: number;
  /** a whole attempt (connect, send, receive) may take at most this long */
  readonly timeoutMs: number;
}

/**
 * Every outgoing HTTP call of the hub (webhooks, scheduled pulls, forwarding) goes through got with
 * these rules. POST is retried too: everything the hub POSTs is idempotent (pushes of the same
 * documents make no change) or at-least-once by contract (webhooks). 413 is never retried: the
 * same body would be refused again.
 */
export function httpClient(options: ClientOptions): Got {
  return got.extend({
    timeout: { request: options.timeoutMs },
    retry: {
      limit: options.retries,
      methods: ['GET', 'POST', 'PUT', 'DELETE'],
      statusCodes: [408, 429, 500, 502, 503, 504, 521, 522, 524],
      backoffLimit: options.backoffLimitMs,
      maxRetryAfter: options.backoffLimitMs,
    },
    headers: { 'user-agent': 'sync-hub' },
  });
}

/** A one-line, credential-free description of a failed call, for logs and status. */
export function describeHttpError(err: unknown): string {
  if (err instanceof HTTPError) {
    const body = typeof err.response.body === 'string' ? err.response.body : '';
    const snippet = body.length > 300 ? `${body.slice(0, 300)}…` : body;
    return `HTTP ${err.response.statusCode} from ${safeUrl(err.options.url)}${snippet ? `: ${snippet}` : ''}`;
  }
  if (err instanceof RequestError) {
    return `${err.code ?? 'ERROR'} ${err.message.replace(/([?&](?:apikey|pushkey)=)[^&\s]*/gi, '$1***')}`;
  }
  return err instanceof Error ? err.message : String(err);
}

function safeUrl(url: string | URL | undefined): string {
  if (url === undefined) return '(unknown)';
  const u = new URL(String(url));
  u.search = '';
  u.username = '';
  u.password = '';
  return u.toString();
}
