import { createHash } from 'node:crypto';

/**
 * Canonical JSON: object keys sorted (by UTF-16 code units), no whitespace, numbers and strings as
 * JSON.stringify writes them. Two documents are "equal" for the changelog when their canonical
 * forms are; the hash of that form is what the store compares, so an identical re-push costs one
 * hash and one index read, never a document comparison.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) out += (i ? ',' : '') + canonicalJson(value[i]);
    return out + ']';
  }
  const obj = value as Record<string, unknown>;
  const names = Object.keys(obj).sort();
  let out = '{';
  let first = true;
  for (const k of names) {
    const v = obj[k];
    if (v === undefined) continue;
    out += (first ? '' : ',') + JSON.stringify(k) + ':' + canonicalJson(v);
    first = false;
  }
  return out + '}';
}

export function hashText(text: string): string {
  return createHash('sha1').update(text).digest('base64url');
}

/** The hash the store compares to decide whether a document changes anything. */
export function documentHash(value: unknown): string {
  return hashText(canonicalJson(value));
}
