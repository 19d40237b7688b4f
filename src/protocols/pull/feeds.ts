import type { Context } from 'koa';
import { hubError } from '../../errors.js';
import { openChanges, openCurrent, waitForChange, type ChangesReader } from '../../domain/feed.js';
import type { Hub } from '../../domain/hub.js';
import type { Principal } from '../../domain/datasets.js';
import type { Metrics } from '../../http/metrics.js';
import type { WaitingReaders } from '../../http/waiting.js';
import { namespacesOf } from '../../domain/namespaces.js';
import { encodeSeqToken } from '../../domain/tokens.js';
import { jsonArrayChunks, ndjsonChunks, sendStream } from '../../http/stream.js';
import type { Change, DatasetRecord } from '../../store/types.js';
import { checkJsonLdAvailable } from '../../domain/dataset-context.js';
import { queryBool, queryEnum, queryInt, queryString } from './query.js';
import { scopeCheckOf } from '../scope.js';
import type { ItemFormat, KindRenderers, RenderContext } from './render.js';

export interface PullDeps {
  readonly hub: Hub;
  readonly renderers: KindRenderers;
  readonly metrics: Metrics;
  readonly waiting: WaitingReaders;
  readonly shutdown: AbortSignal;
  /** the hub's public base URL for this request, no trailing slash */
  readonly baseUrl: (ctx: Context) => string;
}

/** Long-polls wait at most this long, whatever the client asks. */
export const MAX_LONGPOLL_MS = 300_000;
const DEFAULT_LONGPOLL_MS = 30_000;
/** An idle SSE stream sends a comment this often so proxies and clients know it is alive. */
const SSE_HEARTBEAT_MS = 15_000;
const MAX_LIMIT = 1_000_000_000;

type Framing = 'json' | 'ndjson';

/** A format=jsonld feed's batch for the worker pool: at most this many items, or this much stored text. */
const JSONLD_BATCH_ITEMS = 256;
const JSONLD_BATCH_BYTES = 1024 * 1024;

/**
 * The reset signal of a feed whose token is of an older epoch: ICAR's header, and the Universal Data
 * API's, so that a UDA client deletes its local copy and starts over (docs/uda.md#the-reset-signal).
 */
export const RESET_HEADERS = ['icar-full-sync', 'universal-data-api-fullsync'] as const;

function signalReset(ctx: Context): void {
  for (const h of RESET_HEADERS) ctx.set(h, 'true');
}

/** JSON array by default; NDJSON and JSON-LD items by `format=` or the Accept header. */
function negotiate(ctx: Context): { framing: Framing; format: ItemFormat } {
  const format = queryEnum(ctx, 'format', ['json', 'ndjson', 'jsonld'] as const);
  const accept = ctx.get('accept');
  const framing: Framing =
    format === 'ndjson' || (!format && accept.includes('application/x-ndjson')) ? 'ndjson' : 'json';
  const itemFormat: ItemFormat =
    format === 'jsonld' || (!format && accept.includes('application/ld+json')) ? 'jsonld' : 'plain';
  return { framing, format: itemFormat };
}

function renderContext(
  deps: PullDeps,
  ctx: Context,
  dataset: DatasetRecord,
  format: ItemFormat,
): RenderContext {
  if (format === 'jsonld') checkJsonLdAvailable(dataset, deps.hub.contexts);
  return { dataset, baseUrl: deps.baseUrl(ctx), namespaces: namespacesOf(dataset.attrs), format };
}

const contextElement = (rc: RenderContext): string =>
  JSON.stringify({ id: '@context', namespaces: rc.namespaces });

/** Who holds a waiting reader: the key, or the address of an anonymous reader of a public dataset. */
function holderOf(ctx: Context, principal: Principal): string {
  if (principal.role === 'push' || principal.role === 'read') return `key:${principal.keyHash}`;
  if (principal.role === 'admin') return 'admin';
  return `ip:${ctx.ip}`;
}

