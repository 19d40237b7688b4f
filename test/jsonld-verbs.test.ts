import { expect } from 'chai';
import { settingsFromEnv } from '../src/settings.js';
import { createDataset, uniqueId } from './helpers/data.js';
import { call, rawRequest, type Reply } from './helpers/http.js';
import { startTestHub, type TestHub } from './helpers/hub.js';
import { eventually } from './helpers/poll.js';

type Item = Record<string, unknown>;
const code = (r: Reply): string => (r.json as { error: { code: string } }).error.code;
const SCHEMA = 'http://schema.org/';
const XSD = 'http://www.w3.org/2001/XMLSchema#';
const jsonldConfig = settingsFromEnv({}).jsonld;

/** A JSON-LD document of about `n` nodes under an inline vocabulary (a heavy, valid document). */
function heavyDocument(n: number): Item {
  return {
    '@context': { '@vocab': SCHEMA },
    '@graph': Array.from({ length: n }, (_, i) => ({
      '@id': `http://example.org/p/${i}`,
      name: `person ${i}`,
      knows: { '@id': `http://example.org/p/${(i + 1) % n}`, name: `friend of ${i}` },
    })),
  };
}

describe('JSON-LD API operations with jsonld.js options (POST /jsonld/{verb})', () => {
  let hub: TestHub;
  before(async () => {
    hub = await startTestHub();
  });
  after(() => hub.close());

  const post = (verb: string, body: unknown, headers: Record<string, string> = {}) =>
    call(`${hub.url}/jsonld/${verb}`, { body, token: hub.adminToken, headers });

  describe('expand', () => {
    it('when base is given, then relative IRIs resolve against it (JSON-LD 1.1 §4.1.3 Base IRI); without it they stay relative', async () => {
      const doc = { '@context': { '@vocab': SCHEMA }, '@id': 'me', name: 'Markus' };
      const withBase = await post('expand', { document: doc, base: 'http://example.com/people/' });
      expect(withBase.status, withBase.text).to.equal(200);
      expect(withBase.json).to.deep.equal([
        { '@id': 'http://example.com/people/me', [`${SCHEMA}name`]: [{ '@value': 'Markus' }] },
      ]);
      const without = await post('expand', doc);
      expect((without.json as Item[])[0]!['@id']).to.equal('me');
    });

    it('when expandContext is given, then plain JSON expands under it (JSON-LD API §9.4 expandContext); without it its properties are dropped', async () => {
      const doc = { name: 'Manu Sporny', homepage: 'http://manu.sporny.org/' };
      const r = await post('expand', { document: doc, expandContext: { '@vocab': SCHEMA } });
      expect(r.status, r.text).to.equal(200);
      expect(r.json).to.deep.equal([
        {
          [`${SCHEMA}homepage`]: [{ '@value': 'http://manu.sporny.org/' }],
          [`${SCHEMA}name`]: [{ '@value': 'Manu Sporny' }],
        },
      ]);
      const byName = await post('expand', {
        document: { resourceType: 'icarAnimalCoreResource' },
        expandContext: 'icar',
      });
      expect(byName.json).to.deep.equal([{ '@type': ['http://data.adewg.icar.org/core/Animal'] }]);
      expect((await post('expand', doc)).json).to.deep.equal([]);
    });

    it('when processingMode is json-ld-1.0, then a 1.1 context is a processing mode conflict (JSON-LD API §9.4 processingMode)', async () => {
      const doc = { '@context': { '@version': 1.1, '@vocab': SCHEMA }, name: 'x' };
      const r10 = await post('expand', { document: doc, processingMode: 'json-ld-1.0' });
      expect(r10.status, r10.text).to.equal(400);
      expect(code(r10)).to.equal('INVALID_JSONLD');
      expect((r10.json as { error: { jsonldCode: string } }).error.jsonldCode).to.equal(
        'processing mode conflict',
      );
      const r11 = await post('expand', { document: doc, processingMode: 'json-ld-1.1' });
      expect(r11.status, r11.text).to.equal(200);
    });

    it('when today’s body (the bare document) is posted, then it still expands; a document with a "document" member next to other terms is a document', async () => {
      const bare = await post('expand', { '@context': { '@vocab': SCHEMA }, name: 'x' });
      expect(bare.json).to.deep.equal([{ [`${SCHEMA}name`]: [{ '@value': 'x' }] }]);
      const data = await post('expand', { '@context': { '@vocab': SCHEMA }, document: 'a title', name: 'y' });
      expect(data.json).to.deep.equal([
        { [`${SCHEMA}document`]: [{ '@value': 'a title' }], [`${SCHEMA}name`]: [{ '@value': 'y' }] },
      ]);
    });

    it('when an option has a wrong value or is not one of the verb’s, then 400 naming it', async () => {
      const doc = { '@context': { '@vocab': SCHEMA }, name: 'x' };
      const cases: Array<[string, Item, string]> = [
        ['expand', { document: doc, processingMode: 'json-ld-2.0' }, 'INVALID_OPTION'],
        ['expand', { document: doc, base: 5 }, 'INVALID_OPTION'],
        ['compact', { document: doc, context: {}, compactArrays: 'no' }, 'INVALID_OPTION'],
        ['frame', { document: doc, frame: {}, embed: '@sometimes' }, 'INVALID_OPTION'],
        ['canonize', { document: doc, algorithm: 'URGNA2012' }, 'INVALID_OPTION'],
        ['compact', { document: doc, context: {}, embed: '@never' }, 'INVALID_REQUEST'],
      ];
      for (const [verb, body, expected] of cases) {
        const r = await post(verb, body);
        expect(r.status, `${verb} ${JSON.stringify(body)}`).to.equal(400);
        expect(code(r), r.text).to.equal(expected);
      }
    });
  });

  describe('compact', () => {
    const doc = {
      '@id': 'http://example.com/people/markus',
      [`${SCHEMA}name`]: [{ '@value': 'Markus' }],
      [`${SCHEMA}knows`]: [{ '@id': 'http://example.com/people/gregg' }],
    };
    const context = { '@vocab': SCHEMA, knows: { '@type': '@id' } };

    it('when compactArrays is false, then single values stay arrays (JSON-LD API §9.4 compactArrays)', async () => {
      const on = await post('compact', { document: doc, context });
      expect((on.json as Item).name).to.equal('Markus');
      const off = await post('compact', { document: doc, context, compactArrays: false });
      expect(off.status, off.text).to.equal(200);
      // even the top level stays an array: a @graph of one node
      const [node] = (off.json as { '@graph': Item[] })['@graph'];
      expect(node!.name).to.deep.equal(['Markus']);
      expect(node!.knows).to.deep.equal(['http://example.com/people/gregg']);
    });

    it('when compactToRelative is false, then IRIs are not made relative to the base (JSON-LD API §9.4 compactToRelative)', async () => {
      const base = 'http://example.com/people/';
      const rel = await post('compact', { document: doc, context, base });
      expect((rel.json as Item)['@id']).to.equal('markus');
      expect((rel.json as Item).knows).to.equal('gregg');
      const abs = await post('compact', { document: doc, context, base, compactToRelative: false });
      expect((abs.json as Item)['@id']).to.equal('http://example.com/people/markus');
    });

    it('when graph is true, then the result always has a @graph (JSON-LD API §9.4 graph)', async () => {
      const r = await post('compact', { document: doc, context, graph: true });
      expect(r.status, r.text).to.equal(200);
      const out = r.json as Item;
      expect(out).to.have.property('@graph');
      expect((out['@graph'] as Item[])[0]!.name).to.equal('Markus');
      expect(((await post('compact', { document: doc, context })).json as Item)['@graph']).to.equal(
        undefined,
      );
    });

    it('when skipExpansion is true, then the input is taken as already expanded: expanded input compacts the same, other input is refused', async () => {
      const expanded = [doc];
      const skipped = await post('compact', { document: expanded, context, skipExpansion: true });
      expect(skipped.status, skipped.text).to.equal(200);
      expect(skipped.json).to.deep.equal((await post('compact', { document: expanded, context })).json);
      const notExpanded = { [`${SCHEMA}name`]: 'x' };
      expect((await post('compact', { document: notExpanded, context })).status).to.equal(200);
      expect(
        (await post('compact', { document: notExpanded, context, skipExpansion: true })).status,
      ).to.equal(400);
    });
  });

  describe('flatten, frame', () => {
    // JSON-LD 1.1 §4.9 Flattened document form: the nested node becomes a node of its own
    const nested = {
      '@context': { '@vocab': SCHEMA, knows: { '@type': '@id' } },
      '@id': 'http://me.markus-lanthaler.com/',
      name: 'Markus Lanthaler',
      knows: [{ '@id': 'http://manu.sporny.org/about#manu', name: 'Manu Sporny' }, { name: 'Dave Longley' }],
    };

    it('when a document is flattened, then every node is a top-level node of @graph and blank nodes get labels (JSON-LD API §4.4)', async () => {
      const r = await post('flatten', nested);
      expect(r.status, r.text).to.equal(200);
      const nodes = r.json as Item[];
      expect(nodes).to.have.length(3);
      const ids = nodes.map((n) => n['@id']);
      expect(ids).to.include.members([
        'http://me.markus-lanthaler.com/',
        'http://manu.sporny.org/about#manu',
      ]);
      expect(ids.filter((id) => String(id).startsWith('_:'))).to.have.length(1);
      const compacted = await post('flatten', {
        document: nested,
        context: nested['@context'],
        compactArrays: false,
      });
      const graph = (compacted.json as { '@graph': Item[] })['@graph'];
      expect(graph).to.have.length(3);
      expect(graph.find((n) => n['@id'] === 'http://manu.sporny.org/about#manu')!.name).to.deep.equal([
        'Manu Sporny',
      ]);
    });

    // JSON-LD 1.1 Framing §1.1, the library example
    const library = {
      '@context': { '@vocab': 'http://example.org/', contains: { '@type': '@id' } },
      '@graph': [
        {
          '@id': 'http://example.org/library',
          '@type': 'Library',
          contains: 'http://example.org/library/the-republic',
        },
        {
          '@id': 'http://example.org/library/the-republic',
          '@type': 'Book',
          creator: 'Plato',
          title: 'The Republic',
          contains: 'http://example.org/library/the-republic#introduction',
        },
        {
          '@id': 'http://example.org/library/the-republic#introduction',
          '@type': 'Chapter',
          description: 'An introductory chapter on The Republic.',
          title: 'The Introduction',
        },
      ],
    };
    const frame = {
      '@context': { '@vocab': 'http://example.org/' },
      '@type': 'Library',
      contains: { '@type': 'Book', contains: { '@type': 'Chapter' } },
    };

    it('when a document is framed, then the library embeds its book and the book its chapter (JSON-LD 1.1 Framing example)', async () => {
      const r = await post('frame', { document: library, frame });
      expect(r.status, r.text).to.equal(200);
      const out = r.json as Item;
      expect(out['@type']).to.equal('Library');
      const book = out.contains as Item;
      expect(book.title).to.equal('The Republic');
      expect((book.contains as Item).title).to.equal('The Introduction');
    });

    it('when embed is @never, explicit, requireAll and omitGraph are set, then framing follows each (JSON-LD 1.1 Framing §4.1 options)', async () => {
      const never = (await post('frame', { document: library, frame, embed: '@never' })).json as Item;
      expect(never.contains).to.deep.equal({ '@id': 'http://example.org/library/the-republic' });
      const explicit = (
        await post('frame', {
          document: library,
          frame: { ...frame, contains: { '@type': 'Book', title: {} } },
          explicit: true,
        })
      ).json as Item;
      expect(Object.keys(explicit.contains as Item).sort()).to.deep.equal(['@id', '@type', 'title']);
      const all = (
        await post('frame', {
          document: library,
          frame: { '@context': frame['@context'], '@type': 'Book', missing: {} },
          requireAll: true,
        })
      ).json as Item;
      expect(Object.keys(all)).to.deep.equal(['@context']);
      const some = (
        await post('frame', {
          document: library,
          frame: { '@context': frame['@context'], '@type': 'Book', missing: {} },
        })
      ).json as Item;
      expect(some).to.include({ '@type': 'Book', missing: null });
      const graph = (await post('frame', { document: library, frame, omitGraph: false })).json as Item;
      expect(graph).to.have.property('@graph');
      const withDefault = (
        await post('frame', {
          document: library,
          frame: { '@context': frame['@context'], '@type': 'Chapter', missing: {} },
          omitDefault: true,
        })
      ).json as Item;
      expect(withDefault).to.include({ '@type': 'Chapter' });
      expect(withDefault).to.not.have.property('missing');
    });
  });

  describe('toRDF, fromRDF, canonize', () => {
    const doc = {
      '@context': { '@vocab': SCHEMA, born: { '@type': `${XSD}date` } },
      '@id': 'http://example.org/alice',
      name: 'Alice',
      born: '1990-04-01',
      knows: { name: 'Bob' },
    };

    it('when a document is converted to RDF, then N-Quads come back as application/n-quads (JSON-LD API §4.7 Serialize RDF)', async () => {
      const r = await post('toRDF', doc);
      expect(r.status, r.text).to.equal(200);
      expect(r.headers.get('content-type')).to.match(/^application\/n-quads/);
      const lines = r.text.trim().split('\n').sort();
      expect(lines).to.have.length(4);
      expect(lines).to.include(`<http://example.org/alice> <${SCHEMA}born> "1990-04-01"^^<${XSD}date> .`);
      expect(lines).to.include(`<http://example.org/alice> <${SCHEMA}name> "Alice" .`);
      expect(lines.some((l) => /^_:b0 <http:\/\/schema.org\/name> "Bob" \.$/.test(l))).to.equal(true);
      const relative = await post('toRDF', {
        document: { ...doc, '@id': 'alice' },
        base: 'http://example.org/',
      });
      expect(relative.text).to.include('<http://example.org/alice> ');
    });

    it('when N-Quads are posted, then fromRDF gives JSON-LD; useNativeTypes and useRdfType change it as the API says (JSON-LD API §4.8)', async () => {
      const nq =
        `<http://a.example/s> <http://a.example/p> "5"^^<${XSD}integer> .\n` +
        '<http://a.example/s> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <http://a.example/T> .\n';
      const raw = await call(`${hub.url}/jsonld/fromRDF`, {
        raw: nq,
        token: hub.adminToken,
        headers: { 'content-type': 'application/n-quads' },
      });
      expect(raw.status, raw.text).to.equal(200);
      expect(raw.json).to.deep.equal([
        {
          '@id': 'http://a.example/s',
          '@type': ['http://a.example/T'],
          'http://a.example/p': [{ '@type': `${XSD}integer`, '@value': '5' }],
        },
      ]);
      const native = (await post('fromRDF', { document: nq, useNativeTypes: true, useRdfType: true }))
        .json as Item[];
      expect(native[0]!['http://a.example/p']).to.deep.equal([{ '@value': 5 }]);
      expect(native[0]!['http://www.w3.org/1999/02/22-rdf-syntax-ns#type']).to.deep.equal([
        { '@id': 'http://a.example/T' },
      ]);
      const notText = await post('fromRDF', { document: { a: 1 } });
      expect(notText.status).to.equal(400);
    });

    it('when two documents describe the same graph with other blank nodes and order, then canonize gives the same N-Quads (RDF Dataset Canonicalization)', async () => {
      const a = {
        '@context': { '@vocab': SCHEMA },
        '@id': 'http://example.org/x',
        knows: [{ name: 'B' }, { name: 'C' }],
      };
      const b = {
        '@context': { '@vocab': SCHEMA },
        '@graph': [
          { '@id': '_:z', name: 'C' },
          { '@id': 'http://example.org/x', knows: [{ '@id': '_:y' }, { '@id': '_:z' }] },
          { '@id': '_:y', name: 'B' },
        ],
      };
      const ca = await post('canonize', a);
      const cb = await post('canonize', { document: b, algorithm: 'RDFC-1.0' });
      expect(ca.status, ca.text).to.equal(200);
      expect(ca.headers.get('content-type')).to.match(/^application\/n-quads/);
      expect(ca.text).to.equal(cb.text);
      expect(ca.text).to.match(/_:c14n0/);
      const nq = await call(`${hub.url}/jsonld/canonize`, {
        raw: (await post('toRDF', b)).text,
        token: hub.adminToken,
        headers: { 'content-type': 'application/n-quads' },
      });
      expect(nq.text).to.equal(ca.text);
    });
  });

  describe('who may use them, and their bounds', () => {
    const small = { '@context': { '@vocab': SCHEMA }, name: 'x' };

    it('when anonymous clients use the operations, then they are rate-limited per client (429 + Retry-After) while a dataset key is not', async () => {
      const limited = await startTestHub({ jsonld: { ...jsonldConfig, anonymousPerMinute: 2 } });
      try {
        const id = uniqueId();
        const { readKey } = await createDataset(limited, id);
        // a fresh minute for the two allowed requests, so the third cannot land in the next one
        const s = new Date().getSeconds();
        if (s > 55) await eventually(async () => (new Date().getSeconds() < 5 ? true : undefined), 10_000);
        for (const _ of [1, 2])
          expect((await call(`${limited.url}/jsonld/expand`, { body: small })).status).to.equal(200);
        const third = await call(`${limited.url}/jsonld/expand`, { body: small });
        expect(third.status, third.text).to.equal(429);
        expect(code(third)).to.equal('RATE_LIMITED');
        expect(Number(third.headers.get('retry-after'))).to.be.within(1, 60);
        for (const _ of [1, 2, 3]) {
          const keyed = await call(`${limited.url}/jsonld/expand`, { body: small, token: readKey });
          expect(keyed.status, keyed.text).to.equal(200);
        }
        const bad = await call(`${limited.url}/jsonld/expand`, { body: small, token: 'not-a-key' });
        expect(bad.status).to.equal(401);
      } finally {
        await limited.close();
      }
    });

    it('when anonymous use is denied by config, then 401 without a key and 200 with one', async () => {
      const denied = await startTestHub({ jsonld: { ...jsonldConfig, anonymous: 'deny' } });
      try {
        const r = await call(`${denied.url}/jsonld/expand`, { body: small });
        expect(r.status).to.equal(401);
        expect(
          (await call(`${denied.url}/jsonld/expand`, { body: small, token: denied.adminToken })).status,
        ).to.equal(200);
      } finally {
        await denied.close();
      }
    });

    it('when the body is over 5 MiB, then 413 and the connection is closed', async () => {
      const text = JSON.stringify({
        '@context': { '@vocab': SCHEMA },
        name: 'x'.repeat(5 * 1024 * 1024 + 10),
      });
      const r = await rawRequest(`${hub.url}/jsonld/expand`, {
        headers: { authorization: `Bearer ${hub.adminToken}`, 'content-type': 'application/json' },
        chunks: [Buffer.from(text)],
      });
      expect(r.status).to.equal(413);
    });

    it('when processing takes longer than the time bound, then 422 JSONLD_TIMEOUT, and the pool goes on serving', async () => {
      const slow = await startTestHub({ jsonld: { ...jsonldConfig, threads: 1, timeoutMs: 100 } });
      try {
        const r = await call(`${slow.url}/jsonld/toRDF`, {
          body: heavyDocument(20_000),
          token: slow.adminToken,
        });
        expect(r.status, r.text.slice(0, 300)).to.equal(422);
        expect(code(r)).to.equal('JSONLD_TIMEOUT');
        const next = await call(`${slow.url}/jsonld/expand`, { body: small, token: slow.adminToken });
        expect(next.status, next.text).to.equal(200);
      } finally {
        await slow.close();
      }
    });

    it('when an answer would be larger than the result bound, then 422 JSONLD_RESULT_TOO_LARGE', async () => {
      const tight = await startTestHub({ jsonld: { ...jsonldConfig, maxResultBytes: 2000 } });
      try {
        const r = await call(`${tight.url}/jsonld/expand`, {
          body: heavyDocument(50),
          token: tight.adminToken,
        });
        expect(r.status, r.text).to.equal(422);
        expect(code(r)).to.equal('JSONLD_RESULT_TOO_LARGE');
        expect(
          (await call(`${tight.url}/jsonld/expand`, { body: small, token: tight.adminToken })).status,
        ).to.equal(200);
      } finally {
        await tight.close();
      }
    });

    it('when every thread is busy and the queue is full, then 503 JSONLD_BUSY with Retry-After, and 200 again once the work is done', async () => {
      const busy = await startTestHub({ jsonld: { ...jsonldConfig, threads: 1, maxQueue: 0 } });
      try {
        const smallCall = () => call(`${busy.url}/jsonld/expand`, { body: small, token: busy.adminToken });
        // the thread is up (it loads for a moment after the hub starts)
        expect((await smallCall()).status).to.equal(200);
        // two heavy tasks at once on one thread with no queue: the second arrives while the first
        // runs (a second of work, against milliseconds to read a body), so one of them is refused
        const body = JSON.stringify(heavyDocument(30_000));
        const heavy = () =>
          call(`${busy.url}/jsonld/toRDF`, {
            raw: body,
            token: busy.adminToken,
            headers: { 'content-type': 'application/json' },
          });
        const answers = await Promise.all([heavy(), heavy()]);
        expect(answers.map((r) => r.status).sort()).to.deep.equal([200, 503]);
        const refused: Reply | undefined = answers.find((r) => r.status === 503);
        expect(refused, 'a 503 while the only thread was busy').to.not.equal(undefined);
        expect(code(refused!)).to.equal('JSONLD_BUSY');
        expect(refused!.headers.get('retry-after')).to.equal('1');
        expect((await smallCall()).status).to.equal(200);
      } finally {
        await busy.close();
      }
    });
  });
});
