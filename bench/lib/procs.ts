import { fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ReadCommand, ReadReply } from '../reader.js';

/**
 * The systems under test, each in its own child process so that the benchmark's clients never take
 * a server's event loop: the hub (`node --import tsx src/main.ts`), pouchdb-server, and the raw
 * classic-level loop, each over its own temp directory, servers on loopback ports.
 */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface Server {
  readonly name: string;
  readonly url: string;
  readonly pid: number;
  readonly dir: string;
  stop(): Promise<void>;
}

export const HUB_ADMIN = 'bench-admin-token';

function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A port nobody listens on right now (the OS picks it; it is closed again before the child binds it). */
function freePort(): Promise<number> {
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

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
}

function stopper(child: ChildProcess, dir: string): () => Promise<void> {
  return async () => {
    const done = exited(child);
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await done;
    clearTimeout(timer);
    rmSync(dir, { recursive: true, force: true });
  };
}

/** A server that did not come up: stop it, drop its directory, and fail with the reason. */
function cleanUp(child: ChildProcess, dir: string): (err: unknown) => never {
  return (err) => {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw err;
  };
}

/** Polls `url` until it answers 200; fails early when the child dies, with its stderr. */
async function waitUp(child: ChildProcess, url: string, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 60_000;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new Error(`${url}: the server exited with ${child.exitCode}: ${stderr()}`);
    try {
      const r = await fetch(url);
      if (r.ok) return;
      last = `status ${r.status}`;
    } catch (err) {
      // not listening yet
      last = String(err instanceof Error && err.cause ? err.cause : err);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`${url} did not come up in 60 s (last: ${last}): ${stderr()}`);
}

function collect(child: ChildProcess): () => string {
  let text = '';
  child.stderr?.on('data', (c: Buffer) => (text = (text + c.toString()).slice(-4000)));
  child.stdout?.on('data', () => undefined);
  return () => text;
}

/**
 * The hub as production runs it, with LOG_LEVEL=warn: no request log lines, like pouchdb-server -n.
 * `env` adds to its environment (STORE_URL for the PostgreSQL engine); `name` labels it.
 */
export async function startHub(
  options: { env?: Record<string, string>; name?: string; nodeArgs?: string[] } = {},
): Promise<Server> {
  const dir = tempDir('hub-bench-');
  const port = await freePort();
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), '--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: {
      // the engine is the bench's choice, never one a STORE_URL in the caller's shell picks
      ...process.env,
      STORE_URL: '',
      ...options.env,
      DATA_DIR: dir,
      PORT: String(port),
      HOST: '127.0.0.1',
      HUB_ADMIN_TOKEN: HUB_ADMIN,
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const url = `http://127.0.0.1:${port}`;
  await waitUp(child, `${url}/health`, collect(child)).catch(cleanUp(child, dir));
  return { name: options.name ?? 'hub', url, pid: child.pid!, dir, stop: stopper(child, dir) };
}

/**
 * pouchdb-server over its default LevelDB backend (leveldown, on disk in a temp dir): `-n` keeps
 * request logs off stdout, and the config's log level keeps them out of its log file as well, so
 * it pays for no log line, like the hub.
 */
