import { expect } from 'chai';
import { HubError } from '../../src/errors.js';
import { tokenize, type Token } from '../../src/query/odsql/lexer.js';

/** Each token as `type:value` (a number's unit glued on), the final eof left out. */
const shapes = (source: string): string[] =>
  tokenize(source, 'where')
    .filter((t) => t.type !== 'eof')
    .map((t: Token) => {
      switch (t.type) {
        case 'number':
          return `number:${t.value}${t.unit ?? ''}`;
        case 'typed':
          return `typed:${t.name}'${t.value}'`;
        case 'ident':
          return `${t.quoted ? 'quoted' : 'ident'}:${t.value}`;
        case 'eof':
          return 'eof';
        default:
          return `${t.type}:${t.value}`;
      }
    });

/** The error of tokenizing `source`: code, 1-based column and message. */
function lexError(source: string): { code: string; column: unknown; message: string } {
  try {
    tokenize(source, 'where');
  } catch (e) {
    if (!(e instanceof HubError)) throw e;
    return { code: e.code, column: e.details.column, message: e.message };
  }
  throw new Error(`no error for ${source}`);
}

describe('ODSQL lexer (unit)', () => {
  it('when the text holds numbers, then integers, decimals, exponents and glued units are one token each', () => {
    expect(shapes('1 2.5 .5 1e3 2E-2 10km 1.5mi 3day')).to.deep.equal([
      'number:1',
      'number:2.5',
      'number:0.5',
      'number:1000',
      'number:0.02',
      'number:10km',
      'number:1.5mi',
      'number:3day',
    ]);
    // a dot not followed by a digit is the path operator, not a decimal point
    expect(shapes('1.x')).to.deep.equal(['number:1', 'op:.', 'ident:x']);
  });

  it('when strings use either quote and backslash escapes, then the token holds the unescaped text', () => {
    expect(shapes(`"a b" 'c' "it\\"s" 'l\\'x' "back\\\\slash" ""`)).to.deep.equal([
      'string:a b',
      'string:c',
      'string:it"s',
      "string:l'x",
      'string:back\\slash',
      'string:',
    ]);
  });

  it('when a word is glued to a string, then it is a typed literal unless the word is a keyword', () => {
    expect(shapes(`date'2024-05-02' GEOM"POINT(1 2)"`)).to.deep.equal([
      "typed:date'2024-05-02'",
      "typed:geom'POINT(1 2)'",
    ]);
    // `like"a*"` is the keyword and a pattern, as a user writing no space means it
    expect(shapes(`x like"a*"`)).to.deep.equal(['ident:x', 'ident:like', 'string:a*']);
  });

  it('when a name is back-quoted, then it is a quoted identifier even if it is a keyword', () => {
    expect(shapes('`and` `a b` and_x _y9')).to.deep.equal([
      'quoted:and',
      'quoted:a b',
      'ident:and_x',
      'ident:_y9',
    ]);
  });

  it('when operators are written, then two-character ones win over their one-character prefix', () => {
    expect(shapes('a<=b>=c!=d<>e<f>g=h')).to.deep.equal([
      'ident:a',
      'op:<=',
      'ident:b',
      'op:>=',
      'ident:c',
      'op:!=',
      'ident:d',
      'op:<>',
      'ident:e',
      'op:<',
      'ident:f',
      'op:>',
      'ident:g',
      'op:=',
      'ident:h',
    ]);
    expect(shapes('( ) , * + - / % . [ ]')).to.deep.equal(
      ['(', ')', ',', '*', '+', '-', '/', '%', '.', '[', ']'].map((o) => `op:${o}`),
    );
  });

  it('when tokens are read, then each keeps its offsets and the last one is eof at the end', () => {
    const tokens = tokenize(`ab >= "x y"`, 'where');
    expect(tokens.map((t) => [t.start, t.end])).to.deep.equal([
      [0, 2],
      [3, 5],
      [6, 11],
      [11, 11],
    ]);
    expect(tokenize('', 'where')).to.deep.equal([{ type: 'eof', start: 0, end: 0 }]);
    expect(tokenize(' \t\r\n', 'where')).to.have.length(1);
  });

  it('when the text cannot be split, then the error is ODSQL_ERROR with the 1-based column of the culprit', () => {
    expect(lexError('a = "open')).to.deep.include({ code: 'ODSQL_ERROR', column: 5 });
    expect(lexError('a = "open').message).to.match(/unterminated string: the closing " is missing/);
    expect(lexError("x = 'y")).to.deep.include({ column: 5 });
    expect(lexError('`open = 1')).to.deep.include({ column: 1 });
    expect(lexError('`open = 1').message).to.match(/unterminated `field name`/);
    expect(lexError('a = `` ').message).to.match(/empty `field name`/);
    expect(lexError('a = 1 ; b')).to.deep.include({ column: 7 });
    expect(lexError('a = 1 ; b').message).to.equal(
      "ODSQL error in where at column 7 (near '; b'): unexpected character ';'",
    );
    expect(lexError('a ! b').message).to.match(/unexpected character '!'/);
    expect(lexError('é = 1')).to.deep.include({ column: 1 });
  });

  it('when the error names the clause, then it is the clause the text came from', () => {
    try {
      tokenize('a ?', 'order_by');
      expect.fail('no error');
    } catch (e) {
      expect((e as HubError).details).to.deep.equal({ clause: 'order_by', column: 3 });
      expect((e as Error).message).to.match(/^ODSQL error in order_by at column 3/);
    }
  });
});
