import { expect } from 'chai';
import { write, rejection, uniqueName, type Contract } from './support.js';

/** The store contract: blobs of appends, getBlob. */
export function blobsContract(ctx: Contract): void {
  const { dataset } = ctx;
  describe('blobs', () => {
    it('when blobs come with an append, then getBlob returns their bytes and type; unknown ids are undefined', async () => {
      const d = await dataset();
      const bytes = new Uint8Array(70_000).map((_, i) => i % 251);
      await ctx.store.append(d.name, {
        writes: [write('r', { file: 'f1' })],
        blobs: [
          { id: 'f1', contentType: 'image/png', bytes },
          { id: 'f2', contentType: 'text/plain; charset=utf-8', bytes: new Uint8Array(0) },
        ],
      });
      const b = (await ctx.store.getBlob(d.name, 'f1'))!;
      expect(b.id).to.equal('f1');
      expect(b.contentType).to.equal('image/png');
      expect(Buffer.from(b.bytes).equals(Buffer.from(bytes))).to.equal(true);
      const empty = (await ctx.store.getBlob(d.name, 'f2'))!;
      expect(empty.contentType).to.equal('text/plain; charset=utf-8');
      expect(empty.bytes.length).to.equal(0);
      expect(await ctx.store.getBlob(d.name, 'nope')).to.equal(undefined);
      expect((await rejection(ctx.store.getBlob(uniqueName(), 'f1'))).code).to.equal('DATASET_NOT_FOUND');
    });
  });
}
