import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configFromEnv, type HubConfig, type Limits } from '../../src/config.js';
import { startHub, type RunningHub } from '../../src/server.js';

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

export type TestHubOptions = Partial<Omit<HubConfig, 'limits'>> & { limits?: Partial<Limits> };

/** A real hub on a random loopback port over a real LevelDB in a temp dir. */
export async function startTestHub(overrides: TestHubOptions = {}, dataDir = tempDir()): Promise<TestHub> {
  const base = configFromEnv({});
  const config: HubConfig = {
    ...base,
    port: 0,
    host: '127.0.0.1',
    dataDir,
    adminToken: ADMIN_TOKEN,
    logLevel: process.env.TEST_LOG_LEVEL ?? 'silent',
    ...overrides,
    limits: { ...base.limits, ...overrides.limits },
  };
  const running = await startHub(config);
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
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return self;
}
