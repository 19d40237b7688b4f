import { hubError, isHubError } from '../../errors.js';
import { expandCurie, type Compactor } from '../../domain/curie.js';
import type { Namespaces } from '../../domain/namespaces.js';
import type { JsonObject, JsonValue } from '../../store/types.js';

/**
 * The entity graph data model (Universal Data API): an entity has an `id`, literal `props` (whose
 * values may nest entities) and `refs` to other entities' ids. The hub stores entities with every
 * id and key expanded to a full IRI, so that the stored document does not depend on the prefixes a
 * client happened to use; feeds compact them again with the dataset's namespaces.
 */

/** An entity nested in a property value: no `deleted`, and the id is optional (a blank node). */
export interface NestedEntity {
  id?: string;
  props: { [iri: string]: JsonValue };
  refs: { [iri: string]: string | string[] };
}

/** The stored document of kind `entity`. */
export interface StoredEntity extends NestedEntity {
  id: string;
  deleted: boolean;
}

/** Fields an entity element may carry; `recorded` and `internalId` are what UDA feeds emit, ignored. */
const TOP_FIELDS = new Set(['id', 'props', 'refs', 'deleted', 'recorded', 'internalId']);
const NESTED_FIELDS = new Set(['id', 'props', 'refs']);

export const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Turns one pushed element into its stored form, or throws a 400 naming the element's index. */
export function expandEntity(el: unknown, namespaces: Namespaces, index: number): StoredEntity {
  const fail = (reason: string): Error =>
    hubError('INVALID_ENTITY', `element ${index}: ${reason}`, { index });
  const expand = (value: string): string => {
    try {
      return expandCurie(value, namespaces);
    } catch (err) {
      if (isHubError(err)) throw hubError(err.code, `element ${index}: ${err.message}`, { index });
      throw err;
    }
  };

  if (!isObject(el)) throw fail('an entity must be a JSON object');
  if (el.id === '@context') throw fail('only the first element may be the context');
  if (el.id === '@continuation') throw fail('a push must not carry a continuation element');
  if (typeof el.id !== 'string' || el.id === '') throw fail('"id" must be a non-empty string');
  if (el.deleted !== undefined && typeof el.deleted !== 'boolean') throw fail('"deleted" must be a boolean');

  const body = (node: Record<string, unknown>, fields: Set<string>, where: string): NestedEntity => {
    for (const k of Object.keys(node)) {
      if (!fields.has(k)) {
        throw fail(
          fields === TOP_FIELDS
            ? `unknown field '${k}' (an entity has id, props, refs and deleted)`
            : `${where}an object in props must be an entity {"id"?, "props"?, "refs"?}, not have '${k}'`,
        );
      }
    }
    const props: NestedEntity['props'] = {};
    if (node.props !== undefined && node.props !== null) {
      if (!isObject(node.props)) throw fail(`${where}"props" must be an object`);
      for (const [k, v] of Object.entries(node.props)) {
        put(props, expand(k), value(v, `${where}props.${k}: `), `${where}props: `, k);
      }
    }
    const refs: NestedEntity['refs'] = {};
    if (node.refs !== undefined && node.refs !== null) {
      if (!isObject(node.refs)) throw fail(`${where}"refs" must be an object`);
      for (const [k, v] of Object.entries(node.refs)) {
        let target: string | string[];
        if (typeof v === 'string') target = expand(v);
        else if (Array.isArray(v) && v.every((x): x is string => typeof x === 'string'))
          target = v.map(expand);
        else throw fail(`${where}refs.${k} must be an id or an array of ids`);
        put(refs, expand(k), target, `${where}refs: `, k);
      }
    }
    return { props, refs };
  };

  const value = (v: unknown, where: string): JsonValue => {
    if (Array.isArray(v)) return v.map((x) => value(x, where));
    if (!isObject(v)) return v as JsonValue;
    if (v.id !== undefined && (typeof v.id !== 'string' || v.id === '')) {
      throw fail(`${where}"id" of a nested entity must be a non-empty string`);
    }
    const nested = body(v, NESTED_FIELDS, where);
    const out: JsonObject = {};
    if (typeof v.id === 'string') out.id = expand(v.id);
    out.props = nested.props;
    out.refs = nested.refs as JsonObject;
    return out;
  };

  const put = <T>(target: { [k: string]: T }, iri: string, v: T, where: string, key: string): void => {
    // two spellings of one IRI (`name` and `_:name`…) would silently drop one of the values
    if (Object.prototype.hasOwnProperty.call(target, iri)) {
      throw fail(`${where}'${key}' expands to <${iri}>, which another key of the same entity already uses`);
    }
    // own data property: a '__proto__' key stays a key
    Object.defineProperty(target, iri, { value: v, enumerable: true, writable: true, configurable: true });
  };

  const { props, refs } = body(el, TOP_FIELDS, '');
  return { id: expand(el.id), props, refs, deleted: el.deleted === true };
}

/** The UDA form of a stored entity with the dataset's namespaces; `recorded`/`deleted` come from the change. */
export function compactEntity(e: StoredEntity, c: Compactor, recorded: number, deleted: boolean): JsonObject {
  const { props, refs } = compactBody(e, c);
  return { id: c.compact(e.id), recorded, deleted, props, refs };
}

function compactBody(e: NestedEntity, c: Compactor): { props: JsonObject; refs: JsonObject } {
  const props: JsonObject = {};
  for (const [k, v] of Object.entries(e.props)) define(props, c.compact(k), compactValue(v, c));
  const refs: JsonObject = {};
  for (const [k, v] of Object.entries(e.refs)) {
    define(refs, c.compact(k), typeof v === 'string' ? c.compact(v) : v.map((x) => c.compact(x)));
  }
  return { props, refs };
}

function compactValue(v: JsonValue, c: Compactor): JsonValue {
  if (Array.isArray(v)) return v.map((x) => compactValue(x, c));
  if (!isObject(v)) return v;
  const nested = v as unknown as NestedEntity;
  const out: JsonObject = {};
  if (nested.id !== undefined) out.id = c.compact(nested.id);
  const { props, refs } = compactBody(nested, c);
  out.props = props;
  out.refs = refs;
  return out;
}

function define(target: JsonObject, key: string, v: JsonValue): void {
  Object.defineProperty(target, key, { value: v, enumerable: true, writable: true, configurable: true });
}
