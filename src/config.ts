import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** Everything the hub reads from its environment (docs/operations.md#environment), typed. */
export interface HubConfig {
  readonly port: number;
  readonly host: string;
  readonly dataDir: string;
  /** STORE_URL: postgres://… selects the PostgreSQL engine; unset means LevelDB under dataDir */
  readonly storeUrl?: string;
  /** STORE_READ_URL: a streaming replica of the PostgreSQL store that serves feed reads */
  readonly readStoreUrl?: string;
  readonly adminToken?: string;
  readonly logLevel: string;
  /** the base URL clients reach the hub at, when it differs from the Host they send */
  readonly publicUrl?: string;
  readonly fullSyncLeaseMs: number;
  /** the longest wait between retries of outgoing calls (webhooks, scheduled pulls, forwarding) */
  readonly opsRetryMaxMs: number;
  readonly limits: Limits;
}

/** Protection against slow, greedy and abusive clients (all overridable from the environment). */
export interface Limits {
  /** a request body with no data for this long is cut off with 408 */
  readonly bodyIdleTimeoutMs: number;
  /** the request line and headers must arrive within this */
  readonly headersTimeoutMs: number;
  /** a whole request (not its response) must arrive within this */
  readonly requestTimeoutMs: number;
  /** concurrent long-polls / event streams one key (or one anonymous address) may hold */
  readonly maxWaitingReadersPerKey: number;
  /** bytes of request bodies being read and processed at once before new ones get 503 */
  readonly maxInflightBodyBytes: number;
  /** bytes of appends queued in memory before new ones get 503 + Retry-After */
  readonly maxPendingWriteBytes: number;
  /**
   * DISK_FREE_FLOOR_MB: below this much free space on the data directory's disk (LevelDB) pushes
   * are refused with 503 STORE_DISK_FULL before the disk is full, so compaction keeps room
   */
  readonly diskFreeFloorBytes: number;
  /** on SIGTERM, open long-polls and streams are ended after this; writes in flight always finish */
  readonly shutdownGraceMs: number;
}

/**
 * Room LevelDB needs beyond the data: a 32 MiB memtable flushed to a table file, and compactions
 * that write their output before deleting their input (docs/backups.md, disk sizing).
 */
const DEFAULT_DISK_FREE_FLOOR_MB = 64;

function int(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const v = env[name];
  if (v === undefined || v === '') return fallback;
  if (!/^\d+$/.test(v)) throw new Error(`${name} must be a non-negative integer, got '${v}'`);
  return Number(v);
}

export function configFromEnv(env: NodeJS.ProcessEnv = process.env): HubConfig {
  return {
    port: int(env, 'PORT', 3000),
    host: env.HOST || '127.0.0.1',
    dataDir: resolve(env.DATA_DIR || './data'),
    storeUrl: env.STORE_URL || undefined,
    readStoreUrl: env.STORE_READ_URL || undefined,
    adminToken: env.HUB_ADMIN_TOKEN || undefined,
    logLevel: env.LOG_LEVEL || 'info',
    publicUrl: env.PUBLIC_URL ? env.PUBLIC_URL.replace(/\/+$/, '') : undefined,
    fullSyncLeaseMs: int(env, 'FULL_SYNC_LEASE_MS', 3_600_000),
    opsRetryMaxMs: int(env, 'OPS_RETRY_MAX_MS', 60_000),
    limits: {
      bodyIdleTimeoutMs: int(env, 'BODY_IDLE_TIMEOUT_MS', 10_000),
      headersTimeoutMs: int(env, 'HEADERS_TIMEOUT_MS', 15_000),
      requestTimeoutMs: int(env, 'REQUEST_TIMEOUT_MS', 120_000),
      maxWaitingReadersPerKey: int(env, 'MAX_WAITING_READERS_PER_KEY', 32),
      maxInflightBodyBytes: int(env, 'MAX_INFLIGHT_BODY_BYTES', 256 * 1024 * 1024),
      maxPendingWriteBytes: int(env, 'MAX_PENDING_WRITE_BYTES', 256 * 1024 * 1024),
      diskFreeFloorBytes: int(env, 'DISK_FREE_FLOOR_MB', DEFAULT_DISK_FREE_FLOOR_MB) * 1024 * 1024,
      shutdownGraceMs: int(env, 'SHUTDOWN_GRACE_MS', 5_000),
    },
  };
}

/**
 * The admin token: HUB_ADMIN_TOKEN when set; otherwise the one generated on first start and kept in
 * DATA_DIR/admin-token (mode 0600). `generated` tells the caller to print it, once.
 */
export function resolveAdminToken(config: HubConfig): { token: string; generated: boolean } {
  if (config.adminToken) return { token: config.adminToken, generated: false };
  mkdirSync(config.dataDir, { recursive: true });
  const file = join(config.dataDir, 'admin-token');
  try {
    const token = readFileSync(file, 'utf8').trim();
    if (token !== '') return { token, generated: false };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const token = randomBytes(24).toString('hex');
  writeFileSync(file, token + '\n', { mode: 0o600, flag: 'wx' });
  return { token, generated: true };
}
