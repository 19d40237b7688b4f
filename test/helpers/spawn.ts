import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { ADMIN_TOKEN, TEST_ENGINE, tempDir } from './hub.js';
import { freshSchema } from './pg.js';

/**
 * A hub in a child process (`src/main.ts`, as `npm start` runs it), for what an in-process hub
 * cannot show: several hub processes on one store, and `kill -9`.
 */
export interface HubProcess {
  readonly url: string;
  readonly adminToken: string;
  /** the store engine the hub says it runs on ('leveldb', 'postgres') */
  readonly engine: string;
  readonly child: ChildProcess;
  /** SIGKILL, and wait until the process is gone */
  kill(): Promise<void>;
  /** SIGTERM (graceful stop), and wait until the process is gone */
  stop(): Promise<void>;
}

const root = fileURLToPath(new URL('../../', import.meta.url));
const START_TIMEOUT_MS = 30_000;

export interface SpawnOptions {
  /** every JSON log line of the hub, parsed (also those before it listens) */
  readonly onLog?: (entry: Record<string, unknown>) => void;
}

/**
 * Under TEST_HUB_ENGINE=postgres a hub given no STORE_URL gets a fresh schema of its own, dropped
 * when it ends.
 */
export async function spawnHub(env: Record<string, string>, options: SpawnOptions = {}): Promise<HubProcess> {
  const dataDir = tempDir('hub-proc-');
  const own = env.STORE_URL === undefined && TEST_ENGINE === 'postgres' ? freshSchema() : undefined;
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      PORT: '0',
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      HUB_ADMIN_TOKEN: ADMIN_TOKEN,
      LOG_LEVEL: 'info',
      ...(own ? { STORE_URL: own.url } : {}),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const cleanup = async (): Promise<void> => {
    rmSync(dataDir, { recursive: true, force: true });
    await own?.drop();
  };
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const listening = new Promise<{ url: string; engine: string }>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`hub did not start in ${START_TIMEOUT_MS} ms: ${stderr}`));
    }, START_TIMEOUT_MS);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`hub exited with ${code} before listening: ${stderr}`));
    });
    // the hub logs one JSON line per event on stdout; 'hub listening' carries the url
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        const entry = JSON.parse(line) as { msg?: string; url?: string; engine?: string };
        options.onLog?.(entry);
        if (entry.msg === 'hub listening' && entry.url) {
          clearTimeout(timer);
          resolve({ url: entry.url, engine: String(entry.engine) });
        }
      } catch {
        // not a log line
      }
    });
  });
  const { url, engine } = await listening.catch(async (err: unknown) => {
    await cleanup();
    throw err;
  });
  const end = async (signal: NodeJS.Signals): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited;
    await cleanup();
  };
  return {
    url,
    adminToken: ADMIN_TOKEN,
    engine,
    child,
    kill: () => end('SIGKILL'),
    stop: () => end('SIGTERM'),
  };
}
