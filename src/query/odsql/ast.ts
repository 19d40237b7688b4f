/**
 * The ODSQL syntax tree. Every node carries its [start, end) offsets in the clause text: errors
 * found after parsing (type checks, unknown functions) still point at the right character, and a
 * select expression without an alias is named by its text, as ODS does.
 *
 * Later extensions have their place here without changing what exists: aggregates are `call`
 * nodes whose function is marked aggregate, `group_by` is a list of expressions like `order_by`,
 * date parts are ordinary functions, geo functions take `typed` literals (geom'…') and `number`
 * literals with a unit (10km).
 */
export interface Span {
  readonly start: number;
  readonly end: number;
}

export type Literal = string | number | boolean | null;

export type CompareOp = '=' | '!=' | '<' | '<=' | '>' | '>=';
export type ArithOp = '+' | '-' | '*' | '/' | '%';

export type Expr =
  | ({ readonly kind: 'literal'; readonly value: Literal } & Span)
  /** date'2024-05-02', geom'POINT(1 2)': the type name in lower case and the raw text */
  | ({ readonly kind: 'typed'; readonly type: string; readonly text: string } & Span)
  /** a number with a unit glued to it: 10km */
  | ({ readonly kind: 'quantity'; readonly value: number; readonly unit: string } & Span)
  /** a field, or a path into nested JSON (`a.b`) */
  | ({ readonly kind: 'field'; readonly path: readonly string[] } & Span)
  /** `*` as a select item or a function argument (count(*)) */
  | ({ readonly kind: 'star' } & Span)
  | ({ readonly kind: 'not'; readonly operand: Expr } & Span)
  | ({ readonly kind: 'neg'; readonly operand: Expr } & Span)
  | ({ readonly kind: 'and' | 'or'; readonly left: Expr; readonly right: Expr } & Span)
  | ({ readonly kind: 'compare'; readonly op: CompareOp; readonly left: Expr; readonly right: Expr } & Span)
  | ({ readonly kind: 'arith'; readonly op: ArithOp; readonly left: Expr; readonly right: Expr } & Span)
  | ({
      readonly kind: 'in';
      readonly operand: Expr;
      readonly list: readonly Expr[];
      readonly negated: boolean;
    } & Span)
  | ({
      readonly kind: 'like';
      readonly operand: Expr;
      readonly pattern: string;
      readonly negated: boolean;
    } & Span)
  | ({ readonly kind: 'isnull'; readonly operand: Expr; readonly negated: boolean } & Span)
  | ({ readonly kind: 'call'; readonly name: string; readonly args: readonly Expr[] } & Span);

export interface SelectItem extends Span {
  readonly expr: Expr;
  /** the output name: the alias, the field path, or the expression's text */
  readonly name: string;
}

export interface OrderItem extends Span {
  readonly expr: Expr;
  readonly descending: boolean;
}
