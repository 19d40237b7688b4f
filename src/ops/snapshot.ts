import { createHash } from 'node:crypto';
import { Readable, pipeline } from 'node:stream';
import { CsvError, parse as parseCsv } from 'csv-parse';
import type { Got } from 'got';
import type { JsonObject } from '../store/types.js';

export type SnapshotFormat = 'json' | 'ndjson' | 'csv';

/** A remote resource, read whole and parsed: what one scheduled pull applies. */
export interface Snapshot {
  readonly records: JsonObject[];
  readonly format: SnapshotFormat;
  readonly bytes: number;
  /** sha256 of the bytes as received (decompressed): an identical download needs no re-apply */
  readonly sha256: string;
}

export interface FetchOptions {
  readonly maxBytes: number;
  readonly signal?: AbortSignal;
}

/** A snapshot the hub cannot use (too big, not parseable): nothing of it is applied. */
export class SnapshotError extends Error {
  override readonly name = 'SnapshotError';
}

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The configured format, else the response's Content-Type, else the URL's extension; JSON when nothing says. */
export function formatOf(
  configured: SnapshotFormat | undefined,
  contentType: string,
  url: string,
): SnapshotFormat {
  if (configured) return configured;
  const ct = contentType.toLowerCase();
  if (ct.includes('csv')) return 'csv';
  if (ct.includes('ndjson') || ct.includes('jsonl')) return 'ndjson';
  if (ct.includes('json')) return 'json';
  const path = new URL(url).pathname.toLowerCase();
  if (path.endsWith('.csv')) return 'csv';
  if (/\.(ndjson|jsonl)$/.test(path)) return 'ndjson';
  return 'json';
}

/**
 * Downloads and parses an HTTP(S) resource as a stream (see readSnapshot); got's own retries are off,
 * the scheduler retries whole downloads.
 */
export async function fetchSnapshot(
  client: Got,
  url: string,
  configured: SnapshotFormat | undefined,
  options: FetchOptions & { readonly username?: string; readonly password?: string },
): Promise<Snapshot> {
  const credentials =
    options.username !== undefined || options.password !== undefined
      ? { username: options.username ?? '', password: options.password ?? '' }
      : {};
  const stream = client.stream(url, { signal: options.signal, ...credentials });
  let contentType = '';
  stream.once('response', (res: { headers: Record<string, string | string[] | undefined> }) => {
    const ct = res.headers['content-type'];
    contentType = typeof ct === 'string' ? ct : '';
    const declared = Number(res.headers['content-length']);
    if (
      Number.isFinite(declared) &&
      declared > options.maxBytes &&
      res.headers['content-encoding'] === undefined
    ) {
      stream.destroy(tooBig(options.maxBytes));
    }
  });
  try {
    return await readSnapshot(stream, () => formatOf(configured, contentType, url), options.maxBytes);
  } finally {
    stream.destroy();
  }
}

/**
 * Reads and parses a resource's bytes as they stream in (HTTP or FTP alike): the body is counted
 * (and hashed) as it arrives and reading stops with an error as soon as it passes `maxBytes`, so a
 * runaway resource can never exhaust memory; CSV and NDJSON are parsed as they stream in. Any
 * failure rejects: a snapshot is used whole or not at all. `format` is asked once the first chunk
 * is in (an HTTP response's headers are known by then). The caller closes `stream`.
 */
export async function readSnapshot(
  stream: AsyncIterable<Buffer>,
  format: () => SnapshotFormat,
  maxBytes: number,
): Promise<Snapshot> {
  const hash = createHash('sha256');
  let bytes = 0;
  async function* body(): AsyncGenerator<Buffer> {
    for await (const chunk of stream) {
      bytes += chunk.length;
      if (bytes > maxBytes) throw tooBig(maxBytes);
      hash.update(chunk);
      yield chunk;
    }
  }
  const chunks = body();
  const first = await chunks.next();
  const fmt = format();
  const all = prepend(first.done ? [] : [first.value], chunks);
  let records: JsonObject[];
  if (fmt === 'csv') records = await parseCsvStream(all);
  else if (fmt === 'ndjson') records = await parseNdjsonStream(all);
  else records = await parseJsonArray(all);
  return { records, format: fmt, bytes, sha256: hash.digest('hex') };
}

