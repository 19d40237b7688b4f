import { hubError } from '../../errors.js';
import { documentHash } from '../../domain/canonical.js';
import type { Subject, Translation, Translator } from '../../domain/ingest.js';
import { mergeNamespaces, type Namespaces } from '../../domain/namespaces.js';
import { MAX_PROBLEMS } from '../../domain/validation.js';
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

/** A structural problem of one element; the request's 400 lists every one (at most MAX_PROBLEMS). */
interface ResourceProblem {
  readonly index: number;
  readonly path: string;
  readonly keyword: string;
  readonly message: string;
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

interface ResourceFacts {
  readonly source: string;
  readonly sourceId: string;
  readonly deleted: boolean;
  readonly type: string;
}

/** What a dataset asks of every resource beyond the ICAR push rules (config `icar`). */
interface Requirements {
  readonly location: boolean;
  readonly modified: boolean;
}

/**
 * What the ICAR push body must look like (docs/icar.md#push), checked element by element: the facts
 * of a good resource, or its problems (each a JSON pointer, a keyword and a message).
 */
function checkResource(el: unknown, index: number, needs: Requirements): ResourceFacts | ResourceProblem[] {
  const problem = (path: string, keyword: string, reason: string): ResourceProblem => ({
    index,
    path,
    keyword,
    message: `element ${index}: ${reason}`,
  });
  if (!isObject(el)) return [problem('', 'type', 'a resource must be a JSON object')];
  if (el.id === '@continuation')
    return [problem('/id', 'push', 'a push must not carry a continuation element')];
  if (el.id === '@context') return [problem('/id', 'push', 'only the first element may be the context')];
  const out: ResourceProblem[] = [];
  if (!nonEmptyString(el.resourceType))
    out.push(problem('/resourceType', 'required', '"resourceType" must be a non-empty string'));
  const meta = el.meta;
  if (!isObject(meta)) {
    out.push(problem('/meta', 'required', '"meta" must be an object with "source" and "sourceId"'));
  } else {
    if (!nonEmptyString(meta.source))
      out.push(problem('/meta/source', 'required', '"meta.source" must be a non-empty string'));
    if (!nonEmptyString(meta.sourceId))
      out.push(problem('/meta/sourceId', 'required', '"meta.sourceId" must be a non-empty string'));
    if (meta.isDeleted !== undefined && typeof meta.isDeleted !== 'boolean')
      out.push(problem('/meta/isDeleted', 'type', '"meta.isDeleted" must be a boolean'));
    if (needs.modified && !nonEmptyString(meta.modified))
      out.push(problem('/meta/modified', 'required', '"meta.modified" is required by this dataset'));
  }
  if (needs.location) {
    const loc = el.location;
    if (!isObject(loc) || !nonEmptyString(loc.scheme) || !nonEmptyString(loc.id))
      out.push(problem('/location', 'required', '"location" {"scheme","id"} is required by this dataset'));
  }
  if (out.length > 0) return out;
  const m = meta as Record<string, unknown>;
  return {
    source: m.source as string,
    sourceId: m.sourceId as string,
    deleted: m.isDeleted === true,
    type: el.resourceType as string,
  };
}

/** Every structural problem of a request as one 400: the first one's message and index, and the list. */
function refuse(problems: readonly ResourceProblem[], truncated: boolean): Error {
  const first = problems[0]!;
  return hubError('INVALID_RESOURCE', first.message, {
    index: first.index,
    path: first.path,
    keyword: first.keyword,
    errors: problems,
    ...(truncated ? { truncated: true } : {}),
  });
}

/** Adds newly seen resource types to the dataset's list (for `containedTypes`). */
function addTypes(attrs: JsonObject, types: Set<string>): JsonObject | undefined {
  const known = Array.isArray(attrs.types) ? (attrs.types as string[]) : [];
  const fresh = [...types].filter((t) => !known.includes(t));
  return fresh.length === 0 ? undefined : { ...attrs, types: [...known, ...fresh].sort() };
}

/** ICAR push body → writes keyed by (meta.source, meta.sourceId); `meta.isDeleted` deletes. */
export const translateIcar: Translator = ({ envelope, config }): Translation => {
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
  const needs: Requirements = {
    location: config.icar?.requireLocation === true,
    modified: config.icar?.requireModified === true,
  };
  const problems: ResourceProblem[] = [];
  let truncated = false;
  for (let i = 1; i < body.length; i++) {
    const el = body[i];
    const r = checkResource(el, i, needs);
    if (Array.isArray(r)) {
      if (problems.length >= MAX_PROBLEMS) {
        truncated = true;
        break;
      }
      if (r.length > MAX_PROBLEMS - problems.length) truncated = true;
      problems.push(...r.slice(0, MAX_PROBLEMS - problems.length));
      continue;
    }
    if (problems.length > 0) continue;
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
  if (problems.length > 0) throw refuse(problems, truncated);
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
