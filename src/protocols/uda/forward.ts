import { PREFIX, isAbsoluteIri } from '../../domain/curie.js';
import type { KindForwarder, UpstreamConfig, UpstreamRequest } from '../../domain/forwarding.js';
import type { Namespaces } from '../../domain/namespaces.js';
import type { Change, JsonObject } from '../../store/types.js';
import { sendBatched, upstreamBase, upstreamDataset } from '../pull/upstream.js';

/**
 * The namespaces sent with entities: those the UDA route accepts (ICAR pushes into the same dataset
 * may have added others), but never a prefix `urn`, which would capture `urn:` IRIs (the only
 * absolute IRIs without `//`) instead of letting them through as IRIs.
 */
function udaNamespaces(namespaces: Namespaces): Namespaces {
  return Object.fromEntries(
    Object.entries(namespaces).filter(
      ([prefix, iri]) => PREFIX.test(prefix) && prefix.toLowerCase() !== 'urn' && isAbsoluteIri(iri),
    ),
  );
}

/** The stored entity `{"id","props","refs","deleted"}`, with `deleted` as the change says. */
function entityDoc(c: Change): string {
  const e = JSON.parse(c.doc) as JsonObject;
  return e.deleted === c.deleted ? c.doc : JSON.stringify({ ...e, deleted: c.deleted });
}

/**
 * A push of entities (texts) to the upstream's UDA route. Stored entities hold absolute IRIs only
 * (namespaces must be absolute), which the upstream takes as they are; the namespaces still travel
 * so that its feeds compact like ours.
 */
function entitiesRequest(
  upstream: UpstreamConfig,
  namespaces: Namespaces,
  docs: readonly string[],
  headers?: Record<string, string>,
): UpstreamRequest {
  const context = JSON.stringify({ id: '@context', namespaces: udaNamespaces(namespaces) });
  return {
    url: `${upstreamBase(upstream)}/datasets/${upstreamDataset(upstream)}/entities`,
    body: `[${[context, ...docs].join(',')}]`,
    ...(headers ? { headers } : {}),
  };
}

const FULL_SYNC = 'universal-data-api-full-sync';

/**
 * UDA entities go upstream in their stored, expanded form. A resync is a UDA full sync
 * (docs/uda.md#full-sync) of the local current entities: the upstream itself deletes every entity
 * the sync did not send. Its id is fixed per local epoch, so a resync cut short and run again takes
 * its own lease over instead of waiting for it to expire.
 */
export const entityForwarder: KindForwarder = {
  request: (upstream, changes, namespaces) => entitiesRequest(upstream, namespaces, changes.map(entityDoc)),
  resync: async (ctx) => {
    const id = `hub-forward-${ctx.epoch}`;
    let first = true;
    const local = async function* (): AsyncGenerator<string> {
      for await (const c of ctx.local()) yield entityDoc(c);
    };
    const sync = (end: boolean): Record<string, string> => {
      const headers: Record<string, string> = { [`${FULL_SYNC}-id`]: id };
      if (first) headers[`${FULL_SYNC}-start`] = 'true';
      if (end) headers[`${FULL_SYNC}-end`] = 'true';
      first = false;
      return headers;
    };
    await sendBatched(ctx, local(), (docs) =>
      entitiesRequest(ctx.upstream, ctx.namespaces, docs, sync(false)),
    );
    // the end: an empty request closes the sync (a start and end at once when nothing was sent)
    await ctx.calls.post(entitiesRequest(ctx.upstream, ctx.namespaces, [], sync(true)));
  },
};
