import { expect } from 'chai';
import { HubError } from '../../../src/errors.js';
import { write, uniqueName, KEYS, type Contract } from './support.js';

/** The store contract: concurrent appends and the pending-bytes budget. */
export function concurrencyContract(ctx: Contract): void {
  const { dataset, changesOf } = ctx;
  describe('concurrency and back-pressure', () => {
    it('when many appends run concurrently, then each gets a contiguous block of sequences and there is no gap', async () => {
      const d = await dataset();
      const requests = 40;
      const per = 5;
      const results = await Promise.all(
        Array.from({ length: requests }, (_, r) =>
          ctx.store.append(d.name, {
            writes: Array.from({ length: per }, (_, i) => write(`r${r}-${i}`, { r, i })),
          }),
        ),
      );
      const ends = results.map((r) => r.lastSeq).sort((a, b) => a - b);
      expect(ends).to.deep.equal(Array.from({ length: requests }, (_, i) => (i + 1) * per));
      const feed = await changesOf(d);
      expect(feed.map((c) => c.seq)).to.deep.equal(Array.from({ length: requests * per }, (_, i) => i + 1));
      // each request's changes are contiguous and end at the lastSeq it was told
      for (const [r, res] of results.entries()) {
        const mine = feed.filter((c) => c.key.startsWith(`r${r}-`)).map((c) => c.seq);
        expect(mine).to.deep.equal(Array.from({ length: per }, (_, i) => res.lastSeq - per + 1 + i));
      }
    });

    it('when a reader polls while writers append, then it sees every sequence once, in order, without gaps', async () => {
      const d = await dataset();
      let writing = true;
      const seen: number[] = [];
      const reader = (async () => {
        let after = 0;
        while (writing || after < (await ctx.store.getDataset(d.name))!.lastSeq) {
          for await (const c of ctx.store.changes(d.name, { epoch: d.epoch, afterSeq: after })) {
            seen.push(c.seq);
            after = c.seq;
          }
          await new Promise((r) => setTimeout(r, 1));
        }
      })();
      const writers = Array.from({ length: 4 }, async (_, w) => {
        for (let i = 0; i < 25; i++) await ctx.store.append(d.name, { writes: [write(`w${w}-${i}`, i)] });
      });
      await Promise.all(writers);
      writing = false;
      await reader;
      expect(seen).to.deep.equal(Array.from({ length: 100 }, (_, i) => i + 1));
    });

    it('when appends wait beyond the pending-bytes budget, then the excess is refused with 503 OVERLOADED and nothing of it is stored', async () => {
      const h = await ctx.factory.create();
      const small = await h.open({ maxPendingBytes: 1_500_000 });
      try {
        const name = uniqueName();
        await small.putDataset(name, () => ({ config: {}, keyHashes: KEYS }));
        const big = 'x'.repeat(1_000_000);
        const attempts = Array.from({ length: 4 }, (_, i) =>
          small.append(name, { writes: [write(`k${i}`, big)] }).then(
            (r) => ({ ok: r }),
            (e: unknown) => ({ err: e }),
          ),
        );
        const outcomes = await Promise.all(attempts);
        const refused = outcomes.filter((o) => 'err' in o).map((o) => (o as { err: HubError }).err);
        expect(refused.length).to.be.greaterThan(0);
        for (const e of refused) {
          expect(e).to.be.instanceOf(HubError);
          expect(e).to.include({ status: 503, code: 'OVERLOADED' });
          expect(e.details.retryAfter).to.be.a('number');
        }
        const accepted = outcomes.length - refused.length;
        expect((await small.getDataset(name))!.lastSeq).to.equal(accepted);
        // once the queue drained, appends are accepted again
        expect((await small.append(name, { writes: [write('after', big)] })).changes).to.equal(1);
      } finally {
        await small.close();
        await h.destroy();
      }
    });
  });
}
