import { documentHash, hashText } from '../../domain/canonical.js';
import type { Subject, Translation, Translator } from '../../domain/ingest.js';
import { FieldTypes } from '../../query/field-types.js';
import { RECORD_KIND, recordId } from '../../domain/records.js';
import { hubError } from '../../errors.js';
import { MAX_BODY_BYTES } from '../../http/body.js';
import type { Blob, JsonObject, JsonValue, Store, Write } from '../../store/types.js';
import { replaceFileFields } from './files.js';

/** The envelope protocol name of ODS requests (receive journal, recovery). */
export const ODS_PROTOCOL = 'ods';

/** What an ODS request asks for; kept in the envelope's params so recovery replays it the same way. */
export type OdsOperation =
  | { readonly op: 'push'; readonly resource: string }
  | { readonly op: 'delete'; readonly resource: string }
  | { readonly op: 'deleteById'; readonly resource: string; readonly recordid: string };

export const TOO_LARGE_MESSAGE = `the request is larger than 5 MB (${MAX_BODY_BYTES} bytes): split it into smaller requests`;

const isPlainObject = (v: unknown): v is JsonObject =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** One record or an array of records (docs/ods.md#push); anything else is a 400 naming the element. */
function recordsOf(body: JsonValue): JsonObject[] {
  if (isPlainObject(body)) return [body];
  if (!Array.isArray(body))
    throw hubError('INVALID_RECORD', 'the body must be a JSON object or an array of JSON objects');
  body.forEach((r, index) => {
    if (!isPlainObject(r))
      throw hubError('INVALID_RECORD', `element ${index} is not a JSON object`, { index });
  });
  return body as JsonObject[];
}

/** The record id; with unique keys, a record lacking one of them is refused (it would merge with every other such record). */
function idOf(record: JsonObject, uniqueKeys: readonly string[] | undefined, index: number): string {
  for (const k of uniqueKeys ?? []) {
    if (!Object.hasOwn(record, k)) {
      throw hubError('MISSING_UNIQUE_KEY', `record ${index} has no value for the unique key field '${k}'`, {
        index,
      });
    }
  }
  return recordId(record, uniqueKeys);
}

function operationOf(params: JsonObject | undefined): OdsOperation {
  const op = params?.op;
  const resource = typeof params?.resource === 'string' ? params.resource : '';
  if (op === 'push' || op === 'delete') return { op, resource };
  if (op === 'deleteById' && typeof params?.recordid === 'string')
    return { op, resource, recordid: params.recordid };
  throw hubError('INTERNAL', 'ODS envelope without a known operation');
}

/**
 * ODS push API → changelog writes (kind `record`, key = the ODS record id). Pushes upsert; deletes
 * write a tombstone whose document is the record's last fields. Deletes read the current state to
 * find those fields: live, an unknown id is a 404; in a recovery replay it is skipped.
 */
export function odsTranslator(store: Store): Translator {
  return async ({ envelope, dataset, config, mode }): Promise<Translation> => {
    const operation = operationOf(envelope.params);

    if (operation.op === 'deleteById') {
      const current = await store.get(dataset.name, operation.recordid);
      if (!current || current.deleted || current.kind !== RECORD_KIND) {
        if (mode === 'replay') return { writes: [], subjects: [], received: 0 };
        throw hubError(
          'RECORD_NOT_FOUND',
          `no record with id '${operation.recordid}' in dataset '${dataset.name}'`,
        );
      }
      return { writes: [tombstone(current.key, current.doc)], subjects: [], received: 1 };
    }

    const records = recordsOf(envelope.body);
    if (operation.op === 'delete') {
      const ids = [...new Set(records.map((r, i) => idOf(r, config.uniqueKeys, i)))];
      const currents = await Promise.all(ids.map((id) => store.get(dataset.name, id)));
      const writes: Write[] = [];
      for (const c of currents) {
        // deleting what is not there is not an error: a retried delete must not fail
        if (c && !c.deleted && c.kind === RECORD_KIND) writes.push(tombstone(c.key, c.doc));
      }
      return { writes, subjects: [], received: records.length, touch: records.length > 0 };
    }

    const writes: Write[] = [];
    const subjects: Subject[] = [];
    const blobs = new Map<string, Blob>();
    const types = new FieldTypes();
    let bytes = 0;
    records.forEach((record, index) => {
      const key = idOf(record, config.uniqueKeys, index);
      const replaced = replaceFileFields(record, dataset.name, index);
      const doc = JSON.stringify(replaced.doc);
      for (const b of replaced.blobs) blobs.set(b.id, b);
      // decoded files count toward the request limit along with the records that hold them
      bytes += Buffer.byteLength(doc) + replaced.fileBytes;
      if (bytes > MAX_BODY_BYTES) throw hubError('PAYLOAD_TOO_LARGE', TOO_LARGE_MESSAGE, { index });
      writes.push({ key, kind: RECORD_KIND, deleted: false, doc, hash: documentHash(replaced.doc) });
      subjects.push({ index, doc: replaced.doc });
      types.add(replaced.doc);
    });
    return {
      writes,
      subjects,
      received: records.length,
      blobs: [...blobs.values()],
      touch: records.length > 0,
      // field names and types for the catalog, kept as records arrive (a replay infers them again)
      attrs: types.attrs(),
    };
  };
}

function tombstone(key: string, lastDoc: string): Write {
  return { key, kind: RECORD_KIND, deleted: true, doc: lastDoc, hash: hashText(lastDoc) };
}
