import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * volatilefs (volatilefs.py beside this file) mounted for a test: a directory whose writes are
 * real until `cut()`, which takes back everything not fsynced, as a power cut does. Needs root
 * (FUSE mounts) and Debian's python3-fusepy and fuse3, installed here when missing.
 */
export interface VolatileMount {
  /** the mounted directory */
  readonly dir: string;
  /** the power cut: from now on every operation fails with EIO, the data goes back to its durable state */
  cut(): Promise<CutReport>;
  /** make everything durable (a set-up that wrote without fsyncs) */
  sync(): Promise<void>;
  /** a disk gone bad: every write, fsync and directory change fails with EIO (true) until healed (false) */
  failWrites(failing: boolean): Promise<void>;
  /** fsyncs fail with EIO, writes still land (undone by `failWrites(false)`) */
  failFsyncs(): Promise<void>;
  /** after a cut and once its users are dead: unmount and mount again, showing the durable state */
  remount(): Promise<void>;
  /** unmount and remove everything */
  destroy(): Promise<void>;
}

export interface CutReport {
  readonly undone_dir_changes: number;
  readonly rolled_back_files: number;
  readonly writes: number;
  readonly fsyncs: number;
  readonly fsyncdirs: number;
}

const PYTHON = '/usr/bin/python3'; // Debian's python, the one that sees python3-fusepy
const SCRIPT = fileURLToPath(new URL('./volatilefs.py', import.meta.url));

/** Why a power-loss test cannot run here, or undefined when it can (installing what is missing). */
export function volatileUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'power-loss tests mount FUSE and need root';
  if (!existsSync('/dev/fuse')) return 'no /dev/fuse on this machine';
  const ready = (): boolean =>
    existsSync('/usr/bin/fusermount3') &&
    spawnSync(PYTHON, ['-c', 'import fusepy'], { stdio: 'ignore' }).status === 0;
  if (!ready()) {
    const apt = (args: string[]): void => {
      execFileSync('apt-get', ['-o', 'DPkg::Lock::Timeout=600', ...args], {
        stdio: 'ignore',
        env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      });
    };
    try {
      apt(['install', '-y', '-qq', 'python3-fusepy', 'fuse3']);
    } catch {
      apt(['update', '-qq']);
      apt(['install', '-y', '-qq', 'python3-fusepy', 'fuse3']);
    }
  }
  return ready() ? undefined : 'python3-fusepy or fuse3 could not be installed';
}

function mounted(dir: string): boolean {
  return readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .some((l) => l.split(' ')[1] === dir);
}

async function until(what: string, ok: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  let delay = 5;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`volatilefs: ${what} not reached in ${ms} ms`);
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 100);
  }
}

function control(sock: string, command: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const c = createConnection(sock);
    let buf = '';
    c.on('error', reject);
    c.on('data', (d: Buffer) => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      c.end();
      const out = JSON.parse(buf.slice(0, nl)) as Record<string, unknown>;
      if (typeof out.error === 'string') reject(new Error(`volatilefs ${command}: ${out.error}`));
      else resolve(out);
    });
    c.write(`${command}\n`);
  });
}

export async function mountVolatile(): Promise<VolatileMount> {
  const root = mkdtempSync(join(tmpdir(), 'hub-volatile-'));
  const dir = join(root, 'mnt');
  const sock = join(root, 'control.sock');
  mkdirSync(dir);
  chmodSync(root, 0o755); // PostgreSQL runs as its own user and must reach the mount
  let daemon: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let log = '';

  const mount = async (): Promise<void> => {
    rmSync(sock, { force: true });
    const d = spawn(PYTHON, ['-W', 'ignore', SCRIPT, root, dir], { stdio: ['ignore', 'ignore', 'pipe'] });
    daemon = d;
    exited = new Promise((resolve) => d.once('exit', () => resolve()));
    d.stderr!.on('data', (b: Buffer) => {
      log += b.toString();
      if (process.env.VOLATILEFS_DEBUG === '1') process.stderr.write(b);
    });
    await until(`mount of ${dir} (${log})`, () => {
      if (d.exitCode !== null) throw new Error(`volatilefs exited: ${log}`);
      return mounted(dir) && existsSync(sock);
    });
  };

  const unmount = async (): Promise<void> => {
    if (!daemon || daemon.exitCode !== null || daemon.signalCode !== null) return;
    // the users were killed, but the kernel may take a moment to release their files
    await until(`unmount of ${dir}`, () => {
      const r = spawnSync('fusermount3', ['-u', dir], { stdio: 'ignore' });
      return r.status === 0 || !mounted(dir);
    });
    await exited;
  };

  await mount();
  return {
    dir,
    cut: async () => (await control(sock, 'cut')) as unknown as CutReport,
    sync: async () => {
      await control(sock, 'sync');
    },
    failWrites: async (failing: boolean) => {
      await control(sock, failing ? 'fail' : 'heal');
    },
    failFsyncs: async () => {
      await control(sock, 'fail-fsync');
    },
    async remount() {
      await unmount();
      await mount();
    },
    async destroy() {
      try {
        await unmount();
      } finally {
        if (!mounted(dir)) rmSync(root, { recursive: true, force: true });
      }
    },
  };
}
