import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnHub, type HubProcess } from './helpers/hub-process.js';
import { CONTEXT, milking } from './helpers/data.js';
import { call } from './helpers/http.js';
import { eventually } from './helpers/poll.js';
import { startPgServer, type PgServer } from './helpers/pg-server.js';
import { startTestHub, tempDir, TEST_ENGINE, type TestHub } from './helpers/hub.js';
import pg from 'pg';
import { chownSync } from 'node:fs';
import { mountTmpfs, umount } from './helpers/tmpfs.js';

/**
 * A small disk: a 40 MB tmpfs mounted as the data directory of a child hub (mounting needs root;
 * elsewhere the tests skip and say why). Part of the tmpfs is taken by a ballast file the test
 * deletes to "free space" without touching the hub.
 */
const IS_ROOT = process.getuid?.() === 0;
const PUSHERS = 8;
const BALLAST_MB = 12;

interface Target {
  readonly dataset: string;
  readonly pushKey: string;
  readonly readKey: string;
}

function freeBytes(dir: string): number {
  const s = statfsSync(dir);
  return s.bavail * s.bsize;
}

async function createTarget(hub: HubProcess, dataset: string): Promise<Target> {
  const r = await call(`${hub.url}/datasets/${dataset}`, { method: 'PUT', token: hub.adminToken, body: {} });
  expect(r.status, r.text).to.equal(201);
  const { pushKey, readKey } = r.json as { pushKey: string; readKey: string };
  return { dataset, pushKey, readKey };
}

/** One ICAR batch whose every resource carries `batch` (ids unique per batch: every one is a change). */
function pushBatch(hub: HubProcess, t: Target, batch: string, size: number) {
  return call(`${hub.url}/datasets/${t.dataset}/resources`, {
    token: t.pushKey,
    body: [CONTEXT, ...Array.from({ length: size }, (_, i) => ({ ...milking(i, `src.${batch}`), batch }))],
  });
}

/** The whole feed, page after page: resource → how many items each batch has in it. */
async function batchesInFeed(hub: HubProcess, t: Target): Promise<Map<string, number>> {
  const byBatch = new Map<string, number>();
  let since: string | undefined;
  while (true) {
    const r = await call(
      `${hub.url}/datasets/${t.dataset}/changes?limit=5000${since ? `&since=${since}` : ''}`,
      { token: t.readKey },
    );
    expect(r.status, r.text).to.equal(200);
    const arr = r.json as Record<string, unknown>[];
    const items = arr.slice(1, -1);
    for (const item of items) {
      const b = item.batch as string;
      byBatch.set(b, (byBatch.get(b) ?? 0) + 1);
    }
    since = String(arr.at(-1)?.token);
    if (items.length < 5000) return byBatch;
  }
}

/** GET /ready: its HTTP status, its status word and the disk state it carries. */
async function ready(url: string): Promise<{ http: number; status: string; disk: Record<string, unknown> }> {
  const r = await call(`${url}/ready`);
  const body = r.json as { status: string; disk: Record<string, unknown> };
  return { http: r.status, status: body.status, disk: body.disk };
}

async function metric(hub: HubProcess, sample: string): Promise<number | undefined> {
  const line = (await call(`${hub.url}/metrics`)).text.split('\n').find((l) => l.startsWith(sample + ' '));
  return line === undefined ? undefined : Number(line.slice(sample.length + 1));
}

