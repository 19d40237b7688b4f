import { expect } from 'chai';
import { createDataset, uniqueId, type DatasetKeys } from './helpers/data.js';
import { call, type Reply } from './helpers/http.js';
import { startTestHub, type TestHub } from './helpers/hub.js';

type Item = Record<string, unknown>;

const CTX = { id: '@context', namespaces: { ex: 'http://ex.example/', _: 'http://ex.example/p/' } };

function push(hub: TestHub, id: string, key: string, entities: unknown[]): Promise<Reply> {
  return call(`${hub.url}/datasets/${id}/entities`, { token: key, body: [CTX, ...entities] });
}

/** A feed (JSON array) as items and continuation. */
function split(r: Reply): { items: Item[]; last: Item } {
  expect(r.status, r.text).to.equal(200);
  const arr = r.json as Item[];
  return { items: arr.slice(1, -1), last: arr[arr.length - 1]! };
}

describe('Universal Data API: feeds (docs/uda.md)', () => {
  let hub: TestHub;
  before(async () => {
    hub = await startTestHub();
  });
  after(() => hub.close());

  async function dataset(): Promise<{ id: string; keys: DatasetKeys }> {
    const id = uniqueId('udaf');
    return { id, keys: await createDataset(hub, id) };
  }

  describe('the reset signal', () => {
    it('when a token is of an older epoch, then /changes and /entities answer universal-data-api-fullsync: true beside icar-full-sync: true, and a current token does not', async () => {
      const { id, keys } = await dataset();
      await push(hub, id, keys.pushKey, [{ id: 'ex:1' }, { id: 'ex:2' }]);
      const oldChanges = split(await call(`${hub.url}/datasets/${id}/changes`, { token: keys.readKey }));
      const oldEntities = split(
        await call(`${hub.url}/datasets/${id}/entities?limit=1`, { token: keys.readKey }),
      );
      await call(`${hub.url}/datasets/${id}`, { method: 'DELETE', token: hub.adminToken });
      const k2 = await createDataset(hub, id);
      await push(hub, id, k2.pushKey, [{ id: 'ex:3' }]);

      for (const url of [
        `/datasets/${id}/changes?since=${String(oldChanges.last.token)}`,
        `/datasets/${id}/entities?from=${String(oldEntities.last.token)}`,
      ]) {
        const r = await call(`${hub.url}${url}`, { token: k2.readKey });
        expect(r.headers.get('universal-data-api-fullsync'), url).to.equal('true');
        expect(r.headers.get('icar-full-sync'), url).to.equal('true');
        // the whole new epoch follows: the client starts over
        expect(split(r).items.map((x) => x.id)).to.deep.equal(['ex:3']);
      }
      const fresh = split(await call(`${hub.url}/datasets/${id}/changes`, { token: k2.readKey }));
      const again = await call(`${hub.url}/datasets/${id}/changes?since=${String(fresh.last.token)}`, {
        token: k2.readKey,
      });
      expect(again.status).to.equal(200);
      expect(again.headers.get('universal-data-api-fullsync')).to.equal(null);
      expect(again.headers.get('icar-full-sync')).to.equal(null);
    });

    it('when a browser reads a reset feed, then it may read the universal-data-api-fullsync header', async () => {
      const r = await call(`${hub.url}/health`, { headers: { origin: 'https://app.example' } });
      expect(r.headers.get('access-control-expose-headers')).to.include('universal-data-api-fullsync');
    });
  });

  describe('reverse=true', () => {
    /** ex:1 … ex:5 in five changes, then ex:2 again: seq 1–6 */
    async function fiveAndOne(): Promise<{ id: string; keys: DatasetKeys }> {
      const d = await dataset();
      for (let i = 1; i <= 5; i++)
        await push(hub, d.id, d.keys.pushKey, [{ id: `ex:${i}`, props: { v: 1 } }]);
      await push(hub, d.id, d.keys.pushKey, [{ id: 'ex:2', props: { v: 2 } }]);
      return d;
    }

    /** Follows a reverse feed page by page with the given parameter name for the token. */
    async function pages(url: string, param: 'since' | 'from', key: string): Promise<string[][]> {
      const out: string[][] = [];
      let token: string | undefined;
      while (out.length < 10) {
        const sep = url.includes('?') ? '&' : '?';
        const r = await call(`${url}${token ? `${sep}${param}=${token}` : ''}`, { token: key });
        const { items, last } = split(r);
        out.push(items.map((x) => `${String(x.id)}${x.props ? `/${String((x.props as Item).v)}` : ''}`));
        if (items.length === 0) break;
        token = String(last.token);
      }
      return out;
    }

    it('when /changes is read with reverse=true, then it comes newest first and each token gives the next older page', async () => {
      const { id, keys } = await fiveAndOne();
      const got = await pages(
        `${hub.url}/datasets/${id}/changes?reverse=true&limit=2`,
        'since',
        keys.readKey,
      );
      expect(got).to.deep.equal([['ex:2/2', 'ex:5/1'], ['ex:4/1', 'ex:3/1'], ['ex:2/1', 'ex:1/1'], []]);
      const latest = await pages(
        `${hub.url}/datasets/${id}/changes?reverse=true&latestOnly=true&limit=3`,
        'since',
        keys.readKey,
      );
      expect(latest).to.deep.equal([['ex:2/2', 'ex:5/1', 'ex:4/1'], ['ex:3/1', 'ex:1/1'], []]);
    });

    it('when /entities is read with reverse=true, then keys come in descending order and from= gives the next page', async () => {
      const { id, keys } = await fiveAndOne();
      const got = await pages(
        `${hub.url}/datasets/${id}/entities?reverse=true&limit=2`,
        'from',
        keys.readKey,
      );
      expect(got).to.deep.equal([['ex:5/1', 'ex:4/1'], ['ex:3/1', 'ex:2/2'], ['ex:1/1'], []]);
      const forward = split(await call(`${hub.url}/datasets/${id}/entities`, { token: keys.readKey }));
      expect(forward.items.map((x) => x.id)).to.deep.equal(['ex:1', 'ex:2', 'ex:3', 'ex:4', 'ex:5']);
    });

    it('when reverse is not true or false, then the answer is 400', async () => {
      const { id, keys } = await dataset();
      const r = await call(`${hub.url}/datasets/${id}/changes?reverse=yes`, { token: keys.readKey });
      expect(r.status).to.equal(400);
    });
  });

  describe('nested entities', () => {
    const nested = {
      id: 'ex:cow',
      props: {
        name: 'Bella',
        tag: { id: 'ex:tag-1', props: { 'ex:code': 'A1', 'ex:issued': { props: { year: 2021 } } } },
        calves: [{ props: { name: 'Kalv' }, refs: { 'ex:mother': 'ex:cow' } }],
      },
      refs: { 'ex:herd': 'ex:herd-1' },
    };

    it('when nested entities are pushed again, in another key order and spelling, then they are deduplicated like flat ones', async () => {
      const { id, keys } = await dataset();
      const first = await push(hub, id, keys.pushKey, [nested]);
      expect(first.json).to.include({ received: 1, changes: 1 });

      const same = await push(hub, id, keys.pushKey, [nested]);
      expect(same.json, 'an identical re-push').to.include({ received: 1, changes: 0 });

      // the same graph: keys reordered, CURIEs written as IRIs, empty refs/props given or left out
      const respelled = {
        refs: { 'http://ex.example/herd': 'http://ex.example/herd-1' },
        props: {
          calves: [
            { refs: { 'ex:mother': 'http://ex.example/cow' }, props: { 'http://ex.example/p/name': 'Kalv' } },
          ],
          tag: {
            props: { 'ex:issued': { refs: {}, props: { year: 2021 } }, 'http://ex.example/code': 'A1' },
            refs: {},
            id: 'http://ex.example/tag-1',
          },
          name: 'Bella',
        },
        id: 'http://ex.example/cow',
      };
      const again = await push(hub, id, keys.pushKey, [respelled]);
      expect(again.json, 'the same nested graph spelled another way').to.include({ received: 1, changes: 0 });

      const changed = structuredClone(nested);
      (changed.props.tag.props['ex:issued'].props as Record<string, unknown>).year = 2022;
      const moved = await push(hub, id, keys.pushKey, [changed]);
      expect(moved.json, 'a change deep inside a nested entity').to.include({ received: 1, changes: 1 });

      const feed = split(await call(`${hub.url}/datasets/${id}/changes`, { token: keys.readKey }));
      expect(feed.items).to.have.length(2);
    });
  });
});
