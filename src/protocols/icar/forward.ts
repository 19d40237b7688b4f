import type {
  KindForwarder,
  ResyncContext,
  UpstreamConfig,
  UpstreamRequest,
} from '../../domain/forwarding.js';
import type { Namespaces } from '../../domain/namespaces.js';
import type { JsonObject } from '../../store/types.js';
import { sendBatched, upstreamBase, upstreamCurrent, upstreamDataset } from '../pull/upstream.js';
import { resourceKey } from './translate.js';

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** An ICAR delete travels as the resource with `meta.isDeleted: true` (as it was pushed, normally). */
function tombstone(doc: string): string {
  const r = JSON.parse(doc) as JsonObject;
  const meta = isObject(r.meta) ? r.meta : {};
  if (meta.isDeleted === true) return doc;
  return JSON.stringify({ ...r, meta: { ...meta, isDeleted: true } });
}

/** A push of resources (texts) to the upstream's ICAR route, the dataset's namespaces first. */
function resourcesRequest(
  upstream: UpstreamConfig,
  namespaces: Namespaces,
  docs: readonly string[],
): UpstreamRequest {
  const context = JSON.stringify({ id: '@context', namespaces });
  return {
    url: `${upstreamBase(upstream)}/datasets/${upstreamDataset(upstream)}/resources`,
    body: `[${[context, ...docs].join(',')}]`,
  };
}

/** The record key of a resource as the upstream renders it (as pushed), or undefined for another kind. */
function keyOf(item: JsonObject): string | undefined {
  const meta = item.meta;
  if (!isObject(meta) || typeof meta.source !== 'string' || typeof meta.sourceId !== 'string')
    return undefined;
  return resourceKey(meta.source, meta.sourceId);
}

/** Tombstones of the upstream's resources the local dataset does not hold (live). */
async function* missingLocally(ctx: ResyncContext): AsyncGenerator<string> {
  for await (const item of upstreamCurrent(ctx)) {
    const key = keyOf(item);
    if (key !== undefined && !(await ctx.isLive(key))) yield tombstone(JSON.stringify(item));
  }
}

/**
 * ICAR resources go upstream as they were pushed, deletes as the resource marked deleted. ICAR has
 * no full sync of its own: a resync reads the upstream's current resources and deletes those the
 * local dataset does not hold.
 */
export const resourceForwarder: KindForwarder = {
  request: (upstream, changes, namespaces) =>
    resourcesRequest(
      upstream,
      namespaces,
      changes.map((c) => (c.deleted ? tombstone(c.doc) : c.doc)),
    ),
  resync: async (ctx) => {
    await sendBatched(ctx, missingLocally(ctx), (docs) =>
      resourcesRequest(ctx.upstream, ctx.namespaces, docs),
    );
  },
};
