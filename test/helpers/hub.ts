import { rmSync } from 'node:fs';
import { settingsFromEnv, type Settings, type Limits } from '../../src/settings.js';
import { startHub, type HubRuntime, type RunningHub } from '../../src/server.js';
import { ADMIN_TOKEN, tempDir, testStoreUrl } from './engine.js';
import { dropTestSchema } from './pg.js';

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

export {
  ADMIN_TOKEN,
  removeTestData,
  tempDir,
  TEST_ENGINE,
  TEST_ENGINE_NAME,
  testStoreUrl,
} from './engine.js';

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
