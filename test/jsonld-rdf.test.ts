import { expect } from 'chai';
import { JsonLdParser } from 'jsonld-streaming-parser';
import { DataFactory, Store, type Quad, type Term } from 'n3';
import { createDataset, milking, pushResources, uniqueId } from './helpers/data.js';
import { call } from './helpers/http.js';
import { startTestHub, type TestHub } from './helpers/hub.js';
import { envelope, ingest } from './helpers/obsrv.js';
import { odsPush } from './helpers/ods.js';

type Item = Record<string, unknown>;
const ICAR = 'http://data.adewg.icar.org/core/';
const XSD = 'http://www.w3.org/2001/XMLSchema#';
const RDF_TYPE = 'http://www.w3.org/1999/02/22-rdf-syntax-ns#type';
const { namedNode } = DataFactory;

/** The hub's rule for a field name under a vocabulary, restated: IRI characters kept, others percent-encoded. */
const fieldName = (k: string) => (/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(k) ? k : encodeURIComponent(k));

/** Every item of a format=jsonld feed, parsed by an independent JSON-LD parser into one RDF store. */
async function feedGraph(items: readonly Item[]): Promise<Store> {
  const store = new Store();
  for (const item of items) {
    const quads = await new Promise<Quad[]>((resolve, reject) => {
      const out: Quad[] = [];
      const parser = new JsonLdParser();
      parser.on('data', (q: Quad) => out.push(q));
      parser.on('error', reject);
      parser.on('end', () => resolve(out));
      parser.write(JSON.stringify(item));
      parser.end();
    });
    store.addQuads(quads);
  }
  return store;
}

async function jsonldFeed(hub: TestHub, id: string, token: string): Promise<Item[]> {
  const r = await call(`${hub.url}/datasets/${id}/changes?format=jsonld`, { token });
  expect(r.status, r.text).to.equal(200);
  return (r.json as Item[]).slice(1, -1);
}

/**
 * Every field of `doc` with a value has its triple under `subject`: a literal of that value, or a
 * node whose own fields all have theirs. Answers the literals found, by field name.
 */
function expectEveryField(
  store: Store,
  subject: Term,
  doc: Item,
  predicateOf: (key: string) => string,
  path = '',
): Map<string, Term[]> {
  const literals = new Map<string, Term[]>();
  for (const [key, value] of Object.entries(doc)) {
    if (key.startsWith('@')) continue;
    const where = `${path}${key}`;
    const objects = store.getObjects(subject, namedNode(predicateOf(key)), null);
    const values = (Array.isArray(value) ? value.flat(Infinity) : [value]).filter(
      (v) => v !== null && !(typeof v === 'object' && Object.keys(v as object).length === 0),
    );
    for (const v of values) {
      if (typeof v === 'object') {
        const match = objects.filter((o) => o.termType === 'BlankNode' || o.termType === 'NamedNode');
        expect(match.length, `a node for ${where}`).to.be.greaterThan(0);
        const ok = match.some((o) => {
          try {
            for (const [k, l] of expectEveryField(store, o, v as Item, predicateOf, `${where}.`))
              literals.set(k, [...(literals.get(k) ?? []), ...l]);
            return true;
          } catch {
            return false;
          }
        });
        expect(ok, `every field of ${where} yields a triple`).to.equal(true);
      } else {
        const hit = objects.find(
          (o) =>
            o.termType === 'Literal' &&
            (typeof v === 'number' ? Number(o.value) === v : o.value === String(v)),
        );
        expect(hit, `a triple for ${where} = ${JSON.stringify(v)}`).to.not.equal(undefined);
        literals.set(where, [...(literals.get(where) ?? []), hit!]);
      }
    }
  }
  return literals;
}

const datatypeOf = (lits: Map<string, Term[]>, key: string): string =>
  (lits.get(key)![0] as unknown as { datatype: { value: string } }).datatype.value;

