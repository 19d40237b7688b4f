import { hubError } from '../../errors.js';
import type { JsonObject, JsonValue } from '../../store/types.js';
import { setField } from '../../domain/json-object.js';
import type { Expr, OrderItem, SelectItem } from './ast.js';
import { compileExpr, type CompileContext } from './compile.js';
import { odsqlError, type Clause } from './errors.js';
import { lookupFunction } from './builtins.js';
import type { AccumulatorFactory, Accumulator } from './functions.js';
import { sortCompare, UTC_ENV, type Evaluator, type QueryEnv, type QueryRow, type Value } from './values.js';

/**
 * Analyses (docs/ods.md#analyses): `group_by` and aggregates in `select`/`order_by`.
 *
 * One pass over the matching records feeds a Map keyed by group; each group holds one
 * accumulator per distinct aggregate of the query. Afterwards every group becomes a small
 * synthetic row — its keys in fields `g0…`, its aggregate results in `a0…` — and the select and
 * order_by expressions, compiled once with a resolver that maps group_by expressions and
 * aggregates onto those fields, are evaluated on it. So `avg(kg) * 2`, `year(ts)` over a grouped
 * `ts`, or an alias in order_by need nothing but the ordinary compiler.
 */

/** Groups held at once: a bound on memory, whatever the dataset (ODS pages at most 20,000 of them). */
export const MAX_GROUPS = 100_000;
/** A record with several multi-valued group keys joins at most this many groups. */
const MAX_GROUPS_PER_RECORD = 1_000;

export interface AnalysisInput {
  readonly select: readonly SelectItem[] | undefined;
  readonly selectText: string;
  readonly groupBy: readonly SelectItem[];
  readonly groupText: string;
  readonly orderBy: readonly OrderItem[] | undefined;
  readonly orderText: string;
  readonly env?: QueryEnv;
}

export interface AnalysisPage {
  readonly offset: number;
  readonly limit: number;
}

export interface AnalysisRun {
  /** feeds one matching record */
  add(row: QueryRow): void;
  /** the number of groups and one page of results, in the query's order */
  results(page: AnalysisPage): { total: number; rows: JsonObject[] };
}

export interface CompiledAnalysis {
  /** the names of the result columns, in order */
  readonly columns: string[];
  start(): AnalysisRun;
}

/** A structural fingerprint of an expression (positions ignored): `avg(kg)` in select and in order_by are the same aggregate. */
function signature(e: Expr): string {
  switch (e.kind) {
    case 'literal':
      return `L${JSON.stringify(e.value)}`;
    case 'typed':
      return `T${e.type}${JSON.stringify(e.text)}`;
    case 'quantity':
      return `Q${e.value}${e.unit.toLowerCase()}`;
    case 'field':
      return `F${JSON.stringify(e.path)}`;
    case 'star':
      return '*';
    case 'not':
    case 'neg':
      return `${e.kind}(${signature(e.operand)})`;
    case 'and':
    case 'or':
      return `${e.kind}(${signature(e.left)},${signature(e.right)})`;
    case 'compare':
    case 'arith':
      return `${e.op}(${signature(e.left)},${signature(e.right)})`;
    case 'in':
      return `in${e.negated ? '!' : ''}(${signature(e.operand)};${e.list.map(signature).join(',')})`;
    case 'like':
      return `like${e.negated ? '!' : ''}(${signature(e.operand)};${JSON.stringify(e.pattern)})`;
    case 'isnull':
      return `null${e.negated ? '!' : ''}(${signature(e.operand)})`;
    case 'call':
      return `C${e.name.toLowerCase()}(${e.args.map(signature).join(',')})`;
  }
}

/** Does the expression hold an aggregate call (outside of nothing: anywhere)? */
export function hasAggregate(e: Expr): boolean {
  switch (e.kind) {
    case 'call':
      return lookupFunction(e.name)?.aggregate === true || e.args.some(hasAggregate);
    case 'not':
    case 'neg':
    case 'isnull':
    case 'like':
      return hasAggregate(e.operand);
    case 'and':
    case 'or':
    case 'compare':
    case 'arith':
      return hasAggregate(e.left) || hasAggregate(e.right);
    case 'in':
      return hasAggregate(e.operand) || e.list.some(hasAggregate);
    default:
      return false;
  }
}

/** geo_cluster(…) and other grouping functions, which group by themselves when selected. */
export function isGroupingCall(e: Expr): boolean {
  if (e.kind !== 'call') return false;
  const fn = lookupFunction(e.name);
  return fn !== undefined && !fn.aggregate && fn.groupSummary !== undefined;
}

/** A JSON value of an evaluated expression: dates as ISO text, missing as null. */
function json(v: Value): JsonValue {
  if (v === undefined) return null;
  if (v instanceof Date) return v.toISOString();
  return v;
}

