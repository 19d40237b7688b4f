import { hubError } from '../../errors.js';
import type { Hub } from '../../domain/hub.js';
import type { Change, DatasetRecord } from '../../store/types.js';
import { RESOURCE_KIND } from '../icar/translate.js';
import type { Location } from './scope.js';

/** An ADE collection read: the resources of one type at one location, modified within a window. */
export interface CollectionQuery {
  readonly resourceType: string;
  readonly location: Location;
  /** ms since epoch, inclusive; undefined: unbounded */
  readonly modifiedFrom?: number;
  readonly modifiedTo?: number;
  /** the page: resources after this key, at most pageSize of them */
  readonly afterKey?: string;
  readonly pageSize: number;
}

export interface CollectionPage {
  /** the page's resources as stored (JSON text), in key order */
  readonly members: string[];
  /** every match of the query, all pages together */
  readonly totalItems: number;
  /** the key to continue after, when there is a next page */
  readonly nextAfter?: string;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** A resource's location, when it has a well-formed one. */
export function locationOf(doc: unknown): Location | undefined {
  const loc = isObject(doc) ? doc.location : undefined;
  if (!isObject(loc) || typeof loc.scheme !== 'string' || typeof loc.id !== 'string') return undefined;
  return { scheme: loc.scheme, id: loc.id };
}

/** `meta.modified` in ms, or undefined when the resource has no valid one. */
function modifiedOf(doc: Record<string, unknown>): number | undefined {
  const meta = doc.meta;
  if (!isObject(meta) || typeof meta.modified !== 'string') return undefined;
  const t = Date.parse(meta.modified);
  return Number.isNaN(t) ? undefined : t;
}

/** The live ICAR resources of the dataset's current state, parsed, with their changes. */
async function* liveResources(hub: Hub, dataset: DatasetRecord, cheapFilter?: string) {
  for await (const c of hub.store.current(dataset.name, { epoch: dataset.epoch, atLeast: dataset.lastSeq })) {
    if (c.kind !== RESOURCE_KIND || c.deleted) continue;
    // most resources of a dataset are of other types: skip them without a parse
    if (cheapFilter !== undefined && !c.doc.includes(cheapFilter)) continue;
    const doc = JSON.parse(c.doc) as unknown;
    if (isObject(doc)) yield { change: c as Change, doc };
  }
}

/**
 * One page of a collection, read from the dataset's current state in key order (flat memory: only
 * the page is held; the scan counts the rest for `totalItems`).
 */
export async function readCollection(
  hub: Hub,
  dataset: DatasetRecord,
  q: CollectionQuery,
  visible: (loc: Location) => boolean,
): Promise<CollectionPage> {
  if (!visible(q.location)) return { members: [], totalItems: 0 };
  const members: string[] = [];
  let totalItems = 0;
  let lastKey: string | undefined;
  let beyond = false;
  for await (const { change, doc } of liveResources(hub, dataset, JSON.stringify(q.resourceType))) {
    if (doc.resourceType !== q.resourceType) continue;
    const loc = locationOf(doc);
    if (!loc || loc.scheme !== q.location.scheme || loc.id !== q.location.id) continue;
    if (q.modifiedFrom !== undefined || q.modifiedTo !== undefined) {
      const m = modifiedOf(doc);
      if (m === undefined) continue;
      if (q.modifiedFrom !== undefined && m < q.modifiedFrom) continue;
      if (q.modifiedTo !== undefined && m > q.modifiedTo) continue;
    }
    totalItems++;
    if (q.afterKey !== undefined && change.key <= q.afterKey) continue;
    if (members.length < q.pageSize) {
      members.push(change.doc);
      lastKey = change.key;
    } else beyond = true;
  }
  return { members, totalItems, nextAfter: beyond ? lastKey : undefined };
}

/** The distinct locations of the dataset's live resources, sorted by scheme then id. */
export async function readLocations(
  hub: Hub,
  dataset: DatasetRecord,
  visible: (loc: Location) => boolean,
): Promise<Location[]> {
  const seen = new Map<string, Location>();
  for await (const { doc } of liveResources(hub, dataset, '"location"')) {
    const loc = locationOf(doc);
    if (!loc) continue;
    const k = `${loc.scheme}\u0000${loc.id}`;
    if (!seen.has(k) && visible(loc)) seen.set(k, loc);
  }
  return [...seen.values()].sort((a, b) => a.scheme.localeCompare(b.scheme) || a.id.localeCompare(b.id));
}

/** An RFC 3339 date-time query value in ms, or a 400. */
export function parseDateParam(name: string, v: string | undefined): number | undefined {
  if (v === undefined || v === '') return undefined;
  const t = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?$/.test(v)
    ? Date.parse(v)
    : NaN;
  if (Number.isNaN(t))
    throw hubError('INVALID_PARAMETER', `query parameter '${name}' must be an RFC 3339 date-time`);
  return t;
}