describe('disk full: a 40 MB tmpfs as the data directory (docs/backups.md)', function () {
  this.timeout(180_000);
  let dir = '';
  let hub: HubProcess | undefined;

  before(function () {
    if (!IS_ROOT) {
      console.log('      skipped: mounting a tmpfs needs root');
      this.skip();
    }
    if (TEST_ENGINE === 'postgres') {
      // the LevelDB engine's disk: the PostgreSQL pass has its own case below
      console.log('      skipped: LevelDB only, run by the LevelDB pass (npm test)');
      this.skip();
    }
  });

  beforeEach(() => {
    dir = tempDir('hub-disk-');
    mountTmpfs(dir, 40);
    mkdirSync(join(dir, 'data'));
  });

  afterEach(async () => {
    await hub?.kill();
    hub = undefined;
    if (dir) umount(dir);
  });

  it('when 8 pushers fill the disk, then every acknowledged batch is whole, refusals are 503 STORE_DISK_FULL with Retry-After, pulls work, /ready and a metric say it, and pushes succeed again once space is freed, with no restart', async () => {
    const ballast = join(dir, 'ballast');
    writeFileSync(ballast, Buffer.alloc(BALLAST_MB * 1024 * 1024, 1));
    hub = await spawnHub({ dataDir: join(dir, 'data'), env: { DISK_FREE_FLOOR_MB: '0' } });
    const h = hub;
    const targets = [await createTarget(h, 'full-a'), await createTarget(h, 'full-b')];
    const sizes = new Map<string, number>();
    const acknowledged = new Map<string, Set<string>>(targets.map((t) => [t.dataset, new Set()]));
    const refusals = new Map<string, number>();
    let diskFullAnswers = 0;
    const pusher = async (p: number): Promise<void> => {
      const t = targets[p % targets.length]!;
      let fullSeen = 0;
      for (let n = 0; fullSeen < 3; n++) {
        const batch = `p${p}-n${n}`;
        const size = 20 + ((p * 7 + n * 3) % 30);
        sizes.set(batch, size);
        const r = await pushBatch(h, t, batch, size);
        if (r.status === 200) {
          acknowledged.get(t.dataset)!.add(batch);
          continue;
        }
        const code = (r.json as { error?: { code?: string } } | undefined)?.error?.code ?? `HTTP ${r.status}`;
        refusals.set(code, (refusals.get(code) ?? 0) + 1);
        // the hub's back-pressure is allowed while the disk slows down; nothing else is
        expect(['STORE_DISK_FULL', 'OVERLOADED'], `push answered ${r.status} ${r.text}`).to.include(code);
        expect(r.status).to.equal(503);
        expect(Number(r.headers.get('retry-after'))).to.be.greaterThan(0);
        if (code === 'STORE_DISK_FULL') {
          fullSeen++;
          diskFullAnswers++;
        }
      }
    };
    await Promise.all(Array.from({ length: PUSHERS }, (_, p) => pusher(p)));
    const acked = [...acknowledged.values()].reduce((n, s) => n + s.size, 0);
    console.log(
      `      disk full: ${acked} batches acknowledged, refusals ${JSON.stringify(Object.fromEntries(refusals))}, ${freeBytes(dir)} bytes free`,
    );
    expect(acked).to.be.greaterThan(50);
    expect(diskFullAnswers).to.be.at.least(PUSHERS * 3);

    // the hub is still there, says what is wrong, and serves reads
    expect(h.child.exitCode).to.equal(null);
    const sick = await ready(h.url);
    expect([sick.http, sick.status]).to.deep.equal([503, 'unavailable']);
    expect(sick.disk).to.deep.include({ writable: false, disk: 'full' });
    expect(await metric(h, 'hub_store_disk_state{state="full"}')).to.equal(1);
    for (const t of targets) {
      const inFeed = await batchesInFeed(h, t);
      for (const b of acknowledged.get(t.dataset)!)
        expect(inFeed.get(b), `acknowledged batch ${b} is whole`).to.equal(sizes.get(b));
      for (const [b, count] of inFeed) expect(count, `batch ${b} is whole or absent`).to.equal(sizes.get(b));
    }

    // space freed: the next pushes go through, on the same process
    rmSync(ballast);
    const pid = h.child.pid;
    const t = targets[0]!;
    let n = 0;
    await eventually(
      async () => {
        const batch = `after-${n++}`;
        sizes.set(batch, 10);
        const r = await pushBatch(h, t, batch, 10);
        if (r.status !== 200) return undefined;
        acknowledged.get(t.dataset)!.add(batch);
        return true;
      },
      30_000,
      'a push to succeed after space was freed',
    );
    expect(h.child.pid).to.equal(pid);
    expect(h.child.exitCode).to.equal(null);
    const well = await ready(h.url);
    expect([well.http, well.status]).to.deep.equal([200, 'ready']);
    expect(well.disk).to.deep.include({ writable: true, disk: 'ok' });
    const inFeed = await batchesInFeed(h, t);
    for (const b of acknowledged.get(t.dataset)!) expect(inFeed.get(b), `batch ${b}`).to.equal(sizes.get(b));
  });

  it('when free space falls below DISK_FREE_FLOOR_MB, then pushes are refused with STORE_DISK_FULL (reason floor) while the disk still has room, and /ready says low', async () => {
    hub = await spawnHub({ dataDir: join(dir, 'data'), env: { DISK_FREE_FLOOR_MB: '20' } });
    const h = hub;
    const t = await createTarget(h, 'floor');
    let refused: { code?: string; reason?: string; freeBytes?: number } | undefined;
    for (let n = 0; n < 5_000 && !refused; n++) {
      const r = await pushBatch(h, t, `f${n}`, 40);
      if (r.status === 200) continue;
      expect(r.status, r.text).to.equal(503);
      expect(Number(r.headers.get('retry-after'))).to.be.greaterThan(0);
      refused = (r.json as { error: { code?: string; reason?: string; freeBytes?: number } }).error;
    }
    // the floor stopped it, not the disk: LevelDB never ran out of room (that would say enospc)
    expect(refused).to.deep.include({ code: 'STORE_DISK_FULL', reason: 'floor' });
    expect(refused!.freeBytes)
      .to.be.greaterThan(0)
      .and.lessThan(20 * 1024 * 1024);
    expect(freeBytes(dir)).to.be.greaterThan(0);
    const h1 = await ready(h.url);
    expect([h1.http, h1.status]).to.deep.equal([503, 'unavailable']);
    expect(h1.disk).to.deep.include({ writable: false, disk: 'low' });
    expect(h1.disk.fault).to.equal(undefined);
    expect(await metric(h, 'hub_store_disk_state{state="low"}')).to.equal(1);
    expect(await metric(h, 'hub_store_disk_free_bytes')).to.be.lessThan(20 * 1024 * 1024);
    // reads go on below the floor
    expect(
      (await call(`${h.url}/datasets/${t.dataset}/changes?limit=1`, { token: t.readKey })).status,
    ).to.equal(200);
  });
});

