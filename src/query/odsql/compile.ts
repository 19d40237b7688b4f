import type { JsonObject, JsonValue } from '../../store/types.js';
import type { CompareOp, Expr, OrderItem, SelectItem } from './ast.js';
import { setField } from '../../domain/json-object.js';
import { odsqlError, type Clause } from './errors.js';
import { durationOf, shift, timeOf } from './dates.js';
import { lookupFunction } from './builtins.js';
import { parseGeometry, pointJson } from './geo.js';
import {
  RECORD_ID_FIELD,
  RECORD_TIMESTAMP_FIELD,
  anyPair,
  compareScalars,
  fieldValue,
  isoTime,
  sortCompare,
  type Evaluator,
  type QueryEnv,
  type QueryRow,
  type Value,
  UTC_ENV,
} from './values.js';

/**
 * Turns a syntax tree into closures over a record, once per query: evaluating 100,000 records is
 * then a chain of direct calls, with no tree walk and no re-interpretation of operators per row.
 */

export interface CompileContext {
  readonly clause: Clause;
  readonly source: string;
  /**
   * Consulted first for every node: an evaluator replaces the node's own compilation. Analyses
   * use it to read group keys and aggregate results instead of record fields (analysis.ts).
   */
  readonly resolve?: (expr: Expr) => Evaluator | undefined;
  /** the query's timezone and now (UTC, epoch 0 when not given) */
  readonly env?: QueryEnv;
}

const COMPARE: Record<CompareOp, (c: number) => boolean> = {
  '=': (c) => c === 0,
  '!=': (c) => c !== 0,
  '<': (c) => c < 0,
  '<=': (c) => c <= 0,
  '>': (c) => c > 0,
  '>=': (c) => c >= 0,
};

const equal = (x: Value, y: Value): boolean => compareScalars(x, y) === 0;
const present = (v: Value): boolean => v !== undefined && v !== null;

