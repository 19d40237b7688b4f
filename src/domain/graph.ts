import { createHmac } from 'node:crypto';
import { hubError } from '../errors.js';
import type { Change, DatasetRecord, IndexEntry, JsonValue, Store } from '../store/types.js';
import { canonicalJson } from './canonical.js';
import { incomingPrefix, predicateOfTerm, refPairs, type Refs } from './refs.js';

/**
 * The entity graph over the hub's datasets (docs/uda.md#query), as the Mimiro datahub's /query
 * answers it: an entity looked up by id in every dataset in scope, and the entities one hop away from
 * a set of starting entities along a predicate (or any), outgoing or incoming, paged with cursors.
 *
 * Scope is always decided by the caller (the datasets the principal may read, narrowed by the
 * request); this module never widens it. Outgoing refs are read from the starting entity's latest
 * version in each dataset; incoming refs from the store's index of latest versions (domain/refs.ts).
 * Deleted entities are not related to anything: their refs are gone from the index and an outgoing ref
 * to an entity deleted everywhere in scope is left out. A ref to an entity no dataset in scope holds
 * is answered with the bare id, as datahub does.
 */

/** An entity of the graph data model as stored: ids and keys are full IRIs. */
export interface GraphEntity {
  readonly id: string;
  readonly props: { readonly [iri: string]: JsonValue };
  readonly refs: Refs;
  readonly deleted: boolean;
}

/** One dataset's version of an entity. */
export interface Found {
  readonly dataset: string;
  readonly change: Change;
  readonly entity: GraphEntity;
}

/** The entity as the graph shows it: its versions in the datasets in scope merged, or only its id. */
export interface Resolved {
  readonly id: string;
  /** the versions it was merged from, in dataset name order; empty when no dataset holds it */
  readonly versions: readonly Found[];
  readonly entity: GraphEntity | undefined;
  readonly recorded: number | undefined;
}

export interface Relation {
  readonly start: string;
  readonly predicate: string;
  readonly related: Resolved;
}

/** Where a traversal from one starting entity stands. */
export interface Cursor {
  readonly start: string;
  /** undefined: any predicate */
  readonly predicate?: string;
  readonly inverse: boolean;
  /** the datasets the request named; undefined: every dataset the caller may read */
  readonly datasets?: readonly string[];
  /** outgoing: the last (predicate, target) pair answered; inverse: the last index entry and its dataset */
  readonly after?: { readonly predicate: string; readonly target: string } | OutPosition;
}

interface OutPosition {
  readonly dataset: string;
  readonly term: string;
  readonly key: string;
}

export interface TraverseResult {
  readonly relations: Relation[];
  /** cursors of the starting entities with more to answer, in request order */
  readonly next: Cursor[];
}

const KIND = 'entity';

function entityOf(change: Change): GraphEntity | undefined {
  if (change.kind !== KIND) return undefined;
  try {
    return JSON.parse(change.doc) as GraphEntity;
  } catch {
    return undefined;
  }
}

export class Graph {
  constructor(
    private readonly store: Store,
    private readonly secret: string,
  ) {}

  /** The entity's latest version in each dataset in scope (deleted ones included), in scope order. */
  async versions(scope: readonly DatasetRecord[], id: string): Promise<Found[]> {
    return (await this.versionsOfMany(scope, [id]))[0]!;
  }

  async resolve(scope: readonly DatasetRecord[], id: string): Promise<Resolved> {
    return resolved(id, await this.versions(scope, id));
  }

  /** The versions of several ids: one read per dataset, not per id. */
  private async versionsOfMany(scope: readonly DatasetRecord[], ids: readonly string[]): Promise<Found[][]> {
    const out: Found[][] = ids.map(() => []);
    for (const d of scope) {
      const changes = await this.store.getMany(d.name, ids);
      for (const [i, c] of changes.entries()) {
        const entity = c ? entityOf(c) : undefined;
        if (c && entity) out[i]!.push({ dataset: d.name, change: c, entity });
      }
    }
    return out;
  }

