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
 * When the client goes away, the stream is destroyed and the source's `finally` runs (closing store
 * iterators) — also when a compressor stands between the two, which does not pass the end on.
 */
export function sendStream(ctx: Context, source: AsyncIterable<string>, options: StreamOptions): void {
  const readable = Readable.from(options.flushEach ? source : coalesce(source), { objectMode: false });
  ctx.res.once('close', () => readable.destroy());
  ctx.type = options.contentType;
  if (options.flushEach) flushEveryWrite(ctx);
  ctx.body = readable;
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