/** Aborts when the client's connection closes or the hub stops, so waits and streams end with them. */
function readerDone(deps: PullDeps, ctx: Context): AbortSignal {
  const ac = new AbortController();
  ctx.res.once('close', () => ac.abort());
  return AbortSignal.any([ac.signal, deps.shutdown]);
}

/** The feed's elements: `head`, every item rendered by its kind's renderer, then `tail()`. */
async function* feedItems(
  deps: PullDeps,
  rc: RenderContext,
  head: string,
  items: AsyncIterable<Change>,
  tail: () => string,
): AsyncGenerator<string> {
  yield head;
  if (rc.format !== 'jsonld') {
    for await (const c of items) {
      const r = deps.renderers.render(c, rc);
      yield typeof r === 'string' ? r : await r;
    }
  } else {
    // JSON-LD items are made on the worker pool, a bounded batch per task: one round trip per
    // batch, and no more than one batch of documents in memory
    let batch: Change[] = [];
    let bytes = 0;
    for await (const c of items) {
      batch.push(c);
      bytes += c.doc.length;
      if (batch.length >= JSONLD_BATCH_ITEMS || bytes >= JSONLD_BATCH_BYTES) {
        yield* await deps.renderers.renderMany(batch, rc);
        batch = [];
        bytes = 0;
      }
    }
    if (batch.length > 0) yield* await deps.renderers.renderMany(batch, rc);
  }
  yield tail();
}

function send(ctx: Context, framing: Framing, items: AsyncIterable<string>): Promise<void> {
  if (framing === 'ndjson')
    return sendStream(ctx, ndjsonChunks(items), { contentType: 'application/x-ndjson' });
  return sendStream(ctx, jsonArrayChunks(items), { contentType: 'application/json' });
}

/**
 * GET …/changes (docs/icar.md#pull): context element, the changes after `since` in sequence order, and the
 * continuation element last (always present). `feed=longpoll` waits for a first change;
 * `feed=eventsource` streams changes as Server-Sent Events until the client leaves.
 */
export async function serveChanges(
  deps: PullDeps,
  ctx: Context,
  dataset: DatasetRecord,
  principal: Principal,
): Promise<void> {
  const feed = queryEnum(ctx, 'feed', ['normal', 'longpoll', 'eventsource'] as const) ?? 'normal';
  const since = queryString(ctx, 'since');
  const limit = queryInt(ctx, 'limit', 0, MAX_LIMIT);
  const latestOnly = queryBool(ctx, 'latestOnly') ?? false;
  const reverse = queryBool(ctx, 'reverse') ?? false;
  const timeout = queryInt(ctx, 'timeout', 0, MAX_LONGPOLL_MS) ?? DEFAULT_LONGPOLL_MS;
  const { framing, format } = negotiate(ctx);
  const { hub } = deps;
  // a scoped key's feed holds only its documents; the position still moves past the others
  const filter = scopeCheckOf(principal, dataset)?.admits;

  if (reverse && feed !== 'normal') {
    throw hubError(
      'INVALID_PARAMETER',
      `reverse=true reads back in time; it cannot be combined with feed=${feed}`,
    );
  }
  if (feed === 'eventsource') {
    const lastEventId = ctx.get('last-event-id');
    return serveEventSource(
      deps,
      ctx,
      dataset,
      lastEventId !== '' ? lastEventId : since,
      format,
      holderOf(ctx, principal),
      filter,
    );
  }

  let reader = openChanges(hub.store, hub.secret, dataset, { since, limit, latestOnly, reverse, filter });
  if (feed === 'longpoll' && !reader.fullSync && dataset.lastSeq <= reader.afterSeq) {
    const release = deps.waiting.acquire(holderOf(ctx, principal));
    const gauge = deps.metrics.waitingReaders.labels('longpoll');
    gauge.inc();
    const changed = await waitForChange(
      hub.store,
      dataset,
      reader.afterSeq,
      timeout,
      readerDone(deps, ctx),
    ).finally(() => {
      gauge.dec();
      release();
    });
    if (changed) {
      const fresh = await hub.datasets.require(dataset.name);
      reader = openChanges(hub.store, hub.secret, fresh, { since, limit, latestOnly, filter });
    }
  }
  if (reader.fullSync) signalReset(ctx);
  const rc = renderContext(deps, ctx, reader.dataset, format);
  const r = reader;
  const continuation = () => JSON.stringify({ id: '@continuation', token: r.token() });
  await send(ctx, framing, feedItems(deps, rc, contextElement(rc), r.items(), continuation));
}

