import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { HubError } from '../../src/errors.js';
import type {
  AppendRequest,
  Change,
  DatasetRecord,
  IndexEntry,
  Store,
  Write,
} from '../../src/store/types.js';
import type { EngineFactory, EngineHarness } from './contract/support.js';

/**
 * The store contract of what the entity graph needs (issue 19), run against each engine beside the
 * main contract: index terms kept per current key in the same atomic append, reads of several keys,
 * reverse reads of changes and current state, and one atomic append across datasets.
 */

const hashOf = (doc: string): string => createHash('sha1').update(doc).digest('base64url');

function write(key: string, doc: unknown, terms?: string[], extra: Partial<Write> = {}): Write {
  const text = JSON.stringify(doc);
  return {
    key,
    kind: 'entity',
    deleted: false,
    doc: text,
    hash: hashOf(text),
    ...(terms ? { terms } : {}),
    ...extra,
  };
}

function del(key: string): Write {
  const text = JSON.stringify({ id: key, deleted: true });
  return { key, kind: 'entity', deleted: true, doc: text, hash: hashOf(text) };
}

async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

async function rejection(p: Promise<unknown>): Promise<HubError> {
  try {
    await p;
  } catch (err) {
    expect(err).to.be.instanceOf(HubError);
    return err as HubError;
  }
  throw new Error('expected a rejection');
}

let counter = 0;
const uniqueName = (prefix = 'g'): string => `${prefix}-${process.pid}-${++counter}`;

const pairs = (entries: IndexEntry[]): string[][] => entries.map((e) => [e.term, e.key]);