export async function startPouch(): Promise<Server> {
  const dir = tempDir('pouch-bench-');
  const port = await freePort();
  mkdirSync(join(dir, 'db'));
  const config = join(dir, 'config.json');
  writeFileSync(config, JSON.stringify({ log: { level: 'warning', file: join(dir, 'log.txt') } }));
  const bin = join(ROOT, 'node_modules', 'pouchdb-server', 'bin', 'pouchdb-server');
  const child = spawn(
    process.execPath,
    [
      bin,
      '-n',
      '--no-color',
      '-o',
      '127.0.0.1',
      '-p',
      String(port),
      '-d',
      join(dir, 'db') + '/',
      '-c',
      config,
    ],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const url = `http://127.0.0.1:${port}`;
  await waitUp(child, `${url}/`, collect(child)).catch(cleanUp(child, dir));
  return { name: 'pouchdb-server', url, pid: child.pid!, dir, stop: stopper(child, dir) };
}

/** Message protocol of bench/raw-level.ts. */
export type RawCommand =
  | { op: 'ingest'; file: string; batch: number; db: string; limit?: number; chained?: boolean }
  | { op: 'iterate'; db: string };
export interface RawReply {
  readonly op: string;
  readonly count: number;
  readonly ms: number;
}

/** The LevelDB limit: a child running classic-level directly, no HTTP, no hub. */
export class RawLevel {
  private constructor(
    private readonly child: ChildProcess,
    readonly dir: string,
  ) {}

  static start(): RawLevel {
    const dir = tempDir('raw-bench-');
    const child = fork(join(ROOT, 'bench', 'raw-level.ts'), [], {
      cwd: ROOT,
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    return new RawLevel(child, dir);
  }

  get pid(): number {
    return this.child.pid!;
  }

  run(cmd: RawCommand): Promise<RawReply> {
    return new Promise<RawReply>((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`raw-level child exited with ${code}`));
      this.child.once('exit', onExit);
      this.child.once('message', (m) => {
        this.child.off('exit', onExit);
        resolve(m as RawReply);
      });
      this.child.send(cmd);
    });
  }

  async stop(): Promise<void> {
    const done = exited(this.child);
    this.child.kill('SIGTERM');
    await done;
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The reading client in its own process (bench/reader.ts): one feed at a time. */
export class Reader {
  private constructor(private readonly child: ChildProcess) {}

  static start(): Reader {
    return new Reader(
      fork(join(ROOT, 'bench', 'reader.ts'), [], {
        cwd: ROOT,
        execArgv: ['--import', 'tsx'],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      }),
    );
  }

  read(url: string, marker: string): Promise<ReadReply> {
    return new Promise<ReadReply>((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`reader child exited with ${code}`));
      this.child.once('exit', onExit);
      this.child.once('message', (m) => {
        this.child.off('exit', onExit);
        resolve(m as ReadReply);
      });
      this.child.send({ url, marker } satisfies ReadCommand);
    });
  }

  async stop(): Promise<void> {
    const done = exited(this.child);
    this.child.kill('SIGTERM');
    await done;
  }
}

/**
 * Resident memory of a process, in bytes (Linux /proc): all of it (VmRSS), its own memory (RssAnon:
 * heap, buffers, native allocations) and file pages mapped into it (RssFile: LevelDB maps its table
 * files, so pages read from them count here until the kernel reclaims them).
 */
export interface Resident {
  readonly rss: number;
  readonly anon: number;
  readonly file: number;
}

export function residentOf(pid: number): Resident {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) * 1024;
  return { rss: kb('VmRSS'), anon: kb('RssAnon'), file: kb('RssFile') };
}

/** CPU time used so far by a process (user + system), in clock ticks. */
export function cpuTicks(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

/**
 * Waits until the given processes are idle (LevelDB compactions, PostgreSQL's autovacuum, GC after
 * the previous scenario) so that one system's leftovers do not slow the next measurement: less than
 * 3 ticks (30 ms) of CPU over 500 ms, or 15 s at most. `pids` is asked again at every look, since
 * PostgreSQL starts and ends processes (backends, autovacuum workers) as it goes.
 */
export async function settle(pids: () => readonly number[]): Promise<void> {
  const deadline = Date.now() + 15_000;
  const ticks = () => new Map(pids().map((pid) => [pid, cpuTicks(pid)]));
  let before = ticks();
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 500));
    const now = ticks();
    let busy = 0;
    // a process born meanwhile counts from its start; one that ended counts no more
    for (const [pid, t] of now) busy += t - (before.get(pid) ?? 0);
    before = now;
    if (busy < 3) return;
  }
}
