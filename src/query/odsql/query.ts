import { hubError } from '../../errors.js';
import type { Expr, SelectItem } from './ast.js';
import {
  defaultProjection,
  compileFilter,
  compileOrder,
  compileSelect,
  selectColumns,
  type CompiledOrder,
  type Projection,
} from './compile.js';
import { compileAnalysis, hasAggregate, isGroupingCall, type CompiledAnalysis } from './analysis.js';
import { parseGroupBy, parseOrderBy, parseSelect, parseWhere } from './parser.js';
import { rawFilterOf, rawFilterOfRefine, type RawFilter } from './prefilter.js';
import type { QueryEnv, QueryRow, Value } from './values.js';
import { checkTimezone, localParts } from './zone.js';
import { fieldValue } from './values.js';

/** A query as the explore APIs receive it: ODSQL texts and facet refinements. */
export interface QuerySpec {
  readonly where?: string;
  readonly select?: string;
  readonly orderBy?: string;
  /** `f:value` — only records whose field f has this value */
  readonly refine?: readonly string[];
  /** `f:value` — only records whose field f does not have this value */
  readonly exclude?: readonly string[];
  /** full-text terms (the v1 API's `q`): every term must appear in some field */
  readonly q?: string;
  /** analyses: group keys (`robot, year(ts) as y`); aggregates in select then make one result per group */
  readonly groupBy?: string;
  /** the IANA time zone of date functions, date refines and range buckets (UTC by default) */
  readonly timezone?: string;
  /**
   * The reader's key scope (protocols/scope.ts): records it does not admit are not there for this
   * query — not in results, totals, facets or aggregates.
   */
  readonly scope?: (row: QueryRow) => boolean;
}

/** A query compiled once, evaluated per record. */
export interface CompiledQuery {
  /** undefined: every record matches */
  readonly filter: ((row: QueryRow) => boolean) | undefined;
  /** a cheap test on the stored text before parsing (see prefilter.ts) */
  readonly raw: RawFilter | undefined;
  readonly project: Projection;
  readonly order: CompiledOrder | undefined;
  /** output columns when the select names them; undefined when they depend on the data (`*`) */
  readonly columns: string[] | undefined;
  /**
   * Set when the query is an analysis (group_by, or aggregates in select): results are then
   * groups, which this computes; `project` and `order` do not apply.
   */
  readonly analysis: CompiledAnalysis | undefined;
}

interface Refinement {
  readonly path: readonly string[];
  readonly value: string;
  readonly negated: boolean;
}

const FIELD_NAME = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;

function parseRefinement(param: 'refine' | 'exclude', text: string): Refinement {
  const colon = text.indexOf(':');
  const name = colon < 0 ? '' : text.slice(0, colon).trim();
  if (colon < 0 || !FIELD_NAME.test(name)) {
    throw hubError(
      'INVALID_PARAMETER',
      `${param} must be written field:value (e.g. ${param}=city:Paris), got '${text}'`,
    );
  }
  return { path: name.split('.'), value: text.slice(colon + 1), negated: param === 'exclude' };
}

const DATE_PREFIX = /^\d{4}([-/]\d{2}){0,2}$/;
const ISO_DATE = /^\d{4}-\d{2}/;
/** a date-time with a time of day and a zone (Z or an offset) */
const DATE_TIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}.*(Z|[+-]\d{2}:?\d{2})$/i;

