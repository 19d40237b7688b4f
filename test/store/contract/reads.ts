import { expect } from 'chai';
import type { DatasetRecord } from '../../../src/store/types.js';
import { write, del, all, rejection, uniqueName, type Contract } from './support.js';

/** The store contract: changes, current and get. */
export function readsContract(ctx: Contract): void {
  const { dataset } = ctx;
  describe('reads', () => {
    let d: DatasetRecord;
    before(async () => {
      d = await dataset();
      // a:1 b:2 c:3, a:4, b deleted:5, d:6
      await ctx.store.append(d.name, { writes: [write('a', 1), write('b', 1), write('c', 1)] });
      await ctx.store.append(d.name, { writes: [write('a', 2), del('b'), write('d', 1)] });
    });

    it('when changes are read after a sequence and with a limit, then they come in order from there', async () => {
      const seqs = async (q: { afterSeq: number; limit?: number }): Promise<number[]> =>
        (await all(ctx.store.changes(d.name, { epoch: d.epoch, ...q }))).map((c) => c.seq);
      expect(await seqs({ afterSeq: 0 })).to.deep.equal([1, 2, 3, 4, 5, 6]);
      expect(await seqs({ afterSeq: 4 })).to.deep.equal([5, 6]);
      expect(await seqs({ afterSeq: 1, limit: 2 })).to.deep.equal([2, 3]);
      expect(await seqs({ afterSeq: 0, limit: 0 })).to.deep.equal([]);
      expect(await seqs({ afterSeq: 6 })).to.deep.equal([]);
    });

    it('when latestOnly is asked, then only changes still latest for their key come, deletes included', async () => {
      const latest = await all(ctx.store.changes(d.name, { epoch: d.epoch, afterSeq: 0, latestOnly: true }));
      expect(latest.map((c) => [c.seq, c.key, c.deleted])).to.deep.equal([
        [3, 'c', false],
        [4, 'a', false],
        [5, 'b', true],
        [6, 'd', false],
      ]);
      const limited = await all(
        ctx.store.changes(d.name, { epoch: d.epoch, afterSeq: 0, latestOnly: true, limit: 2 }),
      );
      expect(limited.map((c) => c.seq)).to.deep.equal([3, 4]);
    });

    it('when the current state is listed, then live keys come in key order, paged by afterKey and limit, deleted ones on request', async () => {
      const keys = async (q: { afterKey?: string; limit?: number; includeDeleted?: boolean }) =>
        (await all(ctx.store.current(d.name, { epoch: d.epoch, ...q }))).map((c) => c.key);
      expect(await keys({})).to.deep.equal(['a', 'c', 'd']);
      expect(await keys({ includeDeleted: true })).to.deep.equal(['a', 'b', 'c', 'd']);
      expect(await keys({ afterKey: 'a', limit: 1 })).to.deep.equal(['c']);
      expect(await keys({ afterKey: 'c' })).to.deep.equal(['d']);
      expect(await keys({ limit: 0 })).to.deep.equal([]);
      const a = (await all(ctx.store.current(d.name, { epoch: d.epoch, limit: 1 })))[0]!;
      expect(a).to.deep.equal({
        seq: 4,
        key: 'a',
        kind: 'record',
        recorded: a.recorded,
        deleted: false,
        doc: '2',
      });
    });

    it('when one key is read, then its latest change comes, a deleted one included; an unknown key is undefined', async () => {
      expect(await ctx.store.get(d.name, 'b')).to.include({ seq: 5, deleted: true });
      expect(await ctx.store.get(d.name, 'a')).to.include({ seq: 4, doc: '2' });
      expect(await ctx.store.get(d.name, 'zz')).to.equal(undefined);
    });

    it('when the dataset does not exist, then reads fail with DATASET_NOT_FOUND', async () => {
      const name = uniqueName();
      for (const read of [
        () => all(ctx.store.changes(name, { epoch: d.epoch, afterSeq: 0 })),
        () => all(ctx.store.current(name, { epoch: d.epoch })),
        () => ctx.store.get(name, 'a'),
        () => all(ctx.store.auxScan(name, 'n')),
      ]) {
        expect((await rejection(read())).code).to.equal('DATASET_NOT_FOUND');
      }
    });
  });
}
