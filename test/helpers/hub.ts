import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { settingsFromEnv, type Settings, type Limits } from '../../src/settings.js';
import { startHub, type HubRuntime, type RunningHub } from '../../src/server.js';
import { dropTestSchema, freshSchema } from './pg.js';

export interface TestHub {
  readonly url: string;
  readonly adminToken: string;
  readonly dataDir: string;
  readonly running: RunningHub;
  /** stop and start again on the same data directory (and port 0: a new url) */
  restart(): Promise<TestHub>;
  /** stop and remove the data directory */
  close(): Promise<void>;
}

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

/** The store's own name for TEST_ENGINE, as a hub reports it (`engine` of its 'hub listening' line). */
export const TEST_ENGINE_NAME = TEST_ENGINE === 'postgres' ? 'postgresql' : 'leveldb';

/**
 * On PostgreSQL, a test hub's data is a fresh schema, named in a file of its data directory so
 * that a hub started again on the same directory (restart), in this process or a child, finds
 * the same data.
 */
export function testStoreUrl(dataDir: string): string | undefined {
  if (TEST_ENGINE !== 'postgres') return undefined;
  const file = join(dataDir, 'test-store-url');
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
    url = readFileSync(join(dataDir, 'test-store-url'), 'utf8');
  } catch {
    url = undefined;
  }
  if (url !== undefined) await dropTestSchema(url);
  rmSync(dataDir, { recursive: true, force: true });
}

/** A real hub on a random loopback port over a real store: LevelDB in a temp dir, or see TEST_ENGINE. */
export type TestHubOptions = Partial<Omit<Settings, 'limits'>> & {
  limits?: Partial<Limits>;
  /** beyond the environment: a fake clock, TLS of outgoing pulls (src/server.ts HubRuntime) */
  runtime?: HubRuntime;
};

export async function startTestHub(overrides: TestHubOptions = {}, dataDir = tempDir()): Promise<TestHub> {
  const { runtime, ...configOverrides } = overrides;
  const base = settingsFromEnv({});
  const storeUrl = overrides.storeUrl ?? testStoreUrl(dataDir);
  const config: Settings = {
    ...base,
    port: 0,
    host: '127.0.0.1',
    dataDir,
    storeUrl,
    adminToken: ADMIN_TOKEN,
    logLevel: process.env.TEST_LOG_LEVEL ?? 'silent',
    ...configOverrides,
    limits: { ...base.limits, ...overrides.limits },
  };
  const running = await startHub(config, runtime);
  const self: TestHub = {
    url: running.url,
    adminToken: running.adminToken,
    dataDir,
    running,
    async restart() {
      await running.close();
      return startTestHub(overrides, dataDir);
    },
    async close() {
      await running.close();
      // a schema the helper made goes with the hub; one the caller passed is the caller's
      if (storeUrl !== undefined && overrides.storeUrl === undefined) await dropTestSchema(storeUrl);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return self;
}
