import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { HubError } from '../../src/errors.js';
import type {
  BackupRecord,
  AppendRequest,
  AppendResult,
  Change,
  ChangeNotice,
  DatasetRecord,
  Store,
  Write,
} from '../../src/store/types.js';

/**
 * The store contract: every behaviour of src/store/types.ts, written against the interface only and
 * run against each engine (test/store/level.test.ts, test/store/postgres.test.ts), the way Level
 * runs its abstract test suite against every backend. An engine passes it or it is not a store.
 */

/** Tuning every engine accepts. */
export interface StoreTuning {
  readonly maxPendingBytes?: number;
  readonly maxGroupJobs?: number;
}

/** One store's data, opened as the test needs it. */
export interface EngineHarness {
  /** opens the (initially empty) data */
  open(tuning?: StoreTuning): Promise<Store>;
  /** a second live store on the same data, as another hub process would open it (scale-out engines) */
  readonly peer?: () => Promise<Store>;
  /** removes the data (stores opened on it are closed first by the test) */
  destroy(): Promise<void>;
  /** marks the (closed) data as written by a newer build: a format or schema version this one does not know */
  makeNewer(): Promise<void>;
}

export interface EngineFactory {
  readonly name: string;
  /** several live stores may share the data (scale-out engines): the peer tests run */
  readonly shared?: boolean;
  /** fresh, empty data for one test or suite */
  create(): Promise<EngineHarness>;
}

const hashOf = (doc: string): string => createHash('sha1').update(doc).digest('base64url');

function write(key: string, doc: unknown, extra: Partial<Write> = {}): Write {
  const text = JSON.stringify(doc);
  return { key, kind: 'record', deleted: false, doc: text, hash: hashOf(text), ...extra };
}

function del(key: string, tomb: unknown = { gone: key }): Write {
  const text = JSON.stringify(tomb);
  return { key, kind: 'record', deleted: true, doc: text, hash: hashOf(text) };
}

/**
 * A rebuild's replay that yields its first request, then holds (`running` resolves) until
 * `release()`, then yields the rest: a test can act while a rebuild is under way.
 */
