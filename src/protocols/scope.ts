import { hubError } from '../errors.js';
import type { Principal } from '../domain/datasets.js';
import type { WriteGuard } from '../domain/ingest.js';
import type { KeyLocation, KeyScope } from '../domain/keys.js';
import { RECORD_KIND } from '../domain/records.js';
import type { Hub } from '../domain/hub.js';
import { rowOf, searchRecords } from '../query/explore.js';
import { valueNormaliser } from '../query/field-values.js';
import { compileQuery } from '../query/odsql/query.js';
import type { QueryRow } from '../query/odsql/values.js';
import type { Change, DatasetRecord, JsonObject, Store } from '../store/types.js';
import { resourceLocation } from './icar/location.js';
import { RESOURCE_KIND } from './icar/translate.js';
import { ENTITY_KIND } from './uda/translate.js';

/**
 * Key scopes (docs/datasets.md#scoped-keys) on every route of a dataset: a scoped key's reads see
 * only the documents its scope admits, its pushes may write only such documents.
 *
 * A document is in scope when the key's `where` (ODSQL over the document's fields) holds and, if
 * the key lists `locations`, the document's location is one of them. What a document's fields and
 * location are depends on its kind, so each protocol's kind is listed here with what it knows:
 * ICAR resources have a location (icar/location.ts); UDA entities and ODS/Obsrv records have none,
 * so a location-scoped key sees none of them. A kind not listed is never in scope.
 */
interface KindScope {
  readonly location?: (doc: JsonObject) => KeyLocation | undefined;
  /** records are queried with their values normalised (geo points…): the scope sees them the same */
  readonly normalised?: boolean;
}

const KINDS: ReadonlyMap<string, KindScope> = new Map<string, KindScope>([
  [RESOURCE_KIND, { location: resourceLocation }],
  [ENTITY_KIND, {}],
  [RECORD_KIND, { normalised: true }],
]);

/** A key scope compiled for one request on one dataset. */
export interface ScopeCheck {
  /** the key's scope as stored */
  readonly scope: KeyScope;
  /** Is this stored change (latest state or changelog entry, tombstones included) in scope? */
  admits(change: Change): boolean;
  /** Is this document of that kind, under that record key, in scope? */
  admitsDoc(kind: string, key: string, doc: unknown): boolean;
  /** For ODS queries (QuerySpec.scope): a record row, its values already normalised. */
  readonly rows: (row: QueryRow) => boolean;
}

const sameLocation = (a: KeyLocation, b: KeyLocation): boolean => a.scheme === b.scheme && a.id === b.id;

/** Compiles a where of a key scope; an ODSQL error is the 400 ODSQL_ERROR naming the column. */
export function compileScopeWhere(where: string): (row: QueryRow) => boolean {
  return compileQuery({ where }).filter ?? (() => true);
}

/**
 * The scope check of a principal on a dataset; undefined when the principal is not scoped (admin,
 * anonymous, the dataset's own keys, an unscoped additional key). The ADE routes call this too.
 */
export function scopeCheckOf(principal: Principal, dataset: DatasetRecord): ScopeCheck | undefined {
  if (principal.role !== 'read' && principal.role !== 'push') return undefined;
  const scope = principal.scope;
  if (!scope || principal.dataset !== dataset.name) return undefined;
  const where = scope.where !== undefined ? compileScopeWhere(scope.where) : undefined;
  const locations = scope.locations;
  const norm = valueNormaliser(dataset);

  const inScope = (kind: KindScope, row: QueryRow): boolean => {
    if (locations) {
      const loc = kind.location?.(row.fields);
      if (!loc || !locations.some((l) => sameLocation(l, loc))) return false;
    }
    return where === undefined || where(row);
  };
  const rowOfDoc = (kind: KindScope, key: string, recorded: number, doc: unknown): QueryRow | undefined => {
    if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return undefined;
    const fields = kind.normalised && norm ? norm(doc as JsonObject) : (doc as JsonObject);
    return { recordid: key, recorded, fields };
  };

  return {
    scope,
    admits(change) {
      const kind = KINDS.get(change.kind);
      if (!kind) return false;
      const row = kind.normalised
        ? rowOf(change, norm)
        : rowOfDoc(kind, change.key, change.recorded, JSON.parse(change.doc));
      return row !== undefined && inScope(kind, row);
    },
    admitsDoc(kind, key, doc) {
      const k = KINDS.get(kind);
      if (!k) return false;
      const row = rowOfDoc(k, key, Date.now(), doc);
      return row !== undefined && inScope(k, row);
    },
    rows: (row) => inScope(KINDS.get(RECORD_KIND)!, row),
  };
}

