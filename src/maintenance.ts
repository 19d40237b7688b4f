import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import {
  BackupError,
  restoreRecords,
  verifyBackup,
  writeBackup,
  type BackupSummary,
} from './domain/backup.js';
import { levelLocation, openStore, StoreOpenError } from './store/open.js';
import type { ImportSummary, Store } from './store/types.js';
import { repairAndCheck } from './store/level/check.js';

/**
 * Work on a store no hub holds, for the `hub` command: backup, restore and repair. An entry point
 * beside main.ts (the CLI reaches the store only through these two), so the CLI itself keeps to
 * HTTP and plain types.
 */
export type ExitKind = 'usage' | 'refused' | 'unavailable' | 'damaged' | 'unexpected';

export class MaintenanceError extends Error {
  override readonly name = 'MaintenanceError';
  constructor(
    readonly exit: ExitKind,
    message: string,
  ) {
    super(message);
  }
}

/** Where a command finds a store of its own (not through a running hub). */
export interface StoreLocation {
  readonly dataDir?: string;
  readonly storeUrl?: string;
}

/** Opens the store a command works on directly, saying in words why it cannot. */
export async function openLocalStore(where: StoreLocation): Promise<Store> {
  try {
    return await openStore({ dataDir: resolve(where.dataDir ?? './data'), storeUrl: where.storeUrl });
  } catch (err) {
    if (err instanceof StoreOpenError && err.reason === 'locked')
      throw new MaintenanceError(
        'refused',
        `the data directory is in use by a running hub: back it up through the hub (hub backup --url … --key <admin token>) or stop it first`,
      );
    if (err instanceof StoreOpenError) throw new MaintenanceError('damaged', err.message);
    const e = err as { message?: string };
    throw new MaintenanceError('unavailable', `cannot open the store: ${e.message ?? String(err)}`);
  }
}

/** Writes to `file` only once complete: a temporary file beside it, renamed at the end (mode 0600: it holds the hub secret). */
async function intoFile(file: string, write: (tmp: string) => Promise<void>): Promise<void> {
  const tmp = `${file}.partial`;
  try {
    await write(tmp);
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** `hub backup --out FILE --data-dir DIR | --store-url URL`: straight from a store no hub holds. */
export async function backupFromStore(where: StoreLocation, file: string): Promise<BackupSummary> {
  const store = await openLocalStore(where);
  try {
    let summary: BackupSummary | undefined;
    await intoFile(file, async (tmp) => {
      summary = await writeBackup(store, createWriteStream(tmp, { mode: 0o600 }));
    });
    return summary!;
  } finally {
    await store.close();
  }
}

export async function checked(file: string): Promise<BackupSummary> {
  try {
    return await verifyBackup(file);
  } catch (err) {
    if (err instanceof BackupError) throw new MaintenanceError('usage', `${file}: ${err.message}`);
    throw err;
  }
}

/**
 * `hub restore --from FILE --data-dir DIR [--store-url URL]`: checks the file whole first, then
 * loads it into an empty store (LevelDB under DIR, or the PostgreSQL schema the URL names).
 */
export async function restore(
  file: string,
  where: StoreLocation,
): Promise<ImportSummary & { sha256: string }> {
  const verified = await checked(file);
  if (!where.storeUrl) await mkdir(resolve(where.dataDir ?? './data'), { recursive: true });
  const store = await openLocalStore(where);
  try {
    const summary = await store.importAll(restoreRecords(file));
    return { ...summary, sha256: verified.sha256 };
  } catch (err) {
    const e = err as { code?: string; message?: string };
    if (e.code === 'STORE_NOT_EMPTY') throw new MaintenanceError('refused', `restore: ${e.message}`);
    throw new MaintenanceError(
      'unexpected',
      `restore failed, nothing was restored: ${e.message ?? String(err)}`,
    );
  } finally {
    await store.close();
  }
}

/**
 * `hub repair`: the report goes to stdout as JSON, a one-line verdict to stderr. Exit 0 when the
 * directory is consistent afterwards, 5 when the changelog itself lost changes (gaps): the way
 * back is then `POST /datasets/{id}/recover` (from the receive journal) or `hub restore`.
 */
export async function repair(dataDir: string, checkOnly: boolean): Promise<'ok' | 'damaged'> {
  const location = levelLocation(resolve(dataDir));
  if (!existsSync(location)) throw new MaintenanceError('usage', `no LevelDB database at ${location}`);
  let report;
  try {
    report = await repairAndCheck(location, { checkOnly });
  } catch (err) {
    const e = err as { code?: string; cause?: { code?: string }; message?: string };
    if (e.code === 'LEVEL_LOCKED' || e.cause?.code === 'LEVEL_LOCKED')
      throw new MaintenanceError('refused', `${location} is in use by a running hub: stop it first`);
    throw new MaintenanceError('damaged', `repair failed: ${e.message ?? String(err)}`);
  }
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  const gaps = report.datasets.filter((d) => d.gaps.count > 0).map((d) => d.name);
  const verdict = gaps.length
    ? `changelog gaps in ${gaps.join(', ')}: recover them (POST /datasets/{id}/recover) or restore a backup`
    : report.fixed
      ? 'indexes rewritten from the changelog; the directory is consistent'
      : checkOnly && !report.consistent
        ? 'inconsistent: run without --check-only to fix'
        : 'consistent';
  process.stderr.write(`hub repair: ${verdict}\n`);
  return gaps.length || (checkOnly && !report.consistent) ? 'damaged' : 'ok';
}
