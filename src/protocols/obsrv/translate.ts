import { hubError } from '../../errors.js';
import { documentHash } from '../../domain/canonical.js';
import type { DatasetConfig } from '../../domain/config.js';
import type { TranslateInput, Translation, Translator } from '../../domain/ingest.js';
import { FieldTypes } from '../../query/field-types.js';
import { RECORD_KIND } from '../../domain/records.js';
import type { AuxWrite, JsonObject, JsonValue, Store, Write } from '../../store/types.js';

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

/** Obsrv's default dedup window when a dataset's dedup_config names none: 7 days. */
const DEFAULT_DEDUP_PERIOD_S = 604_800;
/** Aux namespace of the dedup window: dedup value → when it was first seen (ms) in the window. */
export const DEDUP_SEEN_NS = 'obsrv-dedup';

/** One event after batch extraction: the event, its key prefix and position, its batch event's index. */
interface Extracted {
  readonly event: JsonObject;
  /** the record key without a dedup key: `<msgid>:<n>`, or `<batch id>:<n>` for an identified batch */
  readonly key: string;
  /** written only if the key is new (an identified batch sent again adds nothing) */
  readonly once: boolean;
  /** the position of the event (or of its batch event) in `data`, for error answers */
  readonly index: number;
}

/**
 * Obsrv's extraction (dataset `extraction_config`): with `is_batch_event`, every event of the
 * request is a batch whose array at `extraction_key` (default `events`) holds the events; each
 * becomes an event of its own. With `batch_id`, the value at that path names the batch, and its
 * events are keyed `<batch id>:<position>`, so a batch sent again (under another msgid) adds nothing.
 */
function extract(events: readonly JsonValue[], msgid: string, config: DatasetConfig): Extracted[] {
  const x = config.extraction_config;
  if (x?.is_batch_event !== true) {
    return events.map((event, index) => {
      if (!isObject(event))
        throw hubError('INVALID_ENVELOPE', `element ${index}: an event must be a JSON object`, { index });
      return { event, key: `${msgid}:${index}`, once: false, index };
    });
  }
  const path = x.extraction_key ?? 'events';
  const out: Extracted[] = [];
  for (const [index, batch] of events.entries()) {
    const refuse = (why: string) =>
      hubError('EXTRACTION_FAILED', `element ${index}: ${why} (the dataset's extraction_config)`, {
        index,
      });
    if (!isObject(batch)) throw refuse('a batch event must be a JSON object');
    const list = valueAtPath(batch, path);
    if (!Array.isArray(list)) throw refuse(`no array of events at '${path}'`);
    const id = x.batch_id === undefined ? undefined : valueAtPath(batch, x.batch_id);
    if (x.batch_id !== undefined && (typeof id !== 'string' || id === '') && typeof id !== 'number')
      throw refuse(`no batch id (a string or a number) at '${x.batch_id}'`);
    for (const [n, event] of list.entries()) {
      if (!isObject(event)) throw refuse(`the event at '${path}.${n}' is not a JSON object`);
      out.push(
        id === undefined
          ? { event, key: `${msgid}:${out.length}`, once: false, index }
          : { event, key: `batch:${String(id)}:${n}`, once: true, index },
      );
    }
  }
  return out;
}

/**
 * Obsrv's dedup (dataset `dedup_config` with `drop_duplicates`): an event whose `dedup_key` value
 * was first seen less than `dedup_period` seconds before this request is dropped; after the window
 * the value is new again (Obsrv keeps it in Redis with that expiry). The hub keeps the first-seen
 * time in an aux entry written with the events. A first-seen time after `now` comes from a later
 * request (recovery replays the journal in order, with the original times) and does not count.
 */
async function dedupWindow(
  store: Store,
  input: TranslateInput,
  extracted: readonly Extracted[],
): Promise<{ kept: Extracted[]; aux: AuxWrite[] }> {
  const d = input.config.dedup_config;
  if (d?.drop_duplicates !== true || d.dedup_key === undefined) return { kept: [...extracted], aux: [] };
  const periodMs = (d.dedup_period ?? DEFAULT_DEDUP_PERIOD_S) * 1000;
  const kept: Extracted[] = [];
  const aux: AuxWrite[] = [];
  const inRequest = new Set<string>();
  for (const x of extracted) {
    const value = dedupKeyOf(x.event, d.dedup_key, x.index);
    if (inRequest.has(value)) continue;
    inRequest.add(value);
    const seen = Number(await store.auxGet(input.dataset.name, DEDUP_SEEN_NS, value));
    if (Number.isFinite(seen) && seen <= input.now && input.now - seen < periodMs) continue;
    kept.push(x);
    aux.push({ ns: DEDUP_SEEN_NS, key: value, value: String(input.now) });
  }
  return { kept, aux };
}

/**
 * An Obsrv request (docs/obsrv.md#keys-retries-and-dedup) → one `record` write per event, the event stored as is.
 * - Batch events are first split into their events (extraction_config, see extract).
 * - Key: the `dedupKey` value, written `ifAbsent` (an event whose key is already stored, earlier or
 *   in this same batch, is dropped); without a dedupKey, `<msgid>:<index>`.
 * - dedup_config drops the events whose dedup value was seen within its window (see dedupWindow).
 * - The msgid is the request's idempotency key: a retry of a stored msgid changes nothing, even with
 *   other events. It is prefixed so that it cannot meet another protocol's idempotency keys.
 * - Every event is a schema subject, its index being its position in `data`.
 */
export function obsrvTranslator(store: Store): Translator {
  return async (input): Promise<Translation> => {
    const { envelope, config } = input;
    const msgid = envelope.params?.msgid;
    if (typeof msgid !== 'string' || msgid === '')
      throw hubError('INVALID_ENVELOPE', 'params.msgid must be a non-empty string');
    const body = envelope.body;
    const extracted = extract(Array.isArray(body) ? body : [body], msgid, config);
    const { kept, aux } = await dedupWindow(store, input, extracted);
    const dedupKey = config.dedupKey;
    const types = new FieldTypes();
    const writes: Write[] = kept.map(({ event, key, once, index }) => {
      types.add(event);
      const doc = JSON.stringify(event);
      const hash = documentHash(event);
      return dedupKey === undefined
        ? { key, kind: RECORD_KIND, deleted: false, doc, hash, ...(once ? { ifAbsent: true } : {}) }
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
      aux,
      subjects: extracted.map(({ event, index }) => ({ index, doc: event })),
      received: extracted.length,
      idempotencyKey: `${OBSRV_PROTOCOL}:${msgid}`,
      // field names and types of the events, for the ODS catalog (events are records there too)
      attrs: types.attrs(),
    };
  };
}