/** `*` matches any run of characters; everything else is literal. Case-insensitive, whole value. */
export function likeRegExp(pattern: string): RegExp {
  const body = pattern
    .split('*')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${body}$`, 'is');
}

function likeMatch(v: Value, re: RegExp): boolean {
  if (typeof v === 'string') return re.test(v);
  if (typeof v === 'number') return re.test(String(v));
  if (Array.isArray(v)) return v.some((x) => likeMatch(x, re));
  return false;
}

export function compileExpr(expr: Expr, ctx: CompileContext): Evaluator {
  const fail = (at: number, message: string): never => {
    throw odsqlError(ctx.clause, ctx.source, at, message);
  };
  const resolved = ctx.resolve?.(expr);
  if (resolved) return resolved;
  const c = (e: Expr): Evaluator => compileExpr(e, ctx);
  const truth = (e: Expr): ((row: QueryRow) => boolean) => {
    const ev = c(e);
    return (row) => ev(row) === true;
  };

  switch (expr.kind) {
    case 'literal': {
      const v = expr.value;
      return () => v;
    }
    case 'typed': {
      if (expr.type === 'geom') {
        const point = pointJson(parseGeometry(expr.text)!);
        return () => point;
      }
      const d = new Date(expr.text);
      return () => d;
    }
    case 'quantity':
      return fail(
        expr.start,
        `a quantity such as ${expr.value}${expr.unit} is only allowed as a function argument`,
      );
    case 'star':
      return fail(expr.start, `'*' is only allowed alone in select or as count(*)`);
    case 'field': {
      const path = expr.path;
      const name = path[0]!;
      if (path.length === 1 && name !== RECORD_ID_FIELD && name !== RECORD_TIMESTAMP_FIELD) {
        // the common case, without the path walk
        return (row) => (Object.hasOwn(row.fields, name) ? row.fields[name] : undefined);
      }
      return (row) => fieldValue(row, path);
    }
    case 'not': {
      const t = truth(expr.operand);
      return (row) => !t(row);
    }
    case 'neg': {
      const ev = c(expr.operand);
      return (row) => {
        const v = ev(row);
        return typeof v === 'number' ? -v : undefined;
      };
    }
    case 'and': {
      const l = truth(expr.left);
      const r = truth(expr.right);
      return (row) => l(row) && r(row);
    }
    case 'or': {
      const l = truth(expr.left);
      const r = truth(expr.right);
      return (row) => l(row) || r(row);
    }
    case 'compare': {
      const l = c(expr.left);
      const r = c(expr.right);
      if (expr.op === '!=') {
        // "differs": both sides present and no pair of values is equal
        return (row) => {
          const a = l(row);
          const b = r(row);
          return present(a) && present(b) && !anyPair(a, b, equal);
        };
      }
      const test = COMPARE[expr.op];
      const pair = (x: Value, y: Value): boolean => {
        const k = compareScalars(x, y);
        return k !== undefined && test(k);
      };
      return (row) => anyPair(l(row), r(row), pair);
    }
    case 'arith': {
      const duration = durationOf(expr.right);
      if (duration && (expr.op === '+' || expr.op === '-')) {
        // date arithmetic: now() - 7 days, ts + 1 month (calendar units in the query's timezone)
        const l = c(expr.left);
        const n = expr.op === '-' ? -duration.n : duration.n;
        const zone = (ctx.env ?? UTC_ENV).timezone;
        return (row) => {
          const t = timeOf(l(row));
          return t === undefined ? undefined : new Date(shift(t, n, duration.unit, zone));
        };
      }
      const l = c(expr.left);
      const r = c(expr.right);
      const op = expr.op;
      return (row) => {
        const a = l(row);
        const b = r(row);
        if (typeof a !== 'number' || typeof b !== 'number') return undefined;
        const out = op === '+' ? a + b : op === '-' ? a - b : op === '*' ? a * b : op === '/' ? a / b : a % b;
        return Number.isFinite(out) ? out : undefined;
      };
    }
    case 'in': {
      const operand = c(expr.operand);
      const list = expr.list.map(c);
      const negated = expr.negated;
      return (row) => {
        const v = operand(row);
        if (!present(v)) return false;
        const hit = list.some((item) => anyPair(v, item(row), equal));
        return negated ? !hit : hit;
      };
    }
    case 'like': {
      const operand = c(expr.operand);
      const re = likeRegExp(expr.pattern);
      const negated = expr.negated;
      return (row) => {
        const v = operand(row);
        if (!present(v)) return false;
        return likeMatch(v, re) !== negated;
      };
    }
    case 'isnull': {
      const operand = c(expr.operand);
      const negated = expr.negated;
      return (row) => present(operand(row)) === negated;
    }
    case 'call': {
      const fn = lookupFunction(expr.name);
      if (!fn) return fail(expr.start, `unknown function '${expr.name}'`);
      if (fn.aggregate)
        return fail(
          expr.start,
          `the aggregate ${fn.name}() is not allowed here: ${AGGREGATE_PLACES[ctx.clause] ?? 'aggregates go in select and order_by'}`,
        );
      return fn.compile(expr.args, c, ctx.env ?? UTC_ENV);
    }
  }
}

/** Why an aggregate is out of place, per clause (analyses compile select and order_by over groups). */
const AGGREGATE_PLACES: Partial<Record<Clause, string>> = {
  select: 'an aggregate cannot be inside another aggregate',
  order_by: 'order_by takes aggregates only in an analysis: add group_by, or aggregates to select',
  where: 'where filters records before they are grouped; aggregates go in select and order_by',
  group_by: 'groups are made of record values; aggregates go in select and order_by',
};

/** A where clause as a predicate: only `true` passes (missing values make comparisons false). */
export function compileFilter(expr: Expr, ctx: CompileContext): (row: QueryRow) => boolean {
  const ev = compileExpr(expr, ctx);
  return (row) => ev(row) === true;
}

/** A value as it goes out in JSON: dates as ISO text, missing as null. */
function output(v: Value): JsonValue {
  if (v === undefined) return null;
  if (v instanceof Date) return v.toISOString();
  return v;
}

/**
 * The record as results show it when nothing is selected (or `*` is): its id, its arrival time and
 * its fields. The metadata names take precedence over fields of the same name.
 */
export function defaultProjection(row: QueryRow): JsonObject {
  const out: JsonObject = {
    [RECORD_ID_FIELD]: row.recordid,
    [RECORD_TIMESTAMP_FIELD]: isoTime(row.recorded),
  };
  for (const [k, v] of Object.entries(row.fields)) if (!Object.hasOwn(out, k)) setField(out, k, v);
  return out;
}

export type Projection = (row: QueryRow) => JsonObject;

/** select items → a function building each result object, in the order of the items. */
export function compileSelect(
  items: readonly SelectItem[] | undefined,
  source: string,
  env: QueryEnv = UTC_ENV,
): Projection {
  if (!items || items.length === 0) return defaultProjection;
  const parts = items.map((item) =>
    item.expr.kind === 'star'
      ? { star: true as const, name: '*', ev: undefined }
      : {
          star: false as const,
          name: item.name,
          ev: compileExpr(item.expr, { clause: 'select', source, env }),
        },
  );
  return (row) => {
    const out: JsonObject = {};
    for (const p of parts) {
      if (p.star) for (const [k, v] of Object.entries(defaultProjection(row))) setField(out, k, v);
      else setField(out, p.name, output(p.ev(row)));
    }
    return out;
  };
}

/** The names of the columns a select produces (for CSV headers); undefined when `*` needs the data. */
export function selectColumns(items: readonly SelectItem[] | undefined): string[] | undefined {
  if (!items || items.length === 0 || items.some((i) => i.expr.kind === 'star')) return undefined;
  return [...new Set(items.map((i) => i.name))];
}

export interface CompiledOrder {
  /** the sort values of one record */
  keys(row: QueryRow): Value[];
  compare(a: readonly Value[], b: readonly Value[]): number;
}

export function compileOrder(items: readonly OrderItem[], ctx: CompileContext): CompiledOrder {
  const evs = items.map((i) => compileExpr(i.expr, ctx));
  const desc = items.map((i) => i.descending);
  return {
    keys: (row) => evs.map((ev) => ev(row)),
    compare: (a, b) => {
      for (let i = 0; i < evs.length; i++) {
        const k = sortCompare(a[i], b[i], desc[i]!);
        if (k !== 0) return k;
      }
      return 0;
    },
  };
}
