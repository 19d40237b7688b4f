import { hubError } from '../errors.js';
import { documentHash } from '../domain/canonical.js';
import { FieldTypes } from '../query/field-types.js';
import type { Subject, Translation, Translator } from '../domain/ingest.js';
import { RECORD_KIND, recordId } from '../domain/records.js';
import type { JsonObject, Write } from '../store/types.js';

/** The protocol name scheduled pulls are journaled under (and replayed by, in a recovery). */
export const SCHEDULE_PROTOCOL = 'schedule';

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A scheduled pull's snapshot → one full-sync request: every record keyed as an ODS record
 * (docs/ods.md#record-ids: the uniqueKeys values, or all fields), upserted; every live key the snapshot does
 * not contain deleted by the sweep, in the same atomic batch. Two rows with the same record id are one
 * record: the last one wins, so that an unchanged snapshot makes no change however often it is applied.
 */
export const translateSchedule: Translator = ({ envelope, config }): Translation => {
  const body = envelope.body;
  if (!Array.isArray(body)) throw hubError('INVALID_SNAPSHOT', 'a snapshot must be an array of records');
  const byKey = new Map<string, { index: number; record: JsonObject }>();
  body.forEach((record, index) => {
    if (!isObject(record)) {
      throw hubError('INVALID_SNAPSHOT', `record ${index} of the snapshot is not a JSON object`, { index });
    }
    const key = recordId(record, config.uniqueKeys);
    // delete first so that the Map's order is the order of the last occurrences
    byKey.delete(key);
    byKey.set(key, { index, record });
  });
  const writes: Write[] = [];
  const subjects: Subject[] = [];
  const types = new FieldTypes();
  for (const [key, { index, record }] of byKey) {
    types.add(record);
    writes.push({
      key,
      kind: RECORD_KIND,
      deleted: false,
      doc: JSON.stringify(record),
      hash: documentHash(record),
    });
    subjects.push({ index, doc: record });
  }
  return {
    writes,
    subjects,
    received: body.length,
    // field names and types for the ODS catalog, as for pushed records
    attrs: types.attrs(),
    // a record's tombstone is its last fields (the shared contract for `record` changes); keys of
    // other kinds (ICAR resources, UDA entities pushed into the same dataset) are not the snapshot's
    sweep: {
      tombstone: (current) =>
        current.kind === RECORD_KIND
          ? { doc: current.doc, hash: documentHash(JSON.parse(current.doc) as unknown) }
          : undefined,
    },
  };
};
