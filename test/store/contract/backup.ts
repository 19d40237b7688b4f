import { expect } from 'chai';
import type { BackupRecord, Store } from '../../../src/store/types.js';
import { write, del, all, rejection, uniqueName, KEYS, type Contract } from './support.js';

/** The store contract: exportAll and importAll. */
export function backupContract(ctx: Contract): void {
  describe('backup (exportAll / importAll)', () => {
    /** Everything a dataset holds, as the interface shows it. */
    async function contentOf(s: Store, name: string) {
      const d = (await s.getDataset(name))!;
      // the public record (an engine may carry more on it, like LevelDB's incarnation)
      const record = {
        name: d.name,
        lastSeq: d.lastSeq,
        count: d.count,
        lastPushAt: d.lastPushAt,
        createdAt: d.createdAt,
        config: d.config,
        keyHashes: d.keyHashes,
        attrs: d.attrs,
      };
      return {
        record,
        changes: await all(s.changes(name, { epoch: d.epoch, afterSeq: 0 })),
        state: await all(s.current(name, { epoch: d.epoch, includeDeleted: true })),
        journal: await all(s.journal(name)),
        blob: await s.getBlob(name, 'blob-1'),
        aux: await all(s.auxScan(name, 'ns!x')),
      };
    }

    async function filled(): Promise<string> {
      const name = uniqueName('bk');
      await ctx.store.putDataset(name, () => ({ config: { title: 'backup' }, keyHashes: KEYS }));
      await ctx.store.append(name, {
        writes: [write('a', 1), write('b\u0000|x', 2), write('c', 3)],
        journal: JSON.stringify({ raw: 'first' }),
        blobs: [{ id: 'blob-1', contentType: 'image/png', bytes: new Uint8Array([0, 1, 2, 255]) }],
        aux: [{ ns: 'ns!x', key: 'k\u0000', value: 'v|1' }],
        idempotencyKey: 'req-1',
        attrs: (a) => ({ ...a, types: ['t'] }),
      });
      await ctx.store.append(name, {
        writes: [write('a', 10), del('c')],
        journal: JSON.stringify({ raw: 'second' }),
      });
      return name;
    }

    it('when a store is exported and the export imported into an empty store, then every dataset reads the same: record, changes, state, journal, blobs, aux, idempotency keys and the secret', async () => {
      const name = await filled();
      const records = await all(ctx.store.exportAll());
      const other = await ctx.factory.create();
      const copy = await other.open();
      try {
        async function* replay() {
          yield* records;
        }
        const summary = await copy.importAll(replay());
        expect(summary.datasets).to.equal((await ctx.store.listDatasets()).length);
        expect(await copy.secret()).to.equal(await ctx.store.secret());
        expect(await contentOf(copy, name)).to.deep.equal(await contentOf(ctx.store, name));
        expect((await copy.getDataset(name))!.epoch).to.equal((await ctx.store.getDataset(name))!.epoch);
        expect(await copy.findKeyHash(KEYS.read)).to.not.equal(undefined);
        // the idempotency key came along: the same request again is a duplicate
        const again = await copy.append(name, { writes: [write('z', 1)], idempotencyKey: 'req-1' });
        expect(again.duplicate).to.equal(true);
        // and the imported changelog goes on from where it was
        const next = await copy.append(name, { writes: [write('new', 1)] });
        expect(next.lastSeq).to.equal((await ctx.store.getDataset(name))!.lastSeq + 1);
      } finally {
        await copy.close();
        await other.destroy();
      }
    });

    it('when appends are committed while an export is being read, then the export holds exactly what was committed when it started', async () => {
      const name = await filled();
      const before = (await ctx.store.getDataset(name))!;
      const exported: BackupRecord[] = [];
      let appended = false;
      for await (const r of ctx.store.exportAll()) {
        exported.push(r);
        // the export is under way (its first records are read): commit more, then read on
        if (!appended) {
          appended = true;
          const r2 = await ctx.store.append(name, { writes: [write('late', 1), write('a', 99)] });
          expect(r2.lastSeq).to.equal(before.lastSeq + 2);
        }
      }
      const mine = exported.findIndex((r) => r.t === 'dataset' && r.name === name);
      const rec = exported[mine] as Extract<BackupRecord, { t: 'dataset' }>;
      expect(rec.lastSeq).to.equal(before.lastSeq);
      const end = exported.findIndex((r, i) => i > mine && r.t === 'dataset');
      const own = exported.slice(mine + 1, end < 0 ? undefined : end);
      expect(own.filter((r) => r.t === 'change').map((r) => (r as { seq: number }).seq)).to.deep.equal(
        Array.from({ length: before.lastSeq }, (_, i) => i + 1),
      );
      const state = own.filter((r) => r.t === 'state') as Array<{ key: string; seq: number }>;
      expect(state.map((r) => r.key)).to.not.include('late');
      expect(state.find((r) => r.key === 'a')!.seq).to.equal(4);
    });

    it('when an export is imported into a store that holds datasets, then it is refused with STORE_NOT_EMPTY and nothing changes', async () => {
      await filled();
      const before = (await ctx.store.listDatasets()).length;
      async function* one(): AsyncGenerator<BackupRecord> {
        yield* (await all(ctx.store.exportAll())).slice(0, 2);
      }
      const err = await rejection(ctx.store.importAll(one()));
      expect(err.code).to.equal('STORE_NOT_EMPTY');
      expect((await ctx.store.listDatasets()).length).to.equal(before);
    });
  });
}
