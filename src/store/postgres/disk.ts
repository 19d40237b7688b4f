import type { FaultKind } from '../faults.js';

/**
 * What a PostgreSQL failure says about the server's disk: SQLSTATE 53100 disk_full (and the
 * "could not extend file" text a full tablespace gives, in case it arrives wrapped), 58030
 * io_error. Everything else is not a disk fault (faults.ts classifies those). The cause chain is
 * followed: the engine's errors carry the server's error as their cause.
 */
export function classifyPgError(err: unknown): FaultKind | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (code === '53100' || /could not extend file|No space left on device/i.test(e.message))
      return 'disk-full';
    if (code === '58030') return 'io-error';
  }
  return undefined;
}
