import type Router from '@koa/router';
import type { Context } from 'koa';
import { hubError } from '../../errors.js';
import { compactorFor, expandCurie, type Compactor } from '../../domain/curie.js';
import { checkJsonLdAvailable } from '../../domain/dataset-context.js';
import type { Principal } from '../../domain/datasets.js';
import { Graph, type Cursor, type Relation, type Resolved } from '../../domain/graph.js';
import { UDA_CORE } from '../../domain/jsonld-loader.js';
import { namespacesOf, type Namespaces } from '../../domain/namespaces.js';
import { datasetsAccess, takeQuota } from '../../http/access.js';
import { credentialOf } from '../../http/auth.js';
import { errorBody, renderHubError } from '../../http/errors.js';
import { readJson } from '../../http/json.js';
import type { DatasetRecord, JsonObject } from '../../store/types.js';
import type { ProtocolDeps } from '../deps.js';
import { queryEnum } from '../pull/query.js';
import { compactEntity, type StoredEntity } from '../uda/entity.js';
import { entityJsonLd } from '../uda/render.js';
import { parseQuery, type QueryRequest } from './query-request.js';

const CONTINUATION = `${UDA_CORE}continuation`;

/**
 * POST /query (docs/uda.md#query): the Mimiro datahub's query API over the hub's entity datasets.
 * Answers are datahub's arrays — `[context, entity…]` for a lookup, `[context, [[start, predicate,
 * entity]…], [continuation…]]` for a traversal — with ids compacted by the namespaces of the datasets
 * in scope; with `Accept: application/ld+json` (or `?format=jsonld`) an expanded JSON-LD `@graph`.
 *
 * Scope: the datasets the query names, each of which the caller must be allowed to read (404/401/403
 * otherwise), or, when it names none, every dataset the caller may read — for a dataset key its own
 * dataset and the public ones, never another.
 */
export function mountQuery(router: Router, deps: ProtocolDeps): void {
  const { hub } = deps;
  const graph = new Graph(hub.store, hub.secret);
  const hubErrors = errorBody(renderHubError);

  router.post('/query', hubErrors, async (ctx) => {
    const format = wantsJsonLd(ctx) ? 'jsonld' : 'plain';
    const query = parseQuery(await readJson(ctx));
    const scopes = new Scopes(deps, ctx);

    if (query.kind === 'lookup') {
      const scope = await scopes.of(query.datasets);
      const ns = mergedNamespaces(scope);
      const found: Resolved[] = [];
      for (const id of query.ids) found.push(await graph.resolve(scope, expand(id, ns)));
      if (format === 'jsonld') {
        for (const d of scope) checkJsonLdAvailable(d, deps.hub.contexts);
        ctx.type = 'application/ld+json';
        ctx.body = { '@graph': found.map(nodeOf) };
        return;
      }
      const c = compactorFor(ns);
      ctx.body = [contextElement(ns), ...found.map((r) => lookupItem(r, c, query.details))];
      return;
    }

    const cursors: Cursor[] =
      query.kind === 'traverse'
        ? await traversalCursors(scopes, query)
        : query.tokens.map((t) => graph.decodeCursor(t));
    const result = await graph.traverse((cursor) => scopes.of(cursor.datasets), cursors, query.limit);
    const tokens = result.next.map((cursor) => graph.encodeCursor(cursor));
    const scope = await scopes.union();
    if (format === 'jsonld') {
      for (const d of scope) checkJsonLdAvailable(d, deps.hub.contexts);
      ctx.type = 'application/ld+json';
      ctx.body = {
        '@graph': traversalNodes(result.relations, cursors),
        [CONTINUATION]: tokens.map((t) => ({ '@value': t })),
      };
      return;
    }
    const ns = mergedNamespaces(scope);
    const c = compactorFor(ns);
    ctx.body = [
      contextElement(ns),
      result.relations.map((r) => [c.compact(r.start), c.compact(r.predicate), entityItem(r.related, c)]),
      tokens,
    ];
  });
}

function wantsJsonLd(ctx: Context): boolean {
  const format = queryEnum(ctx, 'format', ['json', 'jsonld'] as const);
  return format === 'jsonld' || (!format && ctx.get('accept').includes('application/ld+json'));
}

/** The starting entities and predicate, expanded with the namespaces of the query's scope. */
async function traversalCursors(
  scopes: Scopes,
  query: Extract<QueryRequest, { kind: 'traverse' }>,
): Promise<Cursor[]> {
  const ns = mergedNamespaces(await scopes.of(query.datasets));
  const predicate = query.predicate === undefined ? undefined : expand(query.predicate, ns);
  return query.starts.map((s) => ({
    start: expand(s, ns),
    ...(predicate !== undefined ? { predicate } : {}),
    inverse: query.inverse,
    ...(query.datasets ? { datasets: [...query.datasets] } : {}),
  }));
}

/**
 * The scopes of one request: the caller is identified once, each list of dataset names checked
 * once; a dataset key's quota is taken once.
 */
