import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dropTestSchema, freshSchema } from './pg.js';

/**
 * Which store a test hub runs on and where its data lives, for hubs in this process (hub.ts) and in
 * child processes (hub-process.ts) alike. Apart from hub.ts so that the bench can spawn hubs
 * without loading the hub's own modules into its measuring process.
 */

export const ADMIN_TOKEN = 'test-admin-token';

export function tempDir(prefix = 'hub-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/**
 * The engine test hubs run on: LevelDB, or PostgreSQL with TEST_HUB_ENGINE=postgres (`npm run
 * test:pg`, which also sets TEST_STORE_URL).
 */
export const TEST_ENGINE: 'leveldb' | 'postgres' =
  process.env.TEST_HUB_ENGINE === 'postgres' ? 'postgres' : 'leveldb';

/** The store's own name for TEST_ENGINE, as a hub reports it (`engine` of /ready and 'hub listening'). */
export const TEST_ENGINE_NAME = TEST_ENGINE === 'postgres' ? 'postgresql' : 'leveldb';

/** The file of a data directory that names its test schema. */
const STORE_URL_FILE = 'test-store-url';

/**
 * On PostgreSQL, a test hub's data is a fresh schema, named in a file of its data directory so
 * that a hub started again on the same directory (restart), in this process or a child, finds
 * the same data.
 */
export function testStoreUrl(dataDir: string): string | undefined {
  if (TEST_ENGINE !== 'postgres') return undefined;
  const file = join(dataDir, STORE_URL_FILE);
  try {
    return readFileSync(file, 'utf8');
  } catch {
    const { url } = freshSchema();
    writeFileSync(file, url);
    return url;
  }
}

/** Removes a test hub's data directory and, on PostgreSQL, the schema named in it. */
export async function removeTestData(dataDir: string): Promise<void> {
  let url: string | undefined;
  try {
    url = readFileSync(join(dataDir, STORE_URL_FILE), 'utf8');
  } catch {
    url = undefined;
  }
  if (url !== undefined) await dropTestSchema(url);
  rmSync(dataDir, { recursive: true, force: true });
}
