import { expect } from 'chai';
import { write, all, rejection, uniqueName, KEYS, type Contract } from './support.js';

/** The store contract: close and open again. */
export function lifecycleContract(ctx: Contract): void {
  describe('lifecycle', () => {
    it('when the store is closed and opened again, then datasets, data, side data and the secret are all there', async () => {
      const h = await ctx.factory.create();
      let s = await h.open();
      try {
        const name = uniqueName();
        const { record } = await s.putDataset(name, () => ({ config: { t: 1 }, keyHashes: KEYS }));
        await s.append(name, {
          writes: [write('a', 1)],
          journal: '"j"',
          aux: [{ ns: 'n', key: 'k', value: 'v' }],
          blobs: [{ id: 'b', contentType: 'x/y', bytes: new Uint8Array([7]) }],
          attrs: () => ({ x: 1 }),
        });
        const secret = await s.secret();
        await s.auxCount(name, 'quota', 'k', '1', 5);
        await s.auxCount(name, 'quota', 'k', '1', 5);
        await s.close();
        s = await h.open();
        const rec = (await s.getDataset(name))!;
        expect(rec).to.include({ epoch: record.epoch, lastSeq: 1, count: 1 });
        expect(rec.attrs).to.deep.equal({ x: 1 });
        expect(await s.secret()).to.equal(secret);
        expect((await s.get(name, 'a'))!.doc).to.equal('1');
        expect(await s.auxGet(name, 'n', 'k')).to.equal('v');
        expect(await s.auxCount(name, 'quota', 'k', '1', 5)).to.deep.equal({ used: 3, allowed: true });
        expect((await s.getBlob(name, 'b'))!.contentType).to.equal('x/y');
        expect(await all(s.journal(name))).to.have.length(1);
        expect(await s.findKeyHash(KEYS.push)).to.deep.equal({ dataset: name, role: 'push' });
        expect((await s.append(name, { writes: [write('b', 1)] })).lastSeq).to.equal(2);
      } finally {
        await s.close();
        await h.destroy();
      }
    });

    it('when the store closes while appends are queued, then they complete first and later ones get 503', async () => {
      const h = await ctx.factory.create();
      const s = await h.open();
      try {
        const name = uniqueName();
        await s.putDataset(name, () => ({ config: {}, keyHashes: KEYS }));
        const pending = Array.from({ length: 10 }, (_, i) => s.append(name, { writes: [write(`k${i}`, i)] }));
        const closing = s.close();
        const results = await Promise.all(pending);
        await closing;
        expect(results.map((r) => r.lastSeq).sort((a, b) => a - b)).to.deep.equal([
          1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
        ]);
        const err = await rejection(s.append(name, { writes: [write('late', 1)] }));
        expect(err.status).to.equal(503);
        const again = await h.open();
        expect((await again.getDataset(name))!.lastSeq).to.equal(10);
        await again.close();
      } finally {
        await h.destroy();
      }
    });
  });
}
