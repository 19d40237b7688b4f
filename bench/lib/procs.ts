import { fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exitOf, freePort, spawnHub, tail, untilServing } from '../../test/helpers/hub-process.js';
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

async function stopped(child: ChildProcess, dir: string): Promise<void> {
  const done = exitOf(child);
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await done;
  clearTimeout(timer);
  rmSync(dir, { recursive: true, force: true });
}

/**
 * The hub as production runs it, with LOG_LEVEL=warn: no request log lines, like pouchdb-server -n.
 * Spawned by the tests' own helper (test/helpers/hub-process.ts: a free port, readiness polled, its
 * data directory removed at the end), so the bench measures the hub the tests start. `env` adds to
 * its environment (STORE_URL for the PostgreSQL engine; without one it runs on LevelDB, whatever
 * the caller's shell says); `name` labels it.
 */
export async function startHub(
  options: { env?: Record<string, string>; name?: string; nodeArgs?: string[] } = {},
): Promise<Server> {
  const hub = await spawnHub({
    env: { STORE_URL: '', ...options.env },
    logLevel: 'warn',
    adminToken: HUB_ADMIN,
    nodeArgs: options.nodeArgs ?? [],
  });
  return {
    name: options.name ?? 'hub',
    url: hub.url,
    pid: hub.pid,
    dir: hub.dataDir,
    stop: async () => void (await hub.stop(10_000)),
  };
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
  child.stdout?.resume();
  await untilServing(child, `${url}/`, tail(child.stderr, 4000), 60_000).catch(async (err: unknown) => {
    await stopped(child, dir);
    throw err;
  });
  return { name: 'pouchdb-server', url, pid: child.pid!, dir, stop: () => stopped(child, dir) };
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
    const done = exitOf(this.child);
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
    const done = exitOf(this.child);
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
