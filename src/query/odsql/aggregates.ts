import type { JsonValue } from '../../store/types.js';
import type { Expr } from './ast.js';
import type { AccumulatorFactory, AggregateFunction, CompileArg } from './functions.js';
import { sortCompare, type QueryRow, type Value } from './values.js';

/**
 * Aggregates of an analysis (`select=count(*), avg(weight) as w&group_by=robot`), SQL-style:
 * null and missing values are skipped; over no value, count is 0 and the others are null.
 * A multi-valued field (JSON array) contributes each of its values, as ODS treats multivalued
 * fields.
 */

const present = (v: Value): boolean => v !== undefined && v !== null;

/** Calls f with every scalar of v (the elements of an array, v itself otherwise). */
function each(v: Value, f: (x: Value) => void): void {
  if (Array.isArray(v)) {
    for (const x of v) if (present(x)) f(x);
  } else if (present(v)) f(v);
}

const jsonOf = (v: Value): JsonValue => (v === undefined ? null : v instanceof Date ? v.toISOString() : v);

function oneArgument(name: string) {
  return (args: readonly Expr[]) => {
    if (args.length !== 1) return { message: `${name}() takes one field or expression: ${name}(weight)` };
    if (args[0]!.kind === 'star')
      return { message: `${name}(*) is not allowed: only count(*)`, at: args[0]!.start };
    return undefined;
  };
}

const COUNT: AggregateFunction = {
  name: 'count',
  aggregate: true,
  check(args) {
    if (args.length !== 1) return { message: 'count() takes * or one field: count(*), count(weight)' };
    return undefined;
  },
  accumulator(args, compileArg): AccumulatorFactory {
    if (args[0]!.kind === 'star') {
      return () => {
        let n = 0;
        return { add: () => void n++, result: () => n };
      };
    }
    const ev = compileArg(args[0]!);
    return () => {
      let n = 0;
      return {
        add(row) {
          const v = ev(row);
          if (present(v) && !(Array.isArray(v) && v.length === 0)) n++;
        },
        result: () => n,
      };
    };
  },
};

/** sum and avg: over numbers (other values are skipped). */
function numeric(name: 'sum' | 'avg'): AggregateFunction {
  return {
    name,
    aggregate: true,
    check: oneArgument(name),
    accumulator(args: readonly Expr[], compileArg: CompileArg): AccumulatorFactory {
      const ev = compileArg(args[0]!);
      return () => {
        let sum = 0;
        let n = 0;
        const add = (x: Value): void => {
          if (typeof x === 'number') {
            sum += x;
            n++;
          }
        };
        return {
          add: (row) => each(ev(row), add),
          result: () => (n === 0 ? null : name === 'sum' ? sum : sum / n),
        };
      };
    },
  };
}

/** min and max: in the order order_by uses (numbers, then text, then booleans). */
function extreme(name: 'min' | 'max'): AggregateFunction {
  const better = name === 'min' ? (c: number) => c < 0 : (c: number) => c > 0;
  return {
    name,
    aggregate: true,
    check: oneArgument(name),
    accumulator(args: readonly Expr[], compileArg: CompileArg): AccumulatorFactory {
      const ev = compileArg(args[0]!);
      return () => {
        let best: Value;
        const add = (x: Value): void => {
          if (best === undefined || better(sortCompare(x, best, false))) best = x;
        };
        return { add: (row) => each(ev(row), add), result: () => jsonOf(best) };
      };
    },
  };
}

/**
 * The p-th percentile of a group's numbers with linear interpolation between the two nearest
 * ranks (p = 50 is the median; the method of numpy's and PostgreSQL's percentile_cont). The
 * numbers of each group are held until the end: memory grows with the records of the group.
 */
function percentileOf(values: number[], p: number): number | null {
  if (values.length === 0) return null;
  values.sort((a, b) => a - b);
  const rank = (p / 100) * (values.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return values[lo]! + (values[hi]! - values[lo]!) * (rank - lo);
}

function percentileAccumulator(ev: (row: QueryRow) => Value, p: number): AccumulatorFactory {
  return () => {
    const values: number[] = [];
    const add = (x: Value): void => {
      if (typeof x === 'number') values.push(x);
    };
    return { add: (row) => each(ev(row), add), result: () => percentileOf(values, p) };
  };
}

const MEDIAN: AggregateFunction = {
  name: 'median',
  aggregate: true,
  check: oneArgument('median'),
  accumulator: (args, compileArg) => percentileAccumulator(compileArg(args[0]!), 50),
};

const PERCENTILE: AggregateFunction = {
  name: 'percentile',
  aggregate: true,
  check(args) {
    const usage = 'percentile() takes a field and a percentage: percentile(kg, 90)';
    if (args.length !== 2) return { message: usage };
    if (args[0]!.kind === 'star')
      return { message: 'percentile(*) is not allowed: name a field', at: args[0]!.start };
    const p = args[1]!;
    if (p.kind !== 'literal' || typeof p.value !== 'number' || p.value < 0 || p.value > 100)
      return { message: `the percentage must be a number from 0 to 100: ${usage}`, at: p.start };
    return undefined;
  },
  accumulator: (args, compileArg) =>
    percentileAccumulator(compileArg(args[0]!), (args[1] as { value: number }).value),
};

/** The aggregates, for the built-in list (builtins.ts). */
export const AGGREGATES: readonly AggregateFunction[] = [
  COUNT,
  numeric('sum'),
  numeric('avg'),
  extreme('min'),
  extreme('max'),
  MEDIAN,
  PERCENTILE,
];
