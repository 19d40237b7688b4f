import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './ports.js';

/**
 * A PostgreSQL server of the tests' own: initdb in a directory of ours, a postmaster on a free
 * loopback port, stopped by its pid. For what the shared test database cannot give: a server to
 * kill, freeze (SIGSTOP) or put on a filesystem of the test's choosing, a streaming standby, and
 * `npm run test:pg` on a machine where no PostgreSQL runs.
 *
 * PostgreSQL refuses to run as root, so as root the server runs as the `postgres` user (the
 * Debian package creates it) and its directories are handed to that user. PostgreSQL itself is
 * installed from Debian when missing.
 */
export interface PgServer {
  /** superuser URL (trust auth on loopback) of the server's `postgres` database */
  readonly adminUrl: string;
  /** `hub_test` role and database, as the shared test database has them */
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  /** the postmaster's pid while it runs */
  readonly pid: number | undefined;
  /** start the postmaster again on the same data directory and port (after stop or kill) */
  start(): Promise<void>;
  /** fast shutdown, waits until the postmaster is gone */
  stop(): Promise<void>;
  /**
   * sends a signal to the postmaster (SIGKILL, SIGSTOP, SIGCONT…); SIGKILL waits for its exit.
   * `withBackends` sends it to the postmaster's child processes too (backends, walsender…): a
   * whole server frozen, not only its listener.
   */
  signal(sig: NodeJS.Signals, options?: { withBackends?: boolean }): Promise<void>;
  /**
   * A power cut's share of PostgreSQL: the postmaster and every backend and helper process it
   * started die at once by SIGKILL, with no chance to write or flush anything more. Waits until
   * all are gone.
   */
  powerOff(): Promise<void>;
  /** stops the server and removes its directory */
  destroy(): Promise<void>;
}

export interface PgServerOptions {
  /** where the cluster lives (created when missing); a temp directory by default */
  dataDir?: string;
  port?: number;
  /** extra `postgresql.conf` settings */
  settings?: Record<string, string | number>;
  /** make this a streaming standby of that server (pg_basebackup -R) instead of running initdb */
  standbyOf?: PgServer;
}

const START_TIMEOUT_MS = 60_000;

export function pgBinDir(): string {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root) || readdirSync(root).length === 0) installPostgres();
  const versions = readdirSync(root).sort((a, b) => Number(a) - Number(b));
  return join(root, versions[versions.length - 1]!, 'bin');
}

function installPostgres(): void {
  if (process.getuid?.() !== 0) {
    throw new Error('PostgreSQL is not installed: run `apt-get install postgresql` (or the tests as root)');
  }
  const apt = (args: string[]): void => {
    execFileSync('apt-get', ['-o', 'DPkg::Lock::Timeout=600', ...args], {
      stdio: 'inherit',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  };
  try {
    apt(['install', '-y', '-qq', 'postgresql']);
  } catch {
    apt(['update', '-qq']);
    apt(['install', '-y', '-qq', 'postgresql']);
  }
}

/** uid/gid to run the server as: ourselves, or `postgres` when we are root */
function serverUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  return { uid, gid };
}

/** pids whose parent is `pid` (from /proc: the backends and helpers of a postmaster) */
export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // the command name in parentheses may hold spaces: the fields after it are fixed
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

function killQuietly(pid: number, sig: NodeJS.Signals = 'SIGKILL'): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

function run(bin: string, args: string[], user: { uid: number; gid: number } | undefined): void {
  execFileSync(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], ...(user ?? {}) });
}

