import type {
  KindForwarder,
  ResyncContext,
  UpstreamConfig,
  UpstreamRequest,
} from '../../domain/forwarding.js';
import type { JsonObject } from '../../store/types.js';
import { sendBatched, upstreamBase, upstreamCurrent, upstreamDataset } from '../pull/upstream.js';

type Verb = 'push' | 'delete';

/** Records (their fields' JSON texts) to the upstream's ODS push or delete route. */
function recordsRequest(upstream: UpstreamConfig, verb: Verb, docs: readonly string[]): UpstreamRequest {
  return {
    url: `${upstreamBase(upstream)}/api/push/1.0/${upstreamDataset(upstream)}/hub/${verb}/`,
    body: `[${docs.join(',')}]`,
  };
}

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The fields of the upstream's records the local dataset does not hold (live), keyed by `recordid`. */
async function* missingLocally(ctx: ResyncContext): AsyncGenerator<string> {
  for await (const item of upstreamCurrent(ctx)) {
    // a record renders as {"recordid","record_timestamp","fields"} (src/protocols/ods/render.ts)
    if (typeof item.recordid !== 'string' || !isObject(item.fields)) continue;
    if (!(await ctx.isLive(item.recordid))) yield JSON.stringify(item.fields);
  }
}

/**
 * Records (ODS pushes, Obsrv events, scheduled pulls) go upstream through the ODS push route as they
 * were pushed, deletes through its delete route; the upstream keys them by its own config (give both
 * the same `uniqueKeys`). ODS has no full sync: a resync reads the upstream's current records and
 * deletes those the local dataset does not hold.
 */
export const recordForwarder: KindForwarder = {
  lane: (change) => (change.deleted ? 'delete' : 'push'),
  request: (upstream, changes) =>
    recordsRequest(
      upstream,
      changes[0]?.deleted ? 'delete' : 'push',
      changes.map((c) => c.doc),
    ),
  resync: async (ctx) => {
    await sendBatched(ctx, missingLocally(ctx), (docs) => recordsRequest(ctx.upstream, 'delete', docs));
  },
};
