import type { Expr } from './ast.js';
import { RECORD_ID_FIELD, RECORD_TIMESTAMP_FIELD } from './values.js';

/**
 * A cheap test on a record's stored JSON text, run before the text is parsed: it may let through
 * records the query then rejects, but never rejects one the query would keep. A selective
 * `where` on 100,000 records then parses only the few candidates.
 *
 * It is sound because stored documents are JSON.stringify output: a string value `s` appears in
 * the text as JSON.stringify(s), a number as String(n). Needles are restricted to printable ASCII
 * without `"` and `\` (which JSON escapes), and to strings that cannot compare equal to a number
 * ("5" = 5 holds in ODSQL, and 5 is not written "5").
 */
export interface RawDoc {
  readonly text: string;
  /** the text in lower case, computed once per record and only if a filter asks for it */
  lower(): string;
}

export type RawFilter = (doc: RawDoc) => boolean;

const SAFE = /^[\x20\x21\x23-\x5b\x5d-\x7e]+$/;
const NUMERIC = /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/;

const safe = (s: string): boolean => SAFE.test(s);
const safeText = (s: string): boolean => safe(s) && !NUMERIC.test(s);

/** A field of the record's own JSON (metadata names are not in the text). */
const ownField = (e: Expr): boolean =>
  e.kind === 'field' &&
  !(e.path.length === 1 && (e.path[0] === RECORD_ID_FIELD || e.path[0] === RECORD_TIMESTAMP_FIELD));

const stringLit = (e: Expr): string | undefined =>
  e.kind === 'literal' && typeof e.value === 'string' ? e.value : undefined;

function exact(s: string): RawFilter {
  const needle = JSON.stringify(s);
  return (d) => d.text.includes(needle);
}

function insensitive(s: string): RawFilter {
  const needle = s.toLowerCase();
  return (d) => d.lower().includes(needle);
}

/** Geo predicates are false without a point in their field, so the field's name must be in the text. */
const GEO_PREDICATES: ReadonlySet<string> = new Set(['within_distance', 'in_bbox']);

/** A top-level field is in the text as `"name":` (a nested one may be too: the test only lets through). */
function hasField(e: Expr): RawFilter | undefined {
  if (!ownField(e) || e.kind !== 'field' || !safe(e.path[0]!)) return undefined;
  const needle = `${JSON.stringify(e.path[0]!)}:`;
  return (d) => d.text.includes(needle);
}

/** The filter implied by a where expression, or undefined when nothing cheap can be said. */
export function rawFilterOf(expr: Expr | undefined): RawFilter | undefined {
  if (!expr) return undefined;
  switch (expr.kind) {
    case 'and': {
      const l = rawFilterOf(expr.left);
      const r = rawFilterOf(expr.right);
      if (l && r) return (d) => l(d) && r(d);
      return l ?? r;
    }
    case 'or': {
      const l = rawFilterOf(expr.left);
      const r = rawFilterOf(expr.right);
      return l && r ? (d) => l(d) || r(d) : undefined;
    }
    case 'compare': {
      if (expr.op !== '=') return undefined;
      const [field, lit] = ownField(expr.left) ? [expr.left, expr.right] : [expr.right, expr.left];
      const s = stringLit(lit);
      return ownField(field) && s !== undefined && safeText(s) ? exact(s) : undefined;
    }
    case 'in': {
      if (expr.negated || !ownField(expr.operand)) return undefined;
      const values = expr.list.map(stringLit);
      if (!values.every((v): v is string => v !== undefined && safeText(v))) return undefined;
      const tests = values.map(exact);
      return (d) => tests.some((t) => t(d));
    }
    case 'like': {
      if (expr.negated || !ownField(expr.operand)) return undefined;
      // the longest literal run of the pattern must appear somewhere, in any case
      const run = expr.pattern.split('*').reduce((a, b) => (b.length > a.length ? b : a), '');
      return run.length > 0 && safe(run) ? insensitive(run) : undefined;
    }
    case 'call': {
      if (GEO_PREDICATES.has(expr.name)) return hasField(expr.args[0]!);
      // the text of search/startswith/suggest appears in the record's text, in some case
      if (!TEXT_PREDICATES.has(expr.name)) return undefined;
      const text = stringLit(expr.args[expr.args.length - 1]!);
      if (text === undefined || !safe(text)) return undefined;
      if (!expr.args.slice(0, -1).every(ownField)) return undefined;
      return insensitive(text);
    }
    default:
      return undefined;
  }
}

/** For refine=f:value — the value as it must appear in the text (a string, or true/false). */
export function rawFilterOfRefine(value: string): RawFilter | undefined {
  if (!safeText(value)) return undefined;
  return (d) => d.text.includes(value);
}

const TEXT_PREDICATES = new Set(['search', 'startswith', 'suggest']);

export function rawDoc(text: string): RawDoc {
  let lower: string | undefined;
  return {
    text,
    lower: () => (lower ??= text.toLowerCase()),
  };
}
