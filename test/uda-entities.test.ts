import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import jsonld from 'jsonld';
import type { JsonLdDocument } from 'jsonld';
import { createDataset, uniqueId, type DatasetKeys } from './helpers/data.js';
import { call, parseNdjson, type Reply } from './helpers/http.js';
import { startTestHub, type TestHub } from './helpers/hub.js';

type Item = Record<string, unknown>;
type ErrorBody = { error: { code: string; message: string; index?: number } };

const SAMPLE = JSON.parse(
  readFileSync(new URL('./fixtures/uda-entities.json', import.meta.url), 'utf8'),
) as unknown[];
const EX = { id: '@context', namespaces: { ex: 'http://ex.example/', _: 'http://ex.example/props/' } };
const UDA = 'http://data.mimiro.io/core/uda/';

function push(hub: TestHub, id: string, key: string, body: unknown, headers?: Record<string, string>) {
  return call(`${hub.url}/datasets/${id}/entities`, { token: key, body, headers });
}

/** A feed (JSON array) as context element, items, continuation. */
function split(r: Reply): { context: Item; items: Item[]; last: Item } {
  expect(r.status, r.text).to.equal(200);
  const arr = r.json as Item[];
  return { context: arr[0]!, items: arr.slice(1, -1), last: arr[arr.length - 1]! };
}

const code = (r: Reply): string => (r.json as ErrorBody).error.code;