function localDay(t: number, tz: string): string {
  const [y, m, d] = localParts(t, tz);
  return `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
}

/**
 * A facet value matches a field value when their texts are equal (numbers and booleans by their
 * JSON text); on dates, a year, year/month or day refines (`refine=date:2024/05`), as ODS date
 * facets do. Multi-valued fields match when any element does.
 */
function refineMatch(v: Value, want: string, tz: string): boolean {
  if (Array.isArray(v)) return v.some((x) => refineMatch(x, want, tz));
  if (typeof v === 'string') {
    if (v === want) return true;
    if (DATE_PREFIX.test(want) && ISO_DATE.test(v)) {
      const prefix = want.replace(/\//g, '-');
      // a date-time is refined by its day in the query's timezone; a plain date by its text
      const t = DATE_TIME.test(v) ? Date.parse(v) : NaN;
      const text = Number.isNaN(t) ? v : localDay(t, tz);
      return text.startsWith(prefix) && (text.length === prefix.length || !/\d/.test(text[prefix.length]!));
    }
    return false;
  }
  if (typeof v === 'number') return String(v) === want || (want.trim() !== '' && Number(want) === v);
  if (typeof v === 'boolean') return String(v) === want;
  return false;
}

/** `q`: whitespace-separated terms or "quoted phrases", each a search() that must hold. */
function fullTextExpr(q: string): Expr | undefined {
  const terms: { text: string; start: number; end: number }[] = [];
  const re = /"([^"]*)"|(\S+)/g;
  for (let m = re.exec(q); m !== null; m = re.exec(q)) {
    const text = m[1] ?? m[2] ?? '';
    if (text.trim() !== '') terms.push({ text, start: m.index, end: m.index + m[0].length });
  }
  let expr: Expr | undefined;
  for (const t of terms) {
    const lit: Expr = { kind: 'literal', value: t.text, start: t.start, end: t.end };
    const call: Expr = { kind: 'call', name: 'search', args: [lit], start: t.start, end: t.end };
    expr = expr ? { kind: 'and', left: expr, right: call, start: expr.start, end: t.end } : call;
  }
  return expr;
}

function both<T>(
  a: ((x: T) => boolean) | undefined,
  b: ((x: T) => boolean) | undefined,
): ((x: T) => boolean) | undefined {
  if (a && b) return (x) => a(x) && b(x);
  return a ?? b;
}

/** Parses and compiles every part of a query; ODSQL errors are 400s pointing at the character. */
export function compileQuery(spec: QuerySpec): CompiledQuery {
  const tz = spec.timezone === undefined || spec.timezone === '' ? 'UTC' : checkTimezone(spec.timezone);
  const env: QueryEnv = { timezone: tz, now: Date.now() };
  const whereText = spec.where ?? '';
  const where = parseWhere(whereText);
  let filter = where ? compileFilter(where, { clause: 'where', source: whereText, env }) : undefined;
  let raw = rawFilterOf(where);
  filter = both(spec.scope, filter);

  const qText = spec.q ?? '';
  const q = fullTextExpr(qText);
  if (q) {
    filter = both(filter, compileFilter(q, { clause: 'q', source: qText, env }));
    raw = both(raw, rawFilterOf(q));
  }

  const refinements = [
    ...(spec.refine ?? []).map((r) => parseRefinement('refine', r)),
    ...(spec.exclude ?? []).map((r) => parseRefinement('exclude', r)),
  ];
  for (const r of refinements) {
    const test = (row: QueryRow): boolean => refineMatch(fieldValue(row, r.path), r.value, tz) !== r.negated;
    filter = both(filter, test);
    // date facets (2024/05) match 2024-05-… text: no cheap test for those
    if (!r.negated && !DATE_PREFIX.test(r.value)) raw = both(raw, rawFilterOfRefine(r.value));
  }

  const selectText = spec.select ?? '';
  const select: SelectItem[] | undefined = selectText.trim() === '' ? undefined : parseSelect(selectText);
  const orderText = spec.orderBy ?? '';
  const orderItems = orderText.trim() === '' ? undefined : parseOrderBy(orderText);
  const groupText = spec.groupBy ?? '';
  const groupBy = groupText.trim() === '' ? [] : parseGroupBy(groupText);

  const analysed =
    groupBy.length > 0 || (select ?? []).some((i) => hasAggregate(i.expr) || isGroupingCall(i.expr));
  if (analysed) {
    const analysis = compileAnalysis({
      select,
      selectText,
      groupBy,
      groupText,
      orderBy: orderItems,
      orderText,
      env,
    });
    return { filter, raw, project: defaultProjection, order: undefined, columns: analysis.columns, analysis };
  }
  const order = orderItems
    ? compileOrder(orderItems, { clause: 'order_by', source: orderText, env })
    : undefined;
  return {
    filter,
    raw,
    project: compileSelect(select, selectText, env),
    order,
    columns: selectColumns(select),
    analysis: undefined,
  };
}
