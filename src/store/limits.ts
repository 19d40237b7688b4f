import { hubError } from '../errors.js';
import { KIND_PATTERN } from './semantics.js';
import type { AppendRequest, AuxWrite } from './types.js';

/**
 * What an engine cannot store, declared by the engine and checked by the base before a request is
 * queued: refused up front as bad input (a 400 for that request alone) instead of failing the commit
 * of a whole group. An engine that declares nothing stores any string.
 *
 * The engines differ (docs/architecture.md#engine-limits): PostgreSQL indexes keys in btrees, whose
 * entries hold ~2700 bytes, and sends documents joined by U+001E; LevelDB keys and values have no
 * such bound and its codec escapes what it must, so it declares no limit.
 */
export interface EngineLimits {
  /**
   * The longest record key, aux namespace + key, seen namespace or idempotency key, in UTF-8 bytes
   * as the engine stores it.
   */
  readonly maxKeyBytes?: number;
  /** How the engine stores a key, when that is longer than the key (PostgreSQL escapes U+0000). */
  readonly storedKey?: (key: string) => string;
  /** A character documents and journal texts may not hold (the engine's batch separator). */
  readonly forbiddenInText?: string;
}

/** The checks every append passes before it is queued: kinds, then the engine's declared limits. */
export function checkAppend(limits: EngineLimits, request: AppendRequest): void {
  const forbidden = limits.forbiddenInText;
  for (const w of request.writes) {
    if (!KIND_PATTERN.test(w.kind)) throw hubError('INTERNAL', `invalid change kind '${w.kind}'`);
    checkKey(limits, w.key, 'a record key');
    // JSON text never holds a raw control character: one here is a bug above the store
    if (forbidden !== undefined && w.doc.includes(forbidden))
      throw hubError('INTERNAL', 'a document is not JSON text');
  }
  if (forbidden !== undefined && request.journal?.includes(forbidden))
    throw hubError('INTERNAL', 'the journal entry is not JSON text');
  checkAux(limits, request.aux ?? []);
  if (request.markSeen !== undefined) checkKey(limits, request.markSeen, 'a namespace');
  if (request.idempotencyKey !== undefined) checkKey(limits, request.idempotencyKey, 'an idempotency key');
  // an index term is stored with its key in one index entry
  for (const w of request.writes)
    for (const t of w.terms ?? []) checkKey(limits, t + w.key, 'an index term with its key');
}

/** The limits of aux entries written outside an append (auxPut) as well as with one. */
export function checkAux(limits: EngineLimits, writes: readonly AuxWrite[]): void {
  for (const a of writes) checkKey(limits, a.ns + a.key, 'an auxiliary key');
}

function checkKey(limits: EngineLimits, key: string, what: string): void {
  const max = limits.maxKeyBytes;
  if (max === undefined) return;
  // a UTF-16 unit is at most 3 UTF-8 bytes: only measure when it could matter
  if (key.length * 3 <= max) return;
  const stored = limits.storedKey ? limits.storedKey(key) : key;
  if (Buffer.byteLength(stored, 'utf8') > max)
    throw hubError('KEY_TOO_LONG', `${what} is longer than ${max} bytes`);
}
