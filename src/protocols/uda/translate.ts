import { hubError, HubError, isHubError } from '../../errors.js';
import { documentHash } from '../../domain/canonical.js';
import { PREFIX, isAbsoluteIri } from '../../domain/curie.js';
import type { Subject, Translation, Translator } from '../../domain/ingest.js';
import { mergeNamespaces, type Namespaces } from '../../domain/namespaces.js';
import { refTerms } from '../../domain/refs.js';
import type { Change, JsonObject, Write } from '../../store/types.js';
import { expandEntity, isObject, type StoredEntity } from './entity.js';
import { fullSyncFromParams, moveLease, syncAppend } from './fullsync.js';

/** Changes written by UDA pushes carry this kind. */
export const ENTITY_KIND = 'entity';

function invalid(index: number, reason: string): HubError {
  return hubError('INVALID_ENTITY', `element ${index}: ${reason}`, { index });
}

/**
 * The `{"id":"@context","namespaces":{...}}` element that opens a UDA array. Prefixes must be
 * names without a colon and namespaces absolute IRIs (`scheme://…` or `urn:…`), so that every
 * CURIE the hub writes back expands to the same IRI.
 */
function readContext(first: unknown): Namespaces {
  if (!isObject(first) || first.id !== '@context') {
    throw invalid(0, 'the first element must be the context object {"id":"@context","namespaces":{...}}');
  }
  const ns = first.namespaces;
  if (ns === undefined || ns === null) return {};
  if (!isObject(ns)) throw invalid(0, '"namespaces" must be an object of prefix → IRI');
  const out: Namespaces = {};
  for (const [prefix, iri] of Object.entries(ns)) {
    if (!PREFIX.test(prefix)) throw invalid(0, `namespace prefix '${prefix}' must match ${PREFIX.source}`);
    if (typeof iri !== 'string' || !isAbsoluteIri(iri)) {
      throw invalid(0, `namespace '${prefix}' must be an absolute IRI (scheme://… or urn:…)`);
    }
    Object.defineProperty(out, prefix, { value: iri, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** A key a full sync deletes becomes its entity with `deleted: true`; other kinds are not UDA's to sweep. */
function entityTombstone(current: Change): { doc: string; hash: string } | undefined {
  if (current.kind !== ENTITY_KIND) return undefined;
  const doc = { ...(JSON.parse(current.doc) as StoredEntity), deleted: true };
  return { doc: JSON.stringify(doc), hash: documentHash(doc) };
}

/** The namespace conflict is about the context element: say so with its index. */
function withContextIndex<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (isHubError(err) && err.code === 'NAMESPACE_CONFLICT') {
      throw hubError(err.code, err.message, { ...err.details, index: 0 });
    }
    throw err;
  }
}

/**
 * UDA push body → entity writes keyed by their expanded ids (docs/uda.md#push). With full-sync params
 * the request also moves the dataset's sync lease and marks, sweeps or resets the seen keys.
 */
export function udaTranslator(leaseMs: number): Translator {
  return ({ envelope, mode, now }): Translation => {
    const body = envelope.body;
    if (!Array.isArray(body) || body.length === 0) {
      throw invalid(0, 'the body must be a JSON array starting with the {"id":"@context"} element');
    }
    const namespaces = readContext(body[0]);
    const writes: Write[] = [];
    const subjects: Subject[] = [];
    for (let i = 1; i < body.length; i++) {
      const entity = expandEntity(body[i], namespaces, i);
      writes.push({
        key: entity.id,
        kind: ENTITY_KIND,
        deleted: entity.deleted,
        doc: JSON.stringify(entity),
        hash: documentHash(entity),
        // the ref index (domain/refs.ts): a delete has no refs to be found by
        terms: entity.deleted ? [] : refTerms(entity.refs),
      });
      // the dataset schema sees the stored (expanded) form: it does not depend on client prefixes
      if (!entity.deleted) subjects.push({ index: i, doc: entity });
    }
    const sync = fullSyncFromParams(envelope.params);
    return {
      writes,
      subjects,
      received: writes.length,
      ...(sync ? syncAppend(sync, entityTombstone) : {}),
      attrs: (current: JsonObject) => {
        let next = withContextIndex(() => mergeNamespaces(current, namespaces)) ?? current;
        if (sync) next = moveLease(next, sync, { mode, now, leaseMs, clock: Date.now });
        return next === current ? undefined : next;
      },
    };
  };
}
