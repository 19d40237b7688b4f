import { hubError } from '../../errors.js';

/**
 * PostgreSQL `text` cannot hold U+0000, which the store interface allows in keys, namespaces and
 * aux values. Those are stored escaped: U+0000 → U+0001 U+0001, U+0001 → U+0001 U+0002. The
 * escape is reversible and keeps byte order (what the "C" collation compares), so keyset pages and
 * key order are the same as on the unescaped keys. Strings without either character (nearly all)
 * pass through untouched.
 */
// eslint-disable-next-line no-control-regex -- matching these control characters is the point
const ESCAPED = /[\u0000\u0001]/g;
// eslint-disable-next-line no-control-regex -- idem
const UNESCAPED = /\u0001([\u0001\u0002])/g;

export function encodeText(s: string): string {
  if (s.indexOf('\u0000') < 0 && s.indexOf('\u0001') < 0) return s;
  return s.replace(ESCAPED, (c) => (c === '\u0000' ? '\u0001\u0001' : '\u0001\u0002'));
}

export function decodeText(s: string): string {
  if (s.indexOf('\u0001') < 0) return s;
  return s.replace(UNESCAPED, (_, c: string) => (c === '\u0001' ? '\u0000' : '\u0001'));
}

/**
 * A btree index entry holds at most ~2700 bytes; keys are indexed, so longer ones are refused up
 * front as bad input (a 400 for that request) instead of failing the commit of a whole group.
 */
export const MAX_KEY_BYTES = 2048;

export function checkKeyLength(key: string, what: string): void {
  // a UTF-16 unit is at most 3 UTF-8 bytes: only measure when it could matter
  if (key.length * 3 > MAX_KEY_BYTES && Buffer.byteLength(encodeText(key), 'utf8') > MAX_KEY_BYTES) {
    throw hubError('KEY_TOO_LONG', `${what} is longer than ${MAX_KEY_BYTES} bytes`);
  }
}
