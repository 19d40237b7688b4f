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
