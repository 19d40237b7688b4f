import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import type { Got } from 'got';
import { CliError, EXIT, fromHttpError } from './errors.js';

/** The results the maintenance commands print (src/maintenance.ts). */
export interface BackupSummary {
  readonly records: number;
  readonly datasets: number;
  readonly changes: number;
  readonly sha256: string;
}

type Maintenance = typeof import('../maintenance.js');

/**
 * Work on a store itself (restore, repair, backup of a stopped directory) lives in the
 * maintenance entry point beside main.ts, loaded only by the commands that need it; its errors
 * become the CLI's exit codes here.
 */
export async function maintenance<T>(run: (m: Maintenance) => Promise<T>): Promise<T> {
  const m = await import('../maintenance.js');
  try {
    return await run(m);
  } catch (err) {
    if (err instanceof m.MaintenanceError) throw new CliError(EXIT[err.exit], err.message);
    throw err;
  }
}

/** `hub backup --out FILE` through a running hub's GET /backup, checked once on disk. */
export async function backupFromHub(http: Got, file: string): Promise<BackupSummary> {
  const tmp = `${file}.partial`;
  try {
    try {
      await pipeline(http.stream('backup', { retry: { limit: 0 } }), createWriteStream(tmp, { mode: 0o600 }));
    } catch (err) {
      throw fromHttpError(err, 'backup');
    }
    await maintenance((m) => m.checked(tmp));
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  return maintenance((m) => m.checked(file));
}
