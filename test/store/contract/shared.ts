import { expect } from 'chai';
import type { AppendResult, ChangeNotice, Store } from '../../../src/store/types.js';
import {
  type EngineHarness,
  write,
  gatedReplay,
  all,
  eventually,
  hashOf,
  uniqueName,
  KEYS,
  type Contract,
} from './support.js';

/** The store contract: several stores on the same data (feature: shared). */
export function sharedContract(ctx: Contract): void {
  if (ctx.factory.features.shared)
    describe('several stores on the same data', function () {
      let a: Store;
      let b: Store;
      let h: EngineHarness;
      before(async function () {
        h = await ctx.factory.create();
        if (!h.peer) throw new Error(`${ctx.factory.name} says it is shared but gives no peer`);
        a = await h.open();
        b = await h.peer!();
      });
      after(async () => {
        await a?.close();
        await b?.close();
        if (h?.peer) await h.destroy();
      });

      it('when one store creates a dataset or renews its keys, then the other sees it at once', async () => {
        const name = uniqueName();
        await a.putDataset(name, () => ({ config: { v: 1 }, keyHashes: KEYS }));
        expect((await b.getDataset(name))!.config).to.deep.equal({ v: 1 });
        expect(await b.findKeyHash(KEYS.read)).to.deep.equal({ dataset: name, role: 'read' });
        const renewed = { push: 'c'.repeat(64), read: 'd'.repeat(64) };
        await b.putDataset(name, () => ({ config: { v: 2 }, keyHashes: renewed }));
        expect((await a.getDataset(name))!.config).to.deep.equal({ v: 2 });
        expect(await a.findKeyHash(KEYS.read)).to.equal(undefined);
        expect(await a.findKeyHash(renewed.push)).to.deep.equal({ dataset: name, role: 'push' });
        expect(await b.secret()).to.equal(await a.secret());
        await b.deleteDataset(name);
        expect(await a.getDataset(name)).to.equal(undefined);
      });

      it('when both stores create the same dataset at once, then one creates it and the other updates it', async () => {
        const name = uniqueName();
        const [x, y] = await Promise.all([
          a.putDataset(name, () => ({ config: { by: 'a' }, keyHashes: KEYS })),
          b.putDataset(name, () => ({ config: { by: 'b' }, keyHashes: KEYS })),
        ]);
        expect([x.created, y.created].sort()).to.deep.equal([false, true]);
        expect(x.record.epoch).to.equal(y.record.epoch);
      });

      it('when both stores append to one dataset concurrently, then sequences interleave without gaps and every request is contiguous', async () => {
        const name = uniqueName();
        await a.putDataset(name, () => ({ config: {}, keyHashes: KEYS }));
        const per = 3;
        const jobs: Array<Promise<AppendResult>> = [];
        for (let i = 0; i < 30; i++) {
          const s = i % 2 === 0 ? a : b;
          jobs.push(
            s.append(name, { writes: Array.from({ length: per }, (_, j) => write(`r${i}-${j}`, j)) }),
          );
        }
        const results = await Promise.all(jobs);
        const rec = (await b.getDataset(name))!;
        expect(rec).to.include({ lastSeq: 90, count: 90 });
        const feed = await all(a.changes(name, { epoch: rec.epoch, afterSeq: 0 }));
        expect(feed.map((c) => c.seq)).to.deep.equal(Array.from({ length: 90 }, (_, i) => i + 1));
        for (const [i, r] of results.entries()) {
          const mine = feed.filter((c) => c.key.startsWith(`r${i}-`)).map((c) => c.seq);
          expect(mine).to.deep.equal([r.lastSeq - 2, r.lastSeq - 1, r.lastSeq]);
        }
      });

      it('when both stores count uses of one entry at once, then exactly the limit is allowed in all', async () => {
        const name = uniqueName();
        await a.putDataset(name, () => ({ config: {}, keyHashes: KEYS }));
        const uses = await Promise.all(
          Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? a : b).auxCount(name, 'quota', 'k', '1', 25)),
        );
        expect(
          uses
            .filter((u) => u.allowed)
            .map((u) => u.used)
            .sort((x, y) => x - y),
        ).to.deep.equal(Array.from({ length: 25 }, (_, i) => i + 1));
        expect(await b.auxGet(name, 'quota', 'k')).to.equal('1|25');
      });

      it('when one store commits, then subscribers of the other are told', async () => {
        const name = uniqueName();
        await a.putDataset(name, () => ({ config: {}, keyHashes: KEYS }));
        const notices: ChangeNotice[] = [];
        const off = b.subscribe((n) => notices.push(n));
        const r = await a.append(name, { writes: [write('k', 1)] });
        const got = await eventually(() => notices.find((n) => n.dataset === name));
        off();
        expect(got).to.deep.equal({ dataset: name, epoch: r.epoch, lastSeq: r.lastSeq });
      });

      it('when one store rebuilds while the other appends, then the append lands in the new epoch after the rebuild', async () => {
        const name = uniqueName();
        await a.putDataset(name, () => ({ config: {}, keyHashes: KEYS }));
        await a.append(name, { writes: [write('a', 1)] });
        const { replay, running, release } = gatedReplay([{ writes: [write('a', 1), write('b', 1)] }]);
        const rebuilding = a.rebuild(name, replay);
        await running;
        const appending = b.append(name, { writes: [write('late', 1)] });
        // whenever the append reaches the store, the rebuild holds at its gate: the append must
        // land in the epoch the rebuild makes, after its records (checked below)
        release();
        const r = await rebuilding;
        const late = await appending;
        expect(late.epoch).to.equal(r.epoch);
        expect(late.lastSeq).to.equal(3);
      });

      it('when one store sweeps after marks made through the other, then the marks count', async () => {
        const name = uniqueName();
        await a.putDataset(name, () => ({ config: {}, keyHashes: KEYS }));
        await a.append(name, { writes: ['x', 'y', 'z'].map((k) => write(k, k)) });
        await b.append(name, { writes: [write('x', 'x')], markSeen: 's' });
        const r = await a.append(name, {
          writes: [write('y', 'y')],
          sweep: { seenNs: 's', tombstone: (c) => ({ doc: c.doc, hash: hashOf(c.doc) }) },
        });
        expect(r.swept).to.equal(1);
        expect((await b.get(name, 'z'))!.deleted).to.equal(true);
      });
    });
}