/**
 * PostgreSQL out of disk: a server of the test's own whose hub tables live in a tablespace on a
 * small tmpfs (the WAL stays on the big disk, so PostgreSQL answers SQLSTATE 53100 "could not
 * extend file" instead of stopping, as it does when the WAL cannot be written).
 */
describe('disk full on PostgreSQL: the tables on a 24 MB tmpfs tablespace', function () {
  this.timeout(180_000);
  let server: PgServer | undefined;
  let hub: TestHub | undefined;
  let dir = '';

  before(async function () {
    if (!IS_ROOT) {
      console.log('      skipped: mounting a tmpfs needs root');
      this.skip();
    }
    dir = tempDir('hub-pg-disk-');
    mountTmpfs(dir, 24);
    const space = join(dir, 'space');
    mkdirSync(space);
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    chownSync(space, uid, gid);
    server = await startPgServer();
    const admin = new pg.Client({ connectionString: server.adminUrl });
    await admin.connect();
    try {
      await admin.query(`CREATE TABLESPACE small LOCATION '${space}'`);
      await admin.query(`GRANT CREATE ON TABLESPACE small TO hub_test`);
      await admin.query(`ALTER DATABASE hub_test SET default_tablespace = small`);
    } finally {
      await admin.end();
    }
  });

  after(async () => {
    await hub?.close().catch(() => undefined);
    await server?.destroy();
    if (dir) umount(dir);
  });

  it('when pushes fill the tablespace, then they are refused with 503 STORE_DISK_FULL and Retry-After, /ready says full, acknowledged batches are whole, and pushes succeed again once space is freed', async () => {
    const ballast = join(dir, 'ballast');
    writeFileSync(ballast, Buffer.alloc(4 * 1024 * 1024, 1));
    const u = new URL(server!.url);
    u.searchParams.set('schema', 'hub');
    u.searchParams.set('partitions', '1');
    hub = await startTestHub({ storeUrl: u.toString() });
    const h = hub;
    const created = await call(`${h.url}/datasets/pgfull`, { method: 'PUT', token: h.adminToken, body: {} });
    const t = { dataset: 'pgfull', ...(created.json as { pushKey: string; readKey: string }) };
    const sizes = new Map<string, number>();
    const acked: string[] = [];
    let refusal: { status: number; code?: string; retryAfter: string | null } | undefined;
    for (let n = 0; n < 20_000 && !refusal; n++) {
      const batch = `b${n}`;
      sizes.set(batch, 40);
      const r = await call(`${h.url}/datasets/${t.dataset}/resources`, {
        token: t.pushKey,
        body: [CONTEXT, ...Array.from({ length: 40 }, (_, i) => ({ ...milking(i, `src.${batch}`), batch }))],
      });
      if (r.status === 200) acked.push(batch);
      else
        refusal = {
          status: r.status,
          code: (r.json as { error?: { code?: string } }).error?.code,
          retryAfter: r.headers.get('retry-after'),
        };
    }
    console.log(`      PostgreSQL disk full: ${acked.length} batches acknowledged before the refusal`);
    expect(refusal).to.deep.equal({ status: 503, code: 'STORE_DISK_FULL', retryAfter: '30' });
    const sick = await ready(h.url);
    expect([sick.http, sick.status]).to.deep.equal([503, 'unavailable']);
    expect(sick.disk).to.deep.include({ writable: false, disk: 'full' });
    const pulled = new Map<string, number>();
    const f = await call(`${h.url}/datasets/${t.dataset}/changes?limit=100000`, { token: t.readKey });
    expect(f.status).to.equal(200);
    for (const item of (f.json as Record<string, unknown>[]).slice(1, -1))
      pulled.set(item.batch as string, (pulled.get(item.batch as string) ?? 0) + 1);
    for (const b of acked) expect(pulled.get(b), `batch ${b}`).to.equal(40);
    expect(pulled.size).to.equal(acked.length);

    rmSync(ballast);
    await eventually(
      async () => {
        const r = await call(`${h.url}/datasets/${t.dataset}/resources`, {
          token: t.pushKey,
          body: [CONTEXT, { ...milking(1, 'src.after'), batch: 'after' }],
        });
        return r.status === 200 ? true : undefined;
      },
      30_000,
      'a push to succeed once space was freed',
    );
    expect((await ready(h.url)).status).to.equal('ready');
  });
});
