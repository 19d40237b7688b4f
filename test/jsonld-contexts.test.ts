import { expect } from 'chai';
import { createDataset, milking, pushResources, uniqueId } from './helpers/data.js';
import { call, type Reply } from './helpers/http.js';
import { startTestHub, TEST_ENGINE, type TestHub } from './helpers/hub.js';
import { odsPush } from './helpers/ods.js';

type Item = Record<string, unknown>;
const code = (r: Reply): string => (r.json as { error: { code: string } }).error.code;
const FARM = 'http://farm.example/vocab#';

describe(`registered JSON-LD contexts: PUT/GET/DELETE /contexts/{name} (${TEST_ENGINE})`, () => {
  let hub: TestHub;
  before(async () => {
    hub = await startTestHub();
  });
  after(() => hub.close());

  const put = (name: string, body: unknown, token: string | undefined = hub.adminToken) =>
    call(`${hub.url}/contexts/${name}`, { method: 'PUT', body, token });
  const expand = (doc: unknown) => call(`${hub.url}/jsonld/expand`, { body: doc, token: hub.adminToken });
  const farm = (vocab = FARM) => ({ '@context': { '@vocab': vocab, weight: { '@id': `${vocab}kg` } } });

  it('when an admin registers a context, then it is listed, served as application/ld+json and resolves offline by name or URL', async () => {
    const name = uniqueId('farm').toLowerCase();
    const created = await put(name, farm());
    expect(created.status, created.text).to.equal(201);
    expect(created.json).to.include({ name, url: `${hub.url}/contexts/${name}`, created: true });
    const list = (await call(`${hub.url}/contexts`)).json as Array<{ name: string; builtIn: boolean }>;
    expect(list).to.deep.include({ name, url: `${hub.url}/contexts/${name}`, builtIn: false });
    expect(list).to.deep.include({ name: 'icar', url: `${hub.url}/contexts/icar`, builtIn: true });
    const served = await call(`${hub.url}/contexts/${name}`);
    expect(served.status).to.equal(200);
    expect(served.headers.get('content-type')).to.match(/^application\/ld\+json/);
    expect(served.json).to.deep.equal(farm());
    for (const ref of [
      name,
      `${hub.url}/contexts/${name}`,
      `https://elsewhere.example/contexts/${name}.jsonld`,
    ]) {
      const r = await expand({ '@context': ref, weight: 512, breed: 'Holstein' });
      expect(r.status, r.text).to.equal(200);
      expect(r.json, ref).to.deep.equal([
        { [`${FARM}breed`]: [{ '@value': 'Holstein' }], [`${FARM}kg`]: [{ '@value': 512 }] },
      ]);
    }
  });

  it('when a context is replaced, then documents resolve against the new one at once; when deleted, 204 and then CONTEXT_NOT_FOUND', async () => {
    const name = uniqueId('ctx').toLowerCase();
    expect((await put(name, farm())).status).to.equal(201);
    const before = await expand({ '@context': name, breed: 'x' });
    expect(before.json).to.deep.equal([{ [`${FARM}breed`]: [{ '@value': 'x' }] }]);
    const replaced = await put(name, farm('http://other.example/'));
    expect(replaced.status, replaced.text).to.equal(200);
    expect(replaced.json).to.include({ created: false });
    const after = await expand({ '@context': name, breed: 'x' });
    expect(after.json).to.deep.equal([{ 'http://other.example/breed': [{ '@value': 'x' }] }]);
    const del = await call(`${hub.url}/contexts/${name}`, { method: 'DELETE', token: hub.adminToken });
    expect(del.status).to.equal(204);
    expect((await call(`${hub.url}/contexts/${name}`)).status).to.equal(404);
    const gone = await expand({ '@context': name, breed: 'x' });
    expect(gone.status).to.equal(400);
    expect(code(gone)).to.equal('UNKNOWN_CONTEXT');
    const again = await call(`${hub.url}/contexts/${name}`, { method: 'DELETE', token: hub.adminToken });
    expect(again.status).to.equal(404);
  });

  it('when the hub restarts, then registered contexts are still there (they are stored, not kept in memory)', async () => {
    const name = uniqueId('kept').toLowerCase();
    expect((await put(name, farm())).status).to.equal(201);
    hub = await hub.restart();
    const served = await call(`${hub.url}/contexts/${name}`);
    expect(served.status, served.text).to.equal(200);
    expect(served.json).to.deep.equal(farm());
    expect(((await expand({ '@context': name, breed: 'x' })).json as Item[])[0]).to.have.property(
      `${FARM}breed`,
    );
    // the hub's own dataset is none of the datasets listed
    const datasets = (await call(`${hub.url}/datasets`, { token: hub.adminToken })).json as Array<{
      id?: string;
      name?: string;
    }>;
    expect(datasets.map((d) => d.id ?? d.name)).to.not.include('_hub');
  });

  it('when a context is put without the admin token, is a built-in name, is not a context or is broken, then 401/403, 409 or 400 and nothing is stored', async () => {
    const name = uniqueId('bad').toLowerCase();
    const { pushKey } = await createDataset(hub, uniqueId());
    expect((await call(`${hub.url}/contexts/${name}`, { method: 'PUT', body: farm() })).status).to.equal(401);
    expect((await put(name, farm(), pushKey)).status).to.equal(403);
    const builtIn = await put('icar', farm());
    expect(builtIn.status).to.equal(409);
    expect(code(builtIn)).to.equal('CONTEXT_BUILT_IN');
    expect(
      (await call(`${hub.url}/contexts/uda`, { method: 'DELETE', token: hub.adminToken })).status,
    ).to.equal(409);
    for (const body of [{ '@vocab': FARM }, [], 'x']) {
      const r = await put(name, body);
      expect(r.status, JSON.stringify(body)).to.equal(400);
      expect(code(r)).to.equal('INVALID_CONTEXT');
    }
    const broken = await put(name, { '@context': { '@vocab': 5 } });
    expect(broken.status).to.equal(400);
    expect(code(broken)).to.equal('INVALID_JSONLD');
    expect((broken.json as { error: { jsonldCode: string } }).error.jsonldCode).to.equal(
      'invalid vocab mapping',
    );
    const remote = await put(name, { '@context': 'http://127.0.0.1:9/ctx.jsonld' });
    expect(code(remote)).to.equal('UNKNOWN_CONTEXT');
    expect((await put('Not_A_Name', farm())).status).to.equal(400);
    expect((await call(`${hub.url}/contexts/${name}`)).status).to.equal(404);
  });

  it('when a dataset names a registered context as its default, then its records expand with it (over the generated vocabulary) and ICAR resources with it over ICAR’s', async () => {
    const name = uniqueId('dflt').toLowerCase();
    expect((await put(name, farm())).status).to.equal(201);
    const odsId = uniqueId('ods');
    const ods = await createDataset(hub, odsId, { context: name });
    expect((await odsPush(hub, odsId, ods.pushKey, [{ weight: 512, 'odd key': 'v' }])).status).to.equal(200);
    const r = await call(`${hub.url}/datasets/${odsId}/changes?format=jsonld`, { token: ods.readKey });
    expect(r.status, r.text).to.equal(200);
    const record = (r.json as Item[])[1]!;
    expect(record[`${FARM}kg`]).to.deep.equal([{ '@value': 512 }]);
    // a field the registered context leaves out still maps, under the registered @vocab
    expect(record[`${FARM}odd%20key`]).to.deep.equal([{ '@value': 'v' }]);

    const icarId = uniqueId('icar');
    const icar = await createDataset(hub, icarId, { context: name });
    await pushResources(hub, icarId, icar.pushKey, [milking(1, 'src', { weight: 600 })]);
    const items = (await call(`${hub.url}/datasets/${icarId}/changes?format=jsonld`, { token: icar.readKey }))
      .json as Item[];
    expect(items[1]![`${FARM}kg`]).to.deep.equal([{ '@value': 600 }]);
    expect(items[1]!['@type']).to.deep.equal(['http://data.adewg.icar.org/core/MilkingVisitEvent']);
  });

  it('when a dataset names a context the hub does not have, then the config is refused; when its context is deleted later, format=jsonld is 406 with the reason', async () => {
    const missing = await call(`${hub.url}/datasets/${uniqueId()}`, {
      method: 'PUT',
      token: hub.adminToken,
      body: { context: 'no-such-context' },
    });
    expect(missing.status).to.equal(400);
    expect(code(missing)).to.equal('UNKNOWN_CONTEXT');

    const name = uniqueId('gone').toLowerCase();
    await put(name, farm());
    const id = uniqueId();
    const keys = await createDataset(hub, id, { context: name });
    await odsPush(hub, id, keys.pushKey, [{ weight: 1 }]);
    await call(`${hub.url}/contexts/${name}`, { method: 'DELETE', token: hub.adminToken });
    const r = await call(`${hub.url}/datasets/${id}/changes?format=jsonld`, { token: keys.readKey });
    expect(r.status, r.text).to.equal(406);
    expect(code(r)).to.equal('JSONLD_NOT_AVAILABLE');
    expect((r.json as { error: { message: string } }).error.message).to.include(name);
    // the plain feed is unaffected
    expect((await call(`${hub.url}/datasets/${id}/changes`, { token: keys.readKey })).status).to.equal(200);
  });
});

