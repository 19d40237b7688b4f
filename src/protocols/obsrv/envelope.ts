import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { hubError } from '../../errors.js';
import type { JsonObject } from '../../store/types.js';

/** The Obsrv ingest request (docs/obsrv.md#ingest), as spec/schemas/obsrv-envelope.json defines it. */
export interface ObsrvEnvelope {
  readonly id: 'api.data.in';
  readonly ver: string;
  readonly ts: string;
  readonly params: { readonly msgid: string };
  readonly data: JsonObject | JsonObject[];
}

/** The hub keeps a msgid as the request's idempotency key: longer than this is not an id. */
const MAX_MSGID_LENGTH = 256;

const schemaFile = new URL('../../../spec/schemas/obsrv-envelope.json', import.meta.url);
/**
 * Validated the way Obsrv validates it: ajv 8 with its defaults (draft-07, first error only), on
 * Obsrv's own schema. The message is computed from ajv's first error, so the same schema and the
 * same validator settings are what make the hub's messages Obsrv's, word for word.
 */
let compiledEnvelope: ValidateFunction | undefined;
/** Read and compiled on first use, not on import. */
const envelopeValidator = (): ValidateFunction =>
  (compiledEnvelope ??= new Ajv().compile(JSON.parse(readFileSync(schemaFile, 'utf8')) as object));

/**
 * Obsrv's message formula (its ValidationService): ajv's schema path with its first '/' removed,
 * a space, ajv's message — `#required must have required property 'id'`,
 * `#properties/params/additionalProperties must NOT have additional properties`. Nothing is
 * appended; where the value sits is given apart, as the error's `pointer`.
 */
export function obsrvMessage(e: Pick<ErrorObject, 'schemaPath' | 'message'>): string {
  return `${e.schemaPath.replace('/', '')} ${e.message}`;
}

/** The first `/data/<n>` any of ajv's errors points into: the event's position, reported as the error's index (docs/obsrv.md#errors). */
function eventIndex(errors: readonly ErrorObject[]): number | undefined {
  for (const e of errors) {
    const m = /^\/data\/(\d+)(?:\/|$)/.exec(e.instancePath);
    if (m) return Number(m[1]);
  }
  return undefined;
}

/** Checks a parsed request body against the envelope schema; a 400 with Obsrv's message otherwise. */
export function readEnvelope(body: unknown): ObsrvEnvelope {
  const validateEnvelope = envelopeValidator();
  if (!validateEnvelope(body)) {
    const errors = validateEnvelope.errors ?? [];
    const first = errors[0];
    if (!first) throw hubError('INVALID_ENVELOPE', 'Invalid Request Body');
    const index = eventIndex(errors);
    throw hubError('INVALID_ENVELOPE', obsrvMessage(first), {
      pointer: first.instancePath,
      ...(index === undefined ? {} : { index }),
    });
  }
  const envelope = body as ObsrvEnvelope;
  // the hub's own bounds, beyond Obsrv's schema: a msgid is what makes a retry a retry
  const { msgid } = envelope.params;
  if (msgid === '' || msgid.length > MAX_MSGID_LENGTH)
    throw hubError(
      'INVALID_ENVELOPE',
      `params.msgid must be 1 to ${MAX_MSGID_LENGTH} characters (it is the request's idempotency key)`,
      { pointer: '/params/msgid' },
    );
  return envelope;
}

/** The msgid of a body that may not be a valid envelope, for error answers; undefined if absent. */
export function peekMsgid(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const params = (body as { params?: unknown }).params;
  if (typeof params !== 'object' || params === null) return undefined;
  const msgid = (params as { msgid?: unknown }).msgid;
  return typeof msgid === 'string' && msgid.length > 0 && msgid.length <= MAX_MSGID_LENGTH
    ? msgid
    : undefined;
}
