import { readFileSync } from 'node:fs';
import type { ErrorObject } from 'ajv';
import { hubError } from '../../errors.js';
import { compileFixedSchema } from '../../domain/validation.js';
import type { JsonObject } from '../../store/types.js';

/** The Obsrv ingest request (docs/obsrv.md#ingest), as spec/schemas/obsrv-envelope.json defines it. */
export interface ObsrvEnvelope {
  readonly id: 'api.data.in';
  readonly ver: string;
  readonly ts: string;
  readonly params: { readonly msgid: string };
  readonly data: JsonObject | JsonObject[];
}

const schemaFile = new URL('../../../spec/schemas/obsrv-envelope.json', import.meta.url);
// compiled once, when the module is loaded at start-up; the spec serves the same file
const validateEnvelope = compileFixedSchema(JSON.parse(readFileSync(schemaFile, 'utf8')) as object);

/**
 * Obsrv's own message form: ajv's schema path without its first '/', then the message
 * (`#required must have required property 'id'`). Where the value sits deeper than the envelope
 * itself, its JSON pointer follows, so `data[3]` is named, not only the rule it broke.
 */
function obsrvMessage(e: ErrorObject): string {
  const base = `${e.schemaPath.replace('/', '')} ${e.message ?? e.keyword}`;
  return e.instancePath === '' ? base : `${base} (at ${e.instancePath})`;
}

/** `/data/3/…` → 3: the event's position, reported as the error's index (docs/obsrv.md#errors). */
function eventIndex(instancePath: string): number | undefined {
  const m = /^\/data\/(\d+)(?:\/|$)/.exec(instancePath);
  return m ? Number(m[1]) : undefined;
}

/** Checks a parsed request body against the envelope schema; a 400 with ajv's first error otherwise. */
export function readEnvelope(body: unknown): ObsrvEnvelope {
  if (validateEnvelope(body)) return body as ObsrvEnvelope;
  const first = validateEnvelope.errors?.[0];
  if (!first) throw hubError('INVALID_ENVELOPE', 'the request is not an Obsrv ingest envelope');
  const index = eventIndex(first.instancePath);
  throw hubError('INVALID_ENVELOPE', obsrvMessage(first), index === undefined ? {} : { index });
}

/** The msgid of a body that may not be a valid envelope, for error answers; undefined if absent. */
export function peekMsgid(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const params = (body as { params?: unknown }).params;
  if (typeof params !== 'object' || params === null) return undefined;
  const msgid = (params as { msgid?: unknown }).msgid;
  return typeof msgid === 'string' && msgid.length > 0 && msgid.length <= 256 ? msgid : undefined;
}
