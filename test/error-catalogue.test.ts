import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { ERROR_CATALOGUE } from '../src/errors.js';
import {
  ERRORS_DOC,
  OPENAPI,
  openApiBlockOf,
  renderErrorsDoc,
  renderOpenApiBlock,
} from '../scripts/render-errors.js';

const SRC = new URL('../src/', import.meta.url).pathname;

function* sources(dir: string): Generator<string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* sources(p);
    else if (p.endsWith('.ts')) yield p;
  }
}

/**
 * Every place src/ makes an error: the first argument of `hubError(` or `new HubError(`. A literal
 * is a code the hub produces; the only other argument allowed is `err.code`, a caught HubError's
 * code passed on (it was a literal where it was made).
 */
function errorSites(): Array<{ file: string; arg: string }> {
  const sites: Array<{ file: string; arg: string }> = [];
  for (const file of sources(SRC)) {
    if (file.endsWith('/src/errors.ts')) continue;
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/\b(?:hubError|new HubError)\(\s*([^,)]*)/g))
      sites.push({ file: file.slice(SRC.length), arg: m[1]!.trim() });
  }
  return sites;
}

const LITERAL = /^'([A-Z][A-Z0-9_]*)'$/;

describe('the error catalogue (src/errors.ts)', () => {
  const catalogued = new Set(Object.keys(ERROR_CATALOGUE));

  it('when src/ makes an error, then its code is a literal from the catalogue', () => {
    const sites = errorSites();
    expect(sites.length).to.be.greaterThan(50);
    const wrong = sites
      .filter(({ arg }) => arg !== 'err.code')
      .filter(({ arg }) => !LITERAL.test(arg) || !catalogued.has(LITERAL.exec(arg)![1]!))
      .map(({ file, arg }) => `${file}: ${arg}`);
    expect(wrong, 'codes not in ERROR_CATALOGUE').to.deep.equal([]);
  });

  it('when a code is catalogued, then some part of src/ produces it', () => {
    const produced = new Set(
      errorSites()
        .map(({ arg }) => LITERAL.exec(arg)?.[1])
        .filter((c) => c !== undefined),
    );
    const unused = [...catalogued].filter((c) => !produced.has(c));
    expect(unused, 'catalogued codes nothing throws').to.deep.equal([]);
  });

  it('when a code is catalogued, then its status is an HTTP error status and its meaning is written', () => {
    for (const [code, { status, meaning }] of Object.entries(ERROR_CATALOGUE)) {
      expect(status, code).to.be.within(400, 599);
      expect(meaning.length, code).to.be.greaterThan(10);
    }
  });

  it('when docs/errors.md is read, then it is the catalogue rendered (npm run errors:render)', async () => {
    expect(readFileSync(ERRORS_DOC, 'utf8')).to.equal(await renderErrorsDoc());
  });

  it('when spec/openapi.yaml is read, then its ErrorCode schema is the catalogue rendered (npm run errors:render)', () => {
    expect(openApiBlockOf(readFileSync(OPENAPI, 'utf8'))).to.equal(renderOpenApiBlock());
  });
});
