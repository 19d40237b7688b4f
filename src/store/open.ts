import { join } from 'node:path';
import { LevelStore } from './level/engine.js';
import type { Store } from './types.js';

export interface StoreConfig {
  readonly dataDir: string;
  readonly storeUrl?: string;
  /** appends queued in memory before new ones are refused with 503 */
  readonly maxPendingWriteBytes?: number;
}

/** Picks the engine: PostgreSQL when STORE_URL says so, else LevelDB under DATA_DIR/leveldb. */
export async function openStore(config: StoreConfig): Promise<Store> {
  if (config.storeUrl) {
    throw new Error(
      `STORE_URL '${config.storeUrl.replace(/\/\/[^@]*@/, '//***@')}' is not supported by this build`,
    );
  }
  return LevelStore.open(join(config.dataDir, 'leveldb'), { maxPendingBytes: config.maxPendingWriteBytes });
}