/** feed=eventsource: one event per change, its token as the event id, resumable with Last-Event-ID. */
function serveEventSource(
  deps: PullDeps,
  ctx: Context,
  dataset: DatasetRecord,
  start: string | undefined,
  format: ItemFormat,
  holder: string,
  filter: ((c: Change) => boolean) | undefined,
): Promise<void> {
  const { hub } = deps;
  // a bad token is a 400 now, before the stream starts
  const first = openChanges(hub.store, hub.secret, dataset, { since: start, filter });
  if (first.fullSync) signalReset(ctx);
  ctx.set('Cache-Control', 'no-cache');
  ctx.set('X-Accel-Buffering', 'no');
  const signal = readerDone(deps, ctx);
  const rc = renderContext(deps, ctx, dataset, format);
  const release = deps.waiting.acquire(holder);
  const open = deps.metrics.waitingReaders.labels('eventsource');
  open.inc();
  ctx.res.once('close', () => {
    open.dec();
    release();
  });

  async function* events(): AsyncGenerator<string> {
    yield `retry: 2000\nevent: context\ndata: ${contextElement(rc)}\n\n`;
    let reader: ChangesReader = first;
    while (!signal.aborted) {
      for await (const c of reader.items()) {
        const id = encodeSeqToken(hub.secret, dataset.name, { epoch: reader.dataset.epoch, seq: c.seq });
        const item = deps.renderers.render(c, { ...rc, dataset: reader.dataset });
        yield `id: ${id}\ndata: ${typeof item === 'string' ? item : await item}\n\n`;
        if (signal.aborted) return;
      }
      const position = reader.token();
      const changed = await waitForChange(
        hub.store,
        reader.dataset,
        reader.position(),
        SSE_HEARTBEAT_MS,
        signal,
      );
      if (signal.aborted) return;
      if (!changed) yield ': keep-alive\n\n';
      const fresh = await hub.datasets.get(dataset.name);
      if (!fresh) return; // the dataset was deleted: end the stream
      reader = openChanges(hub.store, hub.secret, fresh, { since: position, filter });
      if (reader.fullSync) yield 'event: full-sync\ndata: {}\n\n';
    }
  }
  return sendStream(ctx, events(), { contentType: 'text/event-stream', flushEach: true });
}

/**
 * Current state (GET …/resources, …/entities): live keys in key order, paged with `from` and
 * `limit`; the continuation carries the next page's `from` token and, as `since`, the changes
 * token of the state the listing started from.
 */
export async function serveCurrent(
  deps: PullDeps,
  ctx: Context,
  dataset: DatasetRecord,
  principal: Principal,
): Promise<void> {
  const from = queryString(ctx, 'from');
  const limit = queryInt(ctx, 'limit', 0, MAX_LIMIT);
  const reverse = queryBool(ctx, 'reverse') ?? false;
  const { framing, format } = negotiate(ctx);
  const filter = scopeCheckOf(principal, dataset)?.admits;
  const reader = openCurrent(deps.hub.store, deps.hub.secret, dataset, { from, limit, reverse, filter });
  if (reader.fullSync) signalReset(ctx);
  const rc = renderContext(deps, ctx, dataset, format);
  const continuation = () =>
    JSON.stringify({ id: '@continuation', token: reader.token(), since: reader.changesToken() });
  await send(ctx, framing, feedItems(deps, rc, contextElement(rc), reader.items(), continuation));
}

/** One item, rendered as its kind renders it in feeds. */
export async function renderOne(
  deps: PullDeps,
  ctx: Context,
  dataset: DatasetRecord,
  change: Change,
): Promise<string> {
  const { format } = negotiate(ctx);
  return await deps.renderers.render(change, renderContext(deps, ctx, dataset, format));
}
