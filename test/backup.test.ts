import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Change, Store } from '../src/store/types.js';
import { CONTEXT, createDataset, milking, type DatasetKeys } from './helpers/data.js';
import { call } from './helpers/http.js';
import { startTestHub, tempDir, type TestHub } from './helpers/hub.js';
import { freshSchema, TEST_STORE_URL, type TestSchema } from './helpers/pg.js';
import { startPgServer, type PgServer } from './helpers/pg-server.js';
import { eventually } from './helpers/poll.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
const DATASETS = ['bk-cows', 'bk-goats'];
const PUSHERS = 4;

/** The real `hub` command, as an operator runs it. */
async function hubCli(args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, ['bin/hub.js', ...args], { cwd: root, timeout: 120_000 });
  return stdout;
}

/** A hub on a restored store; '' forces LevelDB under `dir` whatever engine the suite runs on. */
function hubOn(dir: string, storeUrl = ''): Promise<TestHub> {
  return startTestHub({ storeUrl }, dir);
}

function pushBatch(hub: TestHub, dataset: string, key: string, batch: string, size: number) {
  return call(`${hub.url}/datasets/${dataset}/resources`, {
    token: key,
    body: [CONTEXT, ...Array.from({ length: size }, (_, i) => ({ ...milking(i, `src.${batch}`), batch }))],
  });
}

async function feed(hub: TestHub, dataset: string, key: string, since?: string) {
  const r = await call(
    `${hub.url}/datasets/${dataset}/changes?limit=100000${since ? `&since=${since}` : ''}`,
    { token: key },
  );
  expect(r.status, r.text).to.equal(200);
  const arr = r.json as Record<string, unknown>[];
  return {
    items: arr.slice(1, -1),
    token: String(arr.at(-1)?.token),
    fullSync: r.headers.get('icar-full-sync') === 'true',
  };
}

async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

const storeOf = (hub: TestHub): Store => hub.running.hub.store;

/**
 * The restored dataset equals the original up to the backup's point: the same changes 1..N in
 * order, the current state the original had after change N, and the journal as far as it went.
 */
async function expectSameUpToBackup(original: TestHub, restored: TestHub, name: string): Promise<number> {
  const a = (await storeOf(original).getDataset(name))!;
  const b = (await storeOf(restored).getDataset(name))!;
  const n = b.lastSeq;
  expect(n, `${name}: the backup holds changes`).to.be.greaterThan(0);
  const strip = (c: Change) => ({ ...c });
  const before = (await all(storeOf(original).changes(name, { epoch: a.epoch, afterSeq: 0, limit: n }))).map(
    strip,
  );
  const after = (await all(storeOf(restored).changes(name, { epoch: b.epoch, afterSeq: 0 }))).map(strip);
  expect(after.length).to.equal(n);
  expect(after, `${name}: feed up to the backup's point`).to.deep.equal(before);
  const latest = new Map<string, Change>();
  for (const c of before) latest.set(c.key, c);
  const expected = [...latest.values()].sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0));
  const state = await all(storeOf(restored).current(name, { epoch: b.epoch, includeDeleted: true }));
  expect(state, `${name}: current state at the backup's point`).to.deep.equal(expected);
  expect(b.count).to.equal(expected.filter((c) => !c.deleted).length);
  expect(b.config).to.deep.equal(a.config);
  expect(b.keyHashes).to.deep.equal(a.keyHashes);
  const journal = await all(storeOf(restored).journal(name));
  const origJournal = await all(storeOf(original).journal(name));
  expect(journal, `${name}: journal`).to.deep.equal(origJournal.slice(0, journal.length));
  expect(journal.length).to.be.greaterThan(0);
  return n;
}

