import { hubError } from '../../errors.js';
import { documentHash } from '../../domain/canonical.js';
import type { Translation, Translator } from '../../domain/ingest.js';
import { FieldTypes } from '../../domain/field-types.js';
import { RECORD_KIND } from '../../domain/records.js';
import type { JsonObject, JsonValue, Write } from '../../store/types.js';

export const OBSRV_PROTOCOL = 'obsrv';

/** A dedup value becomes a record key: longer than this is a producer bug, not an id. */
const MAX_DEDUP_VALUE_LENGTH = 1024;

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The value at a dotted path (`a.b` → doc.a.b; a numeric step indexes an array), or undefined. */
export function valueAtPath(doc: JsonObject, path: string): JsonValue | undefined {
  let current: JsonValue | undefined = doc;
  for (const step of path.split('.')) {
    if (typeof current !== 'object' || current === null) return undefined;
    if (!Object.prototype.hasOwnProperty.call(current, step)) return undefined;
    current = (current as Record<string, JsonValue>)[step];
  }
  return current;
}

/**
 * The record key of an event under `dedupKey`: its value there, as a string. An event without a
 * usable value cannot be deduplicated, and storing it under some other key would silently let its
 * duplicates through, so it is a 400 naming the event.
 */
function dedupKeyOf(event: JsonObject, path: string, index: number): string {
  const value = valueAtPath(event, path);
  const refuse = (why: string) =>
    hubError('DEDUP_KEY_INVALID', `element ${index}: ${why} (the dataset's dedupKey)`, { index });
  if (value === undefined || value === null || value === '') throw refuse(`no value at '${path}'`);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value !== 'string')
    throw refuse(`the value at '${path}' must be a string, a number or a boolean`);
  if (value.length > MAX_DEDUP_VALUE_LENGTH)
    throw refuse(`the value at '${path}' is longer than ${MAX_DEDUP_VALUE_LENGTH} characters`);
  return value;
}

/**
 * An Obsrv request (docs/obsrv.md#keys-retries-and-dedup) → one `record` write per event, the event stored as
 * is.
 * - Key: the `dedupKey` value, written `ifAbsent` (an event whose key is already stored, earlier or
 *   in this same batch, is dropped); without a dedupKey, `<msgid>:<index>`.
 * - The msgid is the request's idempotency key: a retry of a stored msgid changes nothing, even with
 *   other events. It is prefixed so that it cannot meet another protocol's idempotency keys.
 * - Every event is a schema subject, its index being its position in `data`.
 */
export const translateObsrv: Translator = ({ envelope, config }): Translation => {
  const msgid = envelope.params?.msgid;
  if (typeof msgid !== 'string' || msgid === '')
    throw hubError('INVALID_ENVELOPE', 'params.msgid must be a non-empty string');
  const body = envelope.body;
  const events = Array.isArray(body) ? body : [body];
  const dedupKey = config.dedupKey;
  const types = new FieldTypes();
  const writes: Write[] = events.map((event, index) => {
    if (!isObject(event))
      throw hubError('INVALID_ENVELOPE', `element ${index}: an event must be a JSON object`, { index });
    types.add(event);
    const doc = JSON.stringify(event);
    const hash = documentHash(event);
    return dedupKey === undefined
      ? { key: `${msgid}:${index}`, kind: RECORD_KIND, deleted: false, doc, hash }
      : {
          key: dedupKeyOf(event, dedupKey, index),
          kind: RECORD_KIND,
          deleted: false,
          doc,
          hash,
          ifAbsent: true,
        };
  });
  return {
    writes,
    subjects: events.map((doc, index) => ({ index, doc })),
    received: events.length,
    idempotencyKey: `${OBSRV_PROTOCOL}:${msgid}`,
    // field names and types of the events, for the ODS catalog (events are records there too)
    attrs: types.attrs(),
  };
};
