import type { Expr } from './ast.js';
import { containsText, fieldValue, type Evaluator } from './values.js';

/** Why a call is wrong, and where (an offset in the clause text; the call's name by default). */
export interface FunctionProblem {
  readonly message: string;
  readonly at?: number;
}

/**
 * An ODSQL function. The registry is the one place a function is added: date parts (`year(f)`),
 * geo predicates (`within_distance(f, geom'…', 10km)`) and aggregates (`count(*)`, `avg(f)`, marked
 * `aggregate` so that only select/group_by accept them) plug in here without touching the parser.
 */
export interface FunctionDef {
  readonly name: string;
  readonly aggregate: boolean;
  /** argument count and literal-type checks at parse time, so errors point at the argument */
  check(args: readonly Expr[]): FunctionProblem | undefined;
  compile(args: readonly Expr[], compileArg: (e: Expr) => Evaluator): Evaluator;
}

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
  compile(args) {
    const text = args[args.length - 1] as Extract<Expr, { kind: 'literal' }>;
    const needle = String(text.value).toLowerCase();
    const field = args.length === 2 ? (args[0] as Extract<Expr, { kind: 'field' }>) : undefined;
    if (field) return (row) => containsText(fieldValue(row, field.path), needle);
    return (row) => containsText(row.fields, needle);
  },
});