export function tooBig(max: number): SnapshotError {
  return new SnapshotError(`the resource is larger than ${max} bytes`);
}

async function* prepend(head: Buffer[], rest: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  yield* head;
  while (true) {
    const next = await rest.next();
    if (next.done) return;
    yield next.value;
  }
}

async function parseJsonArray(chunks: AsyncIterable<Buffer>): Promise<JsonObject[]> {
  const parts: Buffer[] = [];
  for await (const c of chunks) parts.push(c);
  const text = decodeUtf8(Buffer.concat(parts));
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new SnapshotError(`the resource is not valid JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(value)) throw new SnapshotError('a JSON resource must be an array of records');
  value.forEach((r, i) => {
    if (!isObject(r)) throw new SnapshotError(`record ${i} of the resource is not a JSON object`);
  });
  return value as JsonObject[];
}

async function parseNdjsonStream(chunks: AsyncIterable<Buffer>): Promise<JsonObject[]> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const records: JsonObject[] = [];
  let rest = '';
  let line = 0;
  const take = (text: string): void => {
    line++;
    const t = text.trim();
    if (t === '') return;
    let value: unknown;
    try {
      value = JSON.parse(t);
    } catch (err) {
      throw new SnapshotError(`line ${line} of the resource is not valid JSON: ${(err as Error).message}`);
    }
    if (!isObject(value)) throw new SnapshotError(`line ${line} of the resource is not a JSON object`);
    records.push(value);
  };
  try {
    for await (const c of chunks) {
      const text = rest + decoder.decode(c, { stream: true });
      const lines = text.split('\n');
      rest = lines.pop() ?? '';
      for (const l of lines) take(l);
    }
    take(rest + decoder.decode());
  } catch (err) {
    if (err instanceof TypeError) throw new SnapshotError('the resource is not valid UTF-8');
    throw err;
  }
  return records;
}

function decodeUtf8(buf: Buffer): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(buf);
  } catch {
    throw new SnapshotError('the resource is not valid UTF-8');
  }
}

/** The most frequent of `,` `;` tab in the header line: ODS exports use `;`, most others `,`. */
export function detectDelimiter(headerLine: string): string {
  let best = ',';
  let bestCount = 0;
  for (const d of [',', ';', '\t']) {
    const n = headerLine.split(d).length - 1;
    if (n > bestCount) {
      best = d;
      bestCount = n;
    }
  }
  return best;
}

/** CSV with a header row; each row becomes an object of strings keyed by the header names. */
async function parseCsvStream(chunks: AsyncIterable<Buffer>): Promise<JsonObject[]> {
  // read until the header line is complete (or 64 KiB) to pick the delimiter
  const head: Buffer[] = [];
  let headBytes = 0;
  const it = chunks[Symbol.asyncIterator]();
  while (headBytes < 64 * 1024) {
    const next = await it.next();
    if (next.done) break;
    head.push(next.value);
    headBytes += next.value.length;
    if (next.value.includes(0x0a)) break;
  }
  const firstLine = Buffer.concat(head).toString('utf8').split('\n')[0] ?? '';
  const parser = parseCsv({
    columns: true,
    bom: true,
    skip_empty_lines: true,
    delimiter: detectDelimiter(firstLine),
  });
  const source = Readable.from(prepend(head, it));
  pipeline(source, parser, () => undefined);
  const records: JsonObject[] = [];
  try {
    for await (const row of parser as AsyncIterable<Record<string, string>>) records.push(row);
  } catch (err) {
    if (err instanceof CsvError) throw new SnapshotError(`the resource is not valid CSV: ${err.message}`);
    throw err;
  }
  return records;
}
