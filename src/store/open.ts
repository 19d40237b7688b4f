import { join } from 'node:path';
import { LevelStore } from './level/engine.js';
import { PgStore } from './postgres/engine.js';
import { isPostgresUrl, redactStoreUrl } from './postgres/url.js';
import type { Store, StoreEvent } from './types.js';

export interface StoreConfig {
  readonly dataDir: string;
  readonly storeUrl?: string;
  /** appends queued in memory before new ones are refused with 503 */
  readonly maxPendingWriteBytes?: number;
  /** STORE_READ_URL: a PostgreSQL streaming replica serving changelog and state reads */
  readonly readStoreUrl?: string;
  /** what the engine reports about its database (metrics, logs) */
  readonly onStoreEvent?: (event: StoreEvent) => void;
}

/** Picks the engine: PostgreSQL when STORE_URL says so, else LevelDB under DATA_DIR/leveldb. */
export async function openStore(config: StoreConfig): Promise<Store> {
  if (config.storeUrl) {
    if (isPostgresUrl(config.storeUrl)) {
      if (config.readStoreUrl !== undefined && !isPostgresUrl(config.readStoreUrl)) {
        throw new Error(`STORE_READ_URL '${redactStoreUrl(config.readStoreUrl)}' is not a postgres://… URL`);
      }
      return PgStore.open(config.storeUrl, {
        maxPendingBytes: config.maxPendingWriteBytes,
        readUrl: config.readStoreUrl,
        onEvent: config.onStoreEvent,
      });
    }
    throw new Error(
      `STORE_URL '${redactStoreUrl(config.storeUrl)}' is not supported: use postgres://… or leave it unset for LevelDB`,
    );
  }
  if (config.readStoreUrl) throw new Error('STORE_READ_URL needs a PostgreSQL STORE_URL');
  return LevelStore.open(join(config.dataDir, 'leveldb'), { maxPendingBytes: config.maxPendingWriteBytes });
}
