import { expect } from 'chai';
import { HubError } from '../../../src/errors.js';
import type { DatasetRecord } from '../../../src/store/types.js';
import { write, all, rejection, hashOf, uniqueName, KEYS, type Contract } from './support.js';

/** The store contract: putDataset, getDataset, listDatasets, deleteDataset, updateAttrs, findKeyHash, secret. */
export function datasetsContract(ctx: Contract): void {
  const { dataset } = ctx;
  describe('datasets', () => {
    it('when a dataset is put twice, then the first creates it and the second replaces its config, keeping epoch, keys and data', async () => {
      const name = uniqueName();
      const seen: Array<DatasetRecord | undefined> = [];
      const first = await ctx.store.putDataset(name, (existing) => {
        seen.push(existing);
        return { config: { title: 'one' }, keyHashes: KEYS };
      });
      expect(first.created).to.equal(true);
      expect(first.record).to.include({ name, lastSeq: 0, count: 0, lastPushAt: null });
      expect(first.record.epoch).to.match(/^[0-9a-f]{16}$/);
      expect(first.record.config).to.deep.equal({ title: 'one' });
      expect(first.record.keyHashes).to.deep.equal(KEYS);
      expect(first.record.attrs).to.deep.equal({});
      await ctx.store.append(name, { writes: [write('k', 1)] });

      const second = await ctx.store.putDataset(name, (existing) => {
        seen.push(existing);
        return { config: { title: 'two' }, keyHashes: existing!.keyHashes };
      });
      expect(second.created).to.equal(false);
      expect(seen[0]).to.equal(undefined);
      expect(seen[1]).to.include({ name, lastSeq: 1, epoch: first.record.epoch });
      expect(second.record).to.include({ epoch: first.record.epoch, lastSeq: 1, count: 1 });
      expect(second.record.config).to.deep.equal({ title: 'two' });
      expect(second.record.createdAt).to.equal(first.record.createdAt);
      expect(second.record.updatedAt).to.be.at.least(first.record.updatedAt);
      expect((await ctx.store.getDataset(name))!.config).to.deep.equal({ title: 'two' });
      expect(await ctx.store.get(name, 'k')).to.include({ seq: 1 });
    });

    it('when init throws, then nothing is created and the error comes back', async () => {
      const name = uniqueName();
      const err = await rejection(
        ctx.store.putDataset(name, () => {
          throw new HubError('INVALID_CONFIG', 'no');
        }),
      );
      expect(err.code).to.equal('INVALID_CONFIG');
      expect(await ctx.store.getDataset(name)).to.equal(undefined);
    });

    it('when datasets exist, then getDataset finds each and listDatasets lists them all in name order', async () => {
      const names = [uniqueName('zz'), uniqueName('aa'), uniqueName('mm')];
      for (const n of names) await ctx.store.putDataset(n, () => ({ config: {}, keyHashes: KEYS }));
      const listed = (await ctx.store.listDatasets()).map((d) => d.name);
      const ours = listed.filter((n) => names.includes(n));
      expect(ours).to.deep.equal([...names].sort());
      expect([...listed].sort()).to.deep.equal(listed);
      expect(await ctx.store.getDataset(uniqueName('missing'))).to.equal(undefined);
    });

    it('when key hashes are replaced, then findKeyHash knows the new ones with their role and forgets the old', async () => {
      const d = await dataset();
      expect(await ctx.store.findKeyHash(d.keyHashes.push)).to.deep.equal({ dataset: d.name, role: 'push' });
      expect(await ctx.store.findKeyHash(d.keyHashes.read)).to.deep.equal({ dataset: d.name, role: 'read' });
      const renewed = { push: hashOf(`${d.name}-p2`), read: hashOf(`${d.name}-r2`) };
      await ctx.store.putDataset(d.name, (e) => ({ config: e!.config, keyHashes: renewed }));
      expect(await ctx.store.findKeyHash(d.keyHashes.push)).to.equal(undefined);
      expect(await ctx.store.findKeyHash(d.keyHashes.read)).to.equal(undefined);
      expect(await ctx.store.findKeyHash(renewed.read)).to.deep.equal({ dataset: d.name, role: 'read' });
      expect(await ctx.store.findKeyHash(hashOf('never issued'))).to.equal(undefined);
    });

    it('when a dataset is deleted, then every byte of it is gone and a re-created one starts empty on a new epoch', async () => {
      const d = await dataset();
      await ctx.store.append(d.name, {
        writes: [write('k1', 1), write('k2', 2)],
        journal: '{"raw":1}',
        aux: [{ ns: 'n', key: 'a', value: 'v' }],
        blobs: [{ id: 'b1', contentType: 'text/plain', bytes: new Uint8Array([1, 2]) }],
        idempotencyKey: 'once',
      });
      expect(await ctx.store.deleteDataset(d.name)).to.equal(true);
      expect(await ctx.store.deleteDataset(d.name)).to.equal(false);
      expect(await ctx.store.getDataset(d.name)).to.equal(undefined);
      expect(await ctx.store.findKeyHash(d.keyHashes.push)).to.equal(undefined);
      expect((await rejection(ctx.store.get(d.name, 'k1'))).code).to.equal('DATASET_NOT_FOUND');
      expect(
        (await rejection(all(ctx.store.changes(d.name, { epoch: d.epoch, afterSeq: 0 })))).status,
      ).to.equal(404);

      const again = await ctx.store.putDataset(d.name, () => ({ config: {}, keyHashes: d.keyHashes }));
      expect(again.created).to.equal(true);
      expect(again.record.epoch).to.not.equal(d.epoch);
      expect(again.record).to.include({ lastSeq: 0, count: 0, lastPushAt: null });
      expect(await ctx.store.get(d.name, 'k1')).to.equal(undefined);
      expect(await all(ctx.store.changes(d.name, { epoch: again.record.epoch, afterSeq: 0 }))).to.deep.equal(
        [],
      );
      expect(await all(ctx.store.changes(d.name, { epoch: d.epoch, afterSeq: 0 }))).to.deep.equal([]);
      expect(await all(ctx.store.journal(d.name))).to.deep.equal([]);
      expect(await ctx.store.auxGet(d.name, 'n', 'a')).to.equal(undefined);
      expect(await ctx.store.getBlob(d.name, 'b1')).to.equal(undefined);
      const r = await ctx.store.append(d.name, { writes: [write('k1', 1)], idempotencyKey: 'once' });
      expect(r).to.include({ duplicate: false, changes: 1, lastSeq: 1 });
    });

    it('when attrs are updated outside an append, then the function sees the latest attrs and undefined leaves them', async () => {
      const d = await dataset();
      const seen: unknown[] = [];
      const r1 = await ctx.store.updateAttrs(d.name, (a) => {
        seen.push(a);
        return { ...a, status: 'ok', n: 1 };
      });
      expect(r1.attrs).to.deep.equal({ status: 'ok', n: 1 });
      const r2 = await ctx.store.updateAttrs(d.name, (a) => {
        seen.push(a);
        return undefined;
      });
      expect(r2.attrs).to.deep.equal({ status: 'ok', n: 1 });
      expect(seen).to.deep.equal([{}, { status: 'ok', n: 1 }]);
      expect((await ctx.store.getDataset(d.name))!.attrs).to.deep.equal({ status: 'ok', n: 1 });
      // an append's attrs function sees them too
      let inAppend: unknown;
      await ctx.store.append(d.name, {
        writes: [],
        attrs: (a) => {
          inAppend = a;
          return undefined;
        },
      });
      expect(inAppend).to.deep.equal({ status: 'ok', n: 1 });
      expect((await rejection(ctx.store.updateAttrs(uniqueName(), (a) => a))).code).to.equal(
        'DATASET_NOT_FOUND',
      );
    });

    it('when the hub secret is asked twice, then it is the same non-trivial string', async () => {
      const s = await ctx.store.secret();
      expect(s).to.be.a('string');
      expect(s.length).to.be.at.least(32);
      expect(await ctx.store.secret()).to.equal(s);
      expect(ctx.store.engine).to.be.a('string').and.not.equal('');
    });
  });
}
