import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { installDebianPackage } from './apt.js';
import { tempDir } from './hub.js';

/**
 * A real FTP server for the tests: Debian's vsftpd (installed when missing), run in the foreground
 * with a config file of the test's own, anonymous read-only access to `root`, listening on
 * 127.0.0.1 on a free port with its passive ports on loopback too; stopped by its pid. With `tls`
 * it also speaks FTPS (explicit AUTH TLS) with that certificate and requires it.
 */
export interface FtpServer {
  readonly port: number;
  readonly pid: number;
  /** files served: write here (ftp://127.0.0.1:port/NAME reads ROOT/NAME) */
  readonly root: string;
  /** passwords the server refuses (vsftpd's banned e-mail list for anonymous logins) */
  readonly bannedPassword: string;
  stop(): Promise<void>;
  /** starts again on the same port and root (after stop) */
  start(): Promise<void>;
  destroy(): Promise<void>;
}

const VSFTPD = '/usr/sbin/vsftpd';

async function ensureVsftpd(): Promise<void> {
  if (!existsSync(VSFTPD)) await installDebianPackage('vsftpd', 'the FTP tests need vsftpd');
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** A free control port followed by `n` free ports for passive data connections. */
async function freePorts(n: number): Promise<number> {
  for (let tries = 0; tries < 50; tries++) {
    const base = 20_000 + Math.floor(Math.random() * 40_000);
    let ok = true;
    for (let p = base; p <= base + n && ok; p++) ok = await portFree(p);
    if (ok) return base;
  }
  throw new Error('no free port range for vsftpd');
}

async function waitListening(port: number, child: ChildProcess, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`vsftpd exited with ${child.exitCode}: ${stderr()}`);
    if (!(await portFree(port))) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`vsftpd did not listen on ${port}: ${stderr()}`);
}

export async function startFtpServer(
  options: { tls?: { cert: string; key: string } } = {},
): Promise<FtpServer> {
  await ensureVsftpd();
  const dir = tempDir('vsftpd-');
  const root = join(dir, 'root');
  const empty = join(dir, 'empty');
  mkdirSync(root, { mode: 0o755 });
  mkdirSync(empty, { mode: 0o755 });
  const bannedPassword = 'not-this-one@example.org';
  writeFileSync(join(dir, 'banned'), `${bannedPassword}\n`);
  const port = await freePorts(10);
  const lines = [
    'listen=YES',
    'listen_ipv6=NO',
    'background=NO',
    `listen_address=127.0.0.1`,
    `listen_port=${port}`,
    'anonymous_enable=YES',
    'local_enable=NO',
    'write_enable=NO',
    `anon_root=${root}`,
    'deny_email_enable=YES',
    `banned_email_file=${join(dir, 'banned')}`,
    `secure_chroot_dir=${empty}`,
    'nopriv_user=nobody',
    'pasv_enable=YES',
    'pasv_address=127.0.0.1',
    `pasv_min_port=${port + 1}`,
    `pasv_max_port=${port + 10}`,
    'connect_from_port_20=NO',
    'seccomp_sandbox=NO',
    'xferlog_enable=NO',
    'syslog_enable=NO',
    `vsftpd_log_file=${join(dir, 'vsftpd.log')}`,
  ];
  if (options.tls) {
    lines.push(
      'ssl_enable=YES',
      `rsa_cert_file=${options.tls.cert}`,
      `rsa_private_key_file=${options.tls.key}`,
      'allow_anon_ssl=YES',
      'force_anon_logins_ssl=YES',
      'force_anon_data_ssl=YES',
      'require_ssl_reuse=NO',
      'ssl_ciphers=HIGH',
    );
  }
  const conf = join(dir, 'vsftpd.conf');
  // vsftpd refuses a config file that others may write
  writeFileSync(conf, lines.join('\n') + '\n', { mode: 0o600 });

  let child: ChildProcess | undefined;
  const start = async (): Promise<void> => {
    let stderr = '';
    const c = spawn(VSFTPD, [conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    c.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child = c;
    await waitListening(port, c, () => stderr);
  };
  const stop = async (): Promise<void> => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => c.once('exit', () => resolve()));
    c.kill('SIGTERM');
    await gone;
  };
  await start();
  return {
    port,
    get pid() {
      return child?.pid ?? -1;
    },
    root,
    bannedPassword,
    stop,
    start,
    async destroy() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A self-signed certificate for 127.0.0.1 (openssl), for an FTPS server and the client's CA list. */
export function selfSignedCert(dir: string): { cert: string; key: string } {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      key,
      '-out',
      cert,
    ],
    { stdio: 'ignore' },
  );
  return { cert, key };
}
