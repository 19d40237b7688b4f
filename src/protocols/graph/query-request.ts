import { hubError, HubError } from '../../errors.js';
import { isObject } from '../uda/entity.js';

/**
 * The body of POST /query in the Mimiro datahub's shape (docs/uda.md#query). Three kinds of query:
 * a lookup (`entityId`, one id or a list), a traversal (`startingEntities` + `predicate`, optionally
 * `inverse`) and the next page of a traversal (`continuations` from the previous answer). `datasets`
 * narrows the scope of a lookup or traversal; `limit` bounds a traversal's page (default 100).
 */
export type QueryRequest =
  | {
      readonly kind: 'lookup';
      readonly ids: readonly string[];
      readonly single: boolean;
      readonly datasets?: readonly string[];
      readonly details: boolean;
    }
  | {
      readonly kind: 'traverse';
      readonly starts: readonly string[];
      /** undefined: `*`, every predicate */
      readonly predicate?: string;
      readonly inverse: boolean;
      readonly datasets?: readonly string[];
      readonly limit: number;
    }
  | { readonly kind: 'continue'; readonly tokens: readonly string[]; readonly limit: number };

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 10_000;
/** ids, starting entities, datasets or continuations in one query */
export const MAX_LIST = 1_000;

const FIELDS = new Set([
  'entityId',
  'startingEntities',
  'predicate',
  'inverse',
  'datasets',
  'details',
  'limit',
  'continuations',
]);

const invalid = (message: string): HubError => hubError('INVALID_QUERY', message);

function stringList(v: unknown, name: string, max = MAX_LIST): string[] {
  if (!Array.isArray(v) || v.length === 0) throw invalid(`"${name}" must be a non-empty array of strings`);
  if (v.length > max) throw invalid(`"${name}" has ${v.length} items; at most ${max} are allowed`);
  for (const x of v) {
    if (typeof x !== 'string' || x === '') throw invalid(`"${name}" must hold non-empty strings only`);
  }
  return v as string[];
}

function bool(v: unknown, name: string): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') throw invalid(`"${name}" must be true or false`);
  return v;
}

function limitOf(v: unknown): number {
  if (v === undefined || v === null || v === 0) return DEFAULT_LIMIT;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > MAX_LIMIT) {
    throw invalid(`"limit" must be an integer from 1 to ${MAX_LIMIT}`);
  }
  return v;
}

export function parseQuery(body: unknown): QueryRequest {
  if (!isObject(body))
    throw invalid('the body must be a JSON object (a lookup, a traversal or continuations)');
  for (const k of Object.keys(body)) {
    if (!FIELDS.has(k)) throw invalid(`unknown field '${k}'; a query has ${[...FIELDS].join(', ')}`);
  }
  const given = (k: string): boolean => body[k] !== undefined && body[k] !== null;
  const datasets = given('datasets') ? stringList(body.datasets, 'datasets') : undefined;

  if (given('entityId')) {
    if (given('startingEntities') || given('continuations')) {
      throw invalid(
        '"entityId" is a lookup: it cannot be combined with "startingEntities" or "continuations"',
      );
    }
    const single = typeof body.entityId === 'string';
    const ids = single ? [body.entityId as string] : stringList(body.entityId, 'entityId');
    if (ids[0] === '') throw invalid('"entityId" must be a non-empty string or array of strings');
    return { kind: 'lookup', ids, single, datasets, details: bool(body.details, 'details') };
  }
  if (given('details')) throw invalid('"details" belongs to a lookup by "entityId"');
  const limit = limitOf(body.limit);

  if (given('continuations')) {
    if (given('startingEntities')) {
      throw invalid('"continuations" carry their query: send them without "startingEntities"');
    }
    if (!Array.isArray(body.continuations)) throw invalid('"continuations" must be an array of strings');
    // an empty list is the end of a traversal: nothing more to answer
    const tokens = body.continuations.length === 0 ? [] : stringList(body.continuations, 'continuations');
    return { kind: 'continue', tokens, limit };
  }
  if (!given('startingEntities')) {
    throw invalid(
      'a query needs "entityId" (lookup), "startingEntities" with "predicate" (traversal) or "continuations"',
    );
  }
  const starts = stringList(body.startingEntities, 'startingEntities');
  if (typeof body.predicate !== 'string' || body.predicate === '') {
    throw invalid(
      '"predicate" is required with "startingEntities": an IRI, a CURIE or "*" for every predicate',
    );
  }
  return {
    kind: 'traverse',
    starts,
    predicate: body.predicate === '*' ? undefined : body.predicate,
    inverse: bool(body.inverse, 'inverse'),
    datasets,
    limit,
  };
}
