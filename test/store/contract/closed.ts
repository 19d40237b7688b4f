import { expect } from 'chai';
import { write, all, rejection, uniqueName, KEYS, type Contract } from './support.js';

/** The store contract: the closed-store trait: every method fails with a stable code once closed. */
export function closedContract(ctx: Contract): void {
  describe('a closed store', () => {
    it('when the store is closed, then every method fails with 503 STORE_CLOSED, ready says so and close again is a no-op', async () => {
      const h = await ctx.factory.create();
      const s = await h.open();
      try {
        const name = uniqueName();
        const { record } = await s.putDataset(name, () => ({ config: {}, keyHashes: KEYS }));
        await s.append(name, { writes: [write('a', 1)], journal: '"j"' });
        await s.close();
        const calls: Record<string, () => Promise<unknown>> = {
          putDataset: () => s.putDataset(name, () => ({ config: {}, keyHashes: KEYS })),
          getDataset: () => s.getDataset(name),
          listDatasets: () => s.listDatasets(),
          deleteDataset: () => s.deleteDataset(name),
          updateAttrs: () => s.updateAttrs(name, () => ({ x: 1 })),
          findKeyHash: () => s.findKeyHash(KEYS.push),
          append: () => s.append(name, { writes: [write('b', 1)] }),
          changes: () => all(s.changes(name, { epoch: record.epoch, afterSeq: 0 })),
          current: () => all(s.current(name, { epoch: record.epoch })),
          get: () => s.get(name, 'a'),
          rebuild: () => s.rebuild(name, (async function* () {})()),
          journal: () => all(s.journal(name)),
          clearJournal: () => s.clearJournal(name),
          getBlob: () => s.getBlob(name, 'b'),
          auxGet: () => s.auxGet(name, 'n', 'k'),
          auxScan: () => all(s.auxScan(name, 'n')),
          auxPut: () => s.auxPut(name, [{ ns: 'n', key: 'k', value: 'v' }]),
          auxCount: () => s.auxCount(name, 'quota', 'k', '1', 5),
          secret: () => s.secret(),
          exportAll: () => all(s.exportAll()),
          importAll: () => s.importAll((async function* () {})()),
        };
        for (const [method, call] of Object.entries(calls)) {
          const err = await rejection(call());
          expect({ method, status: err.status, code: err.code }).to.deep.equal({
            method,
            status: 503,
            code: 'STORE_CLOSED',
          });
        }
        expect((await s.ready()).ready).to.equal(false);
        await s.close();
      } finally {
        await h.destroy();
      }
    });
  });
}
