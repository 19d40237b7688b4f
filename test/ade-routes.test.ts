import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { ADE_COLLECTIONS } from '../src/protocols/ade/collections.js';
import { FARM, OTHER_FARM, putSchemaSet, schemaFiles, shapeChecker, visit } from './helpers/ade.js';
import { createDataset, pushResources, readChanges, uniqueId } from './helpers/data.js';
import { call } from './helpers/http.js';
import { startTestHub, type TestHub } from './helpers/hub.js';

const derived = JSON.parse(
  readFileSync(new URL('./fixtures/ade/url-scheme-collections.json', import.meta.url), 'utf8'),
) as {
  collections: Record<string, string[]>;
};
const collectionShape = shapeChecker('collection.schema.json');
const batchShape = shapeChecker('batch-results.schema.json');

interface Collection {
  member: Record<string, unknown>[];
  view: { totalItems: number; pageSize: number; next?: string; first?: string };
}
interface BatchResult {
  id?: string;
  meta?: { source: string; sourceId?: string };
  messages: { severity: string; title: string; detail: string; instance: string }[];
}

describe('the ICAR ADE url scheme (docs/icar.md#the-ade-url-scheme)', () => {
  let hub: TestHub;
  before(async () => {
    hub = await startTestHub();
  });
  after(async () => {
    await hub.close();
  });

  const ade = (id: string, path: string) => `${hub.url}/datasets/${id}/ade${path}`;
  const milkingVisits = (loc = FARM) => `/locations/${loc.scheme}/${loc.id}/milking-visits`;

  it('when the collection table is compared with the url-schemes of the standard, then it has every collection and no other', () => {
    expect(Object.keys(ADE_COLLECTIONS).sort()).to.deep.equal(Object.keys(derived.collections).sort());
    expect(Object.keys(ADE_COLLECTIONS)).to.have.length(48);
    for (const [name, c] of Object.entries(ADE_COLLECTIONS))
      expect(c.schemes, name).to.deep.equal(derived.collections[name]);
    expect(ADE_COLLECTIONS['milking-visits']!.resourceType).to.equal('icarMilkingVisitEventResource');
    expect(ADE_COLLECTIONS['animals']!.resourceType).to.equal('icarAnimalCoreResource');
  });

  describe('reading what the generic route stored', () => {
    let id: string;
    let readKey: string;
    before(async () => {
      id = uniqueId('ade-read');
      const keys = await createDataset(hub, id);
      readKey = keys.readKey;
      const docs = [
        ...[1, 2, 3, 4, 5].map((n) => visit(n, FARM, `2024-05-0${n}T06:00:00Z`)),
        visit(6, OTHER_FARM),
        {
          resourceType: 'icarWeightEventResource',
          animal: { id: '1', scheme: 'eu.animalId' },
          location: FARM,
          meta: { source: 's', sourceId: 'w1', modified: '2024-05-03T00:00:00Z' },
        },
      ];
      const r = await pushResources(hub, id, keys.pushKey, docs);
      expect(r.status, r.text).to.equal(200);
    });

    it('when an ADE client lists the locations, then it gets each location seen once', async () => {
      const r = await call(ade(id, '/locations'), { token: readKey });
      expect(r.status).to.equal(200);
      expect(collectionShape(r.json)).to.deep.equal([]);
      const body = r.json as Collection;
      expect(body.member.map((m) => m.identifier)).to.deep.equal([FARM, OTHER_FARM]);
      expect(body.view.totalItems).to.equal(2);
    });

    it('when it pages through a collection, then it gets every member of that location and type once, with totalItems and next links', async () => {
      const seen: string[] = [];
      let url: string | undefined = `${ade(id, milkingVisits())}?pageSize=2`;
      let pages = 0;
      while (url !== undefined) {
        const r = await call(url, { token: readKey });
        expect(r.status, r.text).to.equal(200);
        expect(collectionShape(r.json)).to.deep.equal([]);
        const body = r.json as Collection;
        expect(body.view.totalItems).to.equal(5);
        expect(body.view.pageSize).to.equal(2);
        expect(body.member.length).to.be.at.most(2);
        seen.push(...body.member.map((m) => m.id as string));
        url = body.view.next;
        pages++;
      }
      expect(pages).to.equal(3);
      expect(seen.sort()).to.deep.equal(['mv-1', 'mv-2', 'mv-3', 'mv-4', 'mv-5']);
    });

    it('when it asks for a meta.modified window, then only the resources modified within it come back', async () => {
      const r = await call(
        `${ade(id, milkingVisits())}?meta-modified-from=2024-05-02T00:00:00Z&meta-modified-to=2024-05-04T06:00:00Z`,
        {
          token: readKey,
        },
      );
      const body = r.json as Collection;
      expect(body.member.map((m) => m.id).sort()).to.deep.equal(['mv-2', 'mv-3', 'mv-4']);
      expect(body.view.totalItems).to.equal(3);
      const other = (await call(ade(id, milkingVisits(OTHER_FARM)), { token: readKey })).json as Collection;
      expect(other.member.map((m) => m.id)).to.deep.equal(['mv-6']);
      const weights = (
        await call(ade(id, `/locations/${FARM.scheme}/${FARM.id}/weights`), { token: readKey })
      ).json as Collection;
      expect(weights.member.map((m) => m.resourceType)).to.deep.equal(['icarWeightEventResource']);
    });

    it('when the members come back, then they are the resources as pushed', async () => {
      const body = (
        await call(
          `${ade(id, milkingVisits())}?meta-modified-from=2024-05-01T00:00:00Z&meta-modified-to=2024-05-01T23:59:59Z`,
          { token: readKey },
        )
      ).json as Collection;
      expect(body.member).to.deep.equal([visit(1, FARM, '2024-05-01T06:00:00Z')]);
    });

    it('when a collection is not one of the standard or a date is not RFC 3339, then it is a problem+json 4xx', async () => {
      const r = await call(ade(id, `/locations/${FARM.scheme}/${FARM.id}/cows`), { token: readKey });
      expect(r.status).to.equal(404);
      expect((r.json as { code: string }).code).to.equal('UNKNOWN_COLLECTION');
      const d = await call(`${ade(id, milkingVisits())}?meta-modified-from=tuesday`, { token: readKey });
      expect(d.status).to.equal(400);
      expect(d.headers.get('content-type')).to.match(/^application\/problem\+json/);
    });
  });

  describe('pushing as an ADE client', () => {
    async function dataset() {
      const id = uniqueId('ade-push');
      const keys = await createDataset(hub, id);
      expect((await putSchemaSet(hub, id, { files: schemaFiles() })).status).to.equal(200);
      return { id, ...keys };
    }

    it('when it POSTs one resource, then it is validated, stored and seen on the generic changes feed', async () => {
      const { id, pushKey, readKey } = await dataset();
      const r = await call(ade(id, milkingVisits()), { token: pushKey, body: visit(1) });
      expect(r.status, r.text).to.equal(200);
      expect(r.json).to.deep.equal(visit(1));
      expect((await readChanges(hub, id, readKey)).items).to.deep.equal([visit(1)]);
      const { milkingMilkWeight: _w, ...bad } = visit(2);
      const refused = await call(ade(id, milkingVisits()), { token: pushKey, body: bad });
      expect(refused.status).to.equal(400);
      expect((refused.json as { errors: { index: number; keyword: string }[] }).errors[0]).to.include({
        index: 0,
        keyword: 'required',
      });
    });

    it('when it POSTs a batch, then each item gets its icarBatchResult and all are stored', async () => {
      const { id, pushKey, readKey } = await dataset();
      const items = [visit(1), visit(2), visit(3)];
      const r = await call(ade(id, `/batches${milkingVisits()}`), { token: pushKey, body: items });
      expect(r.status, r.text).to.equal(200);
      expect(batchShape(r.json)).to.deep.equal([]);
      const results = r.json as BatchResult[];
      expect(results.map((x) => x.meta?.sourceId)).to.deep.equal(['mv-1', 'mv-2', 'mv-3']);
      expect(results.every((x) => x.messages.length === 0)).to.equal(true);
      expect((await readChanges(hub, id, readKey)).items).to.have.length(3);
    });

    it('when a batch has three bad items, then each gets its errors, the others say they were not stored, and nothing is', async () => {
      const { id, pushKey, readKey } = await dataset();
      const { milkingMilkWeight: _w, ...noWeight } = visit(2);
      const items = [
        visit(1),
        noWeight,
        visit(3, FARM, 'not a date'),
        visit(4, FARM, undefined, { milkingType: 'ByHand' }),
        visit(5),
      ];
      const r = await call(ade(id, `/batches${milkingVisits()}`), { token: pushKey, body: items });
      expect(r.status).to.equal(400);
      expect(batchShape(r.json)).to.deep.equal([]);
      const results = r.json as BatchResult[];
      expect(results).to.have.length(5);
      expect(results.map((x) => x.messages.map((m) => m.severity)[0])).to.deep.equal([
        'Information',
        'Error',
        'Error',
        'Error',
        'Information',
      ]);
      expect(results[2]!.messages.map((m) => m.instance)).to.include('#/meta/modified');
      expect(results[3]!.messages.map((m) => m.instance)).to.include('#/milkingType');
      expect((await readChanges(hub, id, readKey)).items).to.deep.equal([]);
    });

    it("when an item is of another location or type than the path's, then the batch is refused naming it", async () => {
      const { id, pushKey, readKey } = await dataset();
      const r = await call(ade(id, `/batches${milkingVisits()}`), {
        token: pushKey,
        body: [visit(1), visit(2, OTHER_FARM)],
      });
      expect(r.status).to.equal(400);
      const results = r.json as BatchResult[];
      expect(results[1]!.messages[0]!.instance).to.equal('#/location');
      const wrongType = await call(ade(id, `/locations/${FARM.scheme}/${FARM.id}/weights`), {
        token: pushKey,
        body: visit(3),
      });
      expect(wrongType.status).to.equal(400);
      expect((wrongType.json as { code: string }).code).to.equal('LOCATION_MISMATCH');
      expect((await readChanges(hub, id, readKey)).items).to.deep.equal([]);
    });
  });

  describe('the push rules of the generic exchange', () => {
    for (const header of [
      'universal-data-api-full-sync-start',
      'universal-data-api-full-sync-id',
      'icar-full-sync',
    ]) {
      it(`when an ICAR push carries ${header}, then it is a 400 naming the rule and nothing is stored`, async () => {
        const id = uniqueId('ade-fs');
        const { pushKey, readKey } = await createDataset(hub, id);
        const r = await call(`${hub.url}/datasets/${id}/resources`, {
          token: pushKey,
          headers: { [header]: 'true' },
          body: [{ id: '@context' }, visit(1)],
        });
        expect(r.status).to.equal(400);
        const body = r.json as { code: string; detail: string };
        expect(body.code).to.equal('FULL_SYNC_NOT_ACCEPTED');
        expect(body.detail).to.include('full sync is not accepted as header in the push scenario');
        expect(body.detail).to.include(header);
        const ade1 = await call(ade(id, milkingVisits()), {
          token: pushKey,
          headers: { [header]: 'true' },
          body: visit(2),
        });
        expect((ade1.json as { code: string }).code).to.equal('FULL_SYNC_NOT_ACCEPTED');
        expect((await readChanges(hub, id, readKey)).items).to.deep.equal([]);
      });
    }
  });
});
