import { PREFIX, isAbsoluteIri } from '../domain/curie.js';
import type { Namespaces } from '../domain/namespaces.js';
import type { Change, JsonObject } from '../store/types.js';

/** The `upstream` block of a dataset config: another hub's base URL, dataset and push key. */
export interface UpstreamConfig {
  readonly url: string;
  readonly dataset: string;
  readonly key: string;
}

/** Which upstream route carries a change (docs/operations.md#forwarding): by the kind that wrote it. */
export type Route = 'icar' | 'uda' | 'ods-push' | 'ods-delete' | 'none';

export function routeOf(c: Change): Route {
  switch (c.kind) {
    case 'resource':
      return 'icar';
    case 'entity':
      return 'uda';
    case 'record':
      return c.deleted ? 'ods-delete' : 'ods-push';
    default:
      return 'none';
  }
}

export interface UpstreamRequest {
  readonly url: string;
  /** JSON text */
  readonly body: string;
}

const base = (u: UpstreamConfig): string => u.url.replace(/\/+$/, '');
const ds = (u: UpstreamConfig): string => encodeURIComponent(u.dataset);

/**
 * One upstream request for a run of changes of the same route, built from the stored documents
 * (mostly without a parse): ICAR resources and ODS records go as they were pushed, UDA entities in
 * their stored, expanded form.
 */
export function buildRequest(
  upstream: UpstreamConfig,
  route: Exclude<Route, 'none'>,
  changes: readonly Change[],
  namespaces: Namespaces,
): UpstreamRequest {
  switch (route) {
    case 'icar': {
      const context = JSON.stringify({ id: '@context', namespaces });
      const docs = changes.map((c) => (c.deleted ? icarTombstone(c.doc) : c.doc));
      return {
        url: `${base(upstream)}/datasets/${ds(upstream)}/resources`,
        body: `[${context},${docs.join(',')}]`,
      };
    }
    case 'uda': {
      // stored entities hold absolute IRIs only (namespaces must be absolute), which the upstream
      // takes as they are; the namespaces still travel so that its feeds compact like ours
      const context = JSON.stringify({ id: '@context', namespaces: udaNamespaces(namespaces) });
      const docs = changes.map((c) => entityDoc(c));
      return {
        url: `${base(upstream)}/datasets/${ds(upstream)}/entities`,
        body: `[${context},${docs.join(',')}]`,
      };
    }
    case 'ods-push':
    case 'ods-delete': {
      const verb = route === 'ods-push' ? 'push' : 'delete';
      return {
        url: `${base(upstream)}/api/push/1.0/${ds(upstream)}/hub/${verb}/`,
        body: `[${changes.map((c) => c.doc).join(',')}]`,
      };
    }
  }
}

/** An ICAR delete travels as the resource with `meta.isDeleted: true` (as it was pushed, normally). */
function icarTombstone(doc: string): string {
  const r = JSON.parse(doc) as JsonObject;
  const meta = typeof r.meta === 'object' && r.meta !== null && !Array.isArray(r.meta) ? r.meta : {};
  if (meta.isDeleted === true) return doc;
  return JSON.stringify({ ...r, meta: { ...meta, isDeleted: true } });
}

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
