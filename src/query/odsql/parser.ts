import type { ArithOp, CompareOp, Expr, OrderItem, SelectItem } from './ast.js';
import { odsqlError, type Clause } from './errors.js';
import { timeUnit } from './dates.js';
import { lookupFunction } from './builtins.js';
import { parseGeometry } from './geo.js';
import { KEYWORDS, tokenize, type Operator, type Token } from './lexer.js';

/**
 * A recursive-descent parser for the ODSQL subset of docs/ods.md#odsql. Precedence, loosest first:
 *
 *   OR  <  AND  <  NOT  <  comparison, IN, LIKE, IS NULL  <  + -  <  * / %  <  unary -  <  primary
 *
 * so `a = 1 or b = 2 and not c = 3` is `a = 1 or (b = 2 and (not (c = 3)))`. Comparisons do not
 * chain (`a = 1 = 2` is an error, not a surprise). Keywords are case-insensitive; a back-quoted
 * name is always a field.
 */

const COMPARE: ReadonlyMap<Operator, CompareOp> = new Map<Operator, CompareOp>([
  ['=', '='],
  ['!=', '!='],
  ['<>', '!='],
  ['<', '<'],
  ['<=', '<='],
  ['>', '>'],
  ['>=', '>='],
]);

/** Where a parsed expression will be used: functions may be allowed in some places only. */
export type ExprContext = 'filter' | 'value';

function describe(t: Token): string {
  switch (t.type) {
    case 'eof':
      return 'the end of the text';
    case 'string':
      return `the string ${JSON.stringify(t.value)}`;
    case 'number':
      return `the number ${t.value}${t.unit ?? ''}`;
    case 'typed':
      return `${t.name}'${t.value}'`;
    case 'ident':
      return t.quoted ? `\`${t.value}\`` : `'${t.value}'`;
    case 'op':
      return `'${t.value}'`;
  }
}

class Parser {
  private readonly tokens: Token[];
  private i = 0;

  constructor(
    private readonly clause: Clause,
    private readonly source: string,
  ) {
    this.tokens = tokenize(source, clause);
  }

  // ---- token helpers ----------------------------------------------------------------------------

  private peek(ahead = 0): Token {
    return this.tokens[Math.min(this.i + ahead, this.tokens.length - 1)]!;
  }

  private next(): Token {
    const t = this.peek();
    if (t.type !== 'eof') this.i++;
    return t;
  }

  private fail(t: Token | number, message: string): never {
    throw odsqlError(this.clause, this.source, typeof t === 'number' ? t : t.start, message);
  }

  private isKeyword(t: Token, word: string): boolean {
    return t.type === 'ident' && !t.quoted && t.value.toLowerCase() === word;
  }

  private acceptKeyword(word: string): Token | undefined {
    return this.isKeyword(this.peek(), word) ? this.next() : undefined;
  }

  private isOp(t: Token, op: Operator): boolean {
    return t.type === 'op' && t.value === op;
  }

  private acceptOp(op: Operator): Token | undefined {
    return this.isOp(this.peek(), op) ? this.next() : undefined;
  }

  private expectOp(op: Operator, what: string): Token {
    const t = this.peek();
    if (!this.isOp(t, op)) this.fail(t, `expected '${op}' ${what}, found ${describe(t)}`);
    return this.next();
  }

  expectEnd(): void {
    const t = this.peek();
    if (t.type !== 'eof') {
      const hint = this.isOp(t, ')') ? ' (a parenthesis is not opened)' : '';
      this.fail(t, `unexpected ${describe(t)}${hint}`);
    }
  }

  atEnd(): boolean {
    return this.peek().type === 'eof';
  }

  text(start: number, end: number): string {
    return this.source.slice(start, end).trim();
  }

  // ---- expressions --------------------------------------------------------------------------

  expression(): Expr {
    return this.or();
  }

  private or(): Expr {
    let left = this.and();
    while (this.acceptKeyword('or')) {
      const right = this.and();
      left = { kind: 'or', left, right, start: left.start, end: right.end };
    }
    return left;
  }

  private and(): Expr {
    let left = this.not();
    while (this.acceptKeyword('and')) {
      const right = this.not();
      left = { kind: 'and', left, right, start: left.start, end: right.end };
    }
    return left;
  }

  private not(): Expr {
    const t = this.acceptKeyword('not');
    if (t) {
      const operand = this.not();
      return { kind: 'not', operand, start: t.start, end: operand.end };
    }
    return this.predicate();
  }