  /**
   * One page of a traversal: the cursors in order, `limit` relations in all (a starting entity whose
   * relations did not fit keeps its cursor in `next`, and so does every one after it).
   */
  async traverse(
    scopeOf: (cursor: Cursor) => Promise<readonly DatasetRecord[]>,
    cursors: readonly Cursor[],
    limit: number,
  ): Promise<TraverseResult> {
    const relations: Relation[] = [];
    const next: Cursor[] = [];
    for (const cursor of cursors) {
      const room = limit - relations.length;
      if (room <= 0) {
        next.push(cursor);
        continue;
      }
      const scope = [...(await scopeOf(cursor))].sort((a, b) => (a.name < b.name ? -1 : 1));
      const page = cursor.inverse
        ? await this.incoming(scope, cursor, room)
        : await this.outgoing(scope, cursor, room);
      relations.push(...page.relations);
      if (page.next) next.push(page.next);
    }
    return { relations, next };
  }

  private async outgoing(
    scope: readonly DatasetRecord[],
    cursor: Cursor,
    room: number,
  ): Promise<{ relations: Relation[]; next?: Cursor }> {
    const seen = new Set<string>();
    let pairs: Array<readonly [string, string]> = [];
    for (const v of await this.versions(scope, cursor.start)) {
      if (v.entity.deleted || v.change.deleted) continue;
      for (const pair of refPairs(v.entity.refs)) {
        if (cursor.predicate !== undefined && pair[0] !== cursor.predicate) continue;
        const id = `${pair[0]}\u0001${pair[1]}`;
        if (!seen.has(id)) {
          seen.add(id);
          pairs.push(pair);
        }
      }
    }
    pairs.sort(([pa, ta], [pb, tb]) => (pa !== pb ? (pa < pb ? -1 : 1) : ta < tb ? -1 : ta > tb ? 1 : 0));
    const after = cursor.after && 'target' in cursor.after ? cursor.after : undefined;
    if (after) {
      pairs = pairs.filter(([p, t]) => p > after.predicate || (p === after.predicate && t > after.target));
    }
    const relations: Relation[] = [];
    let i = 0;
    while (i < pairs.length && relations.length < room) {
      const chunk = pairs.slice(i, i + Math.max(room - relations.length, 16));
      const found = await this.versionsOfMany(
        scope,
        chunk.map(([, t]) => t),
      );
      for (const [j, [predicate, target]] of chunk.entries()) {
        i++;
        const r = resolved(target, found[j]!);
        // an entity deleted everywhere in scope is not there to be related to
        if (r.entity?.deleted) continue;
        relations.push({ start: cursor.start, predicate, related: r });
        if (relations.length >= room) break;
      }
    }
    if (i >= pairs.length) return { relations };
    const [predicate, target] = pairs[i - 1]!;
    return { relations, next: { ...cursor, after: { predicate, target } } };
  }

  private async incoming(
    scope: readonly DatasetRecord[],
    cursor: Cursor,
    room: number,
  ): Promise<{ relations: Relation[]; next?: Cursor }> {
    const relations: Relation[] = [];
    let last: OutPosition | undefined;
    // one entry more than the page holds: whether a cursor is needed is known without another page
    for await (const { dataset, entries } of this.incomingEntries(scope, cursor, Math.min(room, 1000) + 1)) {
      const changes = await this.store.getMany(
        dataset,
        entries.map((e) => e.key),
      );
      for (const [j, e] of entries.entries()) {
        if (relations.length >= room) return { relations, next: { ...cursor, after: last } };
        last = { dataset, term: e.term, key: e.key };
        const c = changes[j];
        const entity = c ? entityOf(c) : undefined;
        // a write between the index scan and the read: trust only the version read
        if (!c || !entity || c.deleted || entity.deleted || !refersTo(entity.refs, cursor.start, e.term))
          continue;
        relations.push({
          start: cursor.start,
          predicate: predicateOfTerm(e.term),
          related: resolved(entity.id, [{ dataset, change: c, entity }]),
        });
      }
    }
    return { relations };
  }