/** How many current documents a push guard reads at once. */
const GUARD_READS = 64;

/** What a refusal names: the record key, and the location when the kind has one. */
function refusal(check: ScopeCheck, kind: string, key: string, doc: unknown, why: string) {
  const k = KINDS.get(kind);
  const loc =
    k?.location && doc !== null && typeof doc === 'object' ? k.location(doc as JsonObject) : undefined;
  const where = loc ? ` at location ${loc.scheme}/${loc.id}` : '';
  return hubError('OUT_OF_KEY_SCOPE', `the key may not push '${key}'${where}: ${why}`, {
    key,
    ...(loc ? { location: { scheme: loc.scheme, id: loc.id } } : {}),
    scope: check.scope as unknown as JsonObject,
  });
}

/**
 * The push guard of a scoped key (Ingestor.ingest's `guard`): every document written must be in
 * scope, and so must the current version of every key it replaces or deletes — a scoped key can
 * neither write outside its scope nor move or delete a document that is outside it. A full sync
 * (a sweep deletes what the request does not name) is refused outright. Nothing of a refused
 * request is stored.
 */
export function pushGuardOf(
  store: Store,
  principal: Principal,
  dataset: DatasetRecord,
): WriteGuard | undefined {
  const check = scopeCheckOf(principal, dataset);
  if (!check) return undefined;
  return async (t) => {
    if (t.sweep || (t.clearAux !== undefined && t.clearAux.length > 0))
      throw hubError(
        'OUT_OF_KEY_SCOPE',
        'a scoped key cannot run a full sync (it would delete documents outside its scope)',
        {
          scope: check.scope as unknown as JsonObject,
        },
      );
    for (const w of t.writes) {
      const doc = JSON.parse(w.doc) as unknown;
      if (!check.admitsDoc(w.kind, w.key, doc))
        throw refusal(check, w.kind, w.key, doc, 'the document is outside its scope');
    }
    for (let i = 0; i < t.writes.length; i += GUARD_READS) {
      const batch = t.writes.slice(i, i + GUARD_READS);
      const currents = await Promise.all(batch.map((w) => store.get(dataset.name, w.key)));
      currents.forEach((c, j) => {
        if (c && !c.deleted && !check.admits(c)) {
          const w = batch[j]!;
          throw refusal(check, w.kind, w.key, JSON.parse(c.doc), 'its current version is outside the scope');
        }
      });
    }
  };
}

/** Routes that cannot filter by document (ingest statistics…) refuse a scoped key. */
export function refuseScoped(principal: Principal, what: string): void {
  if ((principal.role === 'read' || principal.role === 'push') && principal.scope)
    throw hubError(
      'FORBIDDEN',
      `a scoped key cannot read ${what}: it would count documents outside its scope`,
    );
}

/**
 * The dataset record as a scoped key may see it: its `count` is the number of records in scope
 * (one pass over the dataset), so catalog entries and their facets count nothing outside it.
 */
export async function scopedRecord(hub: Hub, principal: Principal, d: DatasetRecord): Promise<DatasetRecord> {
  const check = scopeCheckOf(principal, d);
  if (!check) return d;
  const { total } = await searchRecords(hub.store, d, compileQuery({ scope: check.rows }), {
    offset: 0,
    limit: 0,
  });
  return { ...d, count: total };
}

/** The datasets the principal may read (the catalog), each as scopedRecord shows it. */
export async function scopedCatalog(hub: Hub, principal: Principal): Promise<DatasetRecord[]> {
  return Promise.all((await hub.datasets.readable(principal)).map((d) => scopedRecord(hub, principal, d)));
}
