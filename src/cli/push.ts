import type { Got } from 'got';
import type { JsonObject } from '../store/types.js';
import { CliError, fromHttpError, usageError } from './errors.js';
import { progress } from './progress.js';
import type { Item, Source } from './source.js';

export type PushRoute = 'icar' | 'uda' | 'ods';

export interface PushOptions {
  readonly dataset: string;
  readonly route?: PushRoute;
  /** body bytes per request: the hub takes at most 5 MiB */
  readonly batchBytes: number;
  readonly batchSize: number;
}

export interface PushSummary {
  readonly route: PushRoute;
  readonly items: number;
  readonly batches: number;
  readonly changes: number | null;
}

/** The hub refuses bodies over 5 MiB; stay clearly under it. */
export const MAX_BATCH_BYTES = 5 * 1024 * 1024 - 64 * 1024;

/**
 * Which route a file goes to, decided by its first item (or --route): ICAR resources (a
 * `resourceType` and a `meta` object) → POST /datasets/{id}/resources; UDA entities (an `id` and
 * `props` or `refs`) → POST /datasets/{id}/entities; anything else is records → the ODS push route.
 * CSV rows are always records.
 */
export function routeFor(first: JsonObject | undefined, explicit?: PushRoute): PushRoute {
  if (explicit) return explicit;
  if (!first) return 'ods';
  const obj = (v: unknown): boolean => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (typeof first.resourceType === 'string' && obj(first.meta)) return 'icar';
  if (typeof first.id === 'string' && (obj(first.props) || obj(first.refs))) return 'uda';
  return 'ods';
}

function routePath(route: PushRoute, dataset: string): string {
  const id = encodeURIComponent(dataset);
  if (route === 'icar') return `datasets/${id}/resources`;
  if (route === 'uda') return `datasets/${id}/entities`;
  return `api/push/1.0/${id}/hub/push/`;
}

/**
 * Pushes a file in batches under the hub's 5 MiB limit, one request after the other (each is
 * acknowledged only once durable). A failed batch stops the push: the batches before it are stored,
 * and running the same push again is safe — identical records make no change.
 */
export async function push(http: Got, source: Source, options: PushOptions): Promise<PushSummary> {
  const batchBytes = Math.min(options.batchBytes, MAX_BATCH_BYTES);
  const it = source.items;
  let first = await it.next();
  // ICAR and UDA files may open with their {"id":"@context"} element: it heads every batch
  let context: JsonObject = { id: '@context' };
  if (!first.done && first.value.value.id === '@context') {
    context = first.value.value;
    first = await it.next();
  }
  const route = routeFor(first.done ? undefined : first.value.value, options.route);
  if (source.format === 'csv' && route !== 'ods') throw usageError('CSV rows are records: use --route ods');
  const head = route === 'ods' ? '' : JSON.stringify(context);
  const bar = progress(`push ${options.dataset}`, source.size, 'bytes');

  let batch: string[] = [];
  let bytes = head.length + 2;
  let items = 0;
  let batches = 0;
  let changes: number | null = 0;
  let offset = 0;
  const send = async (): Promise<void> => {
    if (batch.length === 0) return;
    const body = `[${(head ? [head, ...batch] : batch).join(',')}]`;
    const n = batch.length;
    try {
      const reply = await http
        .post(routePath(route, options.dataset), { body, headers: { 'content-type': 'application/json' } })
        .json<{ changes?: unknown }>();
      changes = typeof reply.changes === 'number' && changes !== null ? changes + reply.changes : null;
    } catch (err) {
      const e = fromHttpError(err, `batch ${batches + 1} (items ${items + 1}–${items + n}) failed`);
      const stored = items > 0 ? `; the ${items} items before it are stored (pushing again is safe)` : '';
      throw new CliError(e.exitCode, e.message + stored);
    }
    items += n;
    batches++;
    batch = [];
    bytes = head.length + 2;
    bar.update(offset, items);
  };

  const add = async (item: Item, index: number): Promise<void> => {
    const size = Buffer.byteLength(item.text) + 1;
    if (head.length + 2 + size > batchBytes) {
      throw usageError(`item ${index + 1} is ${size} bytes: larger than a whole request may be`);
    }
    if (batch.length >= options.batchSize || bytes + size > batchBytes) await send();
    batch.push(item.text);
    bytes += size;
    offset = item.offset;
  };

  let index = 0;
  if (!first.done) await add(first.value, index++);
  for await (const item of { [Symbol.asyncIterator]: () => it }) await add(item, index++);
  await send();
  bar.finish(source.size, items);
  return { route, items, batches, changes };
}
