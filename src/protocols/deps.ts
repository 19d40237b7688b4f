import type { Context } from 'koa';
import type { Logger } from 'pino';
import type { KindForwarders } from '../domain/forwarding.js';
import type { Hub } from '../domain/hub.js';
import type { JsonLdPool } from '../domain/jsonld-pool.js';
import type { Metrics } from '../http/metrics.js';
import type { WaitingReaders } from '../http/waiting.js';
import type { KindRenderers } from './pull/render.js';

/** Who may use the /jsonld/* operations without a key (JSONLD_ANONYMOUS, JSONLD_ANONYMOUS_PER_MINUTE). */
export interface JsonLdGate {
  readonly anonymous: 'limit' | 'deny' | 'allow';
  readonly anonymousPerMinute: number;
}

/**
 * What the admin routes may ask of the hub's background work (src/ops/index.ts `Operations`, which
 * the protocols do not import: only the shape they use is named here).
 */
export interface BackgroundWork {
  /** a scheduled pull now; 503 OPERATIONS_STOPPED while the work is not running */
  runScheduleNow(dataset: string): Promise<object>;
}

/** What every protocol adapter is given when it is mounted. */
export interface ProtocolDeps {
  readonly hub: Hub;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly renderers: KindRenderers;
  /** how each kind travels to an upstream hub: each protocol registers its kinds' forwarders */
  readonly forwarders: KindForwarders;
  /** the hub's background work (alerts, schedules, forwarding) */
  readonly operations: BackgroundWork;
  /** the hub's public base URL for a request, no trailing slash */
  readonly baseUrl: (ctx: Context) => string;
  /** how long a UDA full sync may go without a request before it expires */
  readonly fullSyncLeaseMs: number;
  /** caps long-polls and event streams per key */
  readonly waiting: WaitingReaders;
  /** aborted when the hub stops */
  readonly shutdown: AbortSignal;
  /** the JSON-LD worker pool: every jsonld.js call of a request or a feed runs there */
  readonly jsonld: JsonLdPool;
  /** who may use the /jsonld/* utility routes without a key */
  readonly jsonldGate: JsonLdGate;
}
