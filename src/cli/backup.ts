import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Got } from 'got';
import {
  BackupError,
  restoreRecords,
  verifyBackup,
  writeBackup,
  type BackupSummary,
} from '../domain/backup.js';
import { openStore } from '../store/open.js';
import type { ImportSummary, Store } from '../store/types.js';
import { CliError, EXIT, fromHttpError } from './errors.js';

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
    const e = err as { code?: string; cause?: { code?: string }; message?: string };
    if (e.code === 'LEVEL_LOCKED' || e.cause?.code === 'LEVEL_LOCKED')
      throw new CliError(
        EXIT.refused,
        `the data directory is in use by a running hub: back it up through the hub (hub backup --url … --key <admin token>) or stop it first`,
      );
    throw new CliError(EXIT.unavailable, `cannot open the store: ${e.message ?? String(err)}`);
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

/** `hub backup --out FILE` through a running hub's GET /backup, checked once on disk. */
export async function backupFromHub(http: Got, file: string): Promise<BackupSummary> {
  await intoFile(file, async (tmp) => {
    try {
      await pipeline(http.stream('backup', { retry: { limit: 0 } }), createWriteStream(tmp, { mode: 0o600 }));
    } catch (err) {
      throw fromHttpError(err, 'backup');
    }
    await checked(tmp);
  });
  return checked(file);
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

async function checked(file: string): Promise<BackupSummary> {
  try {
    return await verifyBackup(file);
  } catch (err) {
    if (err instanceof BackupError) throw new CliError(EXIT.usage, `${file}: ${err.message}`);
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
    if (e.code === 'STORE_NOT_EMPTY') throw new CliError(EXIT.refused, `restore: ${e.message}`);
    throw new CliError(EXIT.unexpected, `restore failed, nothing was restored: ${e.message ?? String(err)}`);
  } finally {
    await store.close();
  }
}