/** One part of a group's Map key; the length prefix keeps keys of several parts unambiguous. */
function keyPart(v: Value): string {
  if (v === undefined || v === null) return 'n';
  if (typeof v === 'string') return `s${v.length}:${v}`;
  if (typeof v === 'number') return `d${v}`;
  if (typeof v === 'boolean') return v ? 'T' : 'F';
  if (v instanceof Date) return `t${v.getTime()}`;
  const text = JSON.stringify(v);
  return `j${text.length}:${text}`;
}

interface GroupDef {
  readonly name: string;
  readonly sig: string;
  readonly key: Evaluator;
  readonly summary: AccumulatorFactory | undefined;
}

interface GroupState {
  readonly keys: Value[];
  readonly aggregates: Accumulator[];
  readonly summaries: (Accumulator | undefined)[];
}

interface Column {
  readonly name: string;
  readonly ev: Evaluator;
}

const slotName = (kind: 'g' | 'a', i: number): string => `${kind}${i}`;

export function compileAnalysis(input: AnalysisInput): CompiledAnalysis {
  const env = input.env ?? UTC_ENV;
  const select = input.select ?? [];
  const star = select.find((i) => i.expr.kind === 'star');
  if (star) {
    throw odsqlError(
      'select',
      input.selectText,
      star.start,
      `'*' cannot be selected with group_by or aggregates: name the group_by fields and aggregates`,
    );
  }

  // ---- groups: group_by, or else the grouping functions selected (select=geo_cluster(f, 8), count(*))
  const groupItems: { item: SelectItem; clause: Clause; source: string }[] =
    input.groupBy.length > 0
      ? input.groupBy.map((item) => ({ item, clause: 'group_by', source: input.groupText }))
      : select
          .filter((i) => isGroupingCall(i.expr))
          .map((item) => ({ item, clause: 'select', source: input.selectText }));
  const groups: GroupDef[] = groupItems.map(({ item, clause, source }) => {
    const rowCtx: CompileContext = { clause, source, env };
    const compileArg = (e: Expr): Evaluator => compileExpr(e, rowCtx);
    const fn = item.expr.kind === 'call' ? lookupFunction(item.expr.name) : undefined;
    const summary =
      fn && !fn.aggregate && fn.groupSummary && item.expr.kind === 'call'
        ? fn.groupSummary(item.expr.args, compileArg, env)
        : undefined;
    return { name: item.name, sig: signature(item.expr), key: compileExpr(item.expr, rowCtx), summary };
  });

  // ---- aggregates, shared by signature between select and order_by
  const aggregateSlots = new Map<string, number>();
  const aggregates: AccumulatorFactory[] = [];
  const slotFor = (call: Extract<Expr, { kind: 'call' }>, clause: Clause, source: string): number => {
    const sig = signature(call);
    let slot = aggregateSlots.get(sig);
    if (slot === undefined) {
      const fn = lookupFunction(call.name);
      if (!fn?.aggregate) throw odsqlError(clause, source, call.start, `'${call.name}' is not an aggregate`);
      const rowCtx: CompileContext = { clause, source, env };
      aggregates.push(fn.accumulator(call.args, (e) => compileExpr(e, rowCtx)));
      slot = aggregates.length - 1;
      aggregateSlots.set(sig, slot);
    }
    return slot;
  };

  /** Compiles an expression over groups: group_by expressions and aggregates are its only inputs. */
  const groupContext = (clause: Clause, source: string, aliases?: ReadonlyMap<string, Evaluator>) => {
    const ctx: CompileContext = {
      clause,
      source,
      env,
      resolve(e) {
        const sig = signature(e);
        const g = groups.findIndex((d) => d.sig === sig);
        if (g >= 0) {
          const name = slotName('g', g);
          return (row) => row.fields[name];
        }
        if (e.kind === 'call') {
          const fn = lookupFunction(e.name);
          if (fn?.aggregate) {
            const name = slotName('a', slotFor(e, clause, source));
            return (row) => row.fields[name];
          }
          if (fn && !fn.aggregate && fn.needsRecord?.(e.args)) {
            throw odsqlError(
              clause,
              source,
              e.start,
              `${fn.name}() without a field looks at whole records, which a group does not have: use it in where`,
            );
          }
          return undefined;
        }
        if (e.kind === 'field') {
          const name = e.path.join('.');
          const byAlias = e.path.length === 1 ? groups.findIndex((d) => d.name === name) : -1;
          if (byAlias >= 0) {
            const slot = slotName('g', byAlias);
            return (row) => row.fields[slot];
          }
          const alias = e.path.length === 1 ? aliases?.get(name) : undefined;
          if (alias) return alias;
          throw odsqlError(
            clause,
            source,
            e.start,
            groups.length > 0
              ? `'${name}' is neither in group_by nor inside an aggregate such as count(${name}) or max(${name})`
              : `'${name}' must be inside an aggregate such as max(${name}) (or add group_by=${name})`,
          );
        }
        if (e.kind === 'star') throw odsqlError(clause, source, e.start, `'*' is only allowed as count(*)`);
        return undefined;
      },
    };
    return (e: Expr): Evaluator => compileExpr(e, ctx);
  };

  // ---- columns: the group_by items not selected, then the select items
  const inSelect = new Set(select.map((i) => signature(i.expr)));
  const columns: Column[] = [];
  groups.forEach((g, i) => {
    if (!inSelect.has(g.sig)) {
      const name = slotName('g', i);
      columns.push({ name: g.name, ev: (row) => row.fields[name] });
    }
  });
  const compileSelectItem = groupContext('select', input.selectText);
  for (const item of select) columns.push({ name: item.name, ev: compileSelectItem(item.expr) });

  // ---- order: on any group expression, aggregate or column name (`order_by=n desc`)
  const aliases = new Map(columns.map((c) => [c.name, c.ev] as const));
  const compileOrderItem = groupContext('order_by', input.orderText, aliases);
  const order = (input.orderBy ?? []).map((o) => ({ ev: compileOrderItem(o.expr), desc: o.descending }));

  const names = [...new Set(columns.map((c) => c.name))];

  return {
    columns: names,
    start: () => run(groups, aggregates, columns, order),
  };
}

