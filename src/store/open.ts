import { dirname, join } from 'node:path';
import { HubError } from '../errors.js';
import { LevelStore } from './level/engine.js';
import { PgStore } from './postgres/engine.js';
import { isPostgresUrl, redactStoreUrl } from './postgres/url.js';
import type { Store, StoreEvent } from './types.js';

export interface StoreConfig {
  readonly dataDir: string;
  readonly storeUrl?: string;
  /** appends queued in memory before new ones are refused with 503 */
  readonly maxPendingWriteBytes?: number;
  /** LevelDB: pushes are refused below this much free space on the data disk */
  readonly diskFreeFloorBytes?: number;
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
  const location = levelLocation(config.dataDir);
  try {
    return await LevelStore.open(location, {
      maxPendingBytes: config.maxPendingWriteBytes,
      diskFreeFloorBytes: config.diskFreeFloorBytes,
    });
  } catch (err) {
    // a refusal of the store's own (a newer format) is said as it is, not as damage to repair
    if (err instanceof HubError) throw err;
    throw StoreOpenError.of(err, location);
  }
}

/**
 * A LevelDB directory that could not be opened, said for an operator: held by another process,
 * or damaged (a table file cut short or unreadable, a lost MANIFEST…), with the way out.
 */
export class StoreOpenError extends Error {
  override readonly name = 'StoreOpenError';
  constructor(
    readonly reason: 'locked' | 'damaged',
    readonly location: string,
    message: string,
    options: { cause: unknown },
  ) {
    super(message, options);
  }

  static of(err: unknown, location: string): StoreOpenError {
    const codes: unknown[] = [];
    const texts: string[] = [];
    for (let e: unknown = err, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
      codes.push((e as { code?: unknown }).code);
      texts.push(e.message);
    }
    const detail = texts.at(-1) ?? String(err);
    if (codes.includes('LEVEL_LOCKED'))
      return new StoreOpenError(
        'locked',
        location,
        `the LevelDB data directory ${location} is in use by another hub process (only one may open it)`,
        { cause: err },
      );
    return new StoreOpenError(
      'damaged',
      location,
      `the LevelDB data directory ${location} could not be opened: ${detail}. ` +
        `Stop every hub using it, copy the directory somewhere safe, then run ` +
        `\`hub repair --data-dir ${dirname(location)}\` and read its report (docs/backups.md)`,
      { cause: err },
    );
  }
}

/** Where the LevelDB engine keeps its database inside DATA_DIR. */
export function levelLocation(dataDir: string): string {
  return join(dataDir, 'leveldb');
}
