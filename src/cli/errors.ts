import { HTTPError, RequestError } from 'got';

/**
 * Exit codes scripts can rely on:
 *   0 success · 1 unexpected failure · 2 usage or input error (bad arguments, unreadable or
 *   invalid file) · 3 the hub refused the request (4xx: credentials, validation, unknown dataset)
 *   · 4 the hub could not be reached or failed (network, timeout, 5xx) after retries · 5 the
 *   data directory is damaged (`hub serve` could not open it; `hub repair` found changelog gaps
 *   it cannot fix)
 */
export const EXIT = { ok: 0, unexpected: 1, usage: 2, refused: 3, unavailable: 4, damaged: 5 } as const;

export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    readonly exitCode: number,
    message: string,
  ) {
    super(message);
  }
}

export const usageError = (message: string): CliError => new CliError(EXIT.usage, message);

/** A failed call to the hub as a CliError: the hub's own error code and message when it sent one. */
export function fromHttpError(err: unknown, what: string): CliError {
  if (err instanceof HTTPError) {
    const status = err.response.statusCode;
    const detail = hubMessage(typeof err.response.body === 'string' ? err.response.body : '');
    const code = status >= 500 ? EXIT.unavailable : EXIT.refused;
    return new CliError(code, `${what}: HTTP ${status}${detail ? ` ${detail}` : ''}`);
  }
  if (err instanceof RequestError) {
    return new CliError(EXIT.unavailable, `${what}: ${err.code ?? 'request failed'} (${err.message})`);
  }
  if (err instanceof CliError) return err;
  return new CliError(EXIT.unexpected, `${what}: ${err instanceof Error ? err.message : String(err)}`);
}

/** The error bodies of the hub's dialects: {"error":{code,message}}, ODS {"error"}, Obsrv {"error":{...}}. */
function hubMessage(body: string): string {
  try {
    const b = JSON.parse(body) as { error?: unknown; errorcode?: unknown };
    if (b.error && typeof b.error === 'object') {
      const e = b.error as { code?: unknown; message?: unknown };
      return [e.code, e.message].filter((x) => typeof x === 'string').join(': ');
    }
    if (typeof b.error === 'string') return b.error;
  } catch {
    // not JSON: the first line of it is still better than nothing
  }
  return body.split('\n')[0]?.slice(0, 200) ?? '';
}