function run(
  groups: readonly GroupDef[],
  aggregates: readonly AccumulatorFactory[],
  columns: readonly Column[],
  order: readonly { ev: Evaluator; desc: boolean }[],
): AnalysisRun {
  const states = new Map<string, GroupState>();

  const stateOf = (key: string, keys: Value[]): GroupState => {
    let s = states.get(key);
    if (!s) {
      if (states.size >= MAX_GROUPS) {
        throw hubError(
          'TOO_MANY_GROUPS',
          `the analysis makes more than ${MAX_GROUPS} groups: group by fewer distinct values, a coarser date part or precision, or filter with where`,
        );
      }
      s = { keys, aggregates: aggregates.map((f) => f()), summaries: groups.map((g) => g.summary?.()) };
      states.set(key, s);
    }
    return s;
  };

  const feed = (s: GroupState, row: QueryRow): void => {
    for (const a of s.aggregates) a.add(row);
    for (const m of s.summaries) m?.add(row);
  };

  /** Multi-valued keys: a record joins the group of each of its values (and of each combination). */
  const combinations = (keys: Value[]): Value[][] => {
    let out: Value[][] = [[]];
    for (const k of keys) {
      const values = Array.isArray(k) ? (k.length === 0 ? [null] : uniqueValues(k)) : [k];
      const next: Value[][] = [];
      for (const prefix of out) for (const v of values) next.push([...prefix, v]);
      if (next.length > MAX_GROUPS_PER_RECORD) {
        throw hubError(
          'TOO_MANY_GROUPS',
          `a record falls into more than ${MAX_GROUPS_PER_RECORD} groups (multi-valued group_by fields): group by fewer of them`,
        );
      }
      out = next;
    }
    return out;
  };

  return {
    add(row) {
      // the hot path: one key string per record, built in one loop
      const keys: Value[] = new Array<Value>(groups.length);
      let key = '';
      let multi = false;
      for (let i = 0; i < groups.length; i++) {
        const v = groups[i]!.key(row);
        keys[i] = v;
        if (Array.isArray(v)) multi = true;
        else key += keyPart(v);
      }
      if (!multi) {
        feed(stateOf(key, keys), row);
        return;
      }
      for (const combo of combinations(keys)) feed(stateOf(combo.map(keyPart).join(''), combo), row);
    },

    results(page) {
      // aggregates without group_by: one result, even over no record (count 0)
      if (groups.length === 0 && states.size === 0) stateOf('', []);
      const entries = [...states.values()].map((s) => {
        const fields: JsonObject = {};
        s.keys.forEach((k, i) => {
          const summary = s.summaries[i];
          fields[slotName('g', i)] = summary ? summary.result() : json(k);
        });
        s.aggregates.forEach((a, i) => {
          fields[slotName('a', i)] = a.result();
        });
        const row: QueryRow = { recordid: '', recorded: 0, fields };
        return { row, keys: s.keys, sort: order.map((o) => o.ev(row)) };
      });
      entries.sort((a, b) => {
        for (let i = 0; i < order.length; i++) {
          const c = sortCompare(a.sort[i], b.sort[i], order[i]!.desc);
          if (c !== 0) return c;
        }
        // then by group keys, ascending: a stable order to page through
        for (let i = 0; i < a.keys.length; i++) {
          const c = sortCompare(a.keys[i], b.keys[i], false);
          if (c !== 0) return c;
        }
        return 0;
      });
      const end = Math.min(entries.length, page.offset + page.limit);
      const rows: JsonObject[] = [];
      for (let i = page.offset; i < end; i++) {
        const { row } = entries[i]!;
        const out: JsonObject = {};
        for (const c of columns) setField(out, c.name, json(c.ev(row)));
        rows.push(out);
      }
      return { total: entries.length, rows };
    },
  };
}

function uniqueValues(values: readonly JsonValue[]): Value[] {
  const seen = new Set<string>();
  const out: Value[] = [];
  for (const v of values) {
    const k = keyPart(v);
    if (!seen.has(k)) {
      seen.add(k);
      out.push(v);
    }
  }
  return out;
}
