import { expect } from 'chai';
import { write, all, rejection, hashOf, uniqueName, type Contract } from './support.js';

/** The store contract: auxiliary entries: auxGet, auxScan, auxPut, auxCount, clearAux. */
export function auxContract(ctx: Contract): void {
  const { dataset } = ctx;
  describe('aux entries', () => {
    it('when aux entries are written with appends and auxPut, then auxGet and auxScan see the last value per namespace, in key order', async () => {
      const d = await dataset();
      await ctx.store.append(d.name, {
        writes: [],
        aux: [
          { ns: 'pos', key: 'b', value: '2' },
          { ns: 'pos', key: 'a', value: '1' },
          { ns: 'other', key: 'a', value: 'x' },
          { ns: 'pos', key: 'c', value: 'tmp' },
          { ns: 'pos', key: 'c', value: null },
        ],
      });
      expect(await ctx.store.auxGet(d.name, 'pos', 'a')).to.equal('1');
      expect(await ctx.store.auxGet(d.name, 'pos', 'c')).to.equal(undefined);
      expect(await all(ctx.store.auxScan(d.name, 'pos'))).to.deep.equal([
        ['a', '1'],
        ['b', '2'],
      ]);
      await ctx.store.auxPut(d.name, [
        { ns: 'pos', key: 'a', value: null },
        { ns: 'pos', key: 'd', value: '4' },
      ]);
      await ctx.store.auxPut(d.name, [{ ns: 'pos', key: 'e', value: '5' }], { sync: true });
      expect(await all(ctx.store.auxScan(d.name, 'pos'))).to.deep.equal([
        ['b', '2'],
        ['d', '4'],
        ['e', '5'],
      ]);
      expect(await all(ctx.store.auxScan(d.name, 'pos', 'b'))).to.deep.equal([
        ['d', '4'],
        ['e', '5'],
      ]);
      expect(await all(ctx.store.auxScan(d.name, 'other'))).to.deep.equal([['a', 'x']]);
      expect(await all(ctx.store.auxScan(d.name, 'po'))).to.deep.equal([]);
      expect((await rejection(ctx.store.auxGet(uniqueName(), 'pos', 'a'))).code).to.equal(
        'DATASET_NOT_FOUND',
      );
    });

    it('when uses are counted, then each is counted once up to the limit, the one at the limit is refused without counting, and a new period starts over', async () => {
      const d = await dataset();
      const uses = await Promise.all(
        Array.from({ length: 12 }, () => ctx.store.auxCount(d.name, 'quota', 'k1', '7', 10)),
      );
      expect(uses.filter((u) => u.allowed)).to.have.length(10);
      expect(
        uses
          .filter((u) => u.allowed)
          .map((u) => u.used)
          .sort((a, b) => a - b),
      ).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      expect(uses.filter((u) => !u.allowed)).to.deep.equal([
        { used: 10, allowed: false },
        { used: 10, allowed: false },
      ]);
      expect(await ctx.store.auxGet(d.name, 'quota', 'k1')).to.equal('7|10');
      // another entry has its own count; the next period starts over
      expect(await ctx.store.auxCount(d.name, 'quota', 'k2', '7', 10)).to.deep.equal({
        used: 1,
        allowed: true,
      });
      expect(await ctx.store.auxCount(d.name, 'quota', 'k1', '8', 10)).to.deep.equal({
        used: 1,
        allowed: true,
      });
      expect(await ctx.store.auxGet(d.name, 'quota', 'k1')).to.equal('8|1');
      expect((await rejection(ctx.store.auxCount(uniqueName(), 'quota', 'k1', '8', 10))).code).to.equal(
        'DATASET_NOT_FOUND',
      );
    });

    it('when many aux entries are scanned, then every one comes once, in order', async () => {
      const d = await dataset();
      const n = 2_500;
      const writes = Array.from({ length: n }, (_, i) => ({
        ns: 'many',
        key: `k${String(i).padStart(5, '0')}`,
        value: String(i),
      }));
      await ctx.store.auxPut(d.name, writes);
      const got = await all(ctx.store.auxScan(d.name, 'many'));
      expect(got).to.have.length(n);
      expect(got.map(([k]) => k)).to.deep.equal(writes.map((w) => w.key));
    });

    it('when a request clears aux namespaces, then the sweep still sees them, they are emptied in the same batch, and its own marks survive', async () => {
      const d = await dataset();
      await ctx.store.append(d.name, { writes: ['a', 'b', 'c'].map((k) => write(k, k)), markSeen: 'seen' });
      await ctx.store.auxPut(d.name, [{ ns: 'other', key: 'k', value: 'v' }], { sync: true });
      // the end of a sync: sweep with the seen set, then empty it
      const end = await ctx.store.append(d.name, {
        writes: [write('d', 'd')],
        sweep: { seenNs: 'seen', tombstone: (c) => ({ doc: c.doc, hash: hashOf(c.doc) }) },
        clearAux: ['seen'],
      });
      expect(end.swept).to.equal(0);
      expect(await all(ctx.store.auxScan(d.name, 'seen'))).to.deep.equal([]);
      expect(await ctx.store.auxGet(d.name, 'other', 'k')).to.equal('v');
      // the start of the next sync: empty, then mark this request's keys
      await ctx.store.append(d.name, { writes: [write('a', 'a')], clearAux: ['seen'], markSeen: 'seen' });
      expect((await all(ctx.store.auxScan(d.name, 'seen'))).map(([k]) => k)).to.deep.equal(['a']);
    });
  });
}
