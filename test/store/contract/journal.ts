import { expect } from 'chai';
import { write, all, rejection, uniqueName, type Contract } from './support.js';

/** The store contract: the receive journal: journal entries of appends, journal, clearJournal. */
export function journalContract(ctx: Contract): void {
  const { dataset } = ctx;
  describe('journal', () => {
    it('when requests carry journal entries, then they are numbered in order with their recording time and can be read after n and cleared', async () => {
      const d = await dataset();
      await ctx.store.append(d.name, { writes: [write('a', 1)], journal: '{"r":1}', recorded: 111 });
      await ctx.store.append(d.name, { writes: [], journal: '{"r":2}', recorded: 222 });
      await ctx.store.append(d.name, { writes: [write('a', 1)], journal: '{"r":3}', recorded: 333 });
      const entries = await all(ctx.store.journal(d.name));
      expect(entries).to.deep.equal([
        { n: 1, recorded: 111, text: '{"r":1}' },
        { n: 2, recorded: 222, text: '{"r":2}' },
        { n: 3, recorded: 333, text: '{"r":3}' },
      ]);
      expect((await all(ctx.store.journal(d.name, 2))).map((e) => e.n)).to.deep.equal([3]);
      await ctx.store.clearJournal(d.name);
      expect(await all(ctx.store.journal(d.name))).to.deep.equal([]);
      await ctx.store.append(d.name, { writes: [], journal: '{"r":4}' });
      const after = await all(ctx.store.journal(d.name));
      expect(after).to.have.length(1);
      expect(after[0]!.n).to.be.greaterThan(3);
      expect((await rejection(all(ctx.store.journal(uniqueName())))).code).to.equal('DATASET_NOT_FOUND');
    });
  });
}
