import { expect } from 'chai';
import { rejection, uniqueName, KEYS, type Contract } from './support.js';

/** The store contract: the format-version trait: data of a newer build is refused at open. */
export function formatContract(ctx: Contract): void {
  describe('format version', () => {
    it('when the data was written by a newer build, then opening it fails with STORE_FORMAT_NEWER and leaves it as it was', async () => {
      const h = await ctx.factory.create();
      try {
        const s = await h.open();
        const name = uniqueName();
        await s.putDataset(name, () => ({ config: {}, keyHashes: KEYS }));
        await s.close();
        await h.makeNewer();
        const err = await rejection(h.open());
        expect(err.code).to.equal('STORE_FORMAT_NEWER');
        expect(err.message).to.match(/newer than this hub/);
        // refused again: nothing was rewritten to this build's version on the way
        expect((await rejection(h.open())).code).to.equal('STORE_FORMAT_NEWER');
      } finally {
        await h.destroy();
      }
    });
  });
}