function gatedReplay(requests: readonly AppendRequest[]): {
  replay: AsyncIterable<AppendRequest>;
  running: Promise<void>;
  release: () => void;
} {
  let release: () => void = () => undefined;
  const gate = new Promise<void>((r) => (release = r));
  let started: () => void = () => undefined;
  const running = new Promise<void>((r) => (started = r));
  async function* replay(): AsyncGenerator<AppendRequest> {
    const [first, ...rest] = requests;
    if (first) yield first;
    started();
    await gate;
    yield* rest;
  }
  return { replay: replay(), running, release: () => release() };
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

async function eventually<T>(check: () => T | undefined | Promise<T | undefined>, ms = 5_000): Promise<T> {
  const deadline = Date.now() + ms;
  while (true) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

let counter = 0;
const uniqueName = (prefix = 'd'): string => `${prefix}-${process.pid}-${++counter}`;

const KEYS = { push: 'a'.repeat(64), read: 'b'.repeat(64) };

export function storeContract(factory: EngineFactory): void {
  describe(`store contract: ${factory.name}`, function () {
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

    async function dataset(config: Record<string, string> = {}): Promise<DatasetRecord> {
      const name = uniqueName();
      const keyHashes = { push: hashOf(`${name}-push`), read: hashOf(`${name}-read`) };
      return (await store.putDataset(name, () => ({ config, keyHashes }))).record;
    }

    async function changesOf(d: DatasetRecord, afterSeq = 0): Promise<Change[]> {
      const now = (await store.getDataset(d.name))!;
      return all(store.changes(d.name, { epoch: now.epoch, afterSeq }));
    }

    // ---- datasets -------------------------------------------------------------------------------

    describe('datasets', () => {
      it('when a dataset is put twice, then the first creates it and the second replaces its config, keeping epoch, keys and data', async () => {
        const name = uniqueName();
        const seen: Array<DatasetRecord | undefined> = [];
        const first = await store.putDataset(name, (existing) => {
          seen.push(existing);
          return { config: { title: 'one' }, keyHashes: KEYS };
        });
        expect(first.created).to.equal(true);
        expect(first.record).to.include({ name, lastSeq: 0, count: 0, lastPushAt: null });
        expect(first.record.epoch).to.match(/^[0-9a-f]{16}$/);
        expect(first.record.config).to.deep.equal({ title: 'one' });
        expect(first.record.keyHashes).to.deep.equal(KEYS);
        expect(first.record.attrs).to.deep.equal({});
        await store.append(name, { writes: [write('k', 1)] });

        const second = await store.putDataset(name, (existing) => {
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
        expect((await store.getDataset(name))!.config).to.deep.equal({ title: 'two' });
        expect(await store.get(name, 'k')).to.include({ seq: 1 });
      });

      it('when init throws, then nothing is created and the error comes back', async () => {
        const name = uniqueName();
        const err = await rejection(
          store.putDataset(name, () => {
            throw new HubError('INVALID_CONFIG', 'no');
          }),
        );
        expect(err.code).to.equal('INVALID_CONFIG');
        expect(await store.getDataset(name)).to.equal(undefined);
      });

      it('when datasets exist, then getDataset finds each and listDatasets lists them all in name order', async () => {
        const names = [uniqueName('zz'), uniqueName('aa'), uniqueName('mm')];
        for (const n of names) await store.putDataset(n, () => ({ config: {}, keyHashes: KEYS }));
        const listed = (await store.listDatasets()).map((d) => d.name);
        const ours = listed.filter((n) => names.includes(n));
        expect(ours).to.deep.equal([...names].sort());
        expect([...listed].sort()).to.deep.equal(listed);
        expect(await store.getDataset(uniqueName('missing'))).to.equal(undefined);
      });

      it('when key hashes are replaced, then findKeyHash knows the new ones with their role and forgets the old', async () => {
        const d = await dataset();
        expect(await store.findKeyHash(d.keyHashes.push)).to.deep.equal({ dataset: d.name, role: 'push' });
        expect(await store.findKeyHash(d.keyHashes.read)).to.deep.equal({ dataset: d.name, role: 'read' });
        const renewed = { push: hashOf(`${d.name}-p2`), read: hashOf(`${d.name}-r2`) };
        await store.putDataset(d.name, (e) => ({ config: e!.config, keyHashes: renewed }));
        expect(await store.findKeyHash(d.keyHashes.push)).to.equal(undefined);
        expect(await store.findKeyHash(d.keyHashes.read)).to.equal(undefined);
        expect(await store.findKeyHash(renewed.read)).to.deep.equal({ dataset: d.name, role: 'read' });
        expect(await store.findKeyHash(hashOf('never issued'))).to.equal(undefined);
      });

      it('when a dataset is deleted, then every byte of it is gone and a re-created one starts empty on a new epoch', async () => {
        const d = await dataset();
        await store.append(d.name, {
          writes: [write('k1', 1), write('k2', 2)],
          journal: '{"raw":1}',
          aux: [{ ns: 'n', key: 'a', value: 'v' }],
          blobs: [{ id: 'b1', contentType: 'text/plain', bytes: new Uint8Array([1, 2]) }],
          idempotencyKey: 'once',
        });
        expect(await store.deleteDataset(d.name)).to.equal(true);
        expect(await store.deleteDataset(d.name)).to.equal(false);
        expect(await store.getDataset(d.name)).to.equal(undefined);
        expect(await store.findKeyHash(d.keyHashes.push)).to.equal(undefined);
        expect((await rejection(store.get(d.name, 'k1'))).code).to.equal('DATASET_NOT_FOUND');
        expect(
          (await rejection(all(store.changes(d.name, { epoch: d.epoch, afterSeq: 0 })))).status,
        ).to.equal(404);

        const again = await store.putDataset(d.name, () => ({ config: {}, keyHashes: d.keyHashes }));
        expect(again.created).to.equal(true);
        expect(again.record.epoch).to.not.equal(d.epoch);
        expect(again.record).to.include({ lastSeq: 0, count: 0, lastPushAt: null });
        expect(await store.get(d.name, 'k1')).to.equal(undefined);
        expect(await all(store.changes(d.name, { epoch: again.record.epoch, afterSeq: 0 }))).to.deep.equal(
          [],
        );
        expect(await all(store.changes(d.name, { epoch: d.epoch, afterSeq: 0 }))).to.deep.equal([]);
        expect(await all(store.journal(d.name))).to.deep.equal([]);
        expect(await store.auxGet(d.name, 'n', 'a')).to.equal(undefined);
        expect(await store.getBlob(d.name, 'b1')).to.equal(undefined);
        const r = await store.append(d.name, { writes: [write('k1', 1)], idempotencyKey: 'once' });
        expect(r).to.include({ duplicate: false, changes: 1, lastSeq: 1 });
      });

      it('when attrs are updated outside an append, then the function sees the latest attrs and undefined leaves them', async () => {
        const d = await dataset();
        const seen: unknown[] = [];
        const r1 = await store.updateAttrs(d.name, (a) => {
          seen.push(a);
          return { ...a, status: 'ok', n: 1 };
        });
        expect(r1.attrs).to.deep.equal({ status: 'ok', n: 1 });
        const r2 = await store.updateAttrs(d.name, (a) => {
          seen.push(a);
          return undefined;
        });
        expect(r2.attrs).to.deep.equal({ status: 'ok', n: 1 });
        expect(seen).to.deep.equal([{}, { status: 'ok', n: 1 }]);
        expect((await store.getDataset(d.name))!.attrs).to.deep.equal({ status: 'ok', n: 1 });
        // an append's attrs function sees them too
        let inAppend: unknown;
        await store.append(d.name, {
          writes: [],
          attrs: (a) => {
            inAppend = a;
            return undefined;
          },
        });
        expect(inAppend).to.deep.equal({ status: 'ok', n: 1 });
        expect((await rejection(store.updateAttrs(uniqueName(), (a) => a))).code).to.equal(
          'DATASET_NOT_FOUND',
        );
      });

      it('when the hub secret is asked twice, then it is the same non-trivial string', async () => {
        const s = await store.secret();
        expect(s).to.be.a('string');
        expect(s.length).to.be.at.least(32);
        expect(await store.secret()).to.equal(s);
        expect(store.engine).to.be.a('string').and.not.equal('');
      });
    });

    // ---- appends --------------------------------------------------------------------------------

    describe('append', () => {
      it('when writes create, update, repeat and delete keys, then outcomes, sequences and count follow the changelog rules', async () => {
        const d = await dataset();
        const r1 = await store.append(d.name, { writes: [write('a', 1), write('b', 1), write('c', 1)] });
        expect(r1).to.deep.include({ epoch: d.epoch, lastSeq: 3, changes: 3, swept: 0, duplicate: false });
        expect(r1.outcomes).to.deep.equal(['created', 'created', 'created']);
        const r2 = await store.append(d.name, {
          writes: [write('a', 1), write('b', 2), del('c'), del('nope'), write('a', { same: false })],
        });
        expect(r2.outcomes).to.deep.equal(['unchanged', 'updated', 'deleted', 'missing', 'updated']);
        expect(r2).to.include({ lastSeq: 6, changes: 3 });
        const r3 = await store.append(d.name, { writes: [del('c'), write('c', 3)] });
        expect(r3.outcomes).to.deep.equal(['unchanged', 'created']);
        const rec = (await store.getDataset(d.name))!;
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
        await store.append(d.name, { writes: [write('x', 1), write('y', 1)] });
        await store.append(d.name, { writes: [del('y')] });
        const r = await store.append(d.name, {
          writes: [
            write('x', 2, { ifAbsent: true }),
            write('y', 2, { ifAbsent: true }),
            write('z', 2, { ifAbsent: true }),
            write('z', 3, { ifAbsent: true }),
          ],
        });
        expect(r.outcomes).to.deep.equal(['dropped', 'dropped', 'created', 'dropped']);
        expect(r.changes).to.equal(1);
        expect((await store.get(d.name, 'z'))!.doc).to.equal('2');
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
        const first = await store.append(d.name, req);
        expect(first.duplicate).to.equal(false);
        const before = (await store.getDataset(d.name))!;
        const again = await store.append(d.name, {
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
        const after = (await store.getDataset(d.name))!;
        expect(after).to.include({ lastSeq: 1, lastPushAt: before.lastPushAt });
        expect((await store.get(d.name, 'k'))!.doc).to.equal('1');
        expect(await store.auxGet(d.name, 'n', 'a')).to.equal('1');
        expect(await all(store.journal(d.name))).to.have.length(1);
      });

      it('when two requests of one group share an idempotency key, then only the first applies', async () => {
        const d = await dataset();
        const results = await Promise.all(
          [1, 2, 3].map((i) => store.append(d.name, { writes: [write(`k${i}`, i)], idempotencyKey: 'same' })),
        );
        expect(results.filter((r) => !r.duplicate)).to.have.length(1);
        expect((await store.getDataset(d.name))!.lastSeq).to.equal(1);
      });

      it('when an attrs function returns new attrs, then they are stored with the batch; when it throws, only that request is rejected', async () => {
        const d = await dataset();
        const ok1 = store.append(d.name, {
          writes: [write('a', 1)],
          attrs: (a) => ({ ...a, types: ['x'] }),
          journal: '"one"',
        });
        const bad = store.append(d.name, {
          writes: [write('b', 1)],
          aux: [{ ns: 'n', key: 'b', value: '1' }],
          journal: '"two"',
          blobs: [{ id: 'bb', contentType: 'text/plain', bytes: new Uint8Array([9]) }],
          attrs: () => {
            throw new HubError('FULL_SYNC_IN_PROGRESS', 'another sync runs');
          },
        });
        const ok2 = store.append(d.name, {
          writes: [write('c', 1)],
          attrs: (a) => ({ ...a, seen: (a.types as string[] | undefined)?.length ?? 0 }),
          journal: '"three"',
        });
        const [r1, r3] = await Promise.all([ok1, ok2]);
        const err = await rejection(bad);
        expect(err).to.include({ status: 409, code: 'FULL_SYNC_IN_PROGRESS' });
        expect([r1.lastSeq, r3.lastSeq]).to.deep.equal([1, 2]);
        const rec = (await store.getDataset(d.name))!;
        expect(rec.attrs).to.deep.equal({ types: ['x'], seen: 1 });
        expect(rec).to.include({ lastSeq: 2, count: 2 });
        expect(await store.get(d.name, 'b')).to.equal(undefined);
        expect(await store.auxGet(d.name, 'n', 'b')).to.equal(undefined);
        expect(await store.getBlob(d.name, 'bb')).to.equal(undefined);
        expect((await all(store.journal(d.name))).map((j) => j.text)).to.deep.equal(['"one"', '"three"']);
      });

      it('when requests carry journal entries, then they are numbered in order with their recording time and can be read after n and cleared', async () => {
        const d = await dataset();
        await store.append(d.name, { writes: [write('a', 1)], journal: '{"r":1}', recorded: 111 });
        await store.append(d.name, { writes: [], journal: '{"r":2}', recorded: 222 });
        await store.append(d.name, { writes: [write('a', 1)], journal: '{"r":3}', recorded: 333 });
        const entries = await all(store.journal(d.name));
        expect(entries).to.deep.equal([
          { n: 1, recorded: 111, text: '{"r":1}' },
          { n: 2, recorded: 222, text: '{"r":2}' },
          { n: 3, recorded: 333, text: '{"r":3}' },
        ]);
        expect((await all(store.journal(d.name, 2))).map((e) => e.n)).to.deep.equal([3]);
        await store.clearJournal(d.name);
        expect(await all(store.journal(d.name))).to.deep.equal([]);
        await store.append(d.name, { writes: [], journal: '{"r":4}' });
        const after = await all(store.journal(d.name));
        expect(after).to.have.length(1);
        expect(after[0]!.n).to.be.greaterThan(3);
        expect((await rejection(all(store.journal(uniqueName())))).code).to.equal('DATASET_NOT_FOUND');
      });

      it('when blobs come with an append, then getBlob returns their bytes and type; unknown ids are undefined', async () => {
        const d = await dataset();
        const bytes = new Uint8Array(70_000).map((_, i) => i % 251);
        await store.append(d.name, {
          writes: [write('r', { file: 'f1' })],
          blobs: [
            { id: 'f1', contentType: 'image/png', bytes },
            { id: 'f2', contentType: 'text/plain; charset=utf-8', bytes: new Uint8Array(0) },
          ],
        });
        const b = (await store.getBlob(d.name, 'f1'))!;
        expect(b.id).to.equal('f1');
        expect(b.contentType).to.equal('image/png');
        expect(Buffer.from(b.bytes).equals(Buffer.from(bytes))).to.equal(true);
        const empty = (await store.getBlob(d.name, 'f2'))!;
        expect(empty.contentType).to.equal('text/plain; charset=utf-8');
        expect(empty.bytes.length).to.equal(0);
        expect(await store.getBlob(d.name, 'nope')).to.equal(undefined);
        expect((await rejection(store.getBlob(uniqueName(), 'f1'))).code).to.equal('DATASET_NOT_FOUND');
      });

      it('when aux entries are written with appends and auxPut, then auxGet and auxScan see the last value per namespace, in key order', async () => {
        const d = await dataset();
        await store.append(d.name, {
          writes: [],
          aux: [
            { ns: 'pos', key: 'b', value: '2' },
            { ns: 'pos', key: 'a', value: '1' },
            { ns: 'other', key: 'a', value: 'x' },
            { ns: 'pos', key: 'c', value: 'tmp' },
            { ns: 'pos', key: 'c', value: null },
          ],
        });
        expect(await store.auxGet(d.name, 'pos', 'a')).to.equal('1');
        expect(await store.auxGet(d.name, 'pos', 'c')).to.equal(undefined);
        expect(await all(store.auxScan(d.name, 'pos'))).to.deep.equal([
          ['a', '1'],
          ['b', '2'],
        ]);
        await store.auxPut(d.name, [
          { ns: 'pos', key: 'a', value: null },
          { ns: 'pos', key: 'd', value: '4' },
        ]);
        await store.auxPut(d.name, [{ ns: 'pos', key: 'e', value: '5' }], { sync: true });
        expect(await all(store.auxScan(d.name, 'pos'))).to.deep.equal([
          ['b', '2'],
          ['d', '4'],
          ['e', '5'],
        ]);
        expect(await all(store.auxScan(d.name, 'pos', 'b'))).to.deep.equal([
          ['d', '4'],
          ['e', '5'],
        ]);
        expect(await all(store.auxScan(d.name, 'other'))).to.deep.equal([['a', 'x']]);
        expect(await all(store.auxScan(d.name, 'po'))).to.deep.equal([]);
        expect((await rejection(store.auxGet(uniqueName(), 'pos', 'a'))).code).to.equal('DATASET_NOT_FOUND');
      });

      it('when uses are counted, then each is counted once up to the limit, the one at the limit is refused without counting, and a new period starts over', async () => {
        const d = await dataset();
        const uses = await Promise.all(
          Array.from({ length: 12 }, () => store.auxCount(d.name, 'quota', 'k1', '7', 10)),
        );
        expect(uses.filter((u) => u.allowed)).to.have.length(10);
        expect(
          uses
            .filter((u) => u.allowed)
            .map((u) => u.used)
            .sort((a, b) => a - b),
        ).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        expect(uses.filter((u) => !u.allowed)).to.deep.equal([
          { used: 10, allowed: false },
          { used: 10, allowed: false },
        ]);
        expect(await store.auxGet(d.name, 'quota', 'k1')).to.equal('7|10');
        // another entry has its own count; the next period starts over
        expect(await store.auxCount(d.name, 'quota', 'k2', '7', 10)).to.deep.equal({
          used: 1,
          allowed: true,
        });
        expect(await store.auxCount(d.name, 'quota', 'k1', '8', 10)).to.deep.equal({
          used: 1,
          allowed: true,
        });
        expect(await store.auxGet(d.name, 'quota', 'k1')).to.equal('8|1');
        expect((await rejection(store.auxCount(uniqueName(), 'quota', 'k1', '8', 10))).code).to.equal(
          'DATASET_NOT_FOUND',
        );
      });

      it('when many aux entries are scanned, then every one comes once, in order', async () => {
        const d = await dataset();
        const n = 2_500;
        const writes = Array.from({ length: n }, (_, i) => ({
          ns: 'many',
          key: `k${String(i).padStart(5, '0')}`,
          value: String(i),
        }));
        await store.auxPut(d.name, writes);
        const got = await all(store.auxScan(d.name, 'many'));
        expect(got).to.have.length(n);
        expect(got.map(([k]) => k)).to.deep.equal(writes.map((w) => w.key));
      });

      it('when a full sync marks keys seen and then sweeps, then live keys neither written nor seen get tombstones', async () => {
        const d = await dataset();
        await store.append(d.name, { writes: ['a', 'b', 'c', 'd', 'e'].map((k) => write(k, k)) });
        await store.append(d.name, { writes: [del('e')] });
        // the sync: two requests; the first marks keys as seen, the last sweeps
        await store.append(d.name, { writes: [write('a', 'a'), write('b', 'B')], markSeen: 'sync-1' });
        expect(await store.auxGet(d.name, 'sync-1', 'a')).to.not.equal(undefined);
        const tombstoned: Change[] = [];
        const r = await store.append(d.name, {
          writes: [write('f', 'f'), del('c')],
          sweep: {
            seenNs: 'sync-1',
            tombstone: (current) => {
              tombstoned.push(current);
              const doc = JSON.stringify({ was: JSON.parse(current.doc) as unknown });
              return { doc, hash: hashOf(doc) };
            },
          },
        });
        expect(r.outcomes).to.deep.equal(['created', 'deleted']);
        expect(r.swept).to.equal(1);
        expect(tombstoned.map((c) => [c.key, c.doc, c.deleted])).to.deep.equal([['d', '"d"', false]]);
        expect(r.changes).to.equal(3);
        const dd = (await store.get(d.name, 'd'))!;
        expect(dd).to.include({ deleted: true, doc: '{"was":"d"}', seq: r.lastSeq });
        expect((await store.getDataset(d.name))!.count).to.equal(3); // a, b, f
        const live = await all(store.current(d.name, { epoch: d.epoch }));
        expect(live.map((c) => c.key)).to.deep.equal(['a', 'b', 'f']);
      });

      it('when a sweep has no seen namespace, then every live key not written by the request is deleted', async () => {
        const d = await dataset();
        await store.append(d.name, { writes: ['a', 'b', 'c'].map((k) => write(k, k)) });
        const r = await store.append(d.name, {
          writes: [write('b', 'b'), write('x', 'x')],
          sweep: { tombstone: (c) => ({ doc: c.doc, hash: hashOf(c.doc) }) },
        });
        expect(r.outcomes).to.deep.equal(['unchanged', 'created']);
        expect(r.swept).to.equal(2);
        const live = await all(store.current(d.name, { epoch: d.epoch }));
        expect(live.map((c) => c.key)).to.deep.equal(['b', 'x']);
        expect((await store.getDataset(d.name))!.count).to.equal(2);
      });

      it('when a sweep tombstone answers undefined, then that key is kept', async () => {
        const d = await dataset();
        await store.append(d.name, { writes: [write('a', 'a'), { ...write('b', 'b'), kind: 'other' }] });
        const r = await store.append(d.name, {
          writes: [],
          sweep: { tombstone: (c) => (c.kind === 'other' ? undefined : { doc: c.doc, hash: hashOf(c.doc) }) },
        });
        expect(r.swept).to.equal(1);
        const live = await all(store.current(d.name, { epoch: d.epoch }));
        expect(live.map((c) => c.key)).to.deep.equal(['b']);
        expect((await store.getDataset(d.name))!.count).to.equal(1);
      });

      it('when a request clears aux namespaces, then the sweep still sees them, they are emptied in the same batch, and its own marks survive', async () => {
        const d = await dataset();
        await store.append(d.name, { writes: ['a', 'b', 'c'].map((k) => write(k, k)), markSeen: 'seen' });
        await store.auxPut(d.name, [{ ns: 'other', key: 'k', value: 'v' }], { sync: true });
        // the end of a sync: sweep with the seen set, then empty it
        const end = await store.append(d.name, {
          writes: [write('d', 'd')],
          sweep: { seenNs: 'seen', tombstone: (c) => ({ doc: c.doc, hash: hashOf(c.doc) }) },
          clearAux: ['seen'],
        });
        expect(end.swept).to.equal(0);
        expect(await all(store.auxScan(d.name, 'seen'))).to.deep.equal([]);
        expect(await store.auxGet(d.name, 'other', 'k')).to.equal('v');
        // the start of the next sync: empty, then mark this request's keys
        await store.append(d.name, { writes: [write('a', 'a')], clearAux: ['seen'], markSeen: 'seen' });
        expect((await all(store.auxScan(d.name, 'seen'))).map(([k]) => k)).to.deep.equal(['a']);
      });

      it('when requests touch or not, then lastPushAt moves only for requests with writes or touch: true', async () => {
        const d = await dataset();
        await store.append(d.name, { writes: [], journal: '{}' });
        expect((await store.getDataset(d.name))!.lastPushAt).to.equal(null);
        await store.append(d.name, { writes: [], touch: true });
        const t1 = (await store.getDataset(d.name))!.lastPushAt;
        expect(t1).to.be.a('number');
        // the clock has moved past t1 (a gate on the clock, not a guess at how long that takes)
        await eventually(() => (Date.now() > t1! ? true : undefined));
        await store.append(d.name, { writes: [write('k', 1)], touch: false });
        expect((await store.getDataset(d.name))!.lastPushAt).to.equal(t1);
        // a request whose writes change nothing still counts as a push
        await store.append(d.name, { writes: [write('k', 1)] });
        const t2 = (await store.getDataset(d.name))!.lastPushAt!;
        expect(t2).to.be.greaterThan(t1!);
        expect(Math.abs(t2 - Date.now())).to.be.lessThan(60_000);
      });

      it('when a request gives its recording time, then its changes carry it; otherwise they carry now', async () => {
        const d = await dataset();
        await store.append(d.name, { writes: [write('old', 1)], recorded: 1_234 });
        const before = Date.now();
        await store.append(d.name, { writes: [write('new', 1)] });
        expect((await store.get(d.name, 'old'))!.recorded).to.equal(1_234);
        const rec = (await store.get(d.name, 'new'))!.recorded;
        expect(rec)
          .to.be.at.least(before - 1)
          .and.at.most(Date.now() + 1);
      });

      it('when the dataset does not exist or a kind is not [a-z]+, then the append is refused', async () => {
        expect((await rejection(store.append(uniqueName(), { writes: [write('k', 1)] }))).code).to.equal(
          'DATASET_NOT_FOUND',
        );
        const d = await dataset();
        const err = await rejection(store.append(d.name, { writes: [write('k', 1, { kind: 'Bad-Kind' })] }));
        expect(err.status).to.equal(500);
        expect((await store.getDataset(d.name))!.lastSeq).to.equal(0);
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
        await store.append(d.name, {
          writes: keys.map((k, i) => write(k, i)),
          markSeen: 'seen\u0000ns',
          aux: [{ ns: 'x\u0000', key: 'nul\u0000key', value: 'v\u0000' }],
        });
        for (const [i, k] of keys.entries()) expect((await store.get(d.name, k))!.doc).to.equal(String(i));
        const byBytes = [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
        const current = await all(store.current(d.name, { epoch: d.epoch }));
        expect(current.map((c) => c.key)).to.deep.equal(byBytes);
        const feed = await changesOf(d);
        expect(feed.map((c) => c.key)).to.deep.equal(keys);
        expect(await store.auxGet(d.name, 'x\u0000', 'nul\u0000key')).to.equal('v\u0000');
        expect((await all(store.auxScan(d.name, 'seen\u0000ns'))).map(([k]) => k)).to.deep.equal(byBytes);
        // paging by key resumes exactly after a key holding NUL
        const after = await all(store.current(d.name, { epoch: d.epoch, afterKey: 'nul\u0000inside' }));
        expect(after.map((c) => c.key)).to.deep.equal(byBytes.slice(byBytes.indexOf('nul\u0000inside') + 1));
      });

      it('when one request holds 10,000 writes, then all of them are stored and read back in order', async () => {
        const d = await dataset();
        const n = 10_000;
        const writes = Array.from({ length: n }, (_, i) => write(`r${i}`, { i, pad: 'x'.repeat(200) }));
        const r = await store.append(d.name, { writes });
        expect(r).to.include({ changes: n, lastSeq: n });
        let expected = 1;
        for await (const c of store.changes(d.name, { epoch: d.epoch, afterSeq: 0 })) {
          expect(c.seq).to.equal(expected++);
        }
        expect(expected).to.equal(n + 1);
        expect(await all(store.current(d.name, { epoch: d.epoch }))).to.have.length(n);
      });
    });

    // ---- concurrency ----------------------------------------------------------------------------

    describe('concurrency and back-pressure', () => {
      it('when many appends run concurrently, then each gets a contiguous block of sequences and there is no gap', async () => {
        const d = await dataset();
        const requests = 40;
        const per = 5;
        const results = await Promise.all(
          Array.from({ length: requests }, (_, r) =>
            store.append(d.name, {
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
          while (writing || after < (await store.getDataset(d.name))!.lastSeq) {
            for await (const c of store.changes(d.name, { epoch: d.epoch, afterSeq: after })) {
              seen.push(c.seq);
              after = c.seq;
            }
            await new Promise((r) => setTimeout(r, 1));
          }
        })();
        const writers = Array.from({ length: 4 }, async (_, w) => {
          for (let i = 0; i < 25; i++) await store.append(d.name, { writes: [write(`w${w}-${i}`, i)] });
        });
        await Promise.all(writers);
        writing = false;
        await reader;
        expect(seen).to.deep.equal(Array.from({ length: 100 }, (_, i) => i + 1));
      });

      it('when appends wait beyond the pending-bytes budget, then the excess is refused with 503 OVERLOADED and nothing of it is stored', async () => {
        const h = await factory.create();
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

    // ---- reads ----------------------------------------------------------------------------------

    describe('reads', () => {
      let d: DatasetRecord;
      before(async () => {
        d = await dataset();
        // a:1 b:2 c:3, a:4, b deleted:5, d:6
        await store.append(d.name, { writes: [write('a', 1), write('b', 1), write('c', 1)] });
        await store.append(d.name, { writes: [write('a', 2), del('b'), write('d', 1)] });
      });

      it('when changes are read after a sequence and with a limit, then they come in order from there', async () => {
        const seqs = async (q: { afterSeq: number; limit?: number }): Promise<number[]> =>
          (await all(store.changes(d.name, { epoch: d.epoch, ...q }))).map((c) => c.seq);
        expect(await seqs({ afterSeq: 0 })).to.deep.equal([1, 2, 3, 4, 5, 6]);
        expect(await seqs({ afterSeq: 4 })).to.deep.equal([5, 6]);
        expect(await seqs({ afterSeq: 1, limit: 2 })).to.deep.equal([2, 3]);
        expect(await seqs({ afterSeq: 0, limit: 0 })).to.deep.equal([]);
        expect(await seqs({ afterSeq: 6 })).to.deep.equal([]);
      });

      it('when latestOnly is asked, then only changes still latest for their key come, deletes included', async () => {
        const latest = await all(store.changes(d.name, { epoch: d.epoch, afterSeq: 0, latestOnly: true }));
        expect(latest.map((c) => [c.seq, c.key, c.deleted])).to.deep.equal([
          [3, 'c', false],
          [4, 'a', false],
          [5, 'b', true],
          [6, 'd', false],
        ]);
        const limited = await all(
          store.changes(d.name, { epoch: d.epoch, afterSeq: 0, latestOnly: true, limit: 2 }),
        );
        expect(limited.map((c) => c.seq)).to.deep.equal([3, 4]);
      });

      it('when the current state is listed, then live keys come in key order, paged by afterKey and limit, deleted ones on request', async () => {
        const keys = async (q: { afterKey?: string; limit?: number; includeDeleted?: boolean }) =>
          (await all(store.current(d.name, { epoch: d.epoch, ...q }))).map((c) => c.key);
        expect(await keys({})).to.deep.equal(['a', 'c', 'd']);
        expect(await keys({ includeDeleted: true })).to.deep.equal(['a', 'b', 'c', 'd']);
        expect(await keys({ afterKey: 'a', limit: 1 })).to.deep.equal(['c']);
        expect(await keys({ afterKey: 'c' })).to.deep.equal(['d']);
        expect(await keys({ limit: 0 })).to.deep.equal([]);
        const a = (await all(store.current(d.name, { epoch: d.epoch, limit: 1 })))[0]!;
        expect(a).to.deep.equal({
          seq: 4,
          key: 'a',
          kind: 'record',
          recorded: a.recorded,
          deleted: false,
          doc: '2',
        });
      });

      it('when one key is read, then its latest change comes, a deleted one included; an unknown key is undefined', async () => {
        expect(await store.get(d.name, 'b')).to.include({ seq: 5, deleted: true });
        expect(await store.get(d.name, 'a')).to.include({ seq: 4, doc: '2' });
        expect(await store.get(d.name, 'zz')).to.equal(undefined);
      });

      it('when the dataset does not exist, then reads fail with DATASET_NOT_FOUND', async () => {
        const name = uniqueName();
        for (const read of [
          () => all(store.changes(name, { epoch: d.epoch, afterSeq: 0 })),
          () => all(store.current(name, { epoch: d.epoch })),
          () => store.get(name, 'a'),
          () => all(store.auxScan(name, 'n')),
        ]) {
          expect((await rejection(read())).code).to.equal('DATASET_NOT_FOUND');
        }
      });

      it('when a change commits, then subscribers are told its dataset, epoch and lastSeq; unsubscribed ones are not', async () => {
        const notices: ChangeNotice[] = [];
        const other: ChangeNotice[] = [];
        const off = store.subscribe((n) => notices.push(n));
        const offOther = store.subscribe((n) => other.push(n));
        offOther();
        const r = await store.append(d.name, { writes: [write('e', 1)] });
        await eventually(() => (notices.some((n) => n.dataset === d.name) ? true : undefined));
        off();
        expect(notices.filter((n) => n.dataset === d.name)).to.deep.include({
          dataset: d.name,
          epoch: d.epoch,
          lastSeq: r.lastSeq,
        });
        expect(other).to.deep.equal([]);
        await store.append(d.name, { writes: [write('f', 1)] });
        expect(notices.filter((n) => n.lastSeq > r.lastSeq && n.dataset === d.name)).to.deep.equal([]);
      });
    });

    // ---- rebuild --------------------------------------------------------------------------------

    describe('rebuild', () => {
      it('when a dataset is rebuilt from requests, then it switches to a new epoch holding exactly their result', async () => {
        const d = await dataset();
        await store.append(d.name, { writes: [write('a', 1), write('b', 1)], journal: '"j1"', recorded: 10 });
        await store.updateAttrs(d.name, (a) => ({ ...a, kept: true }));
        const before = (await store.getDataset(d.name))!;
        const notices: ChangeNotice[] = [];
        const off = store.subscribe((n) => notices.push(n));
        async function* replay(): AsyncGenerator<AppendRequest> {
          yield { writes: [write('a', 'A'), write('c', 1)], recorded: 10, journal: '"never journaled"' };
          yield { writes: [del('c'), write('d', 1)], recorded: 20, idempotencyKey: 'm2' };
          yield {
            writes: [write('e', 1)],
            recorded: 30,
            sweep: { tombstone: (c) => ({ doc: c.doc, hash: hashOf(c.doc) }) },
          };
        }
        const r = await store.rebuild(d.name, replay());
        expect(r.epoch)
          .to.match(/^[0-9a-f]{16}$/)
          .and.not.equal(d.epoch);
        expect(r).to.include({ lastSeq: 7, changes: 7, swept: 2, duplicate: false });
        const after = (await store.getDataset(d.name))!;
        expect(after).to.include({ epoch: r.epoch, lastSeq: 7, count: 1, lastPushAt: before.lastPushAt });
        expect(after.attrs).to.deep.equal({ kept: true });
        const feed = await all(store.changes(d.name, { epoch: r.epoch, afterSeq: 0 }));
        expect(feed.map((c) => [c.seq, c.key, c.deleted, c.recorded])).to.deep.equal([
          [1, 'a', false, 10],
          [2, 'c', false, 10],
          [3, 'c', true, 20],
          [4, 'd', false, 20],
          [5, 'e', false, 30],
          [6, 'a', true, 30],
          [7, 'd', true, 30],
        ]);
        expect((await all(store.current(d.name, { epoch: r.epoch }))).map((c) => c.key)).to.deep.equal(['e']);
        expect((await all(store.journal(d.name))).map((j) => j.text)).to.deep.equal(['"j1"']);
        // idempotency keys are per epoch: the rebuilt epoch knows the replayed one
        expect(
          (await store.append(d.name, { writes: [write('z', 1)], idempotencyKey: 'm2' })).duplicate,
        ).to.equal(true);
        await eventually(() =>
          notices.some((n) => n.dataset === d.name && n.epoch === r.epoch) ? true : undefined,
        );
        off();
      });

      it('when a reader streams the old epoch while a rebuild switches, then it still reads its whole consistent view', async () => {
        const d = await dataset();
        const n = 3_000;
        await store.append(d.name, { writes: Array.from({ length: n }, (_, i) => write(`k${i}`, i)) });
        const it = store.changes(d.name, { epoch: d.epoch, afterSeq: 0 })[Symbol.asyncIterator]();
        const first = await it.next();
        expect(first.value).to.include({ seq: 1 });
        async function* replay(): AsyncGenerator<AppendRequest> {
          yield { writes: [write('only', 1)] };
        }
        const r = await store.rebuild(d.name, replay());
        expect((await store.getDataset(d.name))!.epoch).to.equal(r.epoch);
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
        await store.append(d.name, { writes: [write('a', 1)] });
        const { replay, running, release } = gatedReplay([
          { writes: [write('a', 1), write('b', 1)] },
          { writes: [write('c', 1)] },
        ]);
        const rebuilding = store.rebuild(d.name, replay);
        await running;
        let appended: AppendResult | undefined;
        const appending = store.append(d.name, { writes: [write('late', 1)] }).then((r) => (appended = r));
        // the rebuild holds at its gate: readers keep the old epoch, and the append is not in it
        expect((await store.getDataset(d.name))!.epoch).to.equal(d.epoch);
        expect(await store.get(d.name, 'late')).to.equal(undefined);
        expect(appended).to.equal(undefined);
        release();
        const r = await rebuilding;
        await appending;
        expect(appended!.epoch).to.equal(r.epoch);
        expect(appended!.lastSeq).to.equal(4);
        expect((await store.get(d.name, 'late'))!.seq).to.equal(4);
      });

      it('when a rebuild fails, then the dataset keeps its old epoch and data and takes appends again', async () => {
        const d = await dataset();
        await store.append(d.name, { writes: [write('a', 1)] });
        async function* replay(): AsyncGenerator<AppendRequest> {
          yield { writes: [write('x', 1)] };
          throw new Error('journal unreadable');
        }
        let failed = false;
        await store.rebuild(d.name, replay()).catch(() => (failed = true));
        expect(failed).to.equal(true);
        const rec = (await store.getDataset(d.name))!;
        expect(rec).to.include({ epoch: d.epoch, lastSeq: 1, count: 1 });
        expect(await store.get(d.name, 'x')).to.equal(undefined);
        expect((await store.append(d.name, { writes: [write('b', 1)] })).lastSeq).to.equal(2);
      });
    });

    // ---- durability and lifecycle ---------------------------------------------------------------

    describe('lifecycle', () => {
      it('when the store is closed and opened again, then datasets, data, side data and the secret are all there', async () => {
        const h = await factory.create();
        let s = await h.open();
        try {
          const name = uniqueName();
          const { record } = await s.putDataset(name, () => ({ config: { t: 1 }, keyHashes: KEYS }));
          await s.append(name, {
            writes: [write('a', 1)],
            journal: '"j"',
            aux: [{ ns: 'n', key: 'k', value: 'v' }],
            blobs: [{ id: 'b', contentType: 'x/y', bytes: new Uint8Array([7]) }],
            attrs: () => ({ x: 1 }),
          });
          const secret = await s.secret();
          await s.auxCount(name, 'quota', 'k', '1', 5);
          await s.auxCount(name, 'quota', 'k', '1', 5);
          await s.close();
          s = await h.open();
          const rec = (await s.getDataset(name))!;
          expect(rec).to.include({ epoch: record.epoch, lastSeq: 1, count: 1 });
          expect(rec.attrs).to.deep.equal({ x: 1 });
          expect(await s.secret()).to.equal(secret);
          expect((await s.get(name, 'a'))!.doc).to.equal('1');
          expect(await s.auxGet(name, 'n', 'k')).to.equal('v');
          expect(await s.auxCount(name, 'quota', 'k', '1', 5)).to.deep.equal({ used: 3, allowed: true });
          expect((await s.getBlob(name, 'b'))!.contentType).to.equal('x/y');
          expect(await all(s.journal(name))).to.have.length(1);
          expect(await s.findKeyHash(KEYS.push)).to.deep.equal({ dataset: name, role: 'push' });
          expect((await s.append(name, { writes: [write('b', 1)] })).lastSeq).to.equal(2);
        } finally {
          await s.close();
          await h.destroy();
        }
      });

      it('when the store closes while appends are queued, then they complete first and later ones get 503', async () => {
        const h = await factory.create();
        const s = await h.open();
        try {
          const name = uniqueName();
          await s.putDataset(name, () => ({ config: {}, keyHashes: KEYS }));
          const pending = Array.from({ length: 10 }, (_, i) =>
            s.append(name, { writes: [write(`k${i}`, i)] }),
          );
          const closing = s.close();
          const results = await Promise.all(pending);
          await closing;
          expect(results.map((r) => r.lastSeq).sort((a, b) => a - b)).to.deep.equal([
            1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
          ]);
          const err = await rejection(s.append(name, { writes: [write('late', 1)] }));
          expect(err.status).to.equal(503);
          const again = await h.open();
          expect((await again.getDataset(name))!.lastSeq).to.equal(10);
          await again.close();
        } finally {
          await h.destroy();
        }
      });
    });

    describe('a closed store', () => {
      it('when the store is closed, then every method fails with 503 STORE_CLOSED, ready says so and close again is a no-op', async () => {
        const h = await factory.create();
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

    describe('format version', () => {
      it('when the data was written by a newer build, then opening it fails with STORE_FORMAT_NEWER and leaves it as it was', async () => {
        const h = await factory.create();
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

    // ---- several hub processes on one store (engines that scale out) ---------------------------

    if (factory.shared)
      describe('several stores on the same data', function () {
        let a: Store;
        let b: Store;
        let h: EngineHarness;
        before(async function () {
          h = await factory.create();
          if (!h.peer) throw new Error(`${factory.name} says it is shared but gives no peer`);
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

    // ---- backup ---------------------------------------------------------------------------------

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
        await store.putDataset(name, () => ({ config: { title: 'backup' }, keyHashes: KEYS }));
        await store.append(name, {
          writes: [write('a', 1), write('b\u0000|x', 2), write('c', 3)],
          journal: JSON.stringify({ raw: 'first' }),
          blobs: [{ id: 'blob-1', contentType: 'image/png', bytes: new Uint8Array([0, 1, 2, 255]) }],
          aux: [{ ns: 'ns!x', key: 'k\u0000', value: 'v|1' }],
          idempotencyKey: 'req-1',
          attrs: (a) => ({ ...a, types: ['t'] }),
        });
        await store.append(name, {
          writes: [write('a', 10), del('c')],
          journal: JSON.stringify({ raw: 'second' }),
        });
        return name;
      }

      it('when a store is exported and the export imported into an empty store, then every dataset reads the same: record, changes, state, journal, blobs, aux, idempotency keys and the secret', async () => {
        const name = await filled();
        const records = await all(store.exportAll());
        const other = await factory.create();
        const copy = await other.open();
        try {
          async function* replay() {
            yield* records;
          }
          const summary = await copy.importAll(replay());
          expect(summary.datasets).to.equal((await store.listDatasets()).length);
          expect(await copy.secret()).to.equal(await store.secret());
          expect(await contentOf(copy, name)).to.deep.equal(await contentOf(store, name));
          expect((await copy.getDataset(name))!.epoch).to.equal((await store.getDataset(name))!.epoch);
          expect(await copy.findKeyHash(KEYS.read)).to.not.equal(undefined);
          // the idempotency key came along: the same request again is a duplicate
          const again = await copy.append(name, { writes: [write('z', 1)], idempotencyKey: 'req-1' });
          expect(again.duplicate).to.equal(true);
          // and the imported changelog goes on from where it was
          const next = await copy.append(name, { writes: [write('new', 1)] });
          expect(next.lastSeq).to.equal((await store.getDataset(name))!.lastSeq + 1);
        } finally {
          await copy.close();
          await other.destroy();
        }
      });

      it('when appends are committed while an export is being read, then the export holds exactly what was committed when it started', async () => {
        const name = await filled();
        const before = (await store.getDataset(name))!;
        const exported: BackupRecord[] = [];
        let appended = false;
        for await (const r of store.exportAll()) {
          exported.push(r);
          // the export is under way (its first records are read): commit more, then read on
          if (!appended) {
            appended = true;
            const r2 = await store.append(name, { writes: [write('late', 1), write('a', 99)] });
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
        const before = (await store.listDatasets()).length;
        async function* one(): AsyncGenerator<BackupRecord> {
          yield* (await all(store.exportAll())).slice(0, 2);
        }
        const err = await rejection(store.importAll(one()));
        expect(err.code).to.equal('STORE_NOT_EMPTY');
        expect((await store.listDatasets()).length).to.equal(before);
      });
    });
  });
}
