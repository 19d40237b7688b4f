import { expect } from 'chai';
import { createDataset, uniqueId, type DatasetKeys } from './helpers/data.js';
import { call, type Reply } from './helpers/http.js';
import { startTestHub, type TestHub } from './helpers/hub.js';

type Item = Record<string, unknown>;
type Triple = [string, string, Item];

const NS = {
  people: 'http://ex.org/people/',
  companies: 'http://ex.org/companies/',
  s: 'http://ex.org/schema/',
  rdf: 'http://www.w3.org/1999/02/22-rdf-syntax-ns#',
};
const CTX = { id: '@context', namespaces: NS };

const code = (r: Reply): string => (r.json as { error: { code: string } }).error.code;

describe('POST /query: the entity graph across datasets (docs/uda.md#query)', function () {
  this.timeout(60_000);
  let hub: TestHub;
  let people: { id: string; keys: DatasetKeys };
  let companies: { id: string; keys: DatasetKeys };
  let secret: { id: string; keys: DatasetKeys };

  const push = async (d: { id: string; keys: DatasetKeys }, entities: unknown[]): Promise<void> => {
    const r = await call(`${hub.url}/datasets/${d.id}/entities`, {
      token: d.keys.pushKey,
      body: [CTX, ...entities],
    });
    expect(r.status, r.text).to.equal(200);
  };
  const query = (body: unknown, token?: string, headers?: Record<string, string>): Promise<Reply> =>
    call(`${hub.url}/query`, { token: token ?? hub.adminToken, body, headers });
  const ok = async (body: unknown, token?: string): Promise<unknown[]> => {
    const r = await query(body, token);
    expect(r.status, r.text).to.equal(200);
    return r.json as unknown[];
  };
  /** a traversal's relations as [start, predicate, related id] */
  const hops = (answer: unknown[]): Array<[string, string, string]> =>
    (answer[1] as Triple[]).map(([s, p, e]) => [s, p, String(e.id)]);

  before(async () => {
    hub = await startTestHub();
    const make = async (prefix: string) => {
      const id = uniqueId(prefix);
      return { id, keys: await createDataset(hub, id) };
    };
    people = await make('people');
    companies = await make('companies');
    secret = await make('secret');
    await push(companies, [
      { id: 'companies:plant', props: { 's:name': 'Power Plant' }, refs: { 'rdf:type': 's:Company' } },
      { id: 'companies:krusty', props: { 's:name': 'Krusty Burger' }, refs: { 'rdf:type': 's:Company' } },
    ]);
    await push(people, [
      {
        id: 'people:homer',
        props: { 's:name': 'Homer' },
        refs: { 's:worksfor': 'companies:plant', 'rdf:type': 's:Person', 's:spouse': 'people:marge' },
      },
      {
        id: 'people:marge',
        props: { 's:name': 'Marge' },
        refs: { 'rdf:type': 's:Person', 's:spouse': 'people:homer' },
      },
      { id: 'people:bart', refs: { 's:worksfor': 'companies:krusty', 's:fan': 'companies:plant' } },
      { id: 'people:lisa', refs: { 's:worksfor': ['companies:plant', 'companies:krusty'] } },
    ]);
    // bart is deleted; lisa's later version drops her ref to the plant
    await push(people, [
      { id: 'people:bart', deleted: true },
      { id: 'people:lisa', refs: { 's:worksfor': 'companies:krusty' } },
    ]);
    await push(secret, [
      { id: 'people:moe', refs: { 's:worksfor': 'companies:plant' } },
      { id: 'people:homer', props: { 's:debt': 120 } },
    ]);
  });
  after(() => hub?.close());

  describe('lookup', () => {
    it('when one id is looked up by CURIE or by IRI, then the answer is [context, entity] with its namespaces', async () => {
      for (const entityId of ['companies:plant', 'http://ex.org/companies/plant']) {
        const answer = await ok({ entityId, datasets: [companies.id] });
        expect(answer).to.have.length(2);
        expect(answer[0]).to.deep.include({ id: '@context' });
        expect((answer[0] as Item).namespaces).to.deep.include({ companies: NS.companies });
        expect(answer[1]).to.deep.include({
          id: 'companies:plant',
          deleted: false,
          props: { 's:name': 'Power Plant' },
          refs: { 'rdf:type': 's:Company' },
        });
      }
    });

    it('when several ids are looked up, then each comes in order, an unknown one as its bare id, a deleted one deleted', async () => {
      const answer = await ok({ entityId: ['people:marge', 'people:nobody', 'people:bart'] });
      expect(answer).to.have.length(4);
      expect(answer[1]).to.deep.include({ id: 'people:marge', props: { 's:name': 'Marge' } });
      expect(answer[2]).to.deep.equal({ id: 'people:nobody' });
      expect(answer[3]).to.deep.include({ id: 'people:bart', deleted: true });
    });

    it('when an entity is in two datasets, then the lookup merges them and details say which dataset holds which version', async () => {
      const answer = await ok({ entityId: 'people:homer', details: true });
      const homer = answer[1] as Item & { props: Item };
      expect(homer.props).to.include({ 's:name': 'Homer', 's:debt': 120 });
      const details = homer.props.datahub_details as Record<string, { latest: Item }>;
      expect(Object.keys(details).sort()).to.deep.equal([people.id, secret.id].sort());
      expect(details[people.id]!.latest).to.deep.include({
        id: 'people:homer',
        props: { 's:name': 'Homer' },
      });
      expect(details[secret.id]!.latest).to.deep.include({ props: { 's:debt': 120 } });
    });
  });

  describe('traversal', () => {
    it('when outgoing refs are followed with *, then every ref of the latest version comes with the related entity from whichever dataset holds it', async () => {
      const answer = await ok({ startingEntities: ['people:homer'], predicate: '*', limit: 50 });
      expect(hops(answer)).to.deep.equal([
        // in predicate IRI order: http://ex.org/schema/… before http://www.w3.org/…
        ['people:homer', 's:spouse', 'people:marge'],
        ['people:homer', 's:worksfor', 'companies:plant'],
        ['people:homer', 'rdf:type', 's:Person'],
      ]);
      const plant = (answer[1] as Triple[])[1]![2];
      expect(plant).to.deep.include({ props: { 's:name': 'Power Plant' } });
      // a ref to an entity no dataset holds: its bare id
      expect((answer[1] as Triple[])[2]![2]).to.deep.equal({ id: 's:Person' });
      expect(answer[2]).to.deep.equal([]);
    });

    it('when outgoing refs are followed by a named predicate, as CURIE or IRI, then only that predicate comes', async () => {
      for (const predicate of ['s:worksfor', 'http://ex.org/schema/worksfor']) {
        const answer = await ok({ startingEntities: ['people:lisa'], predicate });
        // lisa's ref to the plant is gone in her latest version
        expect(hops(answer)).to.deep.equal([['people:lisa', 's:worksfor', 'companies:krusty']]);
      }
    });

    it('when incoming refs are followed across two datasets, then deleted entities and deleted refs are not among them', async () => {
      const answer = await ok({
        startingEntities: ['companies:plant'],
        predicate: 's:worksfor',
        inverse: true,
      });
      expect(hops(answer).sort()).to.deep.equal([
        ['companies:plant', 's:worksfor', 'people:homer'],
        ['companies:plant', 's:worksfor', 'people:moe'],
      ]);
      const any = await ok({ startingEntities: ['companies:plant'], predicate: '*', inverse: true });
      // bart's s:fan went with bart
      expect(
        hops(any)
          .map((h) => h[2])
          .sort(),
      ).to.deep.equal(['people:homer', 'people:moe']);
    });

    it('when datasets narrow a traversal, then only relations held by those datasets come', async () => {
      const answer = await ok({
        startingEntities: ['companies:plant'],
        predicate: 's:worksfor',
        inverse: true,
        datasets: [people.id],
      });
      expect(hops(answer)).to.deep.equal([['companies:plant', 's:worksfor', 'people:homer']]);
    });

    it('when an outgoing ref points to an entity deleted everywhere in scope, then it is not followed', async () => {
      const id = uniqueId('deleted');
      const d = { id, keys: await createDataset(hub, id) };
      await push(d, [
        { id: 'people:ned', refs: { 's:neighbour': ['people:maude', 'people:rod'] } },
        { id: 'people:maude' },
        { id: 'people:rod' },
      ]);
      await push(d, [{ id: 'people:maude', deleted: true }]);
      const answer = await ok({
        startingEntities: ['people:ned'],
        predicate: 's:neighbour',
        datasets: [d.id],
      });
      expect(hops(answer)).to.deep.equal([['people:ned', 's:neighbour', 'people:rod']]);
    });
  });

  describe('paging', () => {
    it('when 1,000 entities refer to one, then limit=100 pages through them in 10 pages and the last gives no continuation', async () => {
      const id = uniqueId('fans');
      const fans = { id, keys: await createDataset(hub, id) };
      const entities = Array.from({ length: 1000 }, (_, i) => ({
        id: `people:fan-${String(i).padStart(4, '0')}`,
        refs: { 's:fanOf': 'people:homer', 'rdf:type': 's:Fan' },
      }));
      await push(fans, entities);

      const seen: string[] = [];
      let answer = await ok({
        startingEntities: ['people:homer'],
        predicate: 's:fanOf',
        inverse: true,
        limit: 100,
      });
      let pages = 1;
      while (true) {
        const page = hops(answer);
        expect(page, `page ${pages}`).to.have.length(100);
        seen.push(...page.map((h) => h[2]));
        const tokens = answer[2] as string[];
        if (tokens.length === 0) break;
        expect(tokens).to.have.length(1);
        answer = await ok({ continuations: tokens, limit: 100 });
        pages++;
        expect(pages).to.be.at.most(10);
      }
      expect(pages).to.equal(10);
      expect(new Set(seen).size).to.equal(1000);
      expect(seen).to.deep.equal(entities.map((e) => e.id));
    });

    it('when a continuation is tampered with, then the answer is 400 INVALID_TOKEN', async () => {
      const answer = await ok({
        startingEntities: ['companies:plant'],
        predicate: '*',
        inverse: true,
        limit: 1,
      });
      const [token] = answer[2] as string[];
      expect(token).to.be.a('string');
      const r = await query({ continuations: [`${token!.slice(0, -2)}xx`] });
      expect(r.status).to.equal(400);
      expect(code(r)).to.equal('INVALID_TOKEN');
    });
  });

  describe('recovery', () => {
    it('when a dataset is recovered from its journal, then the ref index of the new epoch answers as before, transaction parts included', async () => {
      const id = uniqueId('recovered');
      const d = { id, keys: await createDataset(hub, id) };
      await push(d, [
        { id: 'people:carl', refs: { 's:friend': 'people:lenny' } },
        { id: 'people:lenny', refs: { 's:friend': 'people:carl' } },
      ]);
      const tx = await call(`${hub.url}/transactions`, {
        token: hub.adminToken,
        body: {
          '@context': { namespaces: NS },
          [id]: [{ id: 'people:frank', refs: { 's:friend': 'people:lenny' } }],
        },
      });
      expect(tx.status, tx.text).to.equal(200);
      await push(d, [{ id: 'people:carl', deleted: true }]);
      const ask = {
        startingEntities: ['people:lenny'],
        predicate: 's:friend',
        inverse: true,
        datasets: [id],
      };
      const before = hops(await ok(ask));
      expect(before).to.deep.equal([['people:lenny', 's:friend', 'people:frank']]);

      const r = await call(`${hub.url}/datasets/${id}/recover`, { method: 'POST', token: hub.adminToken });
      expect(r.status, r.text).to.equal(200);
      expect(r.json).to.include({ rebuilt: true, replayed: 3 });
      expect(hops(await ok(ask))).to.deep.equal(before);
      const carl = await ok({
        startingEntities: ['people:carl'],
        predicate: '*',
        inverse: true,
        datasets: [id],
      });
      // lenny's ref to carl stays: a ref is the referring entity's, whatever became of its target
      expect(hops(carl)).to.deep.equal([['people:carl', 's:friend', 'people:lenny']]);
      const fromCarl = await ok({ startingEntities: ['people:carl'], predicate: '*', datasets: [id] });
      expect(hops(fromCarl)).to.deep.equal([]);
    });
  });

  describe('access', () => {
    it('when a read key of one dataset queries, then it sees that dataset only, and naming another is 403', async () => {
      const key = people.keys.readKey;
      const inverse = await ok(
        { startingEntities: ['companies:plant'], predicate: 's:worksfor', inverse: true },
        key,
      );
      expect(hops(inverse)).to.deep.equal([['companies:plant', 's:worksfor', 'people:homer']]);
      const moe = await ok({ entityId: 'people:moe' }, key);
      expect(moe[1]).to.deep.equal({ id: 'people:moe' });
      const homer = await ok({ entityId: 'people:homer', details: true }, key);
      expect((homer[1] as { props: Item }).props).to.not.have.property('s:debt');
      expect(
        Object.keys((homer[1] as { props: { datahub_details: Item } }).props.datahub_details),
      ).to.deep.equal([people.id]);
      // a ref into a dataset the key cannot read leads to the bare id
      const out = await ok({ startingEntities: ['people:homer'], predicate: 's:worksfor' }, key);
      expect((out[1] as Triple[])[0]![2]).to.deep.equal({ id: 'companies:plant' });

      for (const datasets of [[secret.id], [people.id, secret.id]]) {
        const r = await query({ entityId: 'people:moe', datasets }, key);
        expect(r.status, r.text).to.equal(403);
        expect(code(r)).to.equal('FORBIDDEN');
      }
    });

    it('when a continuation of the admin is replayed with a read key, then it still sees only its own dataset', async () => {
      const answer = await ok({
        startingEntities: ['companies:plant'],
        predicate: 's:worksfor',
        inverse: true,
        limit: 1,
      });
      const tokens = answer[2] as string[];
      expect(tokens).to.have.length(1);
      // datasets are visited by name: people's homer first, then secret's moe
      expect(hops(answer)).to.deep.equal([['companies:plant', 's:worksfor', 'people:homer']]);
      const asAdmin = await ok({ continuations: tokens });
      expect(hops(asAdmin)).to.deep.equal([['companies:plant', 's:worksfor', 'people:moe']]);
      const asKey = await ok({ continuations: tokens }, people.keys.readKey);
      expect(hops(asKey)).to.deep.equal([]);
      expect(asKey[2]).to.deep.equal([]);
    });

    it('when there is no key and nothing is public, then the answer is 401; a dataset that does not exist is 404', async () => {
      const anon = await call(`${hub.url}/query`, { body: { entityId: 'people:homer' } });
      expect(anon.status).to.equal(401);
      const missing = await query({ entityId: 'people:homer', datasets: ['no-such-dataset'] });
      expect(missing.status).to.equal(404);
      expect(code(missing)).to.equal('DATASET_NOT_FOUND');
    });
  });

  describe('answers and errors', () => {
    it('when JSON-LD is asked for, then the answer is an expanded @graph with full IRIs', async () => {
      const r = await query({ startingEntities: ['people:homer'], predicate: 's:worksfor' }, undefined, {
        accept: 'application/ld+json',
      });
      expect(r.status, r.text).to.equal(200);
      expect(r.headers.get('content-type')).to.include('application/ld+json');
      const graph = (r.json as { '@graph': Item[] })['@graph'];
      const ids = graph.map((n) => n['@id']);
      expect(ids).to.include.members([`${NS.people}homer`, `${NS.companies}plant`]);
      const start = graph.find((n) => n['@id'] === `${NS.people}homer`)!;
      expect(start[`${NS.s}worksfor`]).to.deep.equal([{ '@id': `${NS.companies}plant` }]);
      const plant = graph.find((n) => n['@id'] === `${NS.companies}plant`)!;
      expect(plant[`${NS.s}name`]).to.deep.equal([{ '@value': 'Power Plant' }]);
    });

    it('when the body is not a query, then the answer is a 400 that says why', async () => {
      const cases: Array<[unknown, string]> = [
        [[1, 2], 'INVALID_QUERY'],
        [{ startingEntities: ['people:homer'] }, 'INVALID_QUERY'],
        [{ startingEntities: [], predicate: '*' }, 'INVALID_QUERY'],
        [{ startingEntities: ['people:homer'], predicate: '*', limit: 10_001 }, 'INVALID_QUERY'],
        [{ startingEntities: ['people:homer'], predicate: '*', limit: -1 }, 'INVALID_QUERY'],
        [{ startingEntities: ['people:homer'], predicate: '*', inverse: 'yes' }, 'INVALID_QUERY'],
        [{ entityId: 'people:homer', startingEntities: ['people:homer'] }, 'INVALID_QUERY'],
        [{ entityId: 'people:homer', select: ['x'] }, 'INVALID_QUERY'],
        [{ entityId: 'nope:homer' }, 'UNKNOWN_PREFIX'],
        [{ continuations: ['garbage'] }, 'INVALID_TOKEN'],
      ];
      for (const [body, expected] of cases) {
        const r = await query(body);
        expect(r.status, JSON.stringify(body)).to.equal(400);
        expect(code(r), JSON.stringify(body)).to.equal(expected);
      }
    });
  });
});
