import { join } from 'node:path';
import { LevelStore } from './level/engine.js';
import { PgStore } from './postgres/engine.js';
import { isPostgresUrl, redactStoreUrl } from './postgres/url.js';
import type { Store } from './types.js';

export interface StoreConfig {
  readonly dataDir: string;
  readonly storeUrl?: string;
  /** appends queued in memory before new ones are refused with 503 */
  readonly maxPendingWriteBytes?: number;
  /** LevelDB: pushes are refused below this much free space on the data disk */
  readonly diskFreeFloorBytes?: number;
}

/** Picks the engine: PostgreSQL when STORE_URL says so, else LevelDB under DATA_DIR/leveldb. */
export async function openStore(config: StoreConfig): Promise<Store> {
  if (config.storeUrl) {
    if (isPostgresUrl(config.storeUrl))
      return PgStore.open(config.storeUrl, { maxPendingBytes: config.maxPendingWriteBytes });
    throw new Error(
      `STORE_URL '${redactStoreUrl(config.storeUrl)}' is not supported: use postgres://… or leave it unset for LevelDB`,
    );
  }
  return LevelStore.open(levelLocation(config.dataDir), {
    maxPendingBytes: config.maxPendingWriteBytes,
    diskFreeFloorBytes: config.diskFreeFloorBytes,
  });
}

/** Where the LevelDB engine keeps its database inside DATA_DIR. */
export function levelLocation(dataDir: string): string {
  return join(dataDir, 'leveldb');
}