class Scopes {
  private principal: Promise<Principal> | undefined;
  private readonly byNames = new Map<string, Promise<DatasetRecord[]>>();
  private quotaTaken = false;

  constructor(
    private readonly deps: ProtocolDeps,
    private readonly ctx: Context,
  ) {}

  of(names: readonly string[] | undefined): Promise<DatasetRecord[]> {
    const key = names ? JSON.stringify([...new Set(names)].sort()) : '*';
    let p = this.byNames.get(key);
    if (!p) {
      p = names ? this.named([...new Set(names)].sort()) : this.readable();
      this.byNames.set(key, p);
    }
    return p;
  }

  /** Every dataset any scope of this request held (for the answer's namespaces). */
  async union(): Promise<DatasetRecord[]> {
    const all = new Map<string, DatasetRecord>();
    for (const p of this.byNames.values()) for (const d of await p) all.set(d.name, d);
    return [...all.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  private async named(names: string[]): Promise<DatasetRecord[]> {
    const { hub } = this.deps;
    if (this.quotaTaken) {
      const principal = await this.identify();
      const out: DatasetRecord[] = [];
      for (const n of names) {
        const d = await hub.datasets.require(n);
        hub.datasets.authorize(principal, 'read', d);
        out.push(d);
      }
      return out;
    }
    this.quotaTaken = true;
    return (await datasetsAccess(hub, this.ctx, names, 'read')).datasets;
  }

  private async readable(): Promise<DatasetRecord[]> {
    const { hub } = this.deps;
    const principal = await this.identify();
    const scope = await hub.datasets.readable(principal);
    if (principal.role === 'anonymous' && scope.length === 0) {
      throw hubError('UNAUTHORIZED', 'a query needs a key of a dataset (or public datasets to query)');
    }
    if (!this.quotaTaken && (principal.role === 'push' || principal.role === 'read')) {
      this.quotaTaken = true;
      const own = scope.find((d) => d.name === principal.dataset);
      if (own) await takeQuota(hub, this.ctx, own, principal);
    }
    return scope.sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  private identify(): Promise<Principal> {
    this.principal ??= this.deps.hub.datasets.identify(credentialOf(this.ctx));
    return this.principal;
  }
}

/**
 * The namespaces of the datasets in scope, for expanding the query's CURIEs and compacting the answer:
 * a prefix two datasets bind differently keeps the first dataset's binding (by name); the other IRI
 * is then compacted by another prefix or written whole, so every id still expands back to itself.
 */
function mergedNamespaces(scope: readonly DatasetRecord[]): Namespaces {
  const out: Namespaces = {};
  for (const d of scope) {
    for (const [prefix, iri] of Object.entries(namespacesOf(d.attrs))) {
      if (!Object.prototype.hasOwnProperty.call(out, prefix)) {
        Object.defineProperty(out, prefix, {
          value: iri,
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
    }
  }
  return out;
}

function expand(value: string, ns: Namespaces): string {
  return value === '*' ? value : expandCurie(value, ns);
}

const contextElement = (ns: Namespaces): JsonObject => ({ id: '@context', namespaces: ns });

function entityItem(r: Resolved, c: Compactor): JsonObject {
  if (!r.entity) return { id: c.compact(r.id) };
  return compactEntity(r.entity as StoredEntity, c, r.recorded ?? 0, r.entity.deleted);
}

/** A lookup's entity; with details, where each version comes from (datahub's `datahub_details`). */
function lookupItem(r: Resolved, c: Compactor, details: boolean): JsonObject {
  const item = entityItem(r, c);
  if (!details || !r.entity) return item;
  const byDataset: JsonObject = {};
  for (const v of r.versions) {
    byDataset[v.dataset] = {
      latest: {
        ...compactEntity(v.entity as StoredEntity, c, v.change.recorded, v.change.deleted),
        seq: v.change.seq,
      },
    };
  }
  (item.props as JsonObject).datahub_details = byDataset;
  return item;
}

function nodeOf(r: Resolved): object {
  if (!r.entity) return { '@id': r.id };
  return entityJsonLd(r.entity as StoredEntity, { recorded: r.recorded ?? 0, deleted: r.entity.deleted });
}

/**
 * A traversal as JSON-LD: every related entity's node; for outgoing hops also the starting entities
 * with the refs that were followed (an inverse hop's refs are in the related nodes themselves).
 */
function traversalNodes(relations: readonly Relation[], cursors: readonly Cursor[]): object[] {
  const starts = new Map<string, Record<string, Array<{ '@id': string }>>>();
  const inverse = new Map(cursors.map((c) => [c.start, c.inverse]));
  const nodes: object[] = [];
  for (const r of relations) {
    nodes.push(nodeOf(r.related));
    if (inverse.get(r.start)) continue;
    let node = starts.get(r.start);
    if (!node) starts.set(r.start, (node = {}));
    (node[r.predicate] ??= []).push({ '@id': r.related.id });
  }
  return [...[...starts].map(([id, refs]) => ({ '@id': id, ...refs })), ...nodes];
}