  private predicate(): Expr {
    const left = this.additive();
    const t = this.peek();
    if (t.type === 'op' && COMPARE.has(t.value)) {
      this.next();
      const right = this.additive();
      const after = this.peek();
      if (after.type === 'op' && COMPARE.has(after.value)) {
        this.fail(after, `comparisons do not chain: combine them with 'and'`);
      }
      return { kind: 'compare', op: COMPARE.get(t.value)!, left, right, start: left.start, end: right.end };
    }
    // [not] in (…), [not] like "…", is [not] null
    const negated =
      this.isKeyword(t, 'not') &&
      (this.isKeyword(this.peek(1), 'in') || this.isKeyword(this.peek(1), 'like'));
    if (negated) this.next();
    if (this.acceptKeyword('in')) return this.inList(left, negated);
    if (this.acceptKeyword('like')) {
      const p = this.peek();
      if (p.type !== 'string')
        this.fail(p, `'like' needs a quoted pattern such as "Par*", found ${describe(p)}`);
      this.next();
      return { kind: 'like', operand: left, pattern: p.value, negated, start: left.start, end: p.end };
    }
    if (this.acceptKeyword('is')) {
      const not = this.acceptKeyword('not') !== undefined;
      const n = this.peek();
      if (!this.isKeyword(n, 'null'))
        this.fail(n, `expected 'null' after 'is${not ? ' not' : ''}', found ${describe(n)}`);
      this.next();
      return { kind: 'isnull', operand: left, negated: not, start: left.start, end: n.end };
    }
    return left;
  }

  private inList(operand: Expr, negated: boolean): Expr {
    this.expectOp('(', `after 'in' (a list such as ("a", "b"))`);
    const list: Expr[] = [];
    if (this.isOp(this.peek(), ')')) this.fail(this.peek(), `the 'in' list is empty`);
    do {
      list.push(this.additive());
    } while (this.acceptOp(','));
    const close = this.expectOp(')', `to close the 'in' list`);
    return { kind: 'in', operand, list, negated, start: operand.start, end: close.end };
  }

  private additive(): Expr {
    let left = this.multiplicative();
    for (;;) {
      const t = this.peek();
      if (!(this.isOp(t, '+') || this.isOp(t, '-'))) return left;
      this.next();
      const right = this.multiplicative();
      left = {
        kind: 'arith',
        op: (t as { value: ArithOp }).value,
        left,
        right,
        start: left.start,
        end: right.end,
      };
    }
  }

  private multiplicative(): Expr {
    let left = this.unary();
    for (;;) {
      const t = this.peek();
      if (!(this.isOp(t, '*') || this.isOp(t, '/') || this.isOp(t, '%'))) return left;
      this.next();
      const right = this.unary();
      left = {
        kind: 'arith',
        op: (t as { value: ArithOp }).value,
        left,
        right,
        start: left.start,
        end: right.end,
      };
    }
  }

  private unary(): Expr {
    const t = this.acceptOp('-');
    if (t) {
      const operand = this.unary();
      if (operand.kind === 'literal' && typeof operand.value === 'number') {
        return { kind: 'literal', value: -operand.value, start: t.start, end: operand.end };
      }
      return { kind: 'neg', operand, start: t.start, end: operand.end };
    }
    return this.primary();
  }

  private primary(): Expr {
    const t = this.peek();
    switch (t.type) {
      case 'string':
        this.next();
        return { kind: 'literal', value: t.value, start: t.start, end: t.end };
      case 'number':
        this.next();
        if (t.unit !== undefined)
          return { kind: 'quantity', value: t.value, unit: t.unit, start: t.start, end: t.end };
        {
          // a duration written with a space: `1 day`, `2 hours` (range(ts, 1 day), now() - 7 days)
          const u = this.peek();
          if (
            u.type === 'ident' &&
            !u.quoted &&
            timeUnit(u.value) !== undefined &&
            !this.isOp(this.peek(1), '(')
          ) {
            this.next();
            return {
              kind: 'quantity',
              value: t.value,
              unit: u.value.toLowerCase(),
              start: t.start,
              end: u.end,
            };
          }
        }
        return { kind: 'literal', value: t.value, start: t.start, end: t.end };
      case 'typed':
        this.next();
        return this.typed(t);
      case 'op':
        if (t.value === '(') {
          this.next();
          if (this.isOp(this.peek(), ')'))
            this.fail(this.peek(), 'empty parentheses: expected an expression');
          const inner = this.expression();
          const close = this.expectOp(')', 'to close the parenthesis');
          return { ...inner, start: t.start, end: close.end };
        }
        return this.fail(t, `expected a value, a field or '(', found ${describe(t)}`);
      case 'ident':
        return this.identifier();
      case 'eof':
        return this.fail(t, "expected a value, a field or '(', but the text ends here");
    }
  }

