/**
 * The ref index of the entity graph (docs/uda.md#query): each entity version carries one index term
 * per distinct (target, predicate) of its top-level refs, kept by the store for the latest version of
 * the key only (a new version replaces its terms, a delete drops them). A term names the target first,
 * so that every entity referring to one target is one prefix scan, and one predicate of it a longer
 * prefix: `ref␁<target>␁<predicate>␁`. The separator (U+0001) cannot occur in an IRI; a term also
 * never holds U+0000, which PostgreSQL text cannot store.
 *
 * Outgoing refs need no index: they are in the entity's own latest version.
 */

/** Refs as the entity graph data model stores them: predicate IRI → target IRI(s). */
export type Refs = { readonly [predicate: string]: string | readonly string[] };

const SEP = '\u0001';
/**
 * A term longer than this is not indexed (its ref is still stored and followed outgoing): the
 * PostgreSQL engine keeps a term with its key in one btree entry, which holds about 2.7 KB.
 */
export const MAX_TERM_LENGTH = 600;
const TERM_PREFIX = `ref${SEP}`;

/** The index terms of an entity version's refs: one per distinct (target, predicate), sorted. */
export function refTerms(refs: Refs): string[] {
  const terms = new Set<string>();
  for (const [predicate, targets] of Object.entries(refs)) {
    for (const target of typeof targets === 'string' ? [targets] : targets) {
      if (!usable(target) || !usable(predicate)) continue;
      const term = `${TERM_PREFIX}${target}${SEP}${predicate}${SEP}`;
      if (term.length <= MAX_TERM_LENGTH) terms.add(term);
    }
  }
  return [...terms].sort();
}

/** An IRI with a control character cannot be told apart inside a term: such a ref is not indexed. */
const usable = (iri: string): boolean => iri !== '' && !iri.includes('\u0000') && !iri.includes(SEP);

/** The prefix of the terms of refs to `target`, by `predicate` or (undefined) any predicate. */
export function incomingPrefix(target: string, predicate?: string): string {
  return predicate === undefined
    ? `${TERM_PREFIX}${target}${SEP}`
    : `${TERM_PREFIX}${target}${SEP}${predicate}${SEP}`;
}

/** The predicate of a term (whose target is known to the caller). */
export function predicateOfTerm(term: string): string {
  const end = term.length - 1;
  const start = term.lastIndexOf(SEP, end - 1);
  return term.slice(start + 1, end);
}

/** Every (predicate, target) pair of the refs, sorted by predicate then target, without repeats. */
export function refPairs(refs: Refs): Array<readonly [predicate: string, target: string]> {
  const seen = new Set<string>();
  const out: Array<readonly [string, string]> = [];
  for (const [predicate, targets] of Object.entries(refs)) {
    for (const target of typeof targets === 'string' ? [targets] : targets) {
      const id = `${predicate}${SEP}${target}`;
      if (seen.has(id)) continue;
      seen.add(id);
      out.push([predicate, target]);
    }
  }
  return out.sort(([pa, ta], [pb, tb]) => (pa !== pb ? (pa < pb ? -1 : 1) : ta < tb ? -1 : ta > tb ? 1 : 0));
}