describe('Universal Data API: entities (docs/uda.md)', () => {
  let hub: TestHub;
  before(async () => {
    hub = await startTestHub();
  });
  after(() => hub.close());

  async function dataset(config: object = {}): Promise<{ id: string; keys: DatasetKeys }> {
    const id = uniqueId('uda');
    return { id, keys: await createDataset(hub, id, config) };
  }

  it('when the sample entities are pushed, then the changes feed lists them compacted with the namespaces, recorded and deleted', async () => {
    const { id, keys } = await dataset();
    const before = Date.now();
    const r = await push(hub, id, keys.pushKey, SAMPLE);
    expect(r.status, r.text).to.equal(200);
    // the third element deletes a key the dataset never had: no change
    expect(r.json).to.deep.equal({ status: 'OK', received: 3, changes: 2 });

    const feed = split(await call(`${hub.url}/datasets/${id}/changes`, { token: keys.readKey }));
    expect(feed.context).to.deep.equal(SAMPLE[0]);
    expect(feed.last.id).to.equal('@continuation');
    expect(feed.last.token).to.be.a('string');
    expect(feed.items).to.have.length(2);
    const bella = feed.items[0]!;
    expect(bella).to.deep.include({
      id: 'animal:528000012345678',
      deleted: false,
      props: { name: 'Bella', birthDate: '2021-03-14' },
      refs: { 'rdf:type': 'http://data.example.org/types/Cow', memberOf: 'herd:0042' },
    });
    expect(bella.recorded)
      .to.be.a('number')
      .within(before - 1000, Date.now() + 1000);
    expect(feed.items[1]).to.deep.include({
      id: 'animal:528000012345679',
      refs: { memberOf: ['herd:0042', 'herd:0043'] },
    });
  });

  it('when ex:1 is pushed, then it reads back as ex:1 with the same namespace in @context and as the full IRI in JSON-LD', async () => {
    const { id, keys } = await dataset();
    const ctx = { id: '@context', namespaces: { ex: 'http://example.org/' } };
    const r = await push(hub, id, keys.pushKey, [
      ctx,
      { id: 'ex:1', props: { 'ex:name': 'One' }, refs: { 'ex:next': 'ex:2' } },
    ]);
    expect(r.status, r.text).to.equal(200);

    const plain = split(await call(`${hub.url}/datasets/${id}/changes`, { token: keys.readKey }));
    expect(plain.context).to.deep.equal(ctx);
    expect(plain.items[0]).to.deep.include({
      id: 'ex:1',
      props: { 'ex:name': 'One' },
      refs: { 'ex:next': 'ex:2' },
    });

    for (const [query, headers] of [
      ['?format=jsonld', {}],
      ['', { accept: 'application/ld+json' }],
    ] as const) {
      const ld = split(
        await call(`${hub.url}/datasets/${id}/changes${query}`, { token: keys.readKey, headers }),
      );
      const node = ld.items[0]!;
      expect(node['@id']).to.equal('http://example.org/1');
      expect(node['http://example.org/name']).to.deep.equal([{ '@value': 'One' }]);
      expect(node['http://example.org/next']).to.deep.equal([{ '@id': 'http://example.org/2' }]);
      expect(node[`${UDA}deleted`]).to.deep.equal([{ '@value': false }]);
      expect(node[`${UDA}recorded`]).to.have.nested.property('[0].@value').that.is.a('number');
    }
  });

  it('when an entity is rendered as JSON-LD, then jsonld.js expanding it again changes nothing (it is valid expanded JSON-LD)', async () => {
    const { id, keys } = await dataset();
    const pushed = await push(hub, id, keys.pushKey, [
      {
        id: '@context',
        namespaces: { ...EX.namespaces, rdf: 'http://www.w3.org/1999/02/22-rdf-syntax-ns#' },
      },
      {
        id: 'ex:cow',
        props: {
          name: 'Bella',
          weights: [510, [512.5, null], 515],
          tags: [],
          nothing: null,
          address: { props: { street: 'Main' }, refs: { in: 'ex:town' } },
          herd: { id: 'ex:h1', props: { size: 12 } },
          empty: {},
        },
        refs: { 'rdf:type': 'ex:Cow', knows: ['ex:a', 'ex:b'], name: 'ex:n' },
      },
    ]);
    expect(pushed.status, pushed.text).to.equal(200);
    const ld = split(await call(`${hub.url}/datasets/${id}/changes?format=jsonld`, { token: keys.readKey }));
    const node = ld.items[0]!;
    const refuse = async (url: string): Promise<never> => {
      throw new Error(`no loads in this test: ${url}`);
    };
    const again = await jsonld.expand(node as JsonLdDocument, { documentLoader: refuse });
    expect(again).to.deep.equal([node]);
    // rdf:type refs are the node's @type; a prop and a ref with one IRI share the key
    expect(node['@type']).to.deep.equal(['http://ex.example/Cow']);
    expect(node['http://ex.example/props/name']).to.deep.equal([
      { '@value': 'Bella' },
      { '@id': 'http://ex.example/n' },
    ]);
  });

  it('when a namespace is missing for a prefix, then the push is 400 UNKNOWN_PREFIX naming the element and nothing is stored', async () => {
    const { id, keys } = await dataset();
    const cases: unknown[][] = [
      [EX, { id: 'ex:1' }, { id: 'zz:2' }],
      [EX, { id: 'ex:2' }, { id: 'ex:1', props: { 'zz:name': 1 } }],
      [EX, { id: 'ex:2' }, { id: 'ex:1', refs: { knows: 'zz:9' } }],
      [{ id: '@context', namespaces: { ex: 'http://ex.example/' } }, { id: 'ex:1' }, { id: 'bare' }],
    ];
    for (const body of cases) {
      const r = await push(hub, id, keys.pushKey, body);
      expect(r.status, r.text).to.equal(400);
      expect(code(r)).to.equal('UNKNOWN_PREFIX');
      expect((r.json as ErrorBody).error.index).to.equal(2);
    }
    const d = await call(`${hub.url}/datasets/${id}`, { token: keys.readKey });
    expect(d.json).to.include({ lastSeq: 0, count: 0 });
  });

  it('when a request redefines a known prefix to another IRI, then it is 409 NAMESPACE_CONFLICT and nothing is stored', async () => {
    const { id, keys } = await dataset();
    expect((await push(hub, id, keys.pushKey, [EX, { id: 'ex:1' }])).status).to.equal(200);
    const r = await push(hub, id, keys.pushKey, [
      { id: '@context', namespaces: { ex: 'http://other.example/' } },
      { id: 'ex:2' },
    ]);
    expect(r.status, r.text).to.equal(409);
    expect(code(r)).to.equal('NAMESPACE_CONFLICT');
    expect((r.json as ErrorBody).error.index).to.equal(0);
    const feed = split(await call(`${hub.url}/datasets/${id}/changes`, { token: keys.readKey }));
    expect(feed.items.map((i) => i.id)).to.deep.equal(['ex:1']);
    expect(feed.context.namespaces).to.deep.equal(EX.namespaces);
  });

  it('when the same entity is pushed as a CURIE of another prefix or as its full IRI, then it is the same key and nothing changes', async () => {
    const { id, keys } = await dataset();
    const entity = { props: { 'ex:name': 'A' }, refs: { 'ex:knows': 'ex:2' } };
    expect((await push(hub, id, keys.pushKey, [EX, { id: 'ex:1', ...entity }])).json).to.include({
      changes: 1,
    });
    const other = await push(hub, id, keys.pushKey, [
      { id: '@context', namespaces: { e2: 'http://ex.example/' } },
      { id: 'e2:1', props: { 'e2:name': 'A' }, refs: { 'e2:knows': 'e2:2' } },
    ]);
    expect(other.json).to.include({ received: 1, changes: 0 });
    const full = await push(hub, id, keys.pushKey, [
      { id: '@context' },
      {
        id: 'http://ex.example/1',
        props: { 'http://ex.example/name': 'A' },
        refs: { 'http://ex.example/knows': 'http://ex.example/2' },
      },
    ]);
    expect(full.status, full.text).to.equal(200);
    expect(full.json).to.include({ changes: 0 });
    // both prefixes are known now; on a tie the output picks the first in code-unit order
    const feed = split(await call(`${hub.url}/datasets/${id}/changes`, { token: keys.readKey }));
    expect(feed.context.namespaces).to.deep.equal({ ...EX.namespaces, e2: 'http://ex.example/' });
    expect(feed.items).to.have.length(1);
    expect(feed.items[0]).to.deep.include({ id: 'e2:1', props: { 'e2:name': 'A' } });
  });

  it('when IRIs fall under nested namespaces, then the longest one compacts them and the default prefix gives bare names', async () => {
    const { id, keys } = await dataset();
    const ns = { _: 'http://x.example/', deep: 'http://x.example/deep/', o: 'http://o.example/' };
    await push(hub, id, keys.pushKey, [
      { id: '@context', namespaces: ns },
      {
        id: 'deep:1',
        props: { name: 'n', 'deep:v': 1, 'http://x.example/a:b': 2 },
        refs: { 'o:x': 'http://elsewhere.example/z' },
      },
    ]);
    const item = split(await call(`${hub.url}/datasets/${id}/entities`, { token: keys.readKey })).items[0]!;
    expect(item.id).to.equal('deep:1');
    // a local part with ':' would not read back: the IRI is emitted whole
    expect(item.props).to.deep.equal({ name: 'n', 'deep:v': 1, 'http://x.example/a:b': 2 });
    expect(item.refs).to.deep.equal({ 'o:x': 'http://elsewhere.example/z' });
  });

  it('when entities are deleted, then the feed carries them with deleted: true and /entities leaves them out', async () => {
    const { id, keys } = await dataset();
    await push(hub, id, keys.pushKey, [EX, { id: 'ex:1', props: { n: 1 } }, { id: 'ex:2', props: { n: 2 } }]);
    const del = await push(hub, id, keys.pushKey, [EX, { id: 'ex:1', deleted: true }]);
    expect(del.json).to.include({ changes: 1 });
    const again = await push(hub, id, keys.pushKey, [EX, { id: 'ex:1', deleted: true }]);
    expect(again.json).to.include({ changes: 0 });

    const feed = split(await call(`${hub.url}/datasets/${id}/changes`, { token: keys.readKey }));
    expect(feed.items.map((i) => [i.id, i.deleted])).to.deep.equal([
      ['ex:1', false],
      ['ex:2', false],
      ['ex:1', true],
    ]);
    const current = split(await call(`${hub.url}/datasets/${id}/entities`, { token: keys.readKey }));
    expect(current.items.map((i) => i.id)).to.deep.equal(['ex:2']);
    const d = await call(`${hub.url}/datasets/${id}`, { token: keys.readKey });
    expect(d.json).to.include({ count: 1, lastSeq: 3 });
  });

  it('when /entities is paged with from and limit, then every live entity comes once, continuation last', async () => {
    const { id, keys } = await dataset();
    const entities = Array.from({ length: 7 }, (_, i) => ({ id: `ex:${i}`, props: { i } }));
    await push(hub, id, keys.pushKey, [EX, ...entities]);
    const seen: unknown[] = [];
    let from = '';
    for (let page = 0; page < 10; page++) {
      const r = split(
        await call(`${hub.url}/datasets/${id}/entities?limit=3${from ? `&from=${from}` : ''}`, {
          token: keys.readKey,
        }),
      );
      expect(r.context.id).to.equal('@context');
      expect(r.last.id).to.equal('@continuation');
      expect(r.items.length).to.be.at.most(3);
      if (r.items.length === 0) break;
      seen.push(...r.items.map((i) => i.id));
      from = r.last.token as string;
    }
    expect([...seen].sort()).to.deep.equal(entities.map((e) => e.id).sort());
    const nd = await call(`${hub.url}/datasets/${id}/entities?format=ndjson`, { token: keys.readKey });
    expect(parseNdjson(nd.text)).to.have.length(9);
  });

  it('when /changes is read with since and limit, then it continues after the token', async () => {
    const { id, keys } = await dataset();
    await push(hub, id, keys.pushKey, [EX, { id: 'ex:1' }, { id: 'ex:2' }]);
    const first = split(await call(`${hub.url}/datasets/${id}/changes?limit=1`, { token: keys.readKey }));
    expect(first.items.map((i) => i.id)).to.deep.equal(['ex:1']);
    await push(hub, id, keys.pushKey, [EX, { id: 'ex:3' }]);
    const rest = split(
      await call(`${hub.url}/datasets/${id}/changes?since=${first.last.token as string}`, {
        token: keys.readKey,
      }),
    );
    expect(rest.items.map((i) => i.id)).to.deep.equal(['ex:2', 'ex:3']);
  });

  it('when props nest entities, then their ids and keys are expanded and read back compacted', async () => {
    const { id, keys } = await dataset();
    const cow = {
      id: 'ex:c',
      props: {
        address: { props: { street: 'Main', 'ex:no': 3 }, refs: { city: 'ex:oslo' } },
        visits: [{ id: 'ex:v1', props: { at: '2024' } }, 'text', 5],
      },
      refs: {},
    };
    expect((await push(hub, id, keys.pushKey, [EX, cow])).status).to.equal(200);
    const item = split(await call(`${hub.url}/datasets/${id}/entities`, { token: keys.readKey })).items[0]!;
    expect(item.props).to.deep.equal({
      address: { props: { street: 'Main', 'ex:no': 3 }, refs: { city: 'ex:oslo' } },
      visits: [{ id: 'ex:v1', props: { at: '2024' }, refs: {} }, 'text', 5],
    });
  });

  it('when an element is malformed, then the push is 400 INVALID_ENTITY with its index and nothing is stored', async () => {
    const { id, keys } = await dataset();
    const bad: Array<[unknown, number]> = [
      [{ entities: [] }, 0],
      [[], 0],
      [[{ id: 'ex:1' }], 0],
      [[{ id: '@context', namespaces: { ex: 'not-an-iri' } }], 0],
      [[{ id: '@context', namespaces: { 'e:x': 'http://a.example/' } }], 0],
      [[EX, { id: 'ex:1' }, { id: '@continuation', token: 'x' }], 2],
      [[EX, { id: 'ex:1' }, { id: '@context' }], 2],
      [[EX, 'ex:1'], 1],
      [[EX, { props: {} }], 1],
      [[EX, { id: '' }], 1],
      [[EX, { id: 'ex:1', deleted: 'yes' }], 1],
      [[EX, { id: 'ex:1', props: [] }], 1],
      [[EX, { id: 'ex:1', refs: { knows: 5 } }], 1],
      [[EX, { id: 'ex:1', refs: { knows: ['ex:2', 3] } }], 1],
      [[EX, { id: 'ex:1', props: { address: { street: 'x' } } }], 1],
      [[EX, { id: 'ex:1', props: { name: 'a', _name: 'b', 'http://ex.example/props/name': 'c' } }], 1],
      [[EX, { id: 'ex:1', extra: true }], 1],
    ];
    for (const [body, index] of bad) {
      const r = await push(hub, id, keys.pushKey, body);
      expect(r.status, JSON.stringify(body)).to.equal(400);
      expect(code(r), r.text).to.equal('INVALID_ENTITY');
      expect((r.json as ErrorBody).error.index, r.text).to.equal(index);
    }
    const d = await call(`${hub.url}/datasets/${id}`, { token: keys.readKey });
    expect(d.json).to.include({ lastSeq: 0 });
  });

  it('when UDA feed fields recorded and internalId are pushed back, then they are ignored', async () => {
    const { id, keys } = await dataset();
    const r = await push(hub, id, keys.pushKey, [
      EX,
      { id: 'ex:1', recorded: 17, internalId: 3, props: { a: 1 } },
    ]);
    expect(r.status, r.text).to.equal(200);
    const item = split(await call(`${hub.url}/datasets/${id}/entities`, { token: keys.readKey })).items[0]!;
    expect(item.recorded).to.not.equal(17);
    expect(item).to.not.have.property('internalId');
  });

  it('when the dataset has a schema, then it checks the expanded entity and a violation rejects the request', async () => {
    const { id, keys } = await dataset({
      schema: {
        type: 'object',
        properties: {
          props: { type: 'object', required: ['http://ex.example/props/name'] },
        },
      },
    });
    const ok = await push(hub, id, keys.pushKey, [EX, { id: 'ex:1', props: { name: 'a' } }]);
    expect(ok.status, ok.text).to.equal(200);
    const bad = await push(hub, id, keys.pushKey, [EX, { id: 'ex:2', props: { name: 'b' } }, { id: 'ex:3' }]);
    expect(bad.status).to.equal(400);
    expect(code(bad)).to.equal('SCHEMA_VIOLATION');
    expect((bad.json as ErrorBody).error.index).to.equal(2);
    // a delete is not checked
    const del = await push(hub, id, keys.pushKey, [EX, { id: 'ex:1', deleted: true }]);
    expect(del.status).to.equal(200);
  });

  it('when credentials do not grant the push, then 401/403 in the hub body; a read key reads', async () => {
    const { id, keys } = await dataset();
    const none = await call(`${hub.url}/datasets/${id}/entities`, { body: [EX] });
    expect(none.status).to.equal(401);
    const read = await push(hub, id, keys.readKey, [EX]);
    expect(read.status).to.equal(403);
    expect(code(read)).to.equal('FORBIDDEN');
    const missing = await push(hub, uniqueId('nope'), keys.pushKey, [EX]);
    expect(missing.status).to.equal(404);
    const get = await call(`${hub.url}/datasets/${id}/entities`, { token: keys.readKey });
    expect(get.status).to.equal(200);
  });
});
