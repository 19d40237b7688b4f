import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { ADMIN_TOKEN, removeTestData, tempDir, testStoreUrl } from './engine.js';

/**
 * The one way tests and the bench run a hub in a child process (`node --import tsx src/main.ts`,
 * as `npm start` runs it): for what an in-process hub (hub.ts) cannot show — `kill -9`, several
 * processes on one store, a hub measured apart from its clients.
 *
 * The engine: the STORE_URL of `env` when it has one (`''` is LevelDB whatever the pass); else,
 * under TEST_HUB_ENGINE=postgres, a fresh schema on TEST_STORE_URL named in the data directory
 * (engine.ts testStoreUrl), so a hub started again on the same directory finds the same data;
 * else LevelDB in the data directory.
 *
 * The data directory: `dataDir` when the caller passes one (kept at the end: the caller restarts
 * on it and removes it, with removeTestData); else a temp directory of the helper's own, removed
 * with its schema when the process ends by stop() or kill(), and when it fails to start.
 */
export interface HubProcess {
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  readonly dataDir: string;
  readonly adminToken: string;
  /** the store engine the hub says it runs on ('leveldb', 'postgresql'), from its /ready */
  readonly engine: string;
  /** its stdout carries one JSON log line per event; read it with createInterface */
  readonly child: ChildProcess;
  /** SIGKILL (no shutdown of any kind); resolves once the process is gone */
  kill(): Promise<void>;
  /** SIGTERM (graceful stop), SIGKILL after `graceMs`; resolves with the exit code */
  stop(graceMs?: number): Promise<number | null>;
}

export interface HubProcessOptions {
  /** added to the hub's environment, over the helper's defaults */
  readonly env?: Record<string, string>;
  /** the caller's data directory: kept at the end (see HubProcess) */
  readonly dataDir?: string;
  /** LOG_LEVEL (default 'info'; the bench runs 'warn', like production without request lines) */
  readonly logLevel?: string;
  readonly adminToken?: string;
  /** node options before `--import tsx` (a profiler's flags) */
  readonly nodeArgs?: readonly string[];
  /** every JSON log line of the hub, parsed, from its first */
  readonly onLog?: (entry: Record<string, unknown>) => void;
  /** how long it may take to serve (default 60 s: a hub may wait for its database) */
  readonly startTimeoutMs?: number;
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** how often readiness is asked: a poll, not a wait of fixed length */
const POLL_MS = 25;
/** a port another process took between our probe and the child's bind: tried again this often */
const PORT_ATTEMPTS = 3;
const DEFAULT_GRACE_MS = 20_000;

/** A loopback port nobody listens on now (the OS picks it; closed again before the child binds it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const address = s.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** Resolves once the process has exited (at once when it already has). */
export function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/** Polls `GET url` until it answers 200; fails at once when the child exits, with its stderr. */
export async function untilServing(
  child: ChildProcess,
  url: string,
  stderr: () => string,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const exit = exitOf(child).then((code) => ({ code }));
  let last = 'no answer';
  while (Date.now() < deadline) {
    const tick = new Promise<'tick'>((r) => setTimeout(() => r('tick'), POLL_MS));
    const answer = fetch(url, { signal: AbortSignal.timeout(2_000) }).then(
      (r) => (r.ok ? 'ok' : ((last = `status ${r.status}`), 'no')),
      (err: unknown) => ((last = String(err instanceof Error && err.cause ? err.cause : err)), 'no'),
    );
    const first = await Promise.race([answer, exit]);
    if (first === 'ok') return;
    if (typeof first === 'object') throw new Error(`exited with ${first.code} before serving: ${stderr()}`);
    await Promise.race([tick, exit]);
  }
  throw new Error(`${url} did not serve in ${timeoutMs} ms (last: ${last}): ${stderr()}`);
}

/** Keeps the last `max` characters of a stream (stderr: where a failed start says why). */
export function tail(stream: NodeJS.ReadableStream | null, max = 8192): () => string {
  let text = '';
  stream?.on('data', (c: Buffer) => (text = (text + c.toString()).slice(-max)));
  return () => text;
}

export async function spawnHub(options: HubProcessOptions = {}): Promise<HubProcess> {
  const own = options.dataDir === undefined;
  const dataDir = options.dataDir ?? tempDir('hub-proc-');
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        return await spawnOnce(dataDir, own, options);
      } catch (err) {
        if (!(err instanceof PortTaken) || attempt === PORT_ATTEMPTS) throw err;
      }
    }
  } catch (err) {
    if (own) await removeTestData(dataDir);
    throw err;
  }
}

class PortTaken extends Error {}

async function spawnOnce(dataDir: string, own: boolean, options: HubProcessOptions): Promise<HubProcess> {
  const storeUrl = options.env?.STORE_URL ?? testStoreUrl(dataDir) ?? '';
  const port = await freePort();
  const adminToken = options.adminToken ?? ADMIN_TOKEN;
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), '--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    // nothing of the caller's shell but what finds programs: a STORE_URL or limit exported there
    // must not pick the engine or change the hub under test
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      ...(process.env.TMPDIR ? { TMPDIR: process.env.TMPDIR } : {}),
      HOST: '127.0.0.1',
      PORT: String(port),
      DATA_DIR: dataDir,
      HUB_ADMIN_TOKEN: adminToken,
      LOG_LEVEL: options.logLevel ?? 'info',
      ...options.env,
      STORE_URL: storeUrl,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stderr = tail(child.stderr);
  // always read: a full pipe would block the hub on its next log line
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (!options.onLog) return;
    let entry: unknown;
    try {
      entry = JSON.parse(line);
    } catch {
      return; // not a log line
    }
    if (entry && typeof entry === 'object') options.onLog(entry as Record<string, unknown>);
  });
  const url = `http://127.0.0.1:${port}`;
  let engine: string;
  try {
    await untilServing(child, `${url}/health`, stderr, options.startTimeoutMs ?? 60_000);
    // /ready names the engine whether or not the store is ready (a full disk answers 503)
    const r = await fetch(`${url}/ready`, { signal: AbortSignal.timeout(10_000) });
    engine = String(((await r.json()) as { engine?: unknown }).engine);
  } catch (err) {
    child.kill('SIGKILL');
    await exitOf(child);
    if (/EADDRINUSE/.test(stderr())) throw new PortTaken(`port ${port} was taken`);
    throw new Error(`hub process: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }

  let ended: Promise<number | null> | undefined;
  const end = (signal: NodeJS.Signals, graceMs: number): Promise<number | null> => {
    ended ??= (async () => {
      const exited = exitOf(child);
      if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, signal);
      const force = signal === 'SIGKILL' ? undefined : setTimeout(() => child.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(force);
      if (own) await removeTestData(dataDir);
      return code;
    })();
    return ended;
  };
  return {
    url,
    port,
    pid: child.pid!,
    dataDir,
    adminToken,
    engine,
    child,
    kill: async () => void (await end('SIGKILL', 0)),
    stop: (graceMs = DEFAULT_GRACE_MS) => end('SIGTERM', graceMs),
  };
}
