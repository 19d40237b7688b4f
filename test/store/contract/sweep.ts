import { expect } from 'chai';
import type { Change } from '../../../src/store/types.js';
import { write, del, all, hashOf, type Contract } from './support.js';

/** The store contract: append with markSeen and a sweep (full syncs). */
export function sweepContract(ctx: Contract): void {
  const { dataset } = ctx;
  describe('append with a sweep', () => {
    it('when a full sync marks keys seen and then sweeps, then live keys neither written nor seen get tombstones', async () => {
      const d = await dataset();
      await ctx.store.append(d.name, { writes: ['a', 'b', 'c', 'd', 'e'].map((k) => write(k, k)) });
      await ctx.store.append(d.name, { writes: [del('e')] });
      // the sync: two requests; the first marks keys as seen, the last sweeps
      await ctx.store.append(d.name, { writes: [write('a', 'a'), write('b', 'B')], markSeen: 'sync-1' });
      expect(await ctx.store.auxGet(d.name, 'sync-1', 'a')).to.not.equal(undefined);
      const tombstoned: Change[] = [];
      const r = await ctx.store.append(d.name, {
        writes: [write('f', 'f'), del('c')],
        sweep: {
          seenNs: 'sync-1',
          tombstone: (current) => {
            tombstoned.push(current);
            const doc = JSON.stringify({ was: JSON.parse(current.doc) as unknown });
            return { doc, hash: hashOf(doc) };
          },
        },
      });
      expect(r.outcomes).to.deep.equal(['created', 'deleted']);
      expect(r.swept).to.equal(1);
      expect(tombstoned.map((c) => [c.key, c.doc, c.deleted])).to.deep.equal([['d', '"d"', false]]);
      expect(r.changes).to.equal(3);
      const dd = (await ctx.store.get(d.name, 'd'))!;
      expect(dd).to.include({ deleted: true, doc: '{"was":"d"}', seq: r.lastSeq });
      expect((await ctx.store.getDataset(d.name))!.count).to.equal(3); // a, b, f
      const live = await all(ctx.store.current(d.name, { epoch: d.epoch }));
      expect(live.map((c) => c.key)).to.deep.equal(['a', 'b', 'f']);
    });

    it('when a sweep has no seen namespace, then every live key not written by the request is deleted', async () => {
      const d = await dataset();
      await ctx.store.append(d.name, { writes: ['a', 'b', 'c'].map((k) => write(k, k)) });
      const r = await ctx.store.append(d.name, {
        writes: [write('b', 'b'), write('x', 'x')],
        sweep: { tombstone: (c) => ({ doc: c.doc, hash: hashOf(c.doc) }) },
      });
      expect(r.outcomes).to.deep.equal(['unchanged', 'created']);
      expect(r.swept).to.equal(2);
      const live = await all(ctx.store.current(d.name, { epoch: d.epoch }));
      expect(live.map((c) => c.key)).to.deep.equal(['b', 'x']);
      expect((await ctx.store.getDataset(d.name))!.count).to.equal(2);
    });

    it('when a sweep tombstone answers undefined, then that key is kept', async () => {
      const d = await dataset();
      await ctx.store.append(d.name, { writes: [write('a', 'a'), { ...write('b', 'b'), kind: 'other' }] });
      const r = await ctx.store.append(d.name, {
        writes: [],
        sweep: { tombstone: (c) => (c.kind === 'other' ? undefined : { doc: c.doc, hash: hashOf(c.doc) }) },
      });
      expect(r.swept).to.equal(1);
      const live = await all(ctx.store.current(d.name, { epoch: d.epoch }));
      expect(live.map((c) => c.key)).to.deep.equal(['b']);
      expect((await ctx.store.getDataset(d.name))!.count).to.equal(1);
    });
  });
}
