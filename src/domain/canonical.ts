import { hash } from 'node:crypto';

/**
 * Canonical JSON: object keys sorted (by UTF-16 code units), no whitespace, numbers and strings as
 * JSON.stringify writes them. Two documents are "equal" for the changelog when their canonical
 * forms are; the hash of that form is what the store compares, so an identical re-push costs one
 * hash and one index read, never a document comparison.
 */
export function canonicalJson(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      // what JSON.stringify writes for a number, without the call
      return Number.isFinite(value) ? String(value) : 'null';
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object':
      break;
    default:
      return JSON.stringify(value) ?? 'null';
  }
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) out += (i ? ',' : '') + canonicalJson(value[i]);
    return out + ']';
  }
  const obj = value as Record<string, unknown>;
  const names = Object.keys(obj).sort();
  let out = '{';
  let first = true;
  for (let i = 0; i < names.length; i++) {
    const k = names[i]!;
    const v = obj[k];
    if (v === undefined) continue;
    out += (first ? '' : ',') + quotedKey(k) + ':' + canonicalJson(v);
    first = false;
  }
  return out + '}';
}

/**
 * Field names repeat across the documents of a dataset (every resource has "meta", "source", …):
 * their quoted form is cached, which makes canonicalJson about a quarter cheaper (bench/, issue 8).
 * Bounded, so that documents with ever-new field names cannot grow it without limit.
 */
const QUOTED_KEYS_MAX = 10_000;
const quotedKeys = new Map<string, string>();
function quotedKey(k: string): string {
  let q = quotedKeys.get(k);
  if (q === undefined) {
    q = JSON.stringify(k);
    if (quotedKeys.size < QUOTED_KEYS_MAX && k.length <= 64) quotedKeys.set(k, q);
  }
  return q;
}

/** sha1 of the text, base64url; the one-shot crypto.hash saves a Hash object per document. */
export function hashText(text: string): string {
  return hash('sha1', text, 'base64url');
}

/** The hash the store compares to decide whether a document changes anything. */
export function documentHash(value: unknown): string {
  return hashText(canonicalJson(value));
}
