import type { Context } from 'koa';
import type { Logger } from 'pino';
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

/** What every protocol adapter is given when it is mounted. */
export interface ProtocolDeps {
  readonly hub: Hub;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly renderers: KindRenderers;
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
