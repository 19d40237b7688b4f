import { expect } from 'chai';
import type { AppendRequest, AppendResult, ChangeNotice } from '../../../src/store/types.js';
import { write, del, gatedReplay, all, eventually, hashOf, type Contract } from './support.js';

/** The store contract: rebuild: recovery into a new epoch. */
export function rebuildContract(ctx: Contract): void {
  const { dataset } = ctx;
  describe('rebuild', () => {
    it('when a dataset is rebuilt from requests, then it switches to a new epoch holding exactly their result', async () => {
      const d = await dataset();
      await ctx.store.append(d.name, {
        writes: [write('a', 1), write('b', 1)],
        journal: '"j1"',
        recorded: 10,
      });
      await ctx.store.updateAttrs(d.name, (a) => ({ ...a, kept: true }));
      const before = (await ctx.store.getDataset(d.name))!;
      const notices: ChangeNotice[] = [];
      const off = ctx.store.subscribe((n) => notices.push(n));
      async function* replay(): AsyncGenerator<AppendRequest> {
        yield { writes: [write('a', 'A'), write('c', 1)], recorded: 10, journal: '"never journaled"' };
        yield { writes: [del('c'), write('d', 1)], recorded: 20, idempotencyKey: 'm2' };
        yield {
          writes: [write('e', 1)],
          recorded: 30,
          sweep: { tombstone: (c) => ({ doc: c.doc, hash: hashOf(c.doc) }) },
        };
      }
      const r = await ctx.store.rebuild(d.name, replay());
      expect(r.epoch)
        .to.match(/^[0-9a-f]{16}$/)
        .and.not.equal(d.epoch);
      expect(r).to.include({ lastSeq: 7, changes: 7, swept: 2, duplicate: false });
      const after = (await ctx.store.getDataset(d.name))!;
      expect(after).to.include({ epoch: r.epoch, lastSeq: 7, count: 1, lastPushAt: before.lastPushAt });
      expect(after.attrs).to.deep.equal({ kept: true });
      const feed = await all(ctx.store.changes(d.name, { epoch: r.epoch, afterSeq: 0 }));
      expect(feed.map((c) => [c.seq, c.key, c.deleted, c.recorded])).to.deep.equal([
        [1, 'a', false, 10],
        [2, 'c', false, 10],
        [3, 'c', true, 20],
        [4, 'd', false, 20],
        [5, 'e', false, 30],
        [6, 'a', true, 30],
        [7, 'd', true, 30],
      ]);
      expect((await all(ctx.store.current(d.name, { epoch: r.epoch }))).map((c) => c.key)).to.deep.equal([
        'e',
      ]);
      expect((await all(ctx.store.journal(d.name))).map((j) => j.text)).to.deep.equal(['"j1"']);
      // idempotency keys are per epoch: the rebuilt epoch knows the replayed one
      expect(
        (await ctx.store.append(d.name, { writes: [write('z', 1)], idempotencyKey: 'm2' })).duplicate,
      ).to.equal(true);
      await eventually(() =>
        notices.some((n) => n.dataset === d.name && n.epoch === r.epoch) ? true : undefined,
      );
      off();
    });

    it('when a reader streams the old epoch while a rebuild switches, then it still reads its whole consistent view', async () => {
      const d = await dataset();
      const n = 3_000;
      await ctx.store.append(d.name, { writes: Array.from({ length: n }, (_, i) => write(`k${i}`, i)) });
      const it = ctx.store.changes(d.name, { epoch: d.epoch, afterSeq: 0 })[Symbol.asyncIterator]();
      const first = await it.next();
      expect(first.value).to.include({ seq: 1 });
      async function* replay(): AsyncGenerator<AppendRequest> {
        yield { writes: [write('only', 1)] };
      }
      const r = await ctx.store.rebuild(d.name, replay());
      expect((await ctx.store.getDataset(d.name))!.epoch).to.equal(r.epoch);
      let count = 1;
      let last = 1;
      for (let x = await it.next(); !x.done; x = await it.next()) {
        expect(x.value.seq).to.equal(last + 1);
        last = x.value.seq;
        count++;
      }
      expect(count).to.equal(n);
    });

    it('when appends arrive during a rebuild, then they wait and land in the new epoch after it', async () => {
      const d = await dataset();
      await ctx.store.append(d.name, { writes: [write('a', 1)] });
      const { replay, running, release } = gatedReplay([
        { writes: [write('a', 1), write('b', 1)] },
        { writes: [write('c', 1)] },
      ]);
      const rebuilding = ctx.store.rebuild(d.name, replay);
      await running;
      let appended: AppendResult | undefined;
      const appending = ctx.store.append(d.name, { writes: [write('late', 1)] }).then((r) => (appended = r));
      // the rebuild holds at its gate: readers keep the old epoch, and the append is not in it
      expect((await ctx.store.getDataset(d.name))!.epoch).to.equal(d.epoch);
      expect(await ctx.store.get(d.name, 'late')).to.equal(undefined);
      expect(appended).to.equal(undefined);
      release();
      const r = await rebuilding;
      await appending;
      expect(appended!.epoch).to.equal(r.epoch);
      expect(appended!.lastSeq).to.equal(4);
      expect((await ctx.store.get(d.name, 'late'))!.seq).to.equal(4);
    });

    it('when a rebuild fails, then the dataset keeps its old epoch and data and takes appends again', async () => {
      const d = await dataset();
      await ctx.store.append(d.name, { writes: [write('a', 1)] });
      async function* replay(): AsyncGenerator<AppendRequest> {
        yield { writes: [write('x', 1)] };
        throw new Error('journal unreadable');
      }
      let failed = false;
      await ctx.store.rebuild(d.name, replay()).catch(() => (failed = true));
      expect(failed).to.equal(true);
      const rec = (await ctx.store.getDataset(d.name))!;
      expect(rec).to.include({ epoch: d.epoch, lastSeq: 1, count: 1 });
      expect(await ctx.store.get(d.name, 'x')).to.equal(undefined);
      expect((await ctx.store.append(d.name, { writes: [write('b', 1)] })).lastSeq).to.equal(2);
    });
  });
}
