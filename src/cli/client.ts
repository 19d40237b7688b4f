import got, { type Got } from 'got';
import { usageError } from './errors.js';

export interface Connection {
  /** the hub's base URL, no trailing slash */
  readonly url: string;
  readonly key?: string;
}

/** --url / HUB_URL and --key / HUB_KEY, checked. */
export function connection(opts: { url?: string; key?: string }): Connection {
  const url = (opts.url ?? process.env.HUB_URL ?? 'http://127.0.0.1:3000').replace(/\/+$/, '');
  if (!/^https?:\/\/[^/]/.test(url)) throw usageError(`--url must be an http(s) URL, got '${url}'`);
  const key = opts.key ?? process.env.HUB_KEY;
  return { url, key: key === undefined || key === '' ? undefined : key };
}

/**
 * got with the CLI's rules: timeouts, and bounded retries with backoff for network failures, 429
 * and 5xx — POST included, since every push of the same records is idempotent on the hub.
 */
export function client(conn: Connection): Got {
  return got.extend({
    prefixUrl: conn.url,
    headers: {
      'user-agent': 'sync-hub-cli',
      ...(conn.key ? { authorization: `Bearer ${conn.key}` } : {}),
    },
    timeout: { request: 120_000 },
    retry: {
      limit: 4,
      methods: ['GET', 'POST'],
      statusCodes: [408, 429, 500, 502, 503, 504],
      backoffLimit: 10_000,
    },
  });
}
