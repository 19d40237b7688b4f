import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { ADMIN_TOKEN } from './hub.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

export interface ChildHub {
  readonly url: string;
  readonly adminToken: string;
  readonly process: ChildProcess;
  /** SIGKILL: no shutdown of any kind */
  kill(): Promise<void>;
  /** SIGTERM and wait for a clean exit; resolves with the exit code */
  stop(): Promise<number | null>;
}

/**
 * The hub as a separate process (`node --import tsx src/main.ts`) on a random port, for tests that
 * kill it. Resolves once it logs that it listens.
 */
export function startChildHub(dataDir: string, env: Record<string, string> = {}): Promise<ChildHub> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: root,
    env: {
      ...process.env,
      DATA_DIR: dataDir,
      PORT: '0',
      HOST: '127.0.0.1',
      HUB_ADMIN_TOKEN: ADMIN_TOKEN,
      LOG_LEVEL: 'info',
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
      let msg: { msg?: string; url?: string };
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