export function graphStoreContract(factory: EngineFactory): void {
  describe(`store contract (entity graph): ${factory.name}`, function () {
    this.timeout(60_000);
    let harness: EngineHarness;
    let store: Store;

    before(async () => {
      harness = await factory.create();
      store = await harness.open();
    });
    after(async () => {
      await store?.close();
      await harness?.destroy();
    });

    async function dataset(name = uniqueName()): Promise<DatasetRecord> {
      const keyHashes = { push: hashOf(`${name}-push`), read: hashOf(`${name}-read`) };
      return (await store.putDataset(name, () => ({ config: {}, keyHashes }))).record;
    }
    const fresh = async (d: DatasetRecord): Promise<DatasetRecord> => (await store.getDataset(d.name))!;
    const scan = async (
      d: DatasetRecord,
      prefix: string,
      more: { after?: IndexEntry; limit?: number; reverse?: boolean } = {},
    ) => pairs(await all(store.indexScan(d.name, { epoch: (await fresh(d)).epoch, prefix, ...more })));

    describe('index terms', () => {
      it('when writes carry terms, then a prefix scan finds them in (term, key) order, and only for the latest version', async () => {
        const d = await dataset();
        await store.append(d.name, {
          writes: [write('b', 1, ['t|x|', 't|y|']), write('a', 1, ['t|x|']), write('c', 1, ['u|x|'])],
        });
        expect(await scan(d, 't|')).to.deep.equal([
          ['t|x|', 'a'],
          ['t|x|', 'b'],
          ['t|y|', 'b'],
        ]);
        expect(await scan(d, 't|x|')).to.deep.equal([
          ['t|x|', 'a'],
          ['t|x|', 'b'],
        ]);
        // b's new version refers to z only, a's to nothing; c's write says nothing of terms: kept
        await store.append(d.name, { writes: [write('b', 2, ['t|z|']), write('a', 2, []), write('c', 2)] });
        expect(await scan(d, 't|')).to.deep.equal([['t|z|', 'b']]);
        expect(await scan(d, 'u|')).to.deep.equal([['u|x|', 'c']]);
      });

      it('when a key is deleted or swept, then its terms go in the same append; an unchanged write keeps them', async () => {
        const d = await dataset();
        await store.append(d.name, {
          writes: [write('a', 1, ['t|1|']), write('b', 1, ['t|1|']), write('c', 1, ['t|1|'])],
        });
        const same = await store.append(d.name, { writes: [write('c', 1, ['t|1|'])] });
        expect(same.outcomes).to.deep.equal(['unchanged']);
        await store.append(d.name, { writes: [del('a')] });
        expect(await scan(d, 't|')).to.deep.equal([
          ['t|1|', 'b'],
          ['t|1|', 'c'],
        ]);
        const sweep: AppendRequest = {
          writes: [write('c', 1, ['t|1|'])],
          sweep: { tombstone: (cur: Change) => ({ doc: `{"gone":"${cur.key}"}`, hash: hashOf(cur.key) }) },
        };
        const swept = await store.append(d.name, sweep);
        expect(swept.swept).to.equal(1);
        expect(await scan(d, 't|')).to.deep.equal([['t|1|', 'c']]);
      });

      it('when a scan continues after an entry, with a limit, or in reverse, then it pages exactly', async () => {
        const d = await dataset();
        await store.append(d.name, {
          writes: ['k1', 'k2', 'k3', 'k4', 'k5'].map((k) => write(k, k, ['p|', 'q|'])),
        });
        expect(await scan(d, 'p|', { limit: 2 })).to.deep.equal([
          ['p|', 'k1'],
          ['p|', 'k2'],
        ]);
        expect(await scan(d, 'p|', { after: { term: 'p|', key: 'k2' }, limit: 2 })).to.deep.equal([
          ['p|', 'k3'],
          ['p|', 'k4'],
        ]);
        expect(await scan(d, 'p|', { after: { term: 'p|', key: 'k5' } })).to.deep.equal([]);
        expect(await scan(d, 'p|', { reverse: true, limit: 2 })).to.deep.equal([
          ['p|', 'k5'],
          ['p|', 'k4'],
        ]);
        expect(await scan(d, 'p|', { reverse: true, after: { term: 'p|', key: 'k4' } })).to.deep.equal([
          ['p|', 'k3'],
          ['p|', 'k2'],
          ['p|', 'k1'],
        ]);
        // a prefix is a prefix of the term, never of the key
        expect(await scan(d, 'p|k')).to.deep.equal([]);
      });

      it('when a dataset is rebuilt, then the new epoch has the index of the replayed requests and the old terms are gone', async () => {
        const d = await dataset();
        await store.append(d.name, { writes: [write('a', 1, ['t|old|'])] });
        async function* replay(): AsyncGenerator<AppendRequest> {
          yield { writes: [write('a', 1, ['t|new|']), write('b', 1, ['t|new|'])] };
        }
        await store.rebuild(d.name, replay());
        const now = await fresh(d);
        expect(now.epoch).to.not.equal(d.epoch);
        expect(await scan(now, 't|')).to.deep.equal([
          ['t|new|', 'a'],
          ['t|new|', 'b'],
        ]);
      });

      it('when a dataset is deleted and created again, then none of its old terms are found', async () => {
        const d = await dataset();
        await store.append(d.name, { writes: [write('a', 1, ['t|x|'])] });
        await store.deleteDataset(d.name);
        const again = await dataset(d.name);
        expect(await scan(again, 't|')).to.deep.equal([]);
      });
    });

    describe('backup', () => {
      it('when a store is exported and imported into an empty one, then the term index comes along', async () => {
        const d = await dataset();
        await store.append(d.name, { writes: [write('a', 1, ['t|1|', 't|2|']), write('b', 1, ['t|2|'])] });
        await store.append(d.name, { writes: [write('b', 2, ['t|3|'])] });
        const other = await factory.create();
        const restored = await other.open();
        try {
          await restored.importAll(store.exportAll());
          const rec = (await restored.getDataset(d.name))!;
          const got = await all(restored.indexScan(d.name, { epoch: rec.epoch, prefix: 't|' }));
          expect(pairs(got)).to.deep.equal([
            ['t|1|', 'a'],
            ['t|2|', 'a'],
            ['t|3|', 'b'],
          ]);
          // and the restored index is kept up to date like the original
          await restored.append(d.name, { writes: [write('a', 2, [])] });
          const after = await all(restored.indexScan(d.name, { epoch: rec.epoch, prefix: 't|' }));
          expect(pairs(after)).to.deep.equal([['t|3|', 'b']]);
        } finally {
          await restored.close();
          await other.destroy();
        }
      });
    });

    describe('getMany', () => {
      it('when several keys are read, then each latest change comes in the order asked, deleted ones included, missing ones undefined', async () => {
        const d = await dataset();
        await store.append(d.name, { writes: [write('a', 1), write('b', 1)] });
        await store.append(d.name, { writes: [write('a', 2), del('b')] });
        const got = await store.getMany(d.name, ['b', 'zz', 'a', 'a']);
        expect(got.map((c) => (c ? [c.key, c.seq, c.deleted] : undefined))).to.deep.equal([
          ['b', 4, true],
          undefined,
          ['a', 3, false],
          ['a', 3, false],
        ]);
        expect(await store.getMany(d.name, [])).to.deep.equal([]);
      });
    });

    describe('reverse reads', () => {
      let d: DatasetRecord;
      before(async () => {
        d = await dataset();
        // a:1 b:2 c:3, a:4, b deleted:5, d:6
        await store.append(d.name, { writes: [write('a', 1), write('b', 1), write('c', 1)] });
        await store.append(d.name, { writes: [write('a', 2), del('b'), write('d', 1)] });
        d = await fresh(d);
      });

      it('when changes are read in reverse below a sequence, then they come newest first', async () => {
        const seqs = async (q: { beforeSeq?: number; limit?: number; latestOnly?: boolean }) =>
          (await all(store.changes(d.name, { epoch: d.epoch, afterSeq: 0, reverse: true, ...q }))).map(
            (c) => c.seq,
          );
        expect(await seqs({})).to.deep.equal([6, 5, 4, 3, 2, 1]);
        expect(await seqs({ beforeSeq: 7, limit: 2 })).to.deep.equal([6, 5]);
        expect(await seqs({ beforeSeq: 5, limit: 2 })).to.deep.equal([4, 3]);
        expect(await seqs({ beforeSeq: 1 })).to.deep.equal([]);
        expect(await seqs({ latestOnly: true })).to.deep.equal([6, 5, 4, 3]);
        expect(await seqs({ latestOnly: true, beforeSeq: 5, limit: 1 })).to.deep.equal([4]);
        const bounded = await all(
          store.changes(d.name, { epoch: d.epoch, afterSeq: 2, beforeSeq: 5, reverse: true }),
        );
        expect(bounded.map((c) => c.seq)).to.deep.equal([4, 3]);
      });

      it('when the current state is read in reverse below a key, then keys come in descending order', async () => {
        const keys = async (q: { beforeKey?: string; limit?: number; includeDeleted?: boolean }) =>
          (await all(store.current(d.name, { epoch: d.epoch, reverse: true, ...q }))).map((c) => c.key);
        expect(await keys({})).to.deep.equal(['d', 'c', 'a']);
        expect(await keys({ limit: 2 })).to.deep.equal(['d', 'c']);
        expect(await keys({ beforeKey: 'c' })).to.deep.equal(['a']);
        expect(await keys({ includeDeleted: true, beforeKey: 'd' })).to.deep.equal(['c', 'b', 'a']);
        expect(await keys({ beforeKey: 'a' })).to.deep.equal([]);
      });
    });

    describe('appendMany', () => {
      it('when parts for several datasets are appended, then each dataset gets its part in order, with its own journal and notice', async () => {
        const [a, b] = [await dataset(), await dataset()];
        const notices: string[] = [];
        const off = store.subscribe((n) => notices.push(`${n.dataset}:${n.lastSeq}`));
        try {
          const results = await store.appendMany([
            { name: a.name, request: { writes: [write('x', 1, ['t|'])], journal: '{"part":"a"}' } },
            { name: b.name, request: { writes: [write('y', 1), write('z', 1)], journal: '{"part":"b"}' } },
          ]);
          expect(results.map((r) => [r.lastSeq, r.changes, r.outcomes])).to.deep.equal([
            [1, 1, ['created']],
            [2, 2, ['created', 'created']],
          ]);
        } finally {
          off();
        }
        expect(
          (await all(store.changes(b.name, { epoch: b.epoch, afterSeq: 0 }))).map((c) => c.key),
        ).to.deep.equal(['y', 'z']);
        expect((await all(store.journal(a.name))).map((j) => j.text)).to.deep.equal(['{"part":"a"}']);
        expect((await all(store.journal(b.name))).map((j) => j.text)).to.deep.equal(['{"part":"b"}']);
        expect(await scan(a, 't|')).to.deep.equal([['t|', 'x']]);
        await eventually(() =>
          notices.includes(`${a.name}:1`) && notices.includes(`${b.name}:2`) ? true : undefined,
        );
      });

      it('when the last part is refused inside its writer, then no dataset keeps anything of the request', async () => {
        const [a, b, c] = [await dataset(), await dataset(), await dataset()];
        await store.append(a.name, { writes: [write('keep', 1, ['t|'])] });
        const err = await rejection(
          store.appendMany([
            { name: a.name, request: { writes: [write('x', 1, ['t|']), del('keep')], journal: '{}' } },
            {
              name: b.name,
              request: { writes: [write('y', 1)], attrs: (cur) => ({ ...cur, touched: true }) },
            },
            {
              name: c.name,
              request: {
                writes: [write('z', 1)],
                attrs: () => {
                  throw new HubError('NAMESPACE_CONFLICT', 'refused');
                },
              },
            },
          ]),
        );
        expect(err.code).to.equal('NAMESPACE_CONFLICT');
        for (const [d, lastSeq] of [
          [a, 1],
          [b, 0],
          [c, 0],
        ] as const) {
          const now = await fresh(d);
          expect(now.lastSeq, d.name).to.equal(lastSeq);
          expect(now.attrs, d.name).to.not.have.property('touched');
        }
        expect(await scan(a, 't|')).to.deep.equal([['t|', 'keep']]);
        expect(await all(store.journal(a.name))).to.deep.equal([]);
        expect((await store.get(a.name, 'keep'))?.deleted).to.equal(false);
      });

      it('when a part names a dataset that does not exist, then nothing is appended and the answer is 404', async () => {
        const a = await dataset();
        const err = await rejection(
          store.appendMany([
            { name: a.name, request: { writes: [write('x', 1)] } },
            { name: uniqueName('missing'), request: { writes: [write('y', 1)] } },
          ]),
        );
        expect(err.code).to.equal('DATASET_NOT_FOUND');
        expect((await fresh(a)).lastSeq).to.equal(0);
      });

      it('when multi-dataset appends cross each other and single appends run beside them, then all complete and every sequence is gapless', async () => {
        const [a, b] = [await dataset(), await dataset()];
        const jobs: Array<Promise<unknown>> = [];
        for (let i = 0; i < 20; i++) {
          jobs.push(
            store.appendMany([
              { name: a.name, request: { writes: [write(`ab${i}`, i)] } },
              { name: b.name, request: { writes: [write(`ab${i}`, i)] } },
            ]),
            store.appendMany([
              { name: b.name, request: { writes: [write(`ba${i}`, i)] } },
              { name: a.name, request: { writes: [write(`ba${i}`, i)] } },
            ]),
            store.append(a.name, { writes: [write(`a${i}`, i)] }),
          );
        }
        await Promise.all(jobs);
        for (const [d, n] of [
          [a, 60],
          [b, 40],
        ] as const) {
          const now = await fresh(d);
          const seqs = (await all(store.changes(d.name, { epoch: now.epoch, afterSeq: 0 }))).map(
            (c) => c.seq,
          );
          expect(seqs, d.name).to.deep.equal(Array.from({ length: n }, (_, i) => i + 1));
        }
      });
    });
  });
}

async function eventually<T>(check: () => T | undefined, ms = 5_000): Promise<T> {
  const deadline = Date.now() + ms;
  while (true) {
    const v = check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}
