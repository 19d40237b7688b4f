import { expect } from 'chai';
import { FARM, OTHER_FARM, visit } from './helpers/ade.js';
import { createDataset, milking, pushResources, readChanges, uniqueId } from './helpers/data.js';
import { call } from './helpers/http.js';
import { startTestHub, type TestHub } from './helpers/hub.js';

describe('scoped keys (docs/datasets.md#scoped-keys)', () => {
  let hub: TestHub;
  before(async () => {
    hub = await startTestHub();
  });
  after(() => hub.close());

  const at = (i: number, id: string) =>
    milking(i, 'com.example.robot', { location: { scheme: 'nl.ubn', id } });
  const newKey = async (id: string, body: object) =>
    call(`${hub.url}/datasets/${id}/keys`, { method: 'POST', token: hub.adminToken, body });

  it('when a read key is scoped to a location, then /changes and /resources show only that location, and a push key of another location is refused with nothing stored', async () => {
    const id = uniqueId('scope');
    const keys = await createDataset(hub, id);
    await pushResources(hub, id, keys.pushKey, [at(1, 'A'), at(2, 'B'), at(3, 'A')]);
    const r = await newKey(id, { role: 'read', locations: [{ scheme: 'nl.ubn', id: 'A' }] });
    expect(r.status).to.equal(201);
    const key = (r.json as { key: string }).key;
    const feed = await readChanges(hub, id, key);
    expect(feed.items.map((i) => i.id)).to.deep.equal(['mv-1', 'mv-3']);
    const current = await call(`${hub.url}/datasets/${id}/resources`, { token: key });
    expect((current.json as { id: string }[]).map((x) => x.id)).to.deep.equal([
      '@context',
      'mv-1',
      'mv-3',
      '@continuation',
    ]);
    const push = (await newKey(id, { role: 'push', locations: [{ scheme: 'nl.ubn', id: 'B' }] })).json as {
      key: string;
    };
    const refused = await pushResources(hub, id, push.key, [at(4, 'B'), at(5, 'A')]);
    expect(refused.status).to.equal(403);
    expect((refused.json as { error: { code: string } }).error.code).to.equal('OUT_OF_KEY_SCOPE');
    const after = await readChanges(hub, id, keys.readKey);
    expect(after.items).to.have.length(3);
  });

  it('when a key is scoped to one farm, then the ADE routes show only that farm and refuse pushes to another, storing nothing', async () => {
    const id = uniqueId('scope-ade');
    const keys = await createDataset(hub, id);
    const pushed = await pushResources(hub, id, keys.pushKey, [visit(1, FARM), visit(2, OTHER_FARM)]);
    expect(pushed.status, pushed.text).to.equal(200);
    const key = ((await newKey(id, { role: 'read', locations: [FARM] })).json as { key: string }).key;
    const ade = (path: string) => `${hub.url}/datasets/${id}/ade${path}`;
    const visits = (l: typeof FARM) => ade(`/locations/${l.scheme}/${l.id}/milking-visits`);
    const locations = (await call(ade('/locations'), { token: key })).json as {
      member: { identifier: unknown }[];
    };
    expect(locations.member.map((m) => m.identifier)).to.deep.equal([FARM]);
    const mine = (await call(visits(FARM), { token: key })).json as { member: { id: string }[] };
    expect(mine.member.map((m) => m.id)).to.deep.equal(['mv-1']);
    const other = (await call(visits(OTHER_FARM), { token: key })).json as {
      member: unknown[];
      view: { totalItems: number };
    };
    expect(other.member).to.deep.equal([]);
    expect(other.view.totalItems).to.equal(0);

    const pushKey = ((await newKey(id, { role: 'push', locations: [FARM] })).json as { key: string }).key;
    const refused = await call(visits(OTHER_FARM), {
      method: 'POST',
      token: pushKey,
      body: visit(3, OTHER_FARM),
    });
    expect(refused.status, refused.text).to.equal(403);
    expect(refused.text).to.contain('OUT_OF_KEY_SCOPE').and.contain(OTHER_FARM.id);
    const ok = await call(visits(FARM), { method: 'POST', token: pushKey, body: visit(4, FARM) });
    expect(ok.status, ok.text).to.equal(200);
    const all = await readChanges(hub, id, keys.readKey);
    expect(all.items.map((i) => i.id)).to.deep.equal(['mv-1', 'mv-2', 'mv-4']);
  });

  it('when a where is not valid ODSQL, then creating the key is a 400 naming the error', async () => {
    const id = uniqueId('scope');
    await createDataset(hub, id);
    const r = await newKey(id, { role: 'read', where: 'a = = 1' });
    expect(r.status).to.equal(400);
    expect(r.text).to.match(/ODSQL_ERROR.*column 5/);
  });
});
