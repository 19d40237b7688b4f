import { expect } from 'chai';
import { createDataset, uniqueId, type DatasetKeys } from './helpers/data.js';
import { call, type Reply } from './helpers/http.js';
import { startTestHub, type TestHub } from './helpers/hub.js';

type Item = Record<string, unknown>;

const NS = { people: 'http://ex.org/people/', s: 'http://ex.org/schema/', c: 'http://ex.org/companies/' };

const code = (r: Reply): string => (r.json as { error: { code: string } }).error.code;

describe('POST /transactions: one atomic update of several datasets (docs/uda.md#transactions)', function () {
  this.timeout(60_000);
  let hub: TestHub;
  before(async () => {
    hub = await startTestHub();
  });
  after(() => hub?.close());

  async function datasets(n: number, config: object = {}): Promise<Array<{ id: string; keys: DatasetKeys }>> {
    const out = [];
    for (let i = 0; i < n; i++) {
      const id = uniqueId(`tx${i}`);
      out.push({ id, keys: await createDataset(hub, id, config) });
    }
    return out;
  }
  const tx = (body: unknown, token = hub.adminToken): Promise<Reply> =>
    call(`${hub.url}/transactions`, { token, body });
  const feed = async (d: { id: string; keys: DatasetKeys }): Promise<Item[]> => {
    const r = await call(`${hub.url}/datasets/${d.id}/changes`, { token: d.keys.readKey });
    expect(r.status, r.text).to.equal(200);
    return (r.json as Item[]).slice(1, -1);
  };
  const lastSeq = async (id: string): Promise<number> => {
    const r = await call(`${hub.url}/datasets/${id}`, { token: hub.adminToken });
    expect(r.status, r.text).to.equal(200);
    return (r.json as { lastSeq: number }).lastSeq;
  };

  it('when a transaction writes three datasets, then each changelog gets its part in order, deletes included, and the answer counts each', async () => {
    const [a, b, c] = await datasets(3);
    await call(`${hub.url}/datasets/${c!.id}/entities`, {
      token: c!.keys.pushKey,
      body: [{ id: '@context', namespaces: NS }, { id: 'c:old' }],
    });
    const r = await tx({
      '@context': { namespaces: NS },
      [a!.id]: [
        { id: 'people:homer', props: { 's:name': 'Homer' }, refs: { 's:worksfor': 'c:plant' } },
        { id: 'people:marge', props: { 's:name': 'Marge' } },
      ],
      [b!.id]: [{ id: 'c:plant', props: { 's:name': 'Power Plant' } }],
      [c!.id]: [{ id: 'c:old', deleted: true }, { id: 'c:new' }],
    });
    expect(r.status, r.text).to.equal(200);
    expect(r.json).to.deep.equal({
      status: 'OK',
      datasets: {
        [a!.id]: { received: 2, changes: 2 },
        [b!.id]: { received: 1, changes: 1 },
        [c!.id]: { received: 2, changes: 2 },
      },
    });
    expect((await feed(a!)).map((e) => e.id)).to.deep.equal(['people:homer', 'people:marge']);
    expect((await feed(b!)).map((e) => [e.id, (e.props as Item)['s:name']])).to.deep.equal([
      ['c:plant', 'Power Plant'],
    ]);
    expect((await feed(c!)).map((e) => [e.id, e.deleted])).to.deep.equal([
      ['c:old', false],
      ['c:old', true],
      ['c:new', false],
    ]);
    // the written refs are in the graph at once
    const q = await call(`${hub.url}/query`, {
      token: hub.adminToken,
      body: { startingEntities: ['http://ex.org/companies/plant'], predicate: '*', inverse: true },
    });
    expect(q.status, q.text).to.equal(200);
    expect(((q.json as unknown[])[1] as Array<[string, string, Item]>).map((x) => x[2].id)).to.deep.equal([
      'people:homer',
    ]);
  });

  it('when the third dataset refuses its part inside the store, then all three datasets stay untouched', async () => {
    const [a, b, c] = await datasets(3);
    // c already binds the prefix s to another namespace: the conflict is found in c's writer
    const bind = await call(`${hub.url}/datasets/${c!.id}/entities`, {
      token: c!.keys.pushKey,
      body: [{ id: '@context', namespaces: { s: 'http://other.example/' } }, { id: 's:x' }],
    });
    expect(bind.status, bind.text).to.equal(200);
    const before = [await lastSeq(a!.id), await lastSeq(b!.id), await lastSeq(c!.id)];
    const r = await tx({
      '@context': { namespaces: NS },
      [a!.id]: [{ id: 'people:homer' }],
      [b!.id]: [{ id: 'c:plant' }],
      [c!.id]: [{ id: 's:y' }],
    });
    expect(r.status, r.text).to.equal(409);
    expect(code(r)).to.equal('NAMESPACE_CONFLICT');
    expect([await lastSeq(a!.id), await lastSeq(b!.id), await lastSeq(c!.id)]).to.deep.equal(before);
    expect(await feed(a!)).to.deep.equal([]);
    expect(await feed(b!)).to.deep.equal([]);
    expect((await feed(c!)).map((e) => e.id)).to.deep.equal(['s:x']);
  });

  it('when the third part breaks the dataset schema or is not an entity, then the 400 names that dataset and nothing is written', async () => {
    const [a, b] = await datasets(2);
    const [c] = await datasets(1, {
      schema: {
        type: 'object',
        required: ['props'],
        properties: { props: { required: ['http://ex.org/schema/name'] } },
      },
    });
    for (const [third, expected] of [
      [[{ id: 'people:nameless', props: {} }], 'SCHEMA_VIOLATION'],
      [[{ props: {} }], 'INVALID_ENTITY'],
    ] as const) {
      const r = await tx({
        '@context': { namespaces: NS },
        [a!.id]: [{ id: 'people:homer' }],
        [b!.id]: [{ id: 'people:marge' }],
        [c!.id]: third,
      });
      expect(r.status, r.text).to.equal(400);
      expect(code(r)).to.equal(expected);
      expect((r.json as { error: { message: string } }).error.message).to.include(c!.id);
    }
    for (const d of [a!, b!, c!]) expect(await lastSeq(d.id), d.id).to.equal(0);
  });

  it('when the caller lacks push rights on any dataset named, then the answer is 403 and nothing is written', async () => {
    const [a, b] = await datasets(2);
    const body = {
      '@context': { namespaces: NS },
      [a!.id]: [{ id: 'people:homer' }],
      [b!.id]: [{ id: 'people:marge' }],
    };
    const withA = await tx(body, a!.keys.pushKey);
    expect(withA.status, withA.text).to.equal(403);
    const readKey = await tx(
      { '@context': { namespaces: NS }, [a!.id]: [{ id: 'people:homer' }] },
      a!.keys.readKey,
    );
    expect(readKey.status, readKey.text).to.equal(403);
    const anonymous = await call(`${hub.url}/transactions`, { body });
    expect(anonymous.status).to.equal(401);
    expect(await lastSeq(a!.id)).to.equal(0);
    expect(await lastSeq(b!.id)).to.equal(0);
    // a dataset's own push key may write a transaction of that dataset alone
    const own = await tx(
      { '@context': { namespaces: NS }, [a!.id]: [{ id: 'people:homer' }] },
      a!.keys.pushKey,
    );
    expect(own.status, own.text).to.equal(200);
    expect(await lastSeq(a!.id)).to.equal(1);
  });

  it('when the body is not a transaction, then the answer is a 400 or 404 that says why', async () => {
    const [a] = await datasets(1);
    const cases: Array<[unknown, number, string]> = [
      [[], 400, 'INVALID_TRANSACTION'],
      [{ '@context': { namespaces: NS } }, 400, 'INVALID_TRANSACTION'],
      [{ '@context': 'x', [a!.id]: [] }, 400, 'INVALID_TRANSACTION'],
      [{ [a!.id]: { id: 'people:homer' } }, 400, 'INVALID_TRANSACTION'],
      [{ [a!.id]: [{ id: 'nope:homer' }] }, 400, 'UNKNOWN_PREFIX'],
      [{ 'no-such-dataset': [] }, 404, 'DATASET_NOT_FOUND'],
    ];
    for (const [body, status, expected] of cases) {
      const r = await tx(body);
      expect(r.status, JSON.stringify(body)).to.equal(status);
      expect(code(r), JSON.stringify(body)).to.equal(expected);
    }
    expect(await lastSeq(a!.id)).to.equal(0);
  });
});
