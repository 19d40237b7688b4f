import { Heap } from 'heap-js';
import type { Change, DatasetRecord, JsonObject, Store } from '../store/types.js';
import type { AnalysisPage } from './odsql/analysis.js';
import { rawDoc } from './odsql/prefilter.js';
import type { CompiledQuery } from './odsql/query.js';
import type { QueryRow, Value } from './odsql/values.js';
import { RECORD_KIND } from '../domain/records.js';
import { valueNormaliser, type ValueNormaliser } from './field-values.js';

/**
 * Queries over a dataset's current state (docs/ods.md#explore): searches, exports and analyses
 * (group_by, aggregates, geo clusters). Every query is one pass over the store's current-state
 * iterator, records only (kind `record`: ODS pushes, Obsrv events, scheduled pulls); each stored
 * text is parsed at most once, and a cheap text test skips most non-matching records before
 * parsing. No index: on this hardware one pass over 100,000 records takes a few hundred
 * milliseconds (`npm run bench`, scenario 6: bench/README.md).
 */

/** A stored record change as queries see it. Non-object documents (an Obsrv event could be) are `{value}`. */
export function rowOf(c: Change, normalise?: ValueNormaliser): QueryRow {
  const parsed = JSON.parse(c.doc) as unknown;
  const fields =
    parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)
      ? (parsed as JsonObject)
      : ({ value: parsed } as JsonObject);
  return { recordid: c.key, recorded: c.recorded, fields: normalise ? normalise(fields) : fields };
}

export interface Page {
  readonly offset: number;
  readonly limit: number;
}

export interface SearchResult {
  /** every record that matches, whatever the page */
  readonly total: number;
  readonly rows: QueryRow[];
}

/** A match as sorting sees it: its sort values, then its id to break ties. */
interface Ranked {
  readonly id: string;
  readonly keys: Value[];
}

/** Order of the query, then record id, so that equal sort values still page deterministically. */
function rankCompare(order: NonNullable<CompiledQuery['order']>): (a: Ranked, b: Ranked) => number {
  return (a, b) => order.compare(a.keys, b.keys) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/**
 * The total number of matches and one page of them. Without order_by the page is in record-id
 * order; with it, only the best offset+limit records are held (a bounded heap), so memory does not
 * grow with the dataset.
 */
export async function searchRecords(
  store: Store,
  dataset: DatasetRecord,
  q: CompiledQuery,
  page: Page,
): Promise<SearchResult> {
  const norm = valueNormaliser(dataset);
  const { filter, raw, order } = q;
  const end = page.offset + page.limit;
  let total = 0;
  const rows: QueryRow[] = [];
  const cmp = order ? rankCompare(order) : undefined;
  // the worst of the kept records is on top, ready to be replaced by a better one
  const heap = cmp ? new Heap<Ranked & { row: QueryRow }>((a, b) => cmp(b, a)) : undefined;

  for await (const c of store.current(dataset.name, { epoch: dataset.epoch, atLeast: dataset.lastSeq })) {
    if (c.kind !== RECORD_KIND) continue;
    if (raw && !raw(rawDoc(c.doc))) continue;
    let row: QueryRow | undefined;
    if (filter) {
      row = rowOf(c, norm);
      if (!filter(row)) continue;
    }
    total++;
    if (heap && order && cmp) {
      if (end === 0) continue;
      row ??= rowOf(c, norm);
      const entry = { id: row.recordid, keys: order.keys(row), row };
      if (heap.size() < end) heap.push(entry);
      else if (cmp(entry, heap.peek()!) < 0) heap.replace(entry);
    } else if (total > page.offset && total <= end) {
      rows.push(row ?? rowOf(c, norm));
    }
  }
  if (heap && cmp) {
    const sorted = heap.toArray().sort(cmp);
    return { total, rows: sorted.slice(page.offset).map((e) => e.row) };
  }
  return { total, rows };
}

/**
 * Every match, streamed (exports). Without order_by this is one pass with flat memory that stops
 * at the limit. With order_by only the sort values and ids of the matches are held and sorted,
 * then each record is read again by id (a record changed in between is re-checked against the
 * filter and shown as it is now).
 */
export async function* streamRecords(
  store: Store,
  dataset: DatasetRecord,
  q: CompiledQuery,
  options: { readonly offset: number; readonly limit?: number },
): AsyncGenerator<QueryRow> {
  const norm = valueNormaliser(dataset);
  const { filter, raw, order } = q;
  const limit = options.limit ?? Infinity;
  if (limit <= 0) return;
  if (!order) {
    let skipped = 0;
    let emitted = 0;
    for await (const c of store.current(dataset.name, { epoch: dataset.epoch, atLeast: dataset.lastSeq })) {
      if (c.kind !== RECORD_KIND) continue;
      if (raw && !raw(rawDoc(c.doc))) continue;
      const row = rowOf(c, norm);
      if (filter && !filter(row)) continue;
      if (skipped < options.offset) {
        skipped++;
        continue;
      }
      yield row;
      if (++emitted >= limit) return;
    }
    return;
  }

  const matches: Ranked[] = [];
  for await (const c of store.current(dataset.name, { epoch: dataset.epoch, atLeast: dataset.lastSeq })) {
    if (c.kind !== RECORD_KIND) continue;
    if (raw && !raw(rawDoc(c.doc))) continue;
    const row = rowOf(c, norm);
    if (filter && !filter(row)) continue;
    matches.push({ id: row.recordid, keys: order.keys(row) });
  }
  matches.sort(rankCompare(order));
  const end = Math.min(matches.length, options.offset + limit);
  for (let i = options.offset; i < end; i++) {
    const c = await store.get(dataset.name, matches[i]!.id);
    if (!c || c.deleted || c.kind !== RECORD_KIND) continue;
    const row = rowOf(c, norm);
    if (filter && !filter(row)) continue;
    yield row;
  }
}

/** The columns of a CSV export: the select's names, or every name the matching results have. */
export async function columnsOf(store: Store, dataset: DatasetRecord, q: CompiledQuery): Promise<string[]> {
  if (q.columns) return q.columns;
  const names = new Set<string>();
  for await (const row of streamRecords(store, dataset, { ...q, order: undefined }, { offset: 0 })) {
    for (const k of Object.keys(q.project(row))) names.add(k);
  }
  return [...names];
}

/**
 * An analysis (group_by, aggregates): one pass over the matching records, each fed to its group,
 * then one page of groups in the query's order. Memory holds the groups only (at most
 * MAX_GROUPS, analysis.ts), never the records.
 */
export async function analyzeRecords(
  store: Store,
  dataset: DatasetRecord,
  q: CompiledQuery,
  page: AnalysisPage,
): Promise<{ total: number; rows: JsonObject[] }> {
  const norm = valueNormaliser(dataset);
  const { filter, raw, analysis } = q;
  if (!analysis) throw new Error('analyzeRecords needs an analysis query');
  const run = analysis.start();
  for await (const c of store.current(dataset.name, { epoch: dataset.epoch, atLeast: dataset.lastSeq })) {
    if (c.kind !== RECORD_KIND) continue;
    if (raw && !raw(rawDoc(c.doc))) continue;
    const row = rowOf(c, norm);
    if (filter && !filter(row)) continue;
    run.add(row);
  }
  return run.results(page);
}
