import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';

/** Everything the hub reads from its environment (docs/operations.md#environment), typed. */
export interface Settings {
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
  readonly jsonld: JsonLdConfig;
}

/** The JSON-LD worker pool and the utility routes' gate (docs/jsonld.md). */
export interface JsonLdConfig {
  /** JSONLD_THREADS: worker threads; default one per core */
  readonly threads: number;
  /** JSONLD_TIMEOUT_MS: how long one JSON-LD task may run before it is stopped (422) */
  readonly timeoutMs: number;
  /** JSONLD_MAX_QUEUE: tasks waiting for a thread before new ones get 503 */
  readonly maxQueue: number;
  /** JSONLD_MAX_RESULT_BYTES: the largest answer of a utility route (422 past it) */
  readonly maxResultBytes: number;
  /** JSONLD_MAX_HEAP_MB: heap of one worker thread (a task needing more gets 422) */
  readonly maxHeapMb: number;
  /**
   * JSONLD_ANONYMOUS: what /jsonld/* does without a key — `limit` (rate-limited per client
   * address), `deny` (401) or `allow`
   */
  readonly anonymous: 'limit' | 'deny' | 'allow';
  /** JSONLD_ANONYMOUS_PER_MINUTE: requests one anonymous client may make per minute */
  readonly anonymousPerMinute: number;
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

function oneOf<T extends string>(
  env: NodeJS.ProcessEnv,
  name: string,
  allowed: readonly T[],
  fallback: T,
): T {
  const v = env[name];
  if (v === undefined || v === '') return fallback;
  if (!(allowed as readonly string[]).includes(v))
    throw new Error(`${name} must be one of ${allowed.join(', ')}, got '${v}'`);
  return v as T;
}

function int(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const v = env[name];
  if (v === undefined || v === '') return fallback;
  if (!/^\d+$/.test(v)) throw new Error(`${name} must be a non-negative integer, got '${v}'`);
  return Number(v);
}

export function settingsFromEnv(env: NodeJS.ProcessEnv = process.env): Settings {
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
    jsonld: {
      threads: Math.max(1, int(env, 'JSONLD_THREADS', availableParallelism())),
      timeoutMs: int(env, 'JSONLD_TIMEOUT_MS', 30_000),
      maxQueue: int(env, 'JSONLD_MAX_QUEUE', 64),
      maxResultBytes: int(env, 'JSONLD_MAX_RESULT_BYTES', 64 * 1024 * 1024),
      maxHeapMb: Math.max(64, int(env, 'JSONLD_MAX_HEAP_MB', 1024)),
      anonymous: oneOf(env, 'JSONLD_ANONYMOUS', ['limit', 'deny', 'allow'] as const, 'limit'),
      anonymousPerMinute: int(env, 'JSONLD_ANONYMOUS_PER_MINUTE', 60),
    },
  };
}

/**
 * The admin token: HUB_ADMIN_TOKEN when set; otherwise the one generated on first start and kept in
 * DATA_DIR/admin-token (mode 0600). `generated` tells the caller to print it, once.
 */
export function resolveAdminToken(config: Settings): { token: string; generated: boolean } {
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
