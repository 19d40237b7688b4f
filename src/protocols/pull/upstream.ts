import type { ResyncContext, UpstreamConfig, UpstreamRequest } from '../../domain/forwarding.js';
import type { JsonObject } from '../../store/types.js';

/** Items per page read from the upstream's current state. */
const PAGE = 1_000;

export const upstreamBase = (u: UpstreamConfig): string => u.url.replace(/\/+$/, '');
export const upstreamDataset = (u: UpstreamConfig): string => encodeURIComponent(u.dataset);

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The upstream hub's current state of its dataset, every kind rendered as in its feeds (the shared
 * GET /datasets/{id}/resources, NDJSON), page by page through its continuation tokens: what a kind's
 * resync compares with the local dataset. The context and continuation elements are left out.
 */
export async function* upstreamCurrent(ctx: ResyncContext): AsyncGenerator<JsonObject> {
  let from: string | undefined;
  for (;;) {
    const query = `format=ndjson&limit=${PAGE}${from === undefined ? '' : `&from=${encodeURIComponent(from)}`}`;
    const url = `${upstreamBase(ctx.upstream)}/datasets/${upstreamDataset(ctx.upstream)}/resources?${query}`;
    let items = 0;
    let next: string | undefined;
    for await (const line of ctx.calls.lines(url)) {
      if (line.trim() === '') continue;
      const item = JSON.parse(line) as unknown;
      if (!isObject(item)) continue;
      if (item.id === '@context') continue;
      if (item.id === '@continuation') {
        next = typeof item.token === 'string' ? item.token : undefined;
        continue;
      }
      items++;
      yield item;
    }
    if (items < PAGE || next === undefined) return;
    from = next;
  }
}

/**
 * Sends documents (JSON texts) in requests of at most `batchBytes` document bytes each, in order:
 * `build` makes one request of a batch.
 */
export async function sendBatched(
  ctx: ResyncContext,
  docs: AsyncIterable<string>,
  build: (batch: readonly string[]) => UpstreamRequest,
): Promise<number> {
  let batch: string[] = [];
  let bytes = 0;
  let sent = 0;
  for await (const doc of docs) {
    if (batch.length > 0 && bytes + doc.length > ctx.batchBytes) {
      await ctx.calls.post(build(batch));
      sent += batch.length;
      batch = [];
      bytes = 0;
    }
    batch.push(doc);
    bytes += doc.length + 1;
  }
  if (batch.length > 0) {
    await ctx.calls.post(build(batch));
    sent += batch.length;
  }
  return sent;
}