describe(`registered JSON-LD contexts belong to their hub (${TEST_ENGINE})`, () => {
  let a: TestHub;
  let b: TestHub;
  before(async () => {
    a = await startTestHub();
    b = await startTestHub();
  });
  after(async () => {
    await a.close();
    await b.close();
  });

  it('when two hubs run in one process and one registers a context, then the other neither serves, lists, resolves nor accepts it', async () => {
    const name = uniqueId('own').toLowerCase();
    const context = { '@context': { '@vocab': FARM } };
    const put = await call(`${a.url}/contexts/${name}`, {
      method: 'PUT',
      body: context,
      token: a.adminToken,
    });
    expect(put.status, put.text).to.equal(201);
    expect((await call(`${a.url}/contexts/${name}`)).status).to.equal(200);

    expect((await call(`${b.url}/contexts/${name}`)).status).to.equal(404);
    const list = (await call(`${b.url}/contexts`)).json as Array<{ name: string }>;
    expect(list.map((c) => c.name)).to.not.include(name);
    const expanded = await call(`${b.url}/jsonld/expand`, {
      body: { '@context': name, breed: 'x' },
      token: b.adminToken,
    });
    expect(expanded.status, expanded.text).to.equal(400);
    expect(code(expanded)).to.equal('UNKNOWN_CONTEXT');
    const dataset = await call(`${b.url}/datasets/${uniqueId('ctx')}`, {
      method: 'PUT',
      token: b.adminToken,
      body: { context: name },
    });
    expect(dataset.status, dataset.text).to.equal(400);
    expect(code(dataset)).to.equal('UNKNOWN_CONTEXT');
  });
});
