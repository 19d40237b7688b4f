import { createHash } from 'node:crypto';
import { hubError } from '../../errors.js';
import { setField } from '../../domain/json-object.js';
import type { Blob, JsonObject, JsonValue } from '../../store/types.js';

/**
 * ODS file fields (docs/ods.md#files): a top-level field whose value is
 * `{"content": <base64>, "content-type"|"content_type": <mime>}` is stored as a content-addressed
 * blob and replaced in the record by `{"id","format","size","url"}`.
 */

/** A MIME type with optional parameters: image/png, text/plain; charset=utf-8. */
const MIME =
  /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}(\s*;[\x20-\x7e]{0,200})?$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const BASE64URL = /^[A-Za-z0-9_-]*={0,2}$/;

/** The URL path a file is served at (relative, so stored records do not depend on a host name). */
export const filePath = (dataset: string, id: string): string =>
  `/api/datasets/1.0/${encodeURIComponent(dataset)}/files/${id}`;

/** Content-addressed: the same bytes pushed twice, in any record, are one blob. */
export const FILE_ID = /^[0-9a-f]{64}$/;

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Is this field value an ODS file object? It needs `content` and a content type key. */
function isFileObject(v: unknown): v is Record<string, unknown> {
  return isPlainObject(v) && 'content' in v && ('content-type' in v || 'content_type' in v);
}

/**
 * Strict base64 (standard or URL-safe alphabet, padding optional, line breaks allowed as MIME
 * encoders write them). Node's decoder silently skips garbage, so the text is checked first.
 */
export function decodeBase64(text: string): Buffer | undefined {
  const s = text.replace(/[\r\n\t ]/g, '');
  if (!BASE64.test(s) && !BASE64URL.test(s)) return undefined;
  const unpadded = s.replace(/=+$/, '');
  if (unpadded.length % 4 === 1) return undefined;
  if (unpadded.length !== s.length && s.length % 4 !== 0) return undefined;
  return Buffer.from(s, 'base64');
}

export interface ReplacedRecord {
  /** the record with file objects replaced by references */
  readonly doc: JsonObject;
  readonly blobs: Blob[];
  /** decoded file bytes in this record */
  readonly fileBytes: number;
}

/** Replaces the record's file fields; bad base64 or a bad content type is a 400 naming the field. */
export function replaceFileFields(record: JsonObject, dataset: string, index: number): ReplacedRecord {
  let doc: JsonObject | undefined;
  const blobs: Blob[] = [];
  let fileBytes = 0;
  for (const [name, value] of Object.entries(record)) {
    if (!isFileObject(value)) continue;
    const where = `record ${index}, file field '${name}'`;
    const content = value.content;
    const type = value['content-type'] ?? value.content_type;
    if (typeof content !== 'string')
      throw hubError('INVALID_FILE', `${where}: "content" must be a base64 string`, { index });
    if (typeof type !== 'string' || !MIME.test(type.trim())) {
      throw hubError('INVALID_FILE', `${where}: "content-type" must be a MIME type such as image/png`, {
        index,
      });
    }
    const bytes = decodeBase64(content);
    if (!bytes) throw hubError('INVALID_BASE64', `${where}: "content" is not valid base64`, { index });
    const id = createHash('sha256').update(bytes).digest('hex');
    const contentType = type.trim();
    blobs.push({ id, contentType, bytes });
    fileBytes += bytes.length;
    doc ??= { ...record };
    const ref: JsonValue = { id, format: contentType, size: bytes.length, url: filePath(dataset, id) };
    setField(doc, name, ref);
  }
  return { doc: doc ?? record, blobs, fileBytes };
}
