import { expect } from 'chai';
import type { ChangeNotice } from '../../../src/store/types.js';
import { write, eventually, type Contract } from './support.js';

/** The store contract: subscribe: commit notices. */
export function subscribeContract(ctx: Contract): void {
  const { dataset } = ctx;
  describe('subscribe', () => {
    it('when a change commits, then subscribers are told its dataset, epoch and lastSeq; unsubscribed ones are not', async () => {
      const d = await dataset();
      const notices: ChangeNotice[] = [];
      const other: ChangeNotice[] = [];
      const off = ctx.store.subscribe((n) => notices.push(n));
      const offOther = ctx.store.subscribe((n) => other.push(n));
      offOther();
      const r = await ctx.store.append(d.name, { writes: [write('e', 1)] });
      await eventually(() => (notices.some((n) => n.dataset === d.name) ? true : undefined));
      off();
      expect(notices.filter((n) => n.dataset === d.name)).to.deep.include({
        dataset: d.name,
        epoch: d.epoch,
        lastSeq: r.lastSeq,
      });
      expect(other).to.deep.equal([]);
      await ctx.store.append(d.name, { writes: [write('f', 1)] });
      expect(notices.filter((n) => n.lastSeq > r.lastSeq && n.dataset === d.name)).to.deep.equal([]);
    });
  });
}
