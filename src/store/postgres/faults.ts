import { HubError, hubError } from '../../errors.js';

/**
 * What went wrong with the database, in the few kinds that decide what the hub does next (and
 * label the `hub_store_errors_total` metric):
 *
 * - `connection`: the connection broke or could not be made (socket errors, SQLSTATE class 08);
 * - `shutdown`: the server is going away (57P01 admin_shutdown, 57P02 crash_shutdown, 57P03
 *   cannot_connect_now: starting up, shutting down, in recovery);
 * - `resources`: the server is out of something (class 53: disk full, memory, too many connections);
 * - `read_only`: the server is a standby or a demoted primary (25006 read_only_sql_transaction);
 * - `timeout`: connect, statement or lock timeout (57014 query_canceled, 55P03 lock_not_available,
 *   the driver's own read and connect timeouts);
 * - `conflict`: serialization failure or deadlock (40001, 40P01): the transaction was rolled back;
 * - `other`: a server error none of the above (SQL the hub got wrong, a constraint): not transient.
 *
 * Every kind but `other` is transient: the request is answered 503 STORE_UNAVAILABLE with
 * Retry-After, and a retry later may succeed.
 */
export type FaultKind =
  'connection' | 'shutdown' | 'resources' | 'read_only' | 'timeout' | 'conflict' | 'other';

/** Seconds a client is told to wait after a store failure: about one connect attempt. */
export const RETRY_AFTER_S = 2;

const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** A database call inside a transaction failed: the transaction is lost, so a whole group fails. */
export class StoreFailure extends Error {
  override readonly name = 'StoreFailure';
  constructor(cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
  }
}

/** The database's own error behind a StoreFailure. */
export function unwrap(err: unknown): unknown {
  return err instanceof StoreFailure ? err.cause : err;
}

function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

export function classify(thrown: unknown): FaultKind {
  const err = unwrap(thrown);
  if (err instanceof HubError) return 'other';
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e?.code === 'string' ? e.code : '';
  const message = typeof e?.message === 'string' ? e.message : '';
  if (code === '25006') return 'read_only';
  if (code === '57014' || code === '55P03') return 'timeout';
  if (code === '57P01' || code === '57P02' || code === '57P03') return 'shutdown';
  if (code.startsWith('08') || SOCKET_CODES.has(code)) return 'connection';
  if (code.startsWith('53')) return 'resources';
  if (code === '40001' || code === '40P01') return 'conflict';
  if (/^[0-9A-Z]{5}$/.test(code)) return 'other';
  // the driver's own errors carry no SQLSTATE, only a message
  if (/timeout/i.test(message)) return 'timeout';
  if (/Connection terminated|Connection ended|not queryable/i.test(message)) return 'connection';
  return 'other';
}

/**
 * True when the connection the error came from must not be used again (destroyed, never pooled):
 * every error of the driver or the socket (a read timeout leaves a query unanswered on it), a
 * server going away, and a read-only server (a fresh connection may reach the new primary). A
 * statement the server cancelled (statement or lock timeout) leaves a good connection.
 */
export function breaksConnection(thrown: unknown): boolean {
  const err = unwrap(thrown);
  if (err instanceof HubError) return false;
  const code = sqlState(err);
  if (code === undefined) return true;
  const kind = classify(err);
  return kind === 'connection' || kind === 'shutdown' || kind === 'read_only';
}

/**
 * True when the error says something about the server rather than one connection: then every
 * pooled connection is suspect and is replaced before its next use.
 */
export function suspectsServer(thrown: unknown): boolean {
  const kind = classify(thrown);
  return (
    breaksConnection(thrown) &&
    (kind === 'connection' || kind === 'shutdown' || kind === 'read_only' || kind === 'timeout')
  );
}

/** A transaction whose COMMIT may or may not have happened: the connection broke while it ran. */
export function commitOutcomeUnknown(kind: FaultKind): boolean {
  return kind === 'connection' || kind === 'shutdown' || kind === 'timeout';
}

const MESSAGES: Record<Exclude<FaultKind, 'other'>, string> = {
  connection: 'the database cannot be reached',
  shutdown: 'the database is restarting or failing over',
  resources: 'the database is out of resources',
  read_only: 'the database is read-only (a standby, or failing over)',
  timeout: 'the database did not answer in time',
  conflict: 'the transaction conflicted with another one',
};

/**
 * The error a client sees for a database failure: 503 STORE_UNAVAILABLE with Retry-After for a
 * transient one; the original error (a bug: 500, logged) otherwise. HubErrors pass unchanged.
 */
export function toStoreError(err: unknown, kind: FaultKind = classify(err)): unknown {
  if (err instanceof HubError || kind === 'other') return err;
  const failure = hubError('STORE_UNAVAILABLE', MESSAGES[kind], { retryAfter: RETRY_AFTER_S });
  // for the log of the 5xx, never for the client
  failure.cause = unwrap(err);
  return failure;
}
