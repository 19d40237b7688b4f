import { hubError } from '../errors.js';
import type { JsonObject } from '../store/types.js';

/** prefix → IRI, as the `@context` element of ICAR and UDA requests carries them. */
export type Namespaces = Record<string, string>;

/** The namespaces a dataset has seen (kept in its attrs). */
export function namespacesOf(attrs: JsonObject): Namespaces {
  const ns = attrs.namespaces;
  return ns && typeof ns === 'object' && !Array.isArray(ns) ? (ns as Namespaces) : {};
}

/**
 * Adds a request's namespaces to the dataset's. Redefining a known prefix to another IRI would
 * silently change the meaning of stored data on output, so it is a 409. Returns undefined when
 * nothing is new (attrs untouched).
 */
export function mergeNamespaces(attrs: JsonObject, incoming: Namespaces): JsonObject | undefined {
  const known = namespacesOf(attrs);
  const added: Array<[string, string]> = [];
  for (const [prefix, iri] of Object.entries(incoming)) {
    const had = Object.prototype.hasOwnProperty.call(known, prefix) ? known[prefix] : undefined;
    if (had === undefined) added.push([prefix, iri]);
    else if (had !== iri) {
      throw hubError(
        'NAMESPACE_CONFLICT',
        `prefix '${prefix}' is already bound to <${had}> in this dataset, not <${iri}>`,
      );
    }
  }
  if (added.length === 0) return undefined;
  // fromEntries defines own properties: a '__proto__' prefix stays data, never a prototype
  const merged: JsonObject = Object.fromEntries([...Object.entries(known), ...added]);
  return { ...attrs, namespaces: merged };
}
