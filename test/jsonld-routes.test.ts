import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { createDataset, milking, pushResources, uniqueId } from './helpers/data.js';
import { call, parseNdjson, type Reply } from './helpers/http.js';
import { startTestHub, type TestHub } from './helpers/hub.js';

type Item = Record<string, unknown>;
type ErrorBody = { error: { code: string; message: string; jsonldCode?: string; jsonldError?: string } };

const ICAR = 'http://data.adewg.icar.org/core/';
const UDA = 'http://data.mimiro.io/core/uda/';
const code = (r: Reply): string => (r.json as ErrorBody).error.code;
/** jsonld.js's own code of an INVALID_JSONLD answer, the hub's code otherwise. */
const jsonldCode = (r: Reply): string => {
  const e = (r.json as ErrorBody).error;
  return e.code === 'INVALID_JSONLD' ? `INVALID_JSONLD/${e.jsonldCode}` : e.code;
};

/** A "remote" context server on loopback: if the hub ever fetched a context, it would show here. */
async function remoteServer(): Promise<{ url: string; hits: string[]; close: () => Promise<void> }> {
  const hits: string[] = [];
  const server: Server = createServer((req, res) => {
    hits.push(req.url ?? '');
    res.setHeader('content-type', 'application/ld+json');
    res.end(JSON.stringify({ '@context': { '@vocab': 'http://remote.example/' } }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    hits,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function compactOn(hub: TestHub, document: unknown, context: unknown): Promise<Reply> {
  return call(`${hub.url}/jsonld/compact`, { body: { document, context } });
}

describe('JSON-LD (docs/jsonld.md)', () => {
  let hub: TestHub;
  let remote: Awaited<ReturnType<typeof remoteServer>>;
  before(async () => {
    hub = await startTestHub();
    remote = await remoteServer();
  });
  after(async () => {
    await remote.close();
    await hub.close();
  });

  describe('contexts, expansion and compaction', () => {
    const expand = (doc: unknown) => call(`${hub.url}/jsonld/expand`, { body: doc });
    const compact = (document: unknown, context: unknown) => compactOn(hub, document, context);

    it('when /contexts is listed, then it names the ICAR and UDA contexts with URLs that serve them as application/ld+json', async () => {
      const r = await call(`${hub.url}/contexts`);
      expect(r.status).to.equal(200);
      const list = r.json as Array<{ name: string; url: string }>;
      expect(list.map((c) => c.name)).to.include.members(['icar', 'uda']);
      for (const c of list) {
        expect(c.url).to.equal(`${hub.url}/contexts/${c.name}`);
        const doc = await call(c.url);
        expect(doc.status).to.equal(200);
        expect(doc.headers.get('content-type')).to.match(/^application\/ld\+json/);
        expect(doc.json).to.have.property('@context');
      }
      const icar = (await call(`${hub.url}/contexts/icar.jsonld`)).json as { '@context': Item };
      expect(icar['@context']).to.include({
        '@vocab': ICAR,
        icar: ICAR,
        resourceType: '@type',
        icarMilkingVisitEventResource: 'icar:MilkingVisitEvent',
        icarAnimalCoreResource: 'icar:Animal',
        identifier: 'icar:identifier',
        meta: 'icar:meta',
        location: 'icar:location',
        animal: 'icar:animal',
      });
      expect(icar['@context'].eventDateTime).to.deep.equal({
        '@id': 'icar:eventDateTime',
        '@type': 'xsd:dateTime',
      });
      const uda = (await call(`${hub.url}/contexts/uda`)).json as { '@context': Item };
      expect(uda['@context']).to.include({ core: UDA, recorded: 'core:recorded', deleted: 'core:deleted' });
      const none = await call(`${hub.url}/contexts/nope`);
      expect(none.status).to.equal(404);
      expect(code(none)).to.equal('CONTEXT_NOT_FOUND');
    });

    it('when a document names the ICAR context by name or by any URL ending in /contexts/icar, then it expands offline the same way', async () => {
      const doc = { resourceType: 'icarAnimalCoreResource', identifier: { id: 'x1', scheme: 'eu.animalId' } };
      const expected = [
        {
          '@type': [`${ICAR}Animal`],
          [`${ICAR}identifier`]: [
            { [`${ICAR}id`]: [{ '@value': 'x1' }], [`${ICAR}scheme`]: [{ '@value': 'eu.animalId' }] },
          ],
        },
      ];
      for (const ref of [
        'icar',
        `${hub.url}/contexts/icar`,
        'https://elsewhere.example/some/contexts/icar',
      ]) {
        const r = await expand({ '@context': ref, ...doc });
        expect(r.status, r.text).to.equal(200);
        expect(r.headers.get('content-type')).to.match(/^application\/ld\+json/);
        expect(r.json, ref).to.deep.equal(expected);
      }
    });

    it('when a document points at an unknown remote context, then 400 UNKNOWN_CONTEXT and nothing is fetched', async () => {
      const url = `${remote.url}/ctx.jsonld`;
      const cases: Array<() => Promise<Reply>> = [
        () => expand({ '@context': url, a: 1 }),
        () => expand({ '@context': [`${hub.url}/contexts/uda`, url], a: 1 }),
        () => expand({ '@context': { '@import': url }, a: 1 }),
        () => expand({ '@context': { '@vocab': 'http://v.example/' }, a: { '@context': url, b: 1 } }),
        () => expand(url),
        () => compact({ 'http://a.example/x': 1 }, url),
        () => compact({ 'http://a.example/x': 1 }, `${remote.url}/contexts/unknown`),
      ];
      for (const attempt of cases) {
        const r = await attempt();
        expect(r.status, r.text).to.equal(400);
        expect(code(r)).to.equal('UNKNOWN_CONTEXT');
      }
      expect(remote.hits).to.deep.equal([]);
    });

    it('when jsonld.js rejects the document, then 400 INVALID_JSONLD with jsonld’s error code, never a 5xx', async () => {
      const cases: Array<[() => Promise<Reply>, string]> = [
        [() => expand({ '@context': { '@vocab': 5 }, a: 1 }), 'INVALID_JSONLD/invalid vocab mapping'],
        [
          () => expand({ '@context': { '@vocab': 'http://v.example/' }, '@id': 5 }),
          'INVALID_JSONLD/invalid @id value',
        ],
        [() => expand({ '@context': 'not a context', a: 1 }), 'UNKNOWN_CONTEXT'],
        [() => compact({ a: 1 }, null), 'INVALID_JSONLD/invalid local context'],
        [() => compact({ a: 1 }, 7), 'INVALID_JSONLD/invalid local context'],
      ];
      for (const [attempt, expected] of cases) {
        const r = await attempt();
        expect(r.status, r.text).to.equal(400);
        expect(jsonldCode(r), r.text).to.equal(expected);
      }
      const notJson = await call(`${hub.url}/jsonld/expand`, {
        raw: '{"@context":',
        headers: { 'content-type': 'application/json' },
      });
      expect(notJson.status).to.equal(400);
      for (const body of [{ context: 'icar' }, { document: {} }, [], 'x']) {
        const r = await call(`${hub.url}/jsonld/compact`, { body });
        expect(r.status).to.equal(400);
        expect(code(r)).to.equal('INVALID_REQUEST');
      }
    });

    it('when a document is compacted with a hub context, then jsonld.js’s compacted output comes back', async () => {
      const r = await compact(
        [{ '@type': [`${ICAR}MilkingVisitEvent`], [`${ICAR}milkingComplete`]: [{ '@value': true }] }],
        'icar',
      );
      expect(r.status, r.text).to.equal(200);
      expect(r.json).to.deep.equal({
        '@context': 'icar',
        resourceType: 'icarMilkingVisitEventResource',
        milkingComplete: true,
      });
    });
  });

  describe('items on feeds (format=jsonld)', () => {
    const compact = (document: unknown, context: unknown) => compactOn(hub, document, context);

    it('when ICAR resources are read as JSON-LD, then each is expanded with @id = its hub URL and @type from resourceType', async () => {
      const id = uniqueId('ld');
      const keys = await createDataset(hub, id);
      const source = 'com.example robot/1';
      await pushResources(hub, id, keys.pushKey, [milking(1, source), milking(2, source)]);
      const base = `${hub.url}/datasets/${id}/resources/${encodeURIComponent(source)}`;
      const variants: Array<[string, Record<string, string>]> = [
        ['changes?format=jsonld', {}],
        ['changes', { accept: 'application/ld+json' }],
        ['resources?format=jsonld', {}],
      ];
      for (const [path, headers] of variants) {
        const r = await call(`${hub.url}/datasets/${id}/${path}`, { token: keys.readKey, headers });
        expect(r.status, r.text).to.equal(200);
        const arr = r.json as Item[];
        expect(arr[0]!.id).to.equal('@context');
        expect(arr[arr.length - 1]!.id).to.equal('@continuation');
        const items = arr.slice(1, -1);
        expect(
          items.map((i) => i['@id']),
          path,
        ).to.deep.equal([`${base}/mv-1`, `${base}/mv-2`]);
        expect(items[0]!['@type']).to.deep.equal([`${ICAR}MilkingVisitEvent`]);
        expect(items[0]![`${ICAR}eventDateTime`]).to.deep.equal([
          { '@type': 'http://www.w3.org/2001/XMLSchema#dateTime', '@value': '2024-05-02T06:11:42Z' },
        ]);
      }
      // the @id is where the resource lives
      const one = await call(`${base}/mv-2`, { token: keys.readKey });
      expect(one.status).to.equal(200);
      expect((one.json as Item).id).to.equal('mv-2');
      const oneLd = await call(`${base}/mv-2?format=jsonld`, { token: keys.readKey });
      expect((oneLd.json as Item)['@id']).to.equal(`${base}/mv-2`);
      // NDJSON framing with JSON-LD items
      const nd = await call(`${hub.url}/datasets/${id}/changes`, {
        token: keys.readKey,
        headers: { accept: 'application/x-ndjson, application/ld+json' },
      });
      const lines = parseNdjson(nd.text) as Item[];
      expect(lines[1]!['@id']).to.equal(`${base}/mv-1`);
    });

    it('when the hub’s expanded ICAR output is compacted with the hub’s ICAR context, then the original terms come back', async () => {
      const id = uniqueId('ld');
      const keys = await createDataset(hub, id);
      const resource = milking(7);
      await pushResources(hub, id, keys.pushKey, [resource]);
      const feed = (await call(`${hub.url}/datasets/${id}/changes?format=jsonld`, { token: keys.readKey }))
        .json as Item[];
      const item = feed[1]!;
      const r = await compact(item, `${hub.url}/contexts/icar`);
      expect(r.status, r.text).to.equal(200);
      const { '@context': ctx, '@id': atId, ...terms } = r.json as Item;
      expect(ctx).to.equal(`${hub.url}/contexts/icar`);
      expect(atId).to.equal(`${hub.url}/datasets/${id}/resources/com.example.robot/mv-7`);
      expect(terms).to.deep.equal(resource);
    });

    it('when the hub’s expanded entity is compacted with the UDA context and the dataset namespaces, then the original terms come back', async () => {
      const id = uniqueId('ld');
      const keys = await createDataset(hub, id);
      const namespaces = { _: 'http://farm.example/p/', ex: 'http://farm.example/e/' };
      const r = await call(`${hub.url}/datasets/${id}/entities`, {
        token: keys.pushKey,
        body: [
          { id: '@context', namespaces },
          { id: 'ex:1', props: { name: 'Bella', 'ex:weight': 512.5 }, refs: { knows: ['ex:2', 'ex:3'] } },
        ],
      });
      expect(r.status, r.text).to.equal(200);
      const feed = (await call(`${hub.url}/datasets/${id}/entities?format=jsonld`, { token: keys.readKey }))
        .json as Item[];
      const context = ['uda', { '@vocab': namespaces._, ex: namespaces.ex }];
      const c = await compact(feed[1], context);
      expect(c.status, c.text).to.equal(200);
      const { '@context': _ctx, recorded, ...terms } = c.json as Item;
      expect(recorded).to.be.a('number');
      expect(terms).to.deep.equal({
        '@id': 'ex:1',
        name: 'Bella',
        'ex:weight': 512.5,
        knows: [{ '@id': 'ex:2' }, { '@id': 'ex:3' }],
        deleted: false,
      });
    });

    it('when resources of every shape are read as JSON-LD, then each item is exactly jsonld.js’s expansion with the ICAR context', async () => {
      const id = uniqueId('ld');
      const keys = await createDataset(hub, id);
      const meta = (n: number) => ({ source: 'diff', sourceId: `r${n}`, modified: '2024-05-02T06:18:03Z' });
      const resources: Item[] = [
        milking(1, 'diff'),
        {
          resourceType: 'icarAnimalCoreResource',
          identifier: { id: 'DE0123', scheme: 'eu.animalId' },
          alternativeIdentifiers: [
            { id: 'x', scheme: 'a' },
            { id: 'y', scheme: 'b' },
          ],
          birthDate: '2021-03-14T00:00:00Z',
          eventDateTime: '2024-05-02T06:11:42Z',
          created: '2024-05-01T00:00:00Z',
          nothing: null,
          empty: {},
          none: [],
          nested: [[1, [2, null]], 'three', { deeper: { evenDeeper: [{ v: 1 }] } }],
          icar: 'the prefix as a term',
          _under: 1,
          'dotted.name': 'ok',
          Animal: 'same IRI as a type term',
          icarAnimalCoreResource: 'collides with Animal',
          location: { resourceType: 'icarLocationResource', id: 'farm-1' },
          other: { resourceType: ['icarDeviceResource', 'somethingNew'] },
          '@self': 'http://icar.example/self',
          meta: meta(2),
        },
        { resourceType: 'icarCustomThing', 'x-dash': 1, meta: meta(3) },
        { resourceType: 'icarWeightEventResource', meta: { ...meta(4), isDeleted: false, validFrom: null } },
      ];
      const pushed = await pushResources(hub, id, keys.pushKey, resources);
      expect(pushed.status, pushed.text).to.equal(200);
      const items = (
        (await call(`${hub.url}/datasets/${id}/changes?format=jsonld`, { token: keys.readKey }))
          .json as Item[]
      ).slice(1, -1);
      expect(items).to.have.length(resources.length);
      for (const [i, resource] of resources.entries()) {
        const { '@self': _self, ...plain } = resource;
        const m = resource.meta as { sourceId: string };
        const url = `${hub.url}/datasets/${id}/resources/diff/${m.sourceId}`;
        const reference = await call(`${hub.url}/jsonld/expand`, {
          body: { '@context': 'icar', ...plain, '@id': url },
        });
        expect(reference.status, reference.text).to.equal(200);
        expect(items[i], `resource ${i}`).to.deep.equal((reference.json as unknown[])[0]);
      }
    });

    it('when a stored resource carries JSON-LD keywords, then they are ignored: the feed keeps going and fetches nothing', async () => {
      const id = uniqueId('ld');
      const keys = await createDataset(hub, id);
      const tricky = milking(1, 'src', {
        '@context': `${remote.url}/evil`,
        '@id': 'http://spoof.example/x',
        '@self': 'http://icar.example/self',
        animal: { '@context': `${remote.url}/evil2`, id: 'a1', scheme: 's' },
      });
      await pushResources(hub, id, keys.pushKey, [tricky, milking(2, 'src')]);
      const r = await call(`${hub.url}/datasets/${id}/changes?format=jsonld`, { token: keys.readKey });
      expect(r.status, r.text).to.equal(200);
      const items = (r.json as Item[]).slice(1, -1);
      expect(items.map((i) => i['@id'])).to.deep.equal([
        `${hub.url}/datasets/${id}/resources/src/mv-1`,
        `${hub.url}/datasets/${id}/resources/src/mv-2`,
      ]);
      expect(items[0]![`${ICAR}animal`]).to.deep.equal([
        { [`${ICAR}id`]: [{ '@value': 'a1' }], [`${ICAR}scheme`]: [{ '@value': 's' }] },
      ]);
      expect(remote.hits).to.deep.equal([]);
    });
  });
});
