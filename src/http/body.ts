import type { IncomingMessage } from 'node:http';
import { createGunzip, createInflate, type Gunzip, type Inflate } from 'node:zlib';
import { hubError, HubError } from '../errors.js';

/** docs/datasets.md#requests: every push route takes at most 5 MiB of (decompressed) body. */
export const MAX_BODY_BYTES = 5 * 1024 * 1024;
/** Deeper JSON than this is refused before it is parsed: no record needs it, and it costs stacks. */
export const MAX_JSON_DEPTH = 128;

export interface BodyOptions {
  readonly limit?: number;
  /** a client that sends nothing for this long is cut off (slow-loris) */
  readonly idleTimeoutMs?: number;
  /** the message of a 413, in the protocol's words */
  readonly tooLargeMessage?: string;
}

const DEFAULT_IDLE_MS = 10_000;

function tooLarge(limit: number, message?: string): HubError {
  return hubError('PAYLOAD_TOO_LARGE', message ?? `the request body is larger than ${limit} bytes`, {
    limit,
    closeConnection: true,
  });
}

/**
 * Reads the request body into memory, never more than `limit` bytes after decompression: the limit
 * is decided while reading (a declared Content-Length over it is refused before a byte is read), so
 * neither a huge upload nor a gzip bomb is ever buffered. A client that stalls gets 408.
 */
export function readBody(req: IncomingMessage, options: BodyOptions = {}): Promise<Buffer> {
  const limit = options.limit ?? MAX_BODY_BYTES;
  const idleMs = options.idleTimeoutMs ?? DEFAULT_IDLE_MS;
  const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase().trim();
  let decoder: Gunzip | Inflate | undefined;
  if (encoding === 'gzip' || encoding === 'x-gzip') decoder = createGunzip();
  else if (encoding === 'deflate') decoder = createInflate();
  else if (encoding !== 'identity' && encoding !== '') {
    return Promise.reject(
      hubError('UNSUPPORTED_ENCODING', `Content-Encoding '${encoding}' is not supported; use gzip`),
    );
  }
  const declared = Number(req.headers['content-length']);
  if (!decoder && Number.isFinite(declared) && declared > limit) {
    return Promise.reject(tooLarge(limit, options.tooLargeMessage));
  }

  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    let idle: NodeJS.Timeout | undefined;
    const source = decoder ?? req;

    const cleanup = (): void => {
      clearTimeout(idle);
      req.removeListener('aborted', onAborted);
      req.removeListener('close', onClose);
      source.removeListener('data', onData);
      source.removeListener('end', onEnd);
      source.removeListener('error', onError);
      req.removeListener('error', onError);
      if (decoder) {
        req.unpipe(decoder);
        decoder.destroy();
      }
    };
    const fail = (err: HubError): void => {
      if (settled) return;
      settled = true;
      cleanup();
      // stop reading: the connection will be closed after the answer
      req.pause();
      reject(err);
    };
    const armIdle = (): void => {
      clearTimeout(idle);
      idle = setTimeout(
        () =>
          fail(
            hubError('REQUEST_TIMEOUT', `no request data for ${idleMs} ms`, {
              closeConnection: true,
            }),
          ),
        idleMs,
      );
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) return fail(tooLarge(limit, options.tooLargeMessage));
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      if (settled) return;
      settled = true;
      cleanup();
      resolve(Buffer.concat(chunks, size));
    };
    const onError = (err: Error): void => {
      const code = (err as NodeJS.ErrnoException).code ?? '';
      if (source === decoder && code.startsWith('Z_'))
        fail(hubError('INVALID_GZIP', 'the request body is not valid gzip/deflate data'));
      else fail(hubError('REQUEST_ABORTED', 'the request body could not be read'));
    };
    const onAborted = (): void => fail(hubError('REQUEST_ABORTED', 'the client aborted the request'));
    const onClose = (): void => {
      if (!req.complete) onAborted();
    };

    req.on('aborted', onAborted);
    req.on('close', onClose);
    req.on('error', onError);
    source.on('data', onData);
    source.on('end', onEnd);
    source.on('error', onError);
    if (decoder) {
      // count compressed bytes too: the decompressed limit must not make us accept endless input
      req.on('data', () => armIdle());
      req.pipe(decoder);
    } else {
      req.on('data', () => armIdle());
    }
    armIdle();
  });
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Strict UTF-8 decoding (a leading BOM is dropped): invalid bytes are a 400, never U+FFFD. */
export function decodeUtf8(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw hubError('INVALID_UTF8', 'the request body is not valid UTF-8');
  }
}

/**
 * Body text → JSON value. Invalid JSON and nesting deeper than MAX_JSON_DEPTH are 400s. The depth is
 * measured on the text before parsing, so a 5 MiB run of '[' costs one pass.
 */
export function parseJsonText(text: string): unknown {
  if (text.trim() === '') throw hubError('INVALID_JSON', 'the request body is empty; JSON expected');
  const depth = jsonDepth(text);
  if (depth > MAX_JSON_DEPTH) {
    throw hubError('JSON_TOO_DEEP', `JSON nesting deeper than ${MAX_JSON_DEPTH} levels is not accepted`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw hubError('INVALID_JSON', `the request body is not valid JSON: ${(err as Error).message}`);
  }
}

/** Maximum bracket nesting of JSON text, ignoring brackets inside strings; stops early past the cap. */
export function jsonDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 91 /* [ */ || c === 123 /* { */) {
      if (++depth > max) {
        max = depth;
        if (max > MAX_JSON_DEPTH) return max;
      }
    } else if (c === 93 /* ] */ || c === 125 /* } */) depth--;
  }
  return max;
}
