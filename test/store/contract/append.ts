import { expect } from 'chai';
import { HubError } from '../../../src/errors.js';
import type { AppendRequest } from '../../../src/store/types.js';
import { write, del, all, rejection, eventually, uniqueName, type Contract } from './support.js';

/** The store contract: append: outcomes, sequences, idempotency, attrs, touch, recording time, kinds, keys. */
export function appendContract(ctx: Contract): void {
  const { dataset, changesOf } = ctx;
  describe('append', () => {
    it('when writes create, update, repeat and delete keys, then outcomes, sequences and count follow the changelog rules', async () => {
      const d = await dataset();
      const r1 = await ctx.store.append(d.name, { writes: [write('a', 1), write('b', 1), write('c', 1)] });
      expect(r1).to.deep.include({ epoch: d.epoch, lastSeq: 3, changes: 3, swept: 0, duplicate: false });
      expect(r1.outcomes).to.deep.equal(['created', 'created', 'created']);
      const r2 = await ctx.store.append(d.name, {
        writes: [write('a', 1), write('b', 2), del('c'), del('nope'), write('a', { same: false })],
      });
      expect(r2.outcomes).to.deep.equal(['unchanged', 'updated', 'deleted', 'missing', 'updated']);
      expect(r2).to.include({ lastSeq: 6, changes: 3 });
      const r3 = await ctx.store.append(d.name, { writes: [del('c'), write('c', 3)] });
      expect(r3.outcomes).to.deep.equal(['unchanged', 'created']);
      const rec = (await ctx.store.getDataset(d.name))!;
      expect(rec).to.include({ lastSeq: 7, count: 3 });
      const feed = await changesOf(d);
      expect(feed.map((c) => c.seq)).to.deep.equal([1, 2, 3, 4, 5, 6, 7]);
      expect(feed.map((c) => [c.key, c.deleted])).to.deep.equal([
        ['a', false],
        ['b', false],
        ['c', false],
        ['b', false],
        ['c', true],
        ['a', false],
        ['c', false],
      ]);
      expect(feed[4]!.doc).to.equal(JSON.stringify({ gone: 'c' }));
      expect(feed[5]!.doc).to.equal(JSON.stringify({ same: false }));
      expect(feed.every((c) => c.kind === 'record')).to.equal(true);
    });

    it('when a write is ifAbsent, then it is dropped if the key has any change, even a delete', async () => {
      const d = await dataset();
      await ctx.store.append(d.name, { writes: [write('x', 1), write('y', 1)] });
      await ctx.store.append(d.name, { writes: [del('y')] });
      const r = await ctx.store.append(d.name, {
        writes: [
          write('x', 2, { ifAbsent: true }),
          write('y', 2, { ifAbsent: true }),
          write('z', 2, { ifAbsent: true }),
          write('z', 3, { ifAbsent: true }),
        ],
      });
      expect(r.outcomes).to.deep.equal(['dropped', 'dropped', 'created', 'dropped']);
      expect(r.changes).to.equal(1);
      expect((await ctx.store.get(d.name, 'z'))!.doc).to.equal('2');
    });

    it('when an idempotency key repeats, then the request is a duplicate and nothing of it is applied', async () => {
      const d = await dataset();
      const req: AppendRequest = {
        writes: [write('k', 1)],
        idempotencyKey: 'msg-1',
        journal: '{"m":1}',
        aux: [{ ns: 'n', key: 'a', value: '1' }],
        recorded: 1_000,
      };
      const first = await ctx.store.append(d.name, req);
      expect(first.duplicate).to.equal(false);
      const before = (await ctx.store.getDataset(d.name))!;
      const again = await ctx.store.append(d.name, {
        ...req,
        writes: [write('k', 2), write('other', 1)],
        aux: [{ ns: 'n', key: 'a', value: '2' }],
        recorded: 2_000,
        touch: true,
      });
      expect(again).to.deep.equal({
        epoch: d.epoch,
        lastSeq: 1,
        changes: 0,
        outcomes: ['unchanged', 'unchanged'],
        swept: 0,
        duplicate: true,
      });
      const after = (await ctx.store.getDataset(d.name))!;
      expect(after).to.include({ lastSeq: 1, lastPushAt: before.lastPushAt });
      expect((await ctx.store.get(d.name, 'k'))!.doc).to.equal('1');
      expect(await ctx.store.auxGet(d.name, 'n', 'a')).to.equal('1');
      expect(await all(ctx.store.journal(d.name))).to.have.length(1);
    });

    it('when two requests of one group share an idempotency key, then only the first applies', async () => {
      const d = await dataset();
      const results = await Promise.all(
        [1, 2, 3].map((i) =>
          ctx.store.append(d.name, { writes: [write(`k${i}`, i)], idempotencyKey: 'same' }),
        ),
      );
      expect(results.filter((r) => !r.duplicate)).to.have.length(1);
      expect((await ctx.store.getDataset(d.name))!.lastSeq).to.equal(1);
    });

    it('when an attrs function returns new attrs, then they are stored with the batch; when it throws, only that request is rejected', async () => {
      const d = await dataset();
      const ok1 = ctx.store.append(d.name, {
        writes: [write('a', 1)],
        attrs: (a) => ({ ...a, types: ['x'] }),
        journal: '"one"',
      });
      const bad = ctx.store.append(d.name, {
        writes: [write('b', 1)],
        aux: [{ ns: 'n', key: 'b', value: '1' }],
        journal: '"two"',
        blobs: [{ id: 'bb', contentType: 'text/plain', bytes: new Uint8Array([9]) }],
        attrs: () => {
          throw new HubError('FULL_SYNC_IN_PROGRESS', 'another sync runs');
        },
      });
      const ok2 = ctx.store.append(d.name, {
        writes: [write('c', 1)],
        attrs: (a) => ({ ...a, seen: (a.types as string[] | undefined)?.length ?? 0 }),
        journal: '"three"',
      });
      const [r1, r3] = await Promise.all([ok1, ok2]);
      const err = await rejection(bad);
      expect(err).to.include({ status: 409, code: 'FULL_SYNC_IN_PROGRESS' });
      expect([r1.lastSeq, r3.lastSeq]).to.deep.equal([1, 2]);
      const rec = (await ctx.store.getDataset(d.name))!;
      expect(rec.attrs).to.deep.equal({ types: ['x'], seen: 1 });
      expect(rec).to.include({ lastSeq: 2, count: 2 });
      expect(await ctx.store.get(d.name, 'b')).to.equal(undefined);
      expect(await ctx.store.auxGet(d.name, 'n', 'b')).to.equal(undefined);
      expect(await ctx.store.getBlob(d.name, 'bb')).to.equal(undefined);
      expect((await all(ctx.store.journal(d.name))).map((j) => j.text)).to.deep.equal(['"one"', '"three"']);
    });

    it('when requests touch or not, then lastPushAt moves only for requests with writes or touch: true', async () => {
      const d = await dataset();
      await ctx.store.append(d.name, { writes: [], journal: '{}' });
      expect((await ctx.store.getDataset(d.name))!.lastPushAt).to.equal(null);
      await ctx.store.append(d.name, { writes: [], touch: true });
      const t1 = (await ctx.store.getDataset(d.name))!.lastPushAt;
      expect(t1).to.be.a('number');
      // the clock has moved past t1 (a gate on the clock, not a guess at how long that takes)
      await eventually(() => (Date.now() > t1! ? true : undefined));
      await ctx.store.append(d.name, { writes: [write('k', 1)], touch: false });
      expect((await ctx.store.getDataset(d.name))!.lastPushAt).to.equal(t1);
      // a request whose writes change nothing still counts as a push
      await ctx.store.append(d.name, { writes: [write('k', 1)] });
      const t2 = (await ctx.store.getDataset(d.name))!.lastPushAt!;
      expect(t2).to.be.greaterThan(t1!);
      expect(Math.abs(t2 - Date.now())).to.be.lessThan(60_000);
    });

    it('when a request gives its recording time, then its changes carry it; otherwise they carry now', async () => {
      const d = await dataset();
      await ctx.store.append(d.name, { writes: [write('old', 1)], recorded: 1_234 });
      const before = Date.now();
      await ctx.store.append(d.name, { writes: [write('new', 1)] });
      expect((await ctx.store.get(d.name, 'old'))!.recorded).to.equal(1_234);
      const rec = (await ctx.store.get(d.name, 'new'))!.recorded;
      expect(rec)
        .to.be.at.least(before - 1)
        .and.at.most(Date.now() + 1);
    });

    it('when the dataset does not exist or a kind is not [a-z]+, then the append is refused', async () => {
      expect((await rejection(ctx.store.append(uniqueName(), { writes: [write('k', 1)] }))).code).to.equal(
        'DATASET_NOT_FOUND',
      );
      const d = await dataset();
      const err = await rejection(
        ctx.store.append(d.name, { writes: [write('k', 1, { kind: 'Bad-Kind' })] }),
      );
      expect(err.status).to.equal(500);
      expect((await ctx.store.getDataset(d.name))!.lastSeq).to.equal(0);
    });

    it('when keys hold unusual characters, then they come back exactly, in UTF-8 byte order', async () => {
      const d = await dataset();
      const keys = [
        'plain',
        'with|bar\nand newline',
        'nul\u0000inside',
        'one\u0001two',
        'bang!',
        'é',
        'Z',
        '\u{1F600}',
        '\uFFFD',
        'k'.repeat(1000),
        'ε'.repeat(400),
      ];
      await ctx.store.append(d.name, {
        writes: keys.map((k, i) => write(k, i)),
        markSeen: 'seen\u0000ns',
        aux: [{ ns: 'x\u0000', key: 'nul\u0000key', value: 'v\u0000' }],
      });
      for (const [i, k] of keys.entries()) expect((await ctx.store.get(d.name, k))!.doc).to.equal(String(i));
      const byBytes = [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
      const current = await all(ctx.store.current(d.name, { epoch: d.epoch }));
      expect(current.map((c) => c.key)).to.deep.equal(byBytes);
      const feed = await changesOf(d);
      expect(feed.map((c) => c.key)).to.deep.equal(keys);
      expect(await ctx.store.auxGet(d.name, 'x\u0000', 'nul\u0000key')).to.equal('v\u0000');
      expect((await all(ctx.store.auxScan(d.name, 'seen\u0000ns'))).map(([k]) => k)).to.deep.equal(byBytes);
      // paging by key resumes exactly after a key holding NUL
      const after = await all(ctx.store.current(d.name, { epoch: d.epoch, afterKey: 'nul\u0000inside' }));
      expect(after.map((c) => c.key)).to.deep.equal(byBytes.slice(byBytes.indexOf('nul\u0000inside') + 1));
    });

    it('when one request holds 10,000 writes, then all of them are stored and read back in order', async () => {
      const d = await dataset();
      const n = 10_000;
      const writes = Array.from({ length: n }, (_, i) => write(`r${i}`, { i, pad: 'x'.repeat(200) }));
      const r = await ctx.store.append(d.name, { writes });
      expect(r).to.include({ changes: n, lastSeq: n });
      let expected = 1;
      for await (const c of ctx.store.changes(d.name, { epoch: d.epoch, afterSeq: 0 })) {
        expect(c.seq).to.equal(expected++);
      }
      expect(expected).to.equal(n + 1);
      expect(await all(ctx.store.current(d.name, { epoch: d.epoch }))).to.have.length(n);
    });
  });
}
