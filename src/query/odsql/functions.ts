import type { JsonValue } from '../../store/types.js';
import type { Expr } from './ast.js';
import type { Evaluator, QueryEnv, QueryRow, Value } from './values.js';

/** Why a call is wrong, and where (an offset in the clause text; the call's name by default). */
export interface FunctionProblem {
  readonly message: string;
  readonly at?: number;
}

/** One group's running aggregate: fed every record of the group, then asked for its value. */
export interface Accumulator {
  add(row: QueryRow): void;
  result(): JsonValue;
}

/** A fresh accumulator per group. */
export type AccumulatorFactory = () => Accumulator;

/** Compiles an argument in the record's context (where aggregates are not allowed). */
export type CompileArg = (e: Expr) => Evaluator;

interface FunctionCommon {
  readonly name: string;
  /** argument count and literal-type checks at parse time, so errors point at the argument */
  check(args: readonly Expr[]): FunctionProblem | undefined;
}

/** A function of one record's values: allowed anywhere (where, select, order_by, group_by). */
export interface ScalarFunction extends FunctionCommon {
  readonly aggregate: false;
  compile(args: readonly Expr[], compileArg: CompileArg, env: QueryEnv): Evaluator;
  /**
   * For grouping functions (geo_cluster): when a call is a group_by expression, the group shows
   * this summary of its records rather than the key the call computes per record.
   */
  groupSummary?(args: readonly Expr[], compileArg: CompileArg, env: QueryEnv): AccumulatorFactory;
  /** true when the call reads the whole record (search("text")), which a group does not have */
  needsRecord?(args: readonly Expr[]): boolean;
}

/** An aggregate (count, sum, avg, min, max): only in select and order_by of an analysis. */
export interface AggregateFunction extends FunctionCommon {
  readonly aggregate: true;
  accumulator(args: readonly Expr[], compileArg: CompileArg): AccumulatorFactory;
}

/**
 * An ODSQL function. builtins.ts lists every one (text here, date parts in dates.ts, geo
 * predicates and clustering in geo-functions.ts, aggregates in aggregates.ts, buckets in
 * range.ts): a function is added there, without touching the parser.
 */
export type FunctionDef = ScalarFunction | AggregateFunction;

const stringLiteral = (e: Expr | undefined): e is Extract<Expr, { kind: 'literal' }> & { value: string } =>
  e !== undefined && e.kind === 'literal' && typeof e.value === 'string';

/** A check for functions of exactly `n` arguments, none of them `*`. */
export function arity(name: string, n: number, usage: string) {
  return (args: readonly Expr[]): FunctionProblem | undefined => {
    if (args.length !== n) return { message: `${name}() takes ${n} argument${n === 1 ? '' : 's'}: ${usage}` };
    const star = args.find((a) => a.kind === 'star');
    if (star) return { message: `'*' is only allowed as count(*)`, at: star.start };
    return undefined;
  };
}

/** Calls f on every string and number of v (any nesting) until it answers true. */
function someText(v: Value, f: (text: string) => boolean): boolean {
  if (typeof v === 'string') return f(v.toLowerCase());
  if (typeof v === 'number') return f(String(v));
  if (Array.isArray(v)) return v.some((x) => someText(x, f));
  if (v !== null && typeof v === 'object' && !(v instanceof Date)) {
    for (const x of Object.values(v)) if (someText(x, f)) return true;
  }
  return false;
}

/** Words of a text for suggest(): runs of letters and digits. */
const WORD = /[\p{L}\p{N}]+/gu;

/**
 * The text predicates the ODS client builds (textSearch, textStartWith, textSuggest): a text alone
 * looks at every field of the record, fields before it narrow the look to them. All are
 * case-insensitive and match strings and numbers, nested ones and array elements included.
 *
 *   search([f, …,] "text")      some value contains the text
 *   startswith([f, …,] "text")  some value begins with the text
 *   suggest([f, …,] "text")     some word of some value begins with the text (type-ahead)
 */
function textPredicate(name: string, test: (value: string, needle: string) => boolean): ScalarFunction {
  return {
    name,
    aggregate: false,
    check(args) {
      const usage = `${name}() takes a text, or fields then a text: ${name}("milk"), ${name}(name, "milk")`;
      if (args.length < 1) return { message: usage };
      const text = args[args.length - 1]!;
      if (!stringLiteral(text))
        return { message: 'the text searched for must be a quoted string', at: text.start };
      if (text.value.trim() === '') return { message: 'the text searched for is empty', at: text.start };
      const notField = args.slice(0, -1).find((a) => a.kind !== 'field');
      if (notField)
        return {
          message: `the arguments of ${name}() before the text must be field names`,
          at: notField.start,
        };
      return undefined;
    },
    needsRecord: (args) => args.length === 1,
    compile(args, compileArg) {
      const text = args[args.length - 1] as Extract<Expr, { kind: 'literal' }>;
      const needle = String(text.value).toLowerCase();
      const match = (v: Value): boolean => someText(v, (t) => test(t, needle));
      if (args.length === 1) return (row) => match(row.fields);
      const fields = args.slice(0, -1).map(compileArg);
      return (row) => fields.some((f) => match(f(row)));
    },
  };
}

/** lower(f), upper(f): the text in lower or upper case (numbers as their text); other values null. */
function caseFunction(name: 'lower' | 'upper'): ScalarFunction {
  return {
    name,
    aggregate: false,
    check: arity(name, 1, `${name}(text_field)`),
    compile(args, compileArg) {
      const ev = compileArg(args[0]!);
      const change = (s: string): string => (name === 'lower' ? s.toLowerCase() : s.toUpperCase());
      const one = (v: Value): Value =>
        typeof v === 'string' ? change(v) : typeof v === 'number' ? String(v) : undefined;
      return (row) => {
        const v = ev(row);
        // multi-valued fields keep their values, each changed
        return Array.isArray(v) ? v.map((x) => (one(x) ?? null) as JsonValue) : one(v);
      };
    },
  };
}

/** The text functions, for the built-in list (builtins.ts). */
export const TEXT_FUNCTIONS: readonly ScalarFunction[] = [
  textPredicate('search', (v, needle) => v.includes(needle)),
  textPredicate('startswith', (v, needle) => v.startsWith(needle)),
  textPredicate('suggest', (v, needle) => {
    if (v.startsWith(needle)) return true;
    for (const m of v.matchAll(WORD)) if (m[0].startsWith(needle)) return true;
    return false;
  }),
  caseFunction('lower'),
  caseFunction('upper'),
];
