import type { JsonValue } from '../../store/types.js';
import type { Expr } from './ast.js';
import { containsText, type Evaluator, type QueryRow } from './values.js';

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
  compile(args: readonly Expr[], compileArg: CompileArg): Evaluator;
  /**
   * For grouping functions (geo_cluster): when a call is a group_by expression, the group shows
   * this summary of its records rather than the key the call computes per record.
   */
  groupSummary?(args: readonly Expr[], compileArg: CompileArg): AccumulatorFactory;
  /** true when the call reads the whole record (search("text")), which a group does not have */
  needsRecord?(args: readonly Expr[]): boolean;
}

/** An aggregate (count, sum, avg, min, max): only in select and order_by of an analysis. */
export interface AggregateFunction extends FunctionCommon {
  readonly aggregate: true;
  accumulator(args: readonly Expr[], compileArg: CompileArg): AccumulatorFactory;
}

/**
 * An ODSQL function. The registry is the one place a function is added: date parts (dates.ts),
 * geo predicates and clustering (geo-functions.ts) and aggregates (aggregates.ts) plug in here
 * without touching the parser; builtins.ts loads them all.
 */
export type FunctionDef = ScalarFunction | AggregateFunction;

const registry = new Map<string, FunctionDef>();

export function registerFunction(fn: FunctionDef): void {
  registry.set(fn.name.toLowerCase(), fn);
}

/** Function names are case-insensitive, like keywords. */
export function lookupFunction(name: string): FunctionDef | undefined {
  return registry.get(name.toLowerCase());
}

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

/**
 * search("text"): some field of the record contains the text; search(f, "text"): field f does.
 * Case-insensitive substring match over string and number values (nested ones included).
 */
registerFunction({
  name: 'search',
  aggregate: false,
  check(args) {
    if (args.length < 1 || args.length > 2) {
      return {
        message: 'search() takes a text, or a field and a text: search("milk"), search(name, "milk")',
      };
    }
    const text = args[args.length - 1]!;
    if (!stringLiteral(text))
      return { message: 'the text searched for must be a quoted string', at: text.start };
    if (text.value.trim() === '') return { message: 'the text searched for is empty', at: text.start };
    if (args.length === 2 && args[0]!.kind !== 'field') {
      return { message: 'the first argument of search() must be a field name', at: args[0]!.start };
    }
    return undefined;
  },
  needsRecord: (args) => args.length === 1,
  compile(args, compileArg) {
    const text = args[args.length - 1] as Extract<Expr, { kind: 'literal' }>;
    const needle = String(text.value).toLowerCase();
    if (args.length === 2) {
      const field = compileArg(args[0]!);
      return (row) => containsText(field(row), needle);
    }
    return (row) => containsText(row.fields, needle);
  },
});
