import { odsqlError, type Clause } from './errors.js';

/**
 * ODSQL tokens. Every token keeps its [start, end) offsets in the source so that the parser can
 * point at it in errors and recover the text of an expression (select names it by its text).
 *
 * Keywords are not separate tokens: `and`, `in`, `asc`… are identifiers the parser recognises by
 * name (case-insensitively), so that new keywords never break the lexer, and a back-quoted
 * `` `and` `` is always a field name.
 */
export type Token =
  | { readonly type: 'ident'; readonly value: string; readonly quoted: boolean; start: number; end: number }
  | { readonly type: 'string'; readonly value: string; start: number; end: number }
  /** `10`, `2.5`, and a number with a unit glued to it (`10km`, for geo distances) */
  | {
      readonly type: 'number';
      readonly value: number;
      readonly unit: string | undefined;
      start: number;
      end: number;
    }
  /** a type name glued to a string: date'2024-01-01', geom'POINT(1 2)' */
  | { readonly type: 'typed'; readonly name: string; readonly value: string; start: number; end: number }
  | { readonly type: 'op'; readonly value: Operator; start: number; end: number }
  | { readonly type: 'eof'; start: number; end: number };

export type Operator =
  | '='
  | '!='
  | '<>'
  | '<'
  | '<='
  | '>'
  | '>='
  | '('
  | ')'
  | ','
  | '*'
  | '+'
  | '-'
  | '/'
  | '%'
  | '.'
  | '['
  | ']';

/** Words the parser treats as keywords: `x like"a*"` is a keyword and a string, not a typed literal. */
export const KEYWORDS: ReadonlySet<string> = new Set([
  'and',
  'or',
  'not',
  'in',
  'like',
  'is',
  'null',
  'true',
  'false',
  'as',
  'asc',
  'desc',
]);

const TWO_CHAR_OPS = new Set(['!=', '<>', '<=', '>=']);
const ONE_CHAR_OPS = new Set(['=', '<', '>', '(', ')', ',', '*', '+', '-', '/', '%', '.', '[', ']']);

const isDigit = (c: string): boolean => c >= '0' && c <= '9';
const isIdentStart = (c: string): boolean => /[A-Za-z_]/.test(c);
const isIdentPart = (c: string): boolean => /[A-Za-z0-9_]/.test(c);
const isSpace = (c: string): boolean => c === ' ' || c === '\t' || c === '\n' || c === '\r';

/** Splits ODSQL text into tokens; the last one is always `eof`. */
export function tokenize(source: string, clause: Clause): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const n = source.length;

  const readQuoted = (quote: string, start: number): { value: string; end: number } => {
    // strings use '…' or "…"; a backslash escapes the quote or itself, as in ODSQL
    let value = '';
    let j = start + 1;
    while (j < n) {
      const c = source[j]!;
      if (c === '\\' && j + 1 < n) {
        value += source[j + 1];
        j += 2;
        continue;
      }
      if (c === quote) return { value, end: j + 1 };
      value += c;
      j++;
    }
    throw odsqlError(clause, source, start, `unterminated string: the closing ${quote} is missing`);
  };

  while (i < n) {
    const c = source[i]!;
    if (isSpace(c)) {
      i++;
      continue;
    }
    const start = i;
    if (c === '"' || c === "'") {
      const { value, end } = readQuoted(c, i);
      tokens.push({ type: 'string', value, start, end });
      i = end;
      continue;
    }
    if (c === '`') {
      const close = source.indexOf('`', i + 1);
      if (close < 0) throw odsqlError(clause, source, start, 'unterminated `field name`');
      if (close === i + 1) throw odsqlError(clause, source, start, 'empty `field name`');
      tokens.push({ type: 'ident', value: source.slice(i + 1, close), quoted: true, start, end: close + 1 });
      i = close + 1;
      continue;
    }
    if (isDigit(c) || (c === '.' && i + 1 < n && isDigit(source[i + 1]!))) {
      let j = i;
      while (j < n && isDigit(source[j]!)) j++;
      if (source[j] === '.' && j + 1 < n && isDigit(source[j + 1]!)) {
        j++;
        while (j < n && isDigit(source[j]!)) j++;
      }
      if ((source[j] === 'e' || source[j] === 'E') && /^[eE][+-]?\d/.test(source.slice(j, j + 3))) {
        j += source[j + 1] === '+' || source[j + 1] === '-' ? 2 : 1;
        while (j < n && isDigit(source[j]!)) j++;
      }
      const value = Number(source.slice(i, j));
      let unit: string | undefined;
      if (j < n && isIdentStart(source[j]!)) {
        let k = j;
        while (k < n && isIdentPart(source[k]!)) k++;
        unit = source.slice(j, k);
        j = k;
      }
      tokens.push({ type: 'number', value, unit, start, end: j });
      i = j;
      continue;
    }
    if (isIdentStart(c)) {
      let j = i;
      while (j < n && isIdentPart(source[j]!)) j++;
      const word = source.slice(i, j);
      const next = source[j];
      if ((next === "'" || next === '"') && !KEYWORDS.has(word.toLowerCase())) {
        const { value, end } = readQuoted(next, j);
        tokens.push({ type: 'typed', name: word.toLowerCase(), value, start, end });
        i = end;
        continue;
      }
      tokens.push({ type: 'ident', value: word, quoted: false, start, end: j });
      i = j;
      continue;
    }
    const two = source.slice(i, i + 2);
    if (TWO_CHAR_OPS.has(two)) {
      tokens.push({ type: 'op', value: two as Operator, start, end: i + 2 });
      i += 2;
      continue;
    }
    if (ONE_CHAR_OPS.has(c)) {
      tokens.push({ type: 'op', value: c as Operator, start, end: i + 1 });
      i++;
      continue;
    }
    throw odsqlError(clause, source, start, `unexpected character '${c}'`);
  }
  tokens.push({ type: 'eof', start: n, end: n });
  return tokens;
}
