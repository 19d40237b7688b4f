import { hubError } from '../errors.js';
import type { Namespaces } from './namespaces.js';

/**
 * CURIEs of the Universal Data API (entity graph data model): `prefix:local` is expanded with a
 * namespace declared in the `@context` element; a value without a colon uses the default prefix `_`;
 * a value whose colon is followed by `//` (`http://…`), or a `urn:`, is already an IRI. Any other
 * prefix is unknown: a 400, never a guess. Compaction is the inverse, so that whatever the hub
 * emits expands back to the same IRI with the namespaces it lists.
 */

/** The prefix of the default namespace: bare names (`name`) expand with it. */
const DEFAULT_PREFIX = '_';

/** What a namespace prefix may look like (`_` included): no colon, no space. */
export const PREFIX = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

/** An absolute IRI as the hub accepts them: `scheme://…` or `urn:…`. */
export function isAbsoluteIri(value: string): boolean {
  const colon = value.indexOf(':');
  if (colon <= 0 || !/^[A-Za-z][A-Za-z0-9+.-]*$/.test(value.slice(0, colon))) return false;
  return value.startsWith('//', colon + 1) || value.slice(0, colon).toLowerCase() === 'urn';
}

const has = (ns: Namespaces, prefix: string): boolean => Object.prototype.hasOwnProperty.call(ns, prefix);

/** Expands a CURIE, a bare name or an IRI; throws UNKNOWN_PREFIX (400) for an undeclared prefix. */
export function expandCurie(value: string, namespaces: Namespaces): string {
  const colon = value.indexOf(':');
  if (colon < 0) {
    if (!has(namespaces, DEFAULT_PREFIX)) {
      throw hubError(
        'UNKNOWN_PREFIX',
        `'${value}' has no prefix and no default namespace '_' is declared in the @context element`,
      );
    }
    return namespaces[DEFAULT_PREFIX] + value;
  }
  if (value.startsWith('//', colon + 1)) return value;
  const prefix = value.slice(0, colon);
  if (has(namespaces, prefix)) return namespaces[prefix] + value.slice(colon + 1);
  if (isAbsoluteIri(value)) return value;
  throw hubError(
    'UNKNOWN_PREFIX',
    `prefix '${prefix}' of '${value}' is not declared in the @context element`,
  );
}

/**
 * Turns IRIs back into CURIEs with a dataset's namespaces: the longest matching namespace wins
 * (on equal length a named prefix before `_`, then the prefix in code-unit order). The default
 * namespace gives bare names, as UDA producers write them. A local part that would not expand back
 * to the same IRI (empty, containing ':', starting with '//' or '@') is not compacted: the IRI is
 * emitted whole.
 */
export class Compactor {
  private readonly candidates: ReadonlyArray<readonly [string, string]>;

  constructor(namespaces: Namespaces) {
    this.candidates = Object.entries(namespaces)
      // a prefix with a colon (only ICAR pushes can declare one) could never be read back
      .filter(([prefix, iri]) => PREFIX.test(prefix) && typeof iri === 'string' && iri.length > 0)
      .sort(([pa, a], [pb, b]) => {
        if (a.length !== b.length) return b.length - a.length;
        if ((pa === DEFAULT_PREFIX) !== (pb === DEFAULT_PREFIX)) return pa === DEFAULT_PREFIX ? 1 : -1;
        return pa < pb ? -1 : pa > pb ? 1 : 0;
      });
  }

  compact(iri: string): string {
    for (const [prefix, ns] of this.candidates) {
      if (!iri.startsWith(ns)) continue;
      const local = iri.slice(ns.length);
      if (local.includes(':') || local.startsWith('//')) continue;
      if (prefix === DEFAULT_PREFIX) {
        if (local === '' || local.startsWith('@')) continue;
        return local;
      }
      return `${prefix}:${local}`;
    }
    return iri;
  }
}

const compactors = new WeakMap<Namespaces, Compactor>();

/** One compactor per namespaces object: a feed renders every item with the same one. */
export function compactorFor(namespaces: Namespaces): Compactor {
  let c = compactors.get(namespaces);
  if (!c) {
    c = new Compactor(namespaces);
    compactors.set(namespaces, c);
  }
  return c;
}
