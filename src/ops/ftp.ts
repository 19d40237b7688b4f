import { isIP } from 'node:net';
import { PassThrough } from 'node:stream';
import { Client, FTPError } from 'basic-ftp';
import type { ConnectionOptions } from 'node:tls';
import {
  formatOf,
  readSnapshot,
  SnapshotError,
  tooBig,
  type Snapshot,
  type SnapshotFormat,
} from './snapshot.js';

export interface FtpFetchOptions {
  readonly maxBytes: number;
  readonly signal?: AbortSignal;
  /** the control connection and each transfer may be idle at most this long */
  readonly timeoutMs: number;
  /** credentials from the config; the URL's own win (anonymous when neither has any) */
  readonly username?: string;
  readonly password?: string;
  /** TLS settings of ftps:// (a CA of one's own) */
  readonly tls?: ConnectionOptions;
}

export const isFtpUrl = (url: string): boolean => /^ftps?:/i.test(url);

/**
 * Downloads and parses an FTP or FTPS resource as a stream (readSnapshot: the same size cap, hash
 * and parsers as HTTP). `ftps://` is explicit TLS (AUTH TLS on the usual port 21), which vsftpd,
 * ProFTPD and FileZilla Server speak; the certificate is checked like any TLS peer's. The path is
 * read relative to the login directory (RFC 1738): `ftp://host/data/x.csv` is `data/x.csv` there.
 */
export async function fetchFtpSnapshot(
  url: string,
  configured: SnapshotFormat | undefined,
  options: FtpFetchOptions,
): Promise<Snapshot> {
  const u = new URL(url);
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const secure = u.protocol === 'ftps:';
  const client = new Client(options.timeoutMs);
  const abort = (): void => client.close();
  options.signal?.addEventListener('abort', abort, { once: true });
  const body = new PassThrough();
  try {
    await client.access({
      host,
      port: u.port === '' ? 21 : Number(u.port),
      user: u.username !== '' ? decodeURIComponent(u.username) : (options.username ?? 'anonymous'),
      password: u.password !== '' ? decodeURIComponent(u.password) : (options.password ?? 'anonymous@'),
      secure,
      // SNI takes host names only (RFC 6066); the certificate is checked against the host either way
      secureOptions: secure ? { ...(isIP(host) ? {} : { servername: host }), ...options.tls } : undefined,
    });
    const path = decodeURIComponent(u.pathname).replace(/^\//, '');
    if (path === '' || path.endsWith('/')) throw new SnapshotError('an FTP resource must name a file');
    // SIZE refuses an oversized file before any byte moves (as Content-Length does over HTTP); a
    // server without SIZE is still cut off by the count in readSnapshot
    const declared = await client.size(path).catch(() => undefined);
    if (declared !== undefined && declared > options.maxBytes) throw tooBig(options.maxBytes);
    const transfer = client.downloadTo(body, path);
    // a failed transfer ends the body with its error, so the reader below rejects with it
    transfer.then(
      () => body.end(),
      (err: unknown) => body.destroy(err instanceof Error ? err : new Error(String(err))),
    );
    const [snapshot] = await Promise.all([
      readSnapshot(body, () => formatOf(configured, '', url), options.maxBytes),
      transfer,
    ]);
    return snapshot;
  } finally {
    options.signal?.removeEventListener('abort', abort);
    body.destroy();
    client.close();
  }
}

/**
 * FTP failures worth another attempt: 4xx replies (RFC 959: transient negative, e.g. 421 service
 * not available, 425 cannot open data connection, 450 file busy) and lost or refused connections;
 * 5xx replies (530 not logged in, 550 no such file) are permanent.
 */
export function transientFtp(err: unknown): boolean {
  if (err instanceof FTPError) return err.code >= 400 && err.code < 500;
  if (err instanceof SnapshotError) return false;
  return err instanceof Error;
}

/** A one-line, credential-free description of a failed FTP download, for logs and status. */
export function describeFtpError(err: unknown, url: string): string {
  const where = safeFtpUrl(url);
  if (err instanceof FTPError) return `FTP ${err.message} from ${where}`;
  if (err instanceof SnapshotError) return err.message;
  // connection errors name the address and the errno code (connect ECONNREFUSED 127.0.0.1:2121)
  return `${err instanceof Error ? err.message : String(err)} (${where})`;
}

function safeFtpUrl(url: string): string {
  const u = new URL(url);
  u.username = '';
  u.password = '';
  return u.toString();
}
