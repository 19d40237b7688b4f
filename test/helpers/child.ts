import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { ADMIN_TOKEN, testStoreUrl } from './hub.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

export interface ChildHub {
  readonly url: string;
  readonly adminToken: string;
  /** the store engine the hub says it runs on ('leveldb', 'postgres') */
  readonly engine: string;
  readonly process: ChildProcess;
  /** SIGKILL: no shutdown of any kind */
  kill(): Promise<void>;
  /** SIGTERM and wait for a clean exit; resolves with the exit code */
  stop(): Promise<number | null>;
}

/**
 * The hub as a separate process (`node --import tsx src/main.ts`) on a random port, for tests that
 * kill it. Resolves once it logs that it listens. Under TEST_HUB_ENGINE=postgres it runs on a
 * fresh schema named in its data directory (the same one again on a restart) unless `env` names
 * a STORE_URL; removeTestData drops it.
 */
export function startChildHub(dataDir: string, env: Record<string, string> = {}): Promise<ChildHub> {
  const storeUrl = env.STORE_URL ?? testStoreUrl(dataDir);
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: root,
    env: {
      ...process.env,
      DATA_DIR: dataDir,
      PORT: '0',
      HOST: '127.0.0.1',
      HUB_ADMIN_TOKEN: ADMIN_TOKEN,
      LOG_LEVEL: 'info',
      ...(storeUrl !== undefined ? { STORE_URL: storeUrl } : {}),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  return new Promise<ChildHub>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`child hub did not start: ${stderr}`));
    }, 30_000);
    const early = (code: number | null): void => {
      clearTimeout(timer);
      reject(new Error(`child hub exited with ${code}: ${stderr}`));
    };
    child.once('exit', early);
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      let msg: { msg?: string; url?: string; engine?: string };
      try {
        msg = JSON.parse(line) as typeof msg;
      } catch {
        return;
      }
      if (msg.msg === 'hub listening' && msg.url) {
        clearTimeout(timer);
        child.off('exit', early);
        resolve({
          url: msg.url,
          adminToken: ADMIN_TOKEN,
          engine: String(msg.engine),
          process: child,
          async kill() {
            child.kill('SIGKILL');
            await exited;
          },
          async stop() {
            child.kill('SIGTERM');
            return exited;
          },
        });
      }
    });
  });
}