describe('JSON-LD feeds as RDF: nothing vanishes (jsonld-streaming-parser + N3.js)', () => {
  let hub: TestHub;
  before(async () => {
    hub = await startTestHub();
  });
  after(() => hub.close());

  it('when ICAR resources with odd field names and a date in a dateTime field are read as RDF, then every field yields a triple with a well-typed literal', async () => {
    const id = uniqueId('rdf');
    const keys = await createDataset(hub, id);
    const odd = milking(1, 'src', {
      'odd key': 'has a space',
      'a:b': 'has a colon',
      naïve: 'not ASCII',
      'per%cent': 5,
      eventDateTime: '2024-05-02',
      validFrom: 1714630302,
      nested: { 'inner key': [1, 2.5, true], deeper: { x: 'y' } },
    });
    const plain = milking(2, 'src');
    expect((await pushResources(hub, id, keys.pushKey, [odd, plain])).status).to.equal(200);
    const items = await jsonldFeed(hub, id, keys.readKey);
    const store = await feedGraph(items);
    for (const [i, r] of [odd, plain].entries()) {
      const meta = r.meta as { sourceId: string };
      const subject = namedNode(`${hub.url}/datasets/${id}/resources/src/${meta.sourceId}`);
      expect(items[i]!['@id']).to.equal(subject.value);
      expect(store.getObjects(subject, namedNode(RDF_TYPE), null).map((t) => t.value)).to.deep.equal([
        `${ICAR}MilkingVisitEvent`,
      ]);
      const { resourceType: _t, ...fields } = r as Item;
      const lits = expectEveryField(store, subject, fields, (k) => ICAR + fieldName(k));
      if (i === 0) {
        expect(store.getObjects(subject, namedNode(`${ICAR}odd%20key`), null)[0]!.value).to.equal(
          'has a space',
        );
        expect(datatypeOf(lits, 'eventDateTime')).to.equal(`${XSD}date`);
        expect(datatypeOf(lits, 'validFrom')).to.not.equal(`${XSD}dateTime`);
        expect(datatypeOf(lits, 'meta.modified')).to.equal(`${XSD}dateTime`);
      } else {
        expect(datatypeOf(lits, 'eventDateTime')).to.equal(`${XSD}dateTime`);
      }
    }
  });

  it('when UDA entities are read as RDF, then every property and reference yields a triple', async () => {
    const id = uniqueId('rdf');
    const keys = await createDataset(hub, id);
    const ctx = { id: '@context', namespaces: { ex: 'http://ex.example/' } };
    const entities = [
      {
        id: 'ex:1',
        props: { 'ex:name': 'One', 'ex:age': 5, 'ex:tags': ['a', 'b'] },
        refs: { 'ex:next': 'ex:2' },
      },
      { id: 'ex:2', props: { 'ex:name': 'Two', 'ex:ok': false }, refs: {} },
    ];
    const r = await call(`${hub.url}/datasets/${id}/entities`, {
      token: keys.pushKey,
      body: [ctx, ...entities],
    });
    expect(r.status, r.text).to.equal(200);
    const store = await feedGraph(await jsonldFeed(hub, id, keys.readKey));
    for (const e of entities) {
      const subject = namedNode(e.id.replace('ex:', 'http://ex.example/'));
      expectEveryField(store, subject, e.props, (k) => k.replace('ex:', 'http://ex.example/'));
      for (const [k, v] of Object.entries(e.refs))
        expect(
          store.getObjects(subject, namedNode(k.replace('ex:', 'http://ex.example/')), null)[0]!.value,
        ).to.equal(v.replace('ex:', 'http://ex.example/'));
    }
  });

  const recordFields = {
    title: 'A book',
    'odd key': 'v',
    'a:b': 1,
    published: '2024-05-02',
    at: '2024-05-02T10:00:00Z',
    loose: '2024-05-02 10:00',
    price: 12.5,
    pages: 300,
    ok: true,
    location: { lon: 2.35, lat: 48.85 },
    tags: ['x', 'y'],
  };

  const checkRecords = async (id: string, token: string, records: readonly Item[]) => {
    const items = await jsonldFeed(hub, id, token);
    expect(items).to.have.length(records.length);
    const store = await feedGraph(items);
    const vocab = `${hub.url}/datasets/${id}/fields/`;
    for (const [i, record] of records.entries()) {
      const subject = items[i]!['@id'] as string;
      expect(subject.startsWith(`${hub.url}/api/explore/v2.1/catalog/datasets/${id}/records/`)).to.equal(
        true,
      );
      // the @id is the record's URL: it answers the record
      const fetched = await call(subject, { token });
      expect(fetched.status, fetched.text).to.equal(200);
      const lits = expectEveryField(store, namedNode(subject), record, (k) => vocab + fieldName(k));
      expect(datatypeOf(lits, 'published')).to.equal(`${XSD}date`);
      expect(datatypeOf(lits, 'at')).to.equal(`${XSD}dateTime`);
      expect(datatypeOf(lits, 'loose')).to.not.equal(`${XSD}dateTime`);
      expect(datatypeOf(lits, 'pages')).to.equal(`${XSD}integer`);
      expect(datatypeOf(lits, 'price')).to.equal(`${XSD}double`);
    }
  };

  it('when ODS records are read as RDF, then each has its record URL as subject and every field a triple under the dataset vocabulary', async () => {
    const id = uniqueId('rdf');
    const keys = await createDataset(hub, id);
    const records = [recordFields, { ...recordFields, title: 'Another', pages: 12 }];
    expect((await odsPush(hub, id, keys.pushKey, records)).status).to.equal(200);
    await checkRecords(id, keys.readKey, records);
  });

  it('when Obsrv events are read as RDF, then each has its record URL as subject and every field a triple under the dataset vocabulary', async () => {
    const id = uniqueId('rdf');
    const keys = await createDataset(hub, id);
    const events = [recordFields, { ...recordFields, title: 'Second' }];
    expect((await ingest(hub, id, keys.pushKey, envelope(events))).status).to.equal(200);
    await checkRecords(id, keys.readKey, events);
  });
});
