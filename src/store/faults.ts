import { hubError, type HubError } from '../errors.js';

/**
 * Write faults of the storage below an engine, said in words. Both engines map what their
 * storage reports (LevelDB's "IO error: … No space left on device", PostgreSQL's SQLSTATE 53100)
 * to the same codes, so clients, readiness and metrics see one vocabulary.
 *
 * Status: 503 with Retry-After, not 507. A full disk is an operator's problem, but one that goes
 * away without the client doing anything different (space is freed, the hub goes on): every HTTP
 * client and `hub push` retries a 503 that carries Retry-After, whereas 507 (a WebDAV status) is
 * treated by most clients as a final failure, and a farm device would drop its batch. The code
 * `STORE_DISK_FULL` tells an operator reading logs or bodies what is wrong.
 */
export const DISK_FULL_RETRY_AFTER_S = 30;
const IO_ERROR_RETRY_AFTER_S = 10;

export type DiskState = 'ok' | 'low' | 'full' | 'io-error';

/** What an engine can tell about its storage now, for readiness and metrics. Cheap: no syscall. */
export interface StoreHealth {
  /** false while pushes are refused because of the disk (full, below the floor, I/O errors) */
  readonly writable: boolean;
  readonly disk: DiskState;
  /** free bytes on the data directory's filesystem, when the engine can see it (LevelDB) */
  readonly freeBytes?: number;
  /** the configured free-space floor in bytes (LevelDB) */
  readonly floorBytes?: number;
  /** the last write fault, kept until a write succeeds again */
  readonly fault?: { readonly code: string; readonly at: number };
}

export type FaultKind = 'disk-full' | 'io-error';

/** Why a push is refused for lack of space: the disk itself, or the configured floor. */
export function diskFull(reason: 'enospc' | 'floor', freeBytes?: number): HubError {
  const message =
    reason === 'floor'
      ? 'the hub is refusing writes: free space on its data disk is below the configured floor (DISK_FREE_FLOOR_MB)'
      : 'the hub is refusing writes: its data disk is full';
  return hubError('STORE_DISK_FULL', message, {
    retryAfter: DISK_FULL_RETRY_AFTER_S,
    reason,
    ...(freeBytes !== undefined ? { freeBytes } : {}),
  });
}

export function ioError(): HubError {
  return hubError(
    'STORE_IO_ERROR',
    'the hub could not write to its data disk (I/O error); nothing of the request was stored',
    { retryAfter: IO_ERROR_RETRY_AFTER_S },
  );
}

export function faultError(kind: FaultKind): HubError {
  return kind === 'disk-full' ? diskFull('enospc') : ioError();
}
