import type { Context, Middleware } from 'koa';
import compress from 'koa-compress';
import { constants } from 'node:zlib';

/**
 * What is worth compressing: JSON (and +json: JSON-LD, GeoJSON), NDJSON, CSV, SSE, JSONP, text.
 * Files pushed through ODS keep their own bytes (images, archives are compressed already).
 */
const COMPRESSIBLE = /^(text\/|application\/(?:[\w.-]+\+)?(?:json|x-ndjson|javascript|xml|yaml)\b)/;

/**
 * Brotli at quality 4, measured on a 100-record ODS page (29,248 B) and a 100-change ICAR page
 * (74,022 B): 4,532 B and 1,435 B against gzip's (level 6) 5,058 B and 2,317 B, for the same CPU
 * (0.23–0.25 ms an answer on this machine); quality 11 saves 10 % more for 34–70 ms an answer, far
 * too slow for streamed feeds. A slow farm uplink gets a third fewer bytes of a feed.
 */
const BROTLI_QUALITY = 4;

/**
 * The one place answers are compressed: every compressible answer of 1 KiB or more (and every
 * stream, whose size is not known), in brotli or gzip as the client's Accept-Encoding prefers (br
 * first when it takes both), identity when it takes neither. Sets Vary: Accept-Encoding.
 */
export function compression(): Middleware {
  return compress({
    threshold: 1024,
    filter: (type) => COMPRESSIBLE.test(type),
    encodingPreference: ['br', 'gzip', 'identity'],
    br: { params: { [constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY } },
    gzip: {},
    deflate: false,
  });
}

/**
 * For an answer that streams events as they happen (SSE): the compressor flushes after every write,
 * so each event reaches the client at once instead of waiting in the compressor's window.
 */
export function flushEveryWrite(ctx: Context): void {
  ctx.compress = {
    gzip: { flush: constants.Z_SYNC_FLUSH },
    br: {
      flush: constants.BROTLI_OPERATION_FLUSH,
      params: { [constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY },
    },
  };
}