describe('backup and restore of a running hub (docs/backups.md)', function () {
  this.timeout(240_000);
  let original: TestHub;
  const keys = new Map<string, DatasetKeys>();
  const early = new Map<string, { token: string; items: number }>();
  const late = new Map<string, string>();
  const dirs: string[] = [];
  const hubs: TestHub[] = [];
  let file = '';
  let ackedDuringBackup = 0;

  before(async () => {
    original = await startTestHub();
    for (const d of DATASETS) keys.set(d, await createDataset(original, d));
    for (const d of DATASETS) {
      for (let b = 0; b < 10; b++)
        expect((await pushBatch(original, d, keys.get(d)!.pushKey, `pre-${b}`, 150)).status).to.equal(200);
      // a token issued before the backup: it must keep working on the restored hub
      const f = await feed(original, d, keys.get(d)!.readKey);
      early.set(d, { token: f.token, items: f.items.length });
    }
    const dir = tempDir('hub-backup-');
    dirs.push(dir);
    file = join(dir, 'hub.ndjson.gz');
    let stop = false;
    let backingUp = false;
    let acked = 0;
    const pusher = async (p: number): Promise<void> => {
      const d = DATASETS[p % DATASETS.length]!;
      // some keys rewritten (updates), some new (creates)
      for (let n = 0; !stop; n++) {
        const r = await pushBatch(original, d, keys.get(d)!.pushKey, `load-${p}-${n % 7 === 0 ? 0 : n}`, 40);
        expect(r.status, r.text).to.equal(200);
        acked++;
        if (backingUp) ackedDuringBackup++;
      }
    };
    const pushers = Array.from({ length: PUSHERS }, (_, p) => pusher(p));
    // let the load start, then take the backup through the hub while it goes on
    await eventually(async () => (acked > 0 ? true : undefined), 30_000, 'the push load to start');
    backingUp = true;
    const out = await hubCli(['backup', '--out', file, '--url', original.url, '--key', original.adminToken]);
    backingUp = false;
    expect(out).to.match(/^backup .*: \d+ datasets, \d+ changes, \d+ records, sha256 [0-9a-f]{64}\n$/);
    stop = true;
    await Promise.all(pushers);
    for (const d of DATASETS) {
      // past the backup's point: this token names changes a restored hub never had
      expect((await pushBatch(original, d, keys.get(d)!.pushKey, 'after-backup', 5)).status).to.equal(200);
      late.set(d, (await feed(original, d, keys.get(d)!.readKey)).token);
    }
    console.log(`      backup: ${ackedDuringBackup} pushes acknowledged while the backup ran`);
  });

  after(async () => {
    for (const h of hubs) await h.close().catch(() => undefined);
    await original?.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  async function expectRestored(restored: TestHub): Promise<void> {
    for (const d of DATASETS) {
      const n = await expectSameUpToBackup(original, restored, d);
      const { token, items } = early.get(d)!;
      const on = await feed(restored, d, keys.get(d)!.readKey, token);
      expect(on.fullSync, `${d}: a token from before the backup is no full sync`).to.equal(false);
      expect(on.items.length).to.equal(n - items);
      const past = await feed(restored, d, keys.get(d)!.readKey, late.get(d));
      expect(past.fullSync, `${d}: a token past the backup's point gets the full-sync signal`).to.equal(true);
      expect(past.items.length).to.equal(n);
      // the read and push keys of before work, and the restored changelog takes new pushes
      expect((await pushBatch(restored, d, keys.get(d)!.pushKey, 'on-restored', 3)).status).to.equal(200);
    }
  }

  it('when a backup taken under push load is restored into a new data directory, then every dataset has its feed and state up to the backup, old tokens work and tokens past it get a full sync', async () => {
    const dir = tempDir('hub-restored-');
    dirs.push(dir);
    const out = await hubCli(['restore', '--from', file, '--data-dir', dir]);
    expect(out).to.match(/^restored \d+ datasets, \d+ changes/);
    const restored = await hubOn(dir);
    hubs.push(restored);
    await expectRestored(restored);
  });

  it('when the backup file is damaged or cut short, then restore refuses it and creates nothing', async () => {
    const { existsSync, readFileSync, writeFileSync } = await import('node:fs');
    const { gunzipSync, gzipSync } = await import('node:zlib');
    const text = gunzipSync(readFileSync(file)).toString('utf8');
    const dir = tempDir('hub-bad-');
    dirs.push(dir);
    const tampered = join(dir, 'tampered.gz');
    writeFileSync(tampered, gzipSync(text.replace('milkingType', 'milkingTypo')));
    const cut = join(dir, 'cut.gz');
    writeFileSync(cut, gzipSync(text.slice(0, text.lastIndexOf('{"t":"end"'))));
    for (const [f, why] of [
      [tampered, /damaged: checksum/],
      [cut, /incomplete: its end line is missing/],
    ] as const) {
      const err = await hubCli(['restore', '--from', f, '--data-dir', join(dir, 'data')]).then(
        () => undefined,
        (e: { code?: number; stderr?: string }) => e,
      );
      expect(err?.code).to.equal(2);
      expect(err?.stderr).to.match(why);
      expect(existsSync(join(dir, 'data')), 'no data directory was made').to.equal(false);
    }
  });

  describe('across engines: LevelDB → PostgreSQL → LevelDB', () => {
    let server: PgServer | undefined;
    let schema: TestSchema;

    before(async () => {
      server = TEST_STORE_URL ? undefined : await startPgServer();
      schema = freshSchema(TEST_STORE_URL ?? server!.url);
    });
    after(async () => {
      await schema?.drop().catch(() => undefined);
      await server?.destroy();
    });

    it('when a LevelDB backup is restored into PostgreSQL, backed up there and restored into LevelDB again, then every dataset is still the same up to the backup and old tokens work', async () => {
      const dir = tempDir('hub-xengine-');
      dirs.push(dir);
      // LevelDB → PostgreSQL (hub restore --store-url), checked on a hub running on PostgreSQL
      const leveldb = join(dir, 'from-leveldb');
      await hubCli(['restore', '--from', file, '--data-dir', leveldb]);
      const levelHub = await hubOn(leveldb);
      hubs.push(levelHub);
      const levelFile = join(dir, 'leveldb.ndjson.gz');
      await hubCli(['backup', '--out', levelFile, '--url', levelHub.url, '--key', levelHub.adminToken]);
      await hubCli(['restore', '--from', levelFile, '--store-url', schema.url]);
      const pgHub = await startTestHub({ storeUrl: schema.url }, join(dir, 'pg-hub'));
      hubs.push(pgHub);
      expect(storeOf(pgHub).engine).to.equal('postgresql');
      await expectRestored(pgHub);
      // PostgreSQL → LevelDB, straight from the store (no hub needed for PostgreSQL)
      const pgFile = join(dir, 'pg.ndjson.gz');
      await hubCli(['backup', '--out', pgFile, '--store-url', schema.url]);
      const back = join(dir, 'back');
      await hubCli(['restore', '--from', pgFile, '--data-dir', back]);
      const backHub = await hubOn(back);
      hubs.push(backHub);
      expect(storeOf(backHub).engine).to.equal('leveldb');
      // the pushes made on the PostgreSQL hub are part of this backup: compare with it
      for (const d of DATASETS) {
        await expectSameUpToBackup(pgHub, backHub, d);
        const { token } = early.get(d)!;
        const on = await feed(backHub, d, keys.get(d)!.readKey, token);
        expect(on.fullSync, `${d}: a token of the first hub still works two restores later`).to.equal(false);
      }
    });
  });
});
