import type { KeyHead } from '../semantics.js';
import type { Change } from '../types.js';

/**
 * One encoding for a change, used both in the changelog and in the current-state table:
 *
 *   <seq>|<kind>|<recorded>|<0|1>|<hash>|<key as JSON string>\n<document JSON text>
 *
 * The header is plain text so a reader can take the document out with one slice and stream it
 * without parsing; the key is JSON-escaped so it can hold any character, including '|' and newlines
 * (JSON text never contains a raw newline, so the first '\n' ends the header).
 */
export function encodeChange(c: Change, hash: string): string {
  return `${c.seq}|${c.kind}|${c.recorded}|${c.deleted ? 1 : 0}|${hash}|${JSON.stringify(c.key)}\n${c.doc}`;
}

/** Just the fields a writer needs to decide whether a write changes anything: the key's head. */
export function decodeKeyHead(value: string): KeyHead {
  const p1 = value.indexOf('|');
  const p2 = value.indexOf('|', p1 + 1);
  const p3 = value.indexOf('|', p2 + 1);
  const p4 = value.indexOf('|', p3 + 1);
  const p5 = value.indexOf('|', p4 + 1);
  return {
    seq: Number(value.slice(0, p1)),
    deleted: value.charCodeAt(p3 + 1) === 49, // '1'
    hash: value.slice(p4 + 1, p5),
  };
}

export function decodeChange(value: string): Change {
  const p1 = value.indexOf('|');
  const p2 = value.indexOf('|', p1 + 1);
  const p3 = value.indexOf('|', p2 + 1);
  const p4 = value.indexOf('|', p3 + 1);
  const p5 = value.indexOf('|', p4 + 1);
  const nl = value.indexOf('\n', p5 + 1);
  return {
    seq: Number(value.slice(0, p1)),
    kind: value.slice(p1 + 1, p2),
    recorded: Number(value.slice(p2 + 1, p3)),
    deleted: value.charCodeAt(p3 + 1) === 49,
    key: decodeKey(value.slice(p5 + 1, nl)),
    doc: value.slice(nl + 1),
  };
}

/** Blobs: a two-byte content-type length, the content type, then the bytes. */
export function encodeBlob(contentType: string, bytes: Uint8Array): Buffer {
  const ct = Buffer.from(contentType, 'utf8');
  const out = Buffer.allocUnsafe(2 + ct.length + bytes.length);
  out.writeUInt16BE(ct.length, 0);
  ct.copy(out, 2);
  out.set(bytes, 2 + ct.length);
  return out;
}

export function decodeBlob(buf: Buffer): { contentType: string; bytes: Buffer } {
  const len = buf.readUInt16BE(0);
  return { contentType: buf.subarray(2, 2 + len).toString('utf8'), bytes: buf.subarray(2 + len) };
}

/** Keys are stored JSON-escaped; most need no unescaping, which saves a JSON.parse per change read. */
function decodeKey(json: string): string {
  return json.indexOf('\\') < 0 ? json.slice(1, -1) : (JSON.parse(json) as string);
}