  /** The index entries of refs to the cursor's start, dataset by dataset, in batches of `batch`. */
  private async *incomingEntries(
    scope: readonly DatasetRecord[],
    cursor: Cursor,
    batch: number,
  ): AsyncGenerator<{ dataset: string; entries: IndexEntry[] }> {
    const prefix = incomingPrefix(cursor.start, cursor.predicate);
    const at = cursor.after && 'term' in cursor.after ? cursor.after : undefined;
    for (const d of scope) {
      if (at && d.name < at.dataset) continue;
      let after: IndexEntry | undefined =
        at && d.name === at.dataset ? { term: at.term, key: at.key } : undefined;
      while (true) {
        const entries = await collect(
          this.store.indexScan(d.name, { epoch: d.epoch, prefix, after, limit: batch, atLeast: d.lastSeq }),
        );
        if (entries.length === 0) break;
        yield { dataset: d.name, entries };
        if (entries.length < batch) break;
        after = entries[entries.length - 1]!;
      }
    }
  }

  // ---- continuation tokens --------------------------------------------------------------------

  /** A cursor as an opaque token: base64url of its JSON and a MAC, so that it is only ever ours. */
  encodeCursor(cursor: Cursor): string {
    const body = Buffer.from(JSON.stringify(cursor), 'utf8').toString('base64url');
    return `${body}.${this.mac(body)}`;
  }

  decodeCursor(token: unknown): Cursor {
    const invalid = hubError(
      'INVALID_TOKEN',
      'a continuation token is malformed or was not issued by this hub',
    );
    if (typeof token !== 'string' || token.length > 65536) throw invalid;
    const dot = token.indexOf('.');
    if (dot < 0) throw invalid;
    const body = token.slice(0, dot);
    if (this.mac(body) !== token.slice(dot + 1)) throw invalid;
    try {
      return JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Cursor;
    } catch {
      throw invalid;
    }
  }

  private mac(body: string): string {
    return createHmac('sha256', this.secret).update(`graph-cursor\n${body}`).digest('base64url').slice(0, 22);
  }
}

function refersTo(refs: Refs, target: string, term: string): boolean {
  const predicate = predicateOfTerm(term);
  const t = refs[predicate];
  return t === target || (Array.isArray(t) && t.includes(target));
}

async function collect(it: AsyncIterable<IndexEntry>): Promise<IndexEntry[]> {
  const out: IndexEntry[] = [];
  for await (const e of it) out.push(e);
  return out;
}

/** The versions of one id merged (live ones; the latest deleted one when none is live). */
export function resolved(id: string, versions: readonly Found[]): Resolved {
  const live = versions.filter((v) => !v.change.deleted && !v.entity.deleted);
  const recorded = versions.length ? Math.max(...versions.map((v) => v.change.recorded)) : undefined;
  if (live.length === 0) {
    const latest = [...versions].sort((a, b) => b.change.recorded - a.change.recorded)[0];
    return {
      id,
      versions,
      entity: latest ? { ...latest.entity, deleted: true } : undefined,
      recorded,
    };
  }
  return { id, versions, entity: mergeVersions(live.map((v) => v.entity)), recorded };
}

/**
 * Versions of one entity from several datasets as one (datahub's partial merging): a property or ref
 * that only one has, or that all have alike, is kept as is; differing values become the list of the
 * distinct values, in dataset order.
 */
export function mergeVersions(entities: readonly GraphEntity[]): GraphEntity {
  if (entities.length === 1) return entities[0]!;
  const props: Record<string, JsonValue> = {};
  const refs: Record<string, string | string[]> = {};
  const define = <T>(target: Record<string, T>, k: string, v: T): void => {
    Object.defineProperty(target, k, { value: v, enumerable: true, writable: true, configurable: true });
  };
  const has = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);
  for (const e of entities) {
    for (const [k, v] of Object.entries(e.props)) {
      if (!has(props, k)) {
        define(props, k, v);
        continue;
      }
      const had = props[k]!;
      const list = Array.isArray(had) && (had as unknown as { merged?: true }).merged ? had : [had];
      if (list.some((x) => canonicalJson(x) === canonicalJson(v))) continue;
      const merged = [...list, v];
      Object.defineProperty(merged, 'merged', { value: true, enumerable: false });
      define(props, k, merged);
    }
    for (const [k, v] of Object.entries(e.refs)) {
      const targets = typeof v === 'string' ? [v] : [...v];
      const had = has(refs, k) ? refs[k]! : [];
      const all = [...new Set([...(typeof had === 'string' ? [had] : had), ...targets])];
      define(refs, k, all.length === 1 ? all[0]! : all);
    }
  }
  return { id: entities[0]!.id, props, refs, deleted: false };
}
