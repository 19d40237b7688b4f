import type { Namespaces } from '../domain/namespaces.js';
import type { Change, JsonObject, JsonValue } from '../store/types.js';

/** The `upstream` block of a dataset config: another hub's base URL, dataset and push key. */
export interface UpstreamConfig {
  readonly url: string;
  readonly dataset: string;
  readonly key: string;
}

/** Which upstream route carries a change (API.md §9): by the kind that wrote it. */
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
 * (mostly without a parse): ICAR resources and ODS records go as they were pushed; UDA entities are
 * compacted with the dataset's namespaces, which travel in the `@context` element.
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
      // the stored IRIs were expanded with the dataset's namespaces: the same map compacts them
      const context = JSON.stringify({ id: '@context', namespaces });
      const docs = changes.map((c) =>
        JSON.stringify(compactEntity(JSON.parse(c.doc) as JsonObject, namespaces, c.deleted)),
      );
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
 * An IRI as a CURIE of the longest namespace that covers it, so that the upstream hub expands it
 * back to the same IRI: `prefix:local`, or the bare local name for the default prefix `_`. An IRI
 * no namespace covers (or whose local name would be read as a CURIE) travels whole.
 */
export function compactIri(iri: string, namespaces: Namespaces): string {
  let best: [string, string] | undefined;
  for (const [prefix, ns] of Object.entries(namespaces)) {
    if (ns !== '' && iri.startsWith(ns) && iri.length > ns.length && (!best || ns.length > best[1].length)) {
      best = [prefix, ns];
    }
  }
  if (!best) return iri;
  const local = iri.slice(best[1].length);
  if (best[0] === '_') return local.includes(':') ? iri : local;
  return `${best[0]}:${local}`;
}

function compactEntity(e: JsonObject, ns: Namespaces, deleted: boolean): JsonObject {
  const c = (v: string): string => compactIri(v, ns);
  const out: JsonObject = { id: typeof e.id === 'string' ? c(e.id) : (e.id ?? null) };
  const props = e.props;
  if (props && typeof props === 'object' && !Array.isArray(props)) {
    out.props = Object.fromEntries(Object.entries(props).map(([k, v]) => [c(k), v]));
  }
  const refs = e.refs;
  if (refs && typeof refs === 'object' && !Array.isArray(refs)) {
    out.refs = Object.fromEntries(
      Object.entries(refs).map(([k, v]): [string, JsonValue] => [
        c(k),
        typeof v === 'string'
          ? c(v)
          : Array.isArray(v)
            ? v.map((x) => (typeof x === 'string' ? c(x) : x))
            : v,
      ]),
    );
  }
  out.deleted = deleted;
  return out;
}
