/**
 * The one error type of the hub and the one catalogue of its codes. Every layer (store, domain,
 * protocols, ops) throws `hubError(code, message, details)` with a code from ERROR_CATALOGUE; the
 * HTTP status comes from the catalogue, so a code means one status everywhere and a code that is not
 * catalogued does not compile. Each protocol renders a HubError in its own body in exactly one place
 * (see http/errors.ts). This module imports nothing so that every layer may use it.
 *
 * docs/errors.md and the ErrorCode schema of spec/openapi.yaml are rendered from this table
 * (`npm run errors:render`); test/error-catalogue.test.ts fails when they differ from it, when src/
 * throws a code that is not here, or when a code here is never thrown.
 */
export interface ErrorEntry {
  readonly status: number;
  /** What went wrong, for the person reading the answer: one sentence, no period. */
  readonly meaning: string;
}

export const ERROR_CATALOGUE = {
  // ---- the request itself (http toolkit)
  BAD_REQUEST: { status: 400, meaning: 'the request is malformed in a way no more specific code names' },
  INVALID_JSON: { status: 400, meaning: 'the body is empty or not valid JSON' },
  INVALID_UTF8: { status: 400, meaning: 'the body is not valid UTF-8' },
  JSON_TOO_DEEP: { status: 400, meaning: 'the JSON body nests deeper than the hub accepts' },
  INVALID_GZIP: { status: 400, meaning: 'the body is declared gzip or deflate but does not decode' },
  REQUEST_ABORTED: { status: 400, meaning: 'the client stopped sending the body before its end' },
  INVALID_PARAMETER: {
    status: 400,
    meaning: 'a query parameter is missing, repeated, malformed or out of range',
  },
  INVALID_CALLBACK: { status: 400, meaning: 'the JSONP callback is not a JavaScript function name' },
  UNAUTHORIZED: { status: 401, meaning: 'no key, an unknown key, or a malformed Authorization header' },
  FORBIDDEN: { status: 403, meaning: 'the key is valid but may not do this on this dataset' },
  OUT_OF_KEY_SCOPE: {
    status: 403,
    meaning: 'a scoped key pushed a document outside its scope (a location or record its where excludes)',
  },
  INVALID_KEY_SPEC: { status: 400, meaning: 'a dataset key to create has a bad role, where or locations' },
  KEY_NOT_FOUND: { status: 404, meaning: 'no dataset key with this id' },
  NOT_FOUND: { status: 404, meaning: 'no route (or console file) at this path' },
  METHOD_NOT_ALLOWED: { status: 405, meaning: 'the path exists but not for this method' },
  REQUEST_TIMEOUT: { status: 408, meaning: 'the client sent no body data for too long' },
  PAYLOAD_TOO_LARGE: {
    status: 413,
    meaning: 'the body (or one file or record in it) is larger than the limit',
  },
  UNSUPPORTED_ENCODING: {
    status: 415,
    meaning: 'the Content-Encoding of the body is not gzip, deflate or identity',
  },
  UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    meaning: 'the Content-Type of the body is not one the route reads (ODS read APIs: a form or JSON)',
  },
  QUOTA_EXCEEDED: { status: 429, meaning: "the key's daily request quota on this dataset is used up" },
  TOO_MANY_WAITING_READERS: {
    status: 429,
    meaning: 'the key already holds as many long-polls or event streams as allowed',
  },
  INTERNAL: { status: 500, meaning: 'a bug in the hub; the cause is in its log, never in the answer' },
  NOT_IMPLEMENTED: { status: 501, meaning: 'the method is not one the hub implements' },
  OVERLOADED: {
    status: 503,
    meaning: 'the hub is busy with other uploads or writes; retry after Retry-After',
  },

  // ---- datasets, keys, configuration (domain)
  INVALID_DATASET_ID: {
    status: 400,
    meaning: 'the dataset id does not match `^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`',
  },
  INVALID_CONFIG: {
    status: 400,
    meaning:
      'the dataset configuration does not match its JSON Schema, or a schedule rule, time zone or URL is invalid (error.field names it)',
  },
  INVALID_SCHEMA: {
    status: 400,
    meaning: "the dataset's JSON Schema or schema set does not compile (a set's error.field names the file)",
  },
  SCHEMA_SET_NOT_FOUND: { status: 404, meaning: 'the dataset has no schema set' },
  DATASET_NOT_FOUND: { status: 404, meaning: 'no dataset with this id' },
  PUSH_DISABLED: { status: 403, meaning: 'push is switched off for this dataset; its data is kept' },
  SCHEMA_VIOLATION: {
    status: 400,
    meaning: "an element does not match the dataset's schema (index, path, keyword say where)",
  },
  INVALID_TOKEN: {
    status: 400,
    meaning: 'the continuation token is malformed, of another dataset, or beyond its last change',
  },
  KEY_TOO_LONG: { status: 400, meaning: 'a key or id is longer than the store accepts' },

  // ---- ICAR
  INVALID_RESOURCE: {
    status: 400,
    meaning: 'an ICAR push element is not a valid resource (index says which)',
  },
  RESOURCE_NOT_FOUND: { status: 404, meaning: 'no live resource with this id in the dataset' },
  FULL_SYNC_NOT_ACCEPTED: {
    status: 400,
    meaning:
      'an ICAR push carries full-sync headers, which the push scenario does not accept (full sync belongs to the UDA entity routes)',
  },
  UNKNOWN_COLLECTION: {
    status: 404,
    meaning: 'the ADE url scheme has no collection of this name (message lists where to find them)',
  },
  LOCATION_MISMATCH: {
    status: 400,
    meaning:
      "an ADE push's resource has no location or another one than the path's, or another resourceType than the collection's",
  },

  // ---- Universal Data API
  INVALID_ENTITY: { status: 400, meaning: 'a UDA push element is not a valid entity (index says which)' },
  UNKNOWN_PREFIX: { status: 400, meaning: 'a CURIE uses a prefix the @context element does not declare' },
  NAMESPACE_CONFLICT: {
    status: 409,
    meaning: 'a prefix is already bound to another namespace IRI in this dataset',
  },
  INVALID_FULL_SYNC: {
    status: 400,
    meaning: 'the `universal-data-api-full-sync-*` headers are missing or malformed',
  },
  FULL_SYNC_IN_PROGRESS: { status: 409, meaning: 'another full sync is running on this dataset' },
  FULL_SYNC_NOT_RUNNING: {
    status: 409,
    meaning: 'the named full sync is not running (ended, expired or never started)',
  },
  INVALID_QUERY: {
    status: 400,
    meaning: 'a POST /query body is not a lookup, a traversal or a continuation the hub understands',
  },
  INVALID_TRANSACTION: {
    status: 400,
    meaning: 'a POST /transactions body is not an @context and a map of dataset name to entity list',
  },

  // ---- Opendatasoft
  INVALID_RECORD: { status: 400, meaning: 'an ODS push element is not a JSON object' },
  MISSING_UNIQUE_KEY: {
    status: 400,
    meaning: 'a pushed record has no value for a unique key field of the dataset',
  },
  RECORD_NOT_FOUND: { status: 404, meaning: 'no record with this id in the dataset' },
  INVALID_FILE: { status: 400, meaning: 'a file field is not `{content: base64, content-type: MIME type}`' },
  INVALID_BASE64: { status: 400, meaning: "a file field's content is not valid base64" },
  FILE_NOT_FOUND: { status: 404, meaning: 'no file with this id in the dataset' },
  ODSQL_ERROR: {
    status: 400,
    meaning: 'an ODSQL clause does not parse or does not type-check (column says where)',
  },
  TOO_MANY_GROUPS: {
    status: 400,
    meaning: 'an aggregation makes more groups than the hub computes in one answer',
  },
  NO_GEO_FIELD: {
    status: 400,
    meaning: 'a geo query on a dataset with no geo_point_2d field and none named',
  },

  // ---- Obsrv
  INVALID_ENVELOPE: {
    status: 400,
    meaning: 'the body is not an Obsrv ingest envelope `{id, params.msgid, data}`',
  },
  DEDUP_KEY_INVALID: {
    status: 400,
    meaning: "an event has no string, number or boolean at the dataset's dedupKey path",
  },
  EXTRACTION_FAILED: {
    status: 400,
    meaning: "a batch event has no array of event objects at the dataset's extraction_key (or no batch_id)",
  },

  // ---- JSON-LD
  CONTEXT_NOT_FOUND: { status: 404, meaning: 'no JSON-LD context of this name on the hub' },
  UNKNOWN_CONTEXT: {
    status: 400,
    meaning: "a document refers to a context that is not one of the hub's; remote contexts are never fetched",
  },
  INVALID_JSONLD: {
    status: 400,
    meaning:
      "jsonld.js rejected the document (jsonldCode and jsonldError carry jsonld.js's own code and name)",
  },
  INVALID_REQUEST: {
    status: 400,
    meaning: 'the body is not the operation\'s `{"document": …, …}` (or lacks one of its members)',
  },
  INVALID_OPTION: {
    status: 400,
    meaning: 'a jsonld.js option of a JSON-LD operation has a value it does not take (option names it)',
  },
  INVALID_CONTEXT: {
    status: 400,
    meaning: 'a context to register is not a context document `{"@context": …}`',
  },
  INVALID_CONTEXT_NAME: {
    status: 400,
    meaning: 'a context name does not match `^[a-z0-9][a-z0-9._-]{0,63}$`',
  },
  CONTEXT_BUILT_IN: {
    status: 409,
    meaning: "the name is one of the hub's built-in contexts, which cannot change",
  },
  TOO_MANY_CONTEXTS: { status: 409, meaning: 'the hub already keeps as many registered contexts as it may' },
  RATE_LIMITED: {
    status: 429,
    meaning:
      'an anonymous client used up its JSON-LD requests of this minute; send a key or retry after Retry-After',
  },
  JSONLD_NOT_AVAILABLE: {
    status: 406,
    meaning:
      'format=jsonld cannot be answered for this dataset (message says why: its default context is gone)',
  },
  JSONLD_TIMEOUT: { status: 422, meaning: 'processing the document took longer than the JSON-LD time bound' },
  JSONLD_TOO_LARGE: {
    status: 422,
    meaning: 'processing the document needed more memory than one JSON-LD task may use',
  },
  JSONLD_TOO_COMPLEX: { status: 422, meaning: 'the document nests too deeply for JSON-LD processing' },
  JSONLD_RESULT_TOO_LARGE: {
    status: 422,
    meaning: 'the answer would be larger than one JSON-LD answer may be',
  },
  JSONLD_BUSY: {
    status: 503,
    meaning: 'every JSON-LD worker is busy and its queue is full; retry after Retry-After',
  },

  // ---- operations (schedules, recovery, shutdown)
  NO_SCHEDULE: { status: 409, meaning: 'the dataset has no schedule to run' },
  SCHEDULE_FAILED: { status: 502, meaning: 'the scheduled pull from the upstream failed (message says how)' },
  INVALID_SNAPSHOT: { status: 400, meaning: 'an upstream snapshot is not an array of JSON objects' },
  RECOVERY_DISABLED: {
    status: 409,
    meaning: 'recovery is off for this dataset, so its receive log is not complete',
  },
  RECOVERY_UNSUPPORTED: {
    status: 409,
    meaning: 'the receive log holds requests of a protocol this hub cannot replay',
  },
  JOURNAL_ENTRY_UNREADABLE: {
    status: 400,
    meaning: 'a receive-log entry is not a readable request envelope (it is skipped)',
  },
  OPERATIONS_STOPPED: { status: 503, meaning: 'background work is not running on this hub' },
  STOPPING: { status: 503, meaning: 'the hub is shutting down' },

  // ---- the store
  STORE_CLOSED: { status: 503, meaning: 'the store is closed because the hub is shutting down' },
  STORE_WRITE_FAILED: {
    status: 503,
    meaning: 'the write could not be made durable; nothing of it was acknowledged',
  },
  // a full disk is 503 + Retry-After, not 507: clients retry a 503 and the request then succeeds
  // unchanged once space is freed (store/faults.ts, docs/backups.md)
  STORE_DISK_FULL: {
    status: 503,
    meaning:
      'the data disk is full or below DISK_FREE_FLOOR_MB (error.reason: enospc or floor); nothing was stored, retry after Retry-After',
  },
  STORE_IO_ERROR: {
    status: 503,
    meaning: 'the data disk failed a write (I/O error); nothing was stored, retry after Retry-After',
  },
  STORE_NOT_EMPTY: { status: 409, meaning: 'a restore needs an empty store and this one holds datasets' },
  // a start-up refusal, never an HTTP answer: an older hub must not write to a newer store
  STORE_FORMAT_NEWER: {
    status: 500,
    meaning:
      'the store (LevelDB format or PostgreSQL schema) is of a newer version than this hub: start a hub of that version or later',
  },
  // the database is unreachable, restarting, failing over, read-only, out of resources or too slow;
  // nothing of the request was stored and the same request may be sent again after Retry-After
  STORE_UNAVAILABLE: {
    status: 503,
    meaning: 'the database cannot serve the request now; nothing was stored, retry after Retry-After',
  },
  // the connection broke during COMMIT and the hub could not learn the outcome; a re-push of the
  // same data is a no-op, so sending it again is safe and the way to know
  STORE_OUTCOME_UNKNOWN: {
    status: 503,
    meaning: 'the database connection broke while committing; the write may be stored: send it again',
  },
} as const satisfies Record<string, ErrorEntry>;

/** A code the hub may answer with: a key of ERROR_CATALOGUE, nothing else. */
export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export interface HubErrorDetails {
  /** Position of the offending element in the request's JSON array. */
  index?: number;
  /** Seconds a client should wait before retrying (503 overload, 429 quota). */
  retryAfter?: number;
  [extra: string]: unknown;
}

export class HubError extends Error {
  override readonly name = 'HubError';
  /** The HTTP status: always the catalogue's for `code`. */
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: HubErrorDetails = {},
  ) {
    super(message);
    this.status = ERROR_CATALOGUE[code].status;
  }
}

/** The way to make an error: the code's status comes from the catalogue. */
export const hubError = (code: ErrorCode, message: string, details?: HubErrorDetails): HubError =>
  new HubError(code, message, details);

export function isHubError(err: unknown): err is HubError {
  return err instanceof HubError;
}
