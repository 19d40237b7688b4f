import { Readable } from 'node:stream';
import type { Context } from 'koa';
import { flushEveryWrite } from './compress.js';

/**
 * Chunks written to the socket are at least this big (unless the source pauses or ends). Kept
 * under V8's large-object size (128 KiB): 256 KiB chunks streamed a little faster but each one went
 * straight to the old generation, and the hub's own memory grew by ~50 MB over a 1,000,000-change
 * feed instead of staying flat (bench/).
 */
const CHUNK_CHARS = 64 * 1024;

/** Joins many small strings into socket-sized chunks: fewer writes, same bytes. */
async function* coalesce(source: AsyncIterable<string>): AsyncGenerator<string> {
  let buf = '';
  for await (const s of source) {
    buf += s;
    if (buf.length >= CHUNK_CHARS) {
      yield buf;
      buf = '';
    }
  }
  if (buf !== '') yield buf;
}

export interface StreamOptions {
  readonly contentType: string;
  /** push every piece to the client at once (SSE): no coalescing, the compressor flushed per piece */
  readonly flushEach?: boolean;
}

/**
 * Streams an async iterable of strings as the response body, with back-pressure (the source is
 * pulled only as fast as the client reads, so memory stays flat); compression is http/compress.ts's.
 * The first chunk is read before the body is set: a failure before the first byte (the store went
 * away while the feed opened) is still an answer in the dialect's error body (503), not a
 * connection cut with no status. An event stream starts at once instead: it may wait long for its
 * first event. When the client goes away, the stream is destroyed and the source's `finally` runs
 * (closing store iterators) — also when a compressor stands between the two, which does not pass
 * the end on.
 */
export async function sendStream(
  ctx: Context,
  source: AsyncIterable<string>,
  options: StreamOptions,
): Promise<void> {
  const chunks = options.flushEach ? source : await startedFirst(coalesce(source));
  const readable = Readable.from(chunks, { objectMode: false });
  ctx.res.once('close', () => readable.destroy());
  ctx.type = options.contentType;
  if (options.flushEach) flushEveryWrite(ctx);
  ctx.body = readable;
}

/** The same strings, with the first one already pulled (its failure thrown here). */
async function startedFirst(source: AsyncIterable<string>): Promise<AsyncIterable<string>> {
  const it = source[Symbol.asyncIterator]();
  let first: IteratorResult<string> | undefined = await it.next();
  const iterator: AsyncIterator<string> = {
    next: () => {
      if (first === undefined) return it.next();
      const r = first;
      first = undefined;
      return Promise.resolve(r);
    },
    // Readable.from calls it when destroyed: the source's finally runs even if never read further
    return: async (value?: unknown) => {
      first = undefined;
      return it.return ? it.return(value) : { done: true, value: undefined };
    },
  };
  return { [Symbol.asyncIterator]: () => iterator };
}

/** JSON array framing: `[` head items… tail `]`, comma-separated, from already serialised items. */
export async function* jsonArray(items: AsyncIterable<string>): AsyncGenerator<string> {
  yield '[';
  let first = true;
  for await (const item of items) {
    yield first ? item : ',' + item;
    first = false;
  }
  yield ']';
}

/** NDJSON framing: one JSON value a line. */
export async function* ndjson(items: AsyncIterable<string>): AsyncGenerator<string> {
  for await (const item of items) yield item + '\n';
}

/**
 * jsonArray and coalescing in one pass, for long feeds: items go into socket-sized chunks with no
 * generator between them and the socket per item (each async-generator step costs as much as
 * framing an item; bench/, issue 8).
 */
export async function* jsonArrayChunks(items: AsyncIterable<string>): AsyncGenerator<string> {
  let buf = '[';
  let first = true;
  for await (const item of items) {
    buf += first ? item : ',' + item;
    first = false;
    if (buf.length >= CHUNK_CHARS) {
      yield buf;
      buf = '';
    }
  }
  yield buf + ']';
}

/** ndjson and coalescing in one pass (see jsonArrayChunks). */
export async function* ndjsonChunks(items: AsyncIterable<string>): AsyncGenerator<string> {
  let buf = '';
  for await (const item of items) {
    buf += item + '\n';
    if (buf.length >= CHUNK_CHARS) {
      yield buf;
      buf = '';
    }
  }
  if (buf !== '') yield buf;
}
