import { hubError } from '../../errors.js';
import { documentHash } from '../../domain/canonical.js';
import type { Subject, Translation, Translator } from '../../domain/ingest.js';
import { mergeNamespaces, type Namespaces } from '../../domain/namespaces.js';
import type { JsonObject, Write } from '../../store/types.js';

/** Changes written by ICAR pushes carry this kind. */
export const RESOURCE_KIND = 'resource';

/** A resource's record key: (meta.source, meta.sourceId), each URI-encoded so the pair is unambiguous. */
export function resourceKey(source: string, sourceId: string): string {
  return `${encodeURIComponent(source)}/${encodeURIComponent(sourceId)}`;
}

export function splitResourceKey(key: string): { source: string; sourceId: string } | undefined {
  const slash = key.indexOf('/');
  if (slash < 0) return undefined;
  try {
    return {
      source: decodeURIComponent(key.slice(0, slash)),
      sourceId: decodeURIComponent(key.slice(slash + 1)),
    };
  } catch {
    return undefined;
  }
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const nonEmptyString = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

function invalid(index: number, reason: string): Error {
  return hubError('INVALID_RESOURCE', `element ${index}: ${reason}`, { index });
}

/** Reads the `{"id":"@context", "namespaces": {...}}` element that opens ICAR and UDA arrays. */
export function readContextElement(first: unknown): Namespaces {
  if (!isObject(first) || first.id !== '@context') {
    throw invalid(0, 'the first element must be the context object {"id":"@context", ...}');
  }
  const ns = first.namespaces;
  if (ns === undefined) return {};
  if (!isObject(ns)) throw invalid(0, '"namespaces" must be an object of prefix → IRI');
  for (const [prefix, iri] of Object.entries(ns)) {
    if (!nonEmptyString(iri)) throw invalid(0, `namespace '${prefix}' must be a non-empty IRI string`);
  }
  return ns as Namespaces;
}

/** What the ICAR push body must look like (docs/icar.md#push), checked element by element. */
function checkResource(
  el: unknown,
  index: number,
): { source: string; sourceId: string; deleted: boolean; type: string } {
  if (!isObject(el)) throw invalid(index, 'a resource must be a JSON object');
  if (el.id === '@continuation') throw invalid(index, 'a push must not carry a continuation element');
  if (el.id === '@context') throw invalid(index, 'only the first element may be the context');
  if (!nonEmptyString(el.resourceType)) throw invalid(index, '"resourceType" must be a non-empty string');
  const meta = el.meta;
  if (!isObject(meta)) throw invalid(index, '"meta" must be an object with "source" and "sourceId"');
  if (!nonEmptyString(meta.source)) throw invalid(index, '"meta.source" must be a non-empty string');
  if (!nonEmptyString(meta.sourceId)) throw invalid(index, '"meta.sourceId" must be a non-empty string');
  if (meta.isDeleted !== undefined && typeof meta.isDeleted !== 'boolean') {
    throw invalid(index, '"meta.isDeleted" must be a boolean');
  }
  return {
    source: meta.source,
    sourceId: meta.sourceId,
    deleted: meta.isDeleted === true,
    type: el.resourceType,
  };
}

/** Adds newly seen resource types to the dataset's list (for `containedTypes`). */
function addTypes(attrs: JsonObject, types: Set<string>): JsonObject | undefined {
  const known = Array.isArray(attrs.types) ? (attrs.types as string[]) : [];
  const fresh = [...types].filter((t) => !known.includes(t));
  return fresh.length === 0 ? undefined : { ...attrs, types: [...known, ...fresh].sort() };
}

/** ICAR push body → writes keyed by (meta.source, meta.sourceId); `meta.isDeleted` deletes. */
export const translateIcar: Translator = ({ envelope }): Translation => {
  const body = envelope.body;
  if (!Array.isArray(body) || body.length === 0) {
    throw hubError(
      'INVALID_RESOURCE',
      'the body must be a JSON array starting with the {"id":"@context"} element',
      {
        index: 0,
      },
    );
  }
  const namespaces = readContextElement(body[0]);
  const writes: Write[] = [];
  const subjects: Subject[] = [];
  const types = new Set<string>();
  for (let i = 1; i < body.length; i++) {
    const el = body[i];
    const r = checkResource(el, i);
    types.add(r.type);
    writes.push({
      key: resourceKey(r.source, r.sourceId),
      kind: RESOURCE_KIND,
      deleted: r.deleted,
      doc: JSON.stringify(el),
      hash: documentHash(el),
    });
    if (!r.deleted) subjects.push({ index: i, doc: el });
  }
  return {
    writes,
    subjects,
    received: writes.length,
    attrs: (current) => {
      const withNs = mergeNamespaces(current, namespaces) ?? current;
      return addTypes(withNs, types) ?? (withNs === current ? undefined : withNs);
    },
  };
};