  private typed(t: Extract<Token, { type: 'typed' }>): Expr {
    if (t.name === 'date') {
      if (Number.isNaN(Date.parse(t.value)))
        this.fail(t, `date'${t.value}' is not a date (use ISO 8601, e.g. date'2024-05-02')`);
      return { kind: 'typed', type: 'date', text: t.value, start: t.start, end: t.end };
    }
    if (t.name === 'geom') {
      if (!parseGeometry(t.value))
        this.fail(t, `geom'${t.value}' is not a point: write geom'POINT(lon lat)' or a GeoJSON Point`);
      return { kind: 'typed', type: 'geom', text: t.value, start: t.start, end: t.end };
    }
    return this.fail(t, `unknown literal type '${t.name}' (supported: date'…', geom'…')`);
  }

  private identifier(): Expr {
    const t = this.next() as Extract<Token, { type: 'ident' }>;
    if (!t.quoted) {
      const word = t.value.toLowerCase();
      if (word === 'true' || word === 'false')
        return { kind: 'literal', value: word === 'true', start: t.start, end: t.end };
      if (word === 'null') return { kind: 'literal', value: null, start: t.start, end: t.end };
      if (this.isOp(this.peek(), '(')) return this.call(t);
      if (KEYWORDS.has(word)) {
        this.fail(
          t,
          `'${t.value}' is a keyword here: expected a value or a field (write \`${t.value}\` for a field of that name)`,
        );
      }
    }
    // a field, or a path into nested JSON: a.b.c
    const path = [t.value];
    let end = t.end;
    while (this.isOp(this.peek(), '.')) {
      this.next();
      const part = this.peek();
      if (part.type !== 'ident') this.fail(part, `expected a field name after '.', found ${describe(part)}`);
      this.next();
      path.push(part.value);
      end = part.end;
    }
    return { kind: 'field', path, start: t.start, end };
  }

  private call(name: Extract<Token, { type: 'ident' }>): Expr {
    const fn = lookupFunction(name.value);
    if (!fn) this.fail(name, `unknown function '${name.value}'`);
    this.next(); // (
    const args: Expr[] = [];
    if (!this.isOp(this.peek(), ')')) {
      do {
        const star = this.acceptOp('*');
        args.push(star ? { kind: 'star', start: star.start, end: star.end } : this.expression());
      } while (this.acceptOp(','));
    }
    const close = this.expectOp(')', `to close the call of ${fn.name}()`);
    const call: Expr = { kind: 'call', name: fn.name, args, start: name.start, end: close.end };
    const problem = fn.check(args);
    if (problem) this.fail(problem.at ?? name.start, problem.message);
    return call;
  }

  // ---- clauses ------------------------------------------------------------------------------

  selectItem(): SelectItem {
    const star = this.acceptOp('*');
    if (star)
      return {
        expr: { kind: 'star', start: star.start, end: star.end },
        name: '*',
        start: star.start,
        end: star.end,
      };
    const expr = this.expression();
    if (this.acceptKeyword('as')) {
      const alias = this.peek();
      if (alias.type !== 'ident') this.fail(alias, `expected a name after 'as', found ${describe(alias)}`);
      this.next();
      return { expr, name: alias.value, start: expr.start, end: alias.end };
    }
    const name = expr.kind === 'field' ? expr.path.join('.') : this.text(expr.start, expr.end);
    return { expr, name, start: expr.start, end: expr.end };
  }

  orderItem(): OrderItem {
    const expr = this.expression();
    const desc = this.acceptKeyword('desc');
    const asc = desc ? undefined : this.acceptKeyword('asc');
    return { expr, descending: desc !== undefined, start: expr.start, end: (desc ?? asc ?? expr).end };
  }

  list<T>(item: () => T): T[] {
    const out: T[] = [];
    do {
      if (this.atEnd() || this.isOp(this.peek(), ',')) this.fail(this.peek(), 'expected an item of the list');
      out.push(item());
    } while (this.acceptOp(','));
    this.expectEnd();
    return out;
  }
}

/** `where=`: a boolean expression; blank text means no filter. */
export function parseWhere(source: string, clause: Clause = 'where'): Expr | undefined {
  if (source.trim() === '') return undefined;
  const p = new Parser(clause, source);
  const e = p.expression();
  p.expectEnd();
  return e;
}

/** `select=`: `*`, fields, expressions, `expr as name`, comma-separated. */
export function parseSelect(source: string): SelectItem[] {
  const p = new Parser('select', source);
  return p.list(() => p.selectItem());
}

/** `group_by=`: expressions with optional `as name`, comma-separated (no `*`). */
export function parseGroupBy(source: string): SelectItem[] {
  const p = new Parser('group_by', source);
  const items = p.list(() => p.selectItem());
  const star = items.find((i) => i.expr.kind === 'star');
  if (star)
    throw odsqlError('group_by', source, star.start, `'*' cannot be grouped by: name fields or expressions`);
  return items;
}

/** `order_by=`: `expr [asc|desc]`, comma-separated. */
export function parseOrderBy(source: string, clause: Clause = 'order_by'): OrderItem[] {
  const p = new Parser(clause, source);
  return p.list(() => p.orderItem());
}
