import type { Outcome, Write } from './types.js';

/**
 * A key's head: what a writer knows of the key's latest change when it decides what a write does.
 * (A dataset's own bookkeeping is its record, DatasetRecord, never a head.)
 */
export interface KeyHead {
  readonly seq: number;
  readonly deleted: boolean;
  readonly hash: string;
}

/**
 * Changelog semantics shared by every engine: what one write does to a key whose latest change is
 * `current`. Identical documents (same canonical hash) and repeated deletes make no change; a
 * delete of a key never seen has nothing to delete.
 */
export function decide(current: KeyHead | undefined, write: Write): Outcome {
  if (write.ifAbsent && current) return 'dropped';
  if (write.deleted) {
    if (!current) return 'missing';
    return current.deleted ? 'unchanged' : 'deleted';
  }
  if (!current || current.deleted) return 'created';
  return current.hash === write.hash ? 'unchanged' : 'updated';
}

/** Does this outcome append a change? */
export const appends = (o: Outcome): boolean => o === 'created' || o === 'updated' || o === 'deleted';

/** How an outcome moves the count of live keys. */
export const liveDelta = (o: Outcome): number => (o === 'created' ? 1 : o === 'deleted' ? -1 : 0);

export const KIND_PATTERN = /^[a-z]{1,32}$/;