export async function startPgServer(options: PgServerOptions = {}): Promise<PgServer> {
  const bin = pgBinDir();
  const user = serverUser();
  const ownDir = options.dataDir === undefined;
  const base = options.dataDir ?? mkdtempSync(join(tmpdir(), 'hub-pg-'));
  const dataDir = join(base, 'cluster');
  const socketDir = join(base, 'socket');
  mkdirSync(socketDir, { recursive: true });
  chmodSync(base, 0o755);
  if (user) {
    chownSync(base, user.uid, user.gid);
    chownSync(socketDir, user.uid, user.gid);
  }
  const port = options.port ?? (await freePort());

  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    if (options.standbyOf) {
      const src = options.standbyOf;
      run(
        join(bin, 'pg_basebackup'),
        [
          '-h',
          '127.0.0.1',
          '-p',
          String(src.port),
          '-U',
          'postgres',
          '-D',
          dataDir,
          '-R',
          '-X',
          'stream',
          '-c',
          'fast',
        ],
        user,
      );
    } else {
      run(
        join(bin, 'initdb'),
        ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--locale=C.UTF-8', '-N'],
        user,
      );
      // replication from loopback, for standbys made by pg_basebackup
      writeFileSync(
        join(dataDir, 'pg_hba.conf'),
        'local all all trust\nhost all all 127.0.0.1/32 trust\nhost replication all 127.0.0.1/32 trust\n',
      );
    }
    const settings: Record<string, string | number> = {
      listen_addresses: "'127.0.0.1'",
      port,
      unix_socket_directories: `'${socketDir}'`,
      max_connections: 200,
      fsync: 'on',
      wal_level: 'replica',
      max_wal_senders: 10,
      hot_standby: 'on',
      ...options.settings,
    };
    const conf = Object.entries(settings)
      .map(([k, v]) => `${k} = ${v}`)
      .join('\n');
    writeFileSync(join(dataDir, 'postgresql.auto.conf'), `${conf}\n`, {
      flag: options.standbyOf ? 'a' : 'w',
    });
    if (user) execFileSync('chown', ['-R', `${user.uid}:${user.gid}`, dataDir]);
  }

  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let log = '';

  const start = async (): Promise<void> => {
    log = '';
    const c = spawn(join(bin, 'postgres'), ['-D', dataDir], {
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(user ?? {}),
    });
    child = c;
    exited = new Promise((resolve) => c.once('exit', () => resolve()));
    c.stdout!.on('data', (d: Buffer) => (log += d.toString()));
    c.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    const deadline = Date.now() + START_TIMEOUT_MS;
    let delay = 20;
    while (true) {
      if (c.exitCode !== null || c.signalCode !== null) throw new Error(`postgres exited at start: ${log}`);
      const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres' });
      client.on('error', () => {});
      try {
        await client.connect();
        await client.query('SELECT 1');
        await client.end();
        return;
      } catch {
        await client.end().catch(() => {});
      }
      if (Date.now() > deadline) {
        c.kill('SIGKILL');
        throw new Error(`postgres did not accept connections in ${START_TIMEOUT_MS} ms: ${log}`);
      }
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 200);
    }
  };

  const running = (): boolean => child !== undefined && child.exitCode === null && child.signalCode === null;
  const signal = async (sig: NodeJS.Signals, o: { withBackends?: boolean } = {}): Promise<void> => {
    if (!running()) return;
    if (o.withBackends) for (const pid of childrenOf(child!.pid!)) killQuietly(pid, sig);
    child!.kill(sig);
    if (sig === 'SIGKILL') await exited;
  };
  const powerOff = async (): Promise<void> => {
    if (!running()) return;
    const pm = child!.pid!;
    process.kill(pm, 'SIGSTOP'); // no restart of the children it sees die
    const kids = childrenOf(pm);
    for (const k of kids) killQuietly(k);
    child!.kill('SIGKILL');
    await exited;
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (kids.some((k) => existsSync(`/proc/${k}`))) {
      if (Date.now() > deadline) throw new Error(`postgres children ${kids.join(' ')} did not die`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  const stop = async (): Promise<void> => {
    if (!running()) return;
    await signal('SIGCONT', { withBackends: true }); // a frozen server cannot shut down
    child!.kill('SIGINT'); // fast shutdown
    await exited;
  };

  await start();
  const adminUrl = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const url = `postgres://hub_test:hub_test@127.0.0.1:${port}/hub_test`;
  if (!options.standbyOf) {
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    try {
      const role = await admin.query(`SELECT 1 FROM pg_roles WHERE rolname = 'hub_test'`);
      if (role.rowCount === 0) await admin.query(`CREATE ROLE hub_test LOGIN PASSWORD 'hub_test'`);
      const db = await admin.query(`SELECT 1 FROM pg_database WHERE datname = 'hub_test'`);
      if (db.rowCount === 0) await admin.query(`CREATE DATABASE hub_test OWNER hub_test`);
    } finally {
      await admin.end();
    }
  }

  return {
    adminUrl,
    url,
    port,
    dataDir,
    get pid() {
      return running() ? child!.pid : undefined;
    },
    start,
    stop,
    signal,
    powerOff,
    async destroy() {
      await stop();
      if (ownDir) rmSync(base, { recursive: true, force: true });
      else rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
