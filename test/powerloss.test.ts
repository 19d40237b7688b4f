import { expect } from 'chai';
import {
  closeSync,
  existsSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { spawnHub, type HubProcess } from './helpers/hub-process.js';
import { CONTEXT, milking } from './helpers/data.js';
import { call } from './helpers/http.js';
import { eventually } from './helpers/poll.js';
import {
  addCounts,
  checkTargets,
  createTargets,
  DIALECTS,
  expectOnlyOverload,
  pushUntilInterrupted,
  type Target,
} from './helpers/crash.js';
import { removeTestData, tempDir, TEST_ENGINE } from './helpers/hub.js';
import { freshSchema } from './helpers/pg.js';
import { startPgServer, type PgServer } from './helpers/pg-server.js';
import {
  mountVolatile,
  volatileUnavailable,
  type CutReport,
  type VolatileMount,
} from './powerloss/volatile.js';

/**
 * Power loss, not only process death: the store's files live on volatilefs (test/powerloss), which
 * forgets on a cut whatever was not fsynced, as a machine losing power does. SIGKILL alone cannot
 * show a missing fsync: the kernel keeps the page cache of a killed process.
 *
 * Rounds in `npm test`; POWERLOSS_ROUNDS for longer runs. Each pass runs its own engine's test
 * (npm test: LevelDB, npm run test:pg: PostgreSQL on a server of the test's own whose data
 * directory is on volatilefs); POWERLOSS_ENGINES=leveldb,postgres runs both. For a by-hand
 * mutation run, POWERLOSS_PG_SETTINGS='{"fsync":"off"}' passes settings to that server.
 */
const ROUNDS = Number(process.env.POWERLOSS_ROUNDS ?? 2);
const PUSHERS = 16;
const ENGINES = (process.env.POWERLOSS_ENGINES ?? TEST_ENGINE).split(',');
const PG_SETTINGS = JSON.parse(process.env.POWERLOSS_PG_SETTINGS ?? '{}') as Record<string, string>;

/** What one power-loss run on an engine needs: a hub to start, and how its store loses power. */
interface Rig {
  start(): Promise<HubProcess>;
  /** the rest of the machine going dark beside the hub (PostgreSQL's processes) */
  powerOff(): Promise<void>;
  /** back on after the remount (PostgreSQL starts and recovers from its WAL) */
  powerOn(): Promise<void>;
  destroy(): Promise<void>;
}

async function levelRig(vol: VolatileMount): Promise<Rig> {
  const dir = join(vol.dir, 'hub');
  return {
    start: () => spawnHub({ dataDir: dir, env: { STORE_URL: '' } }), // '' is LevelDB whatever the pass
    powerOff: async () => undefined,
    powerOn: async () => undefined,
    destroy: async () => undefined,
  };
}

async function pgRig(
  vol: VolatileMount,
  settings: Record<string, string | number> = PG_SETTINGS,
): Promise<Rig> {
  // TCP only: no unix socket on the filesystem under test
  const server: PgServer = await startPgServer({
    dataDir: join(vol.dir, 'pg'),
    settings: { unix_socket_directories: "''", ...settings },
  });
  // initdb ran with --no-sync: the set-up is the durable starting point, as if synced long ago
  await vol.sync();
  const schema = freshSchema(server.url);
  const hubDir = tempDir('hub-powerloss-pg-');
  return {
    start: () => spawnHub({ dataDir: hubDir, env: { STORE_URL: schema.url } }),
    powerOff: () => server.powerOff(),
    powerOn: () => server.start(),
    async destroy() {
      await server.stop().catch(() => undefined);
      await removeTestData(hubDir);
    },
  };
}

interface Run {
  readonly engine: string;
  readonly acknowledged: Record<string, number>;
  readonly cut: Record<string, number>;
  readonly distinct: number;
  readonly checks: number;
  readonly cuts: CutReport[];
}

/** Rounds of push, power cut (hub SIGKILLed at once), remount, restart, check. */
async function powerLossRounds(
  makeRig: (vol: VolatileMount) => Promise<Rig>,
  rounds: number,
  onTargets?: (t: readonly Target[]) => void,
): Promise<Run> {
  const vol = await mountVolatile();
  let rig: Rig | undefined;
  let hub: HubProcess | undefined;
  try {
    rig = await makeRig(vol);
    hub = await rig.start();
    const engine = hub.engine;
    const targets = await createTargets(hub, 'power');
    onTargets?.(targets);
    const acknowledged: Record<string, number> = {};
    const cut: Record<string, number> = {};
    const cuts: CutReport[] = [];
    let checks = 0;
    for (let round = 0; round < rounds; round++) {
      const r = await pushUntilInterrupted({
        hub,
        targets,
        round,
        pushers: PUSHERS,
        interrupt: async () => {
          // the cut first: from this instant nothing more reaches the disk; then everything dies
          cuts.push(await vol.cut());
          await Promise.all([hub!.kill(), rig!.powerOff()]);
        },
      });
      hub = undefined;
      expectOnlyOverload(r.before);
      expect(
        Object.values(r.cut).reduce((a, b) => a + b, 0),
        `round ${round}: pushes cut`,
      ).to.be.greaterThan(0);
      addCounts(acknowledged, r.acknowledged);
      addCounts(cut, r.cut);
      await vol.remount();
      await rig.powerOn();
      hub = await rig.start();
      checks += await checkTargets(hub, targets);
    }
    for (const d of DIALECTS) {
      expect(acknowledged[d.name], `${d.name}: acknowledged at least once per round`).to.be.at.least(rounds);
    }
    const distinct = targets.reduce((n, t) => n + t.acknowledged.size, 0);
    return { engine, acknowledged, cut, distinct, checks, cuts };
  } finally {
    await hub?.kill().catch(() => undefined);
    await rig?.powerOff().catch(() => undefined);
    await rig?.destroy().catch(() => undefined);
    await vol.destroy();
  }
}

function report(run: Run, rounds: number): void {
  const dropped = run.cuts.map((c) => `${c.rolled_back_files} files/${c.undone_dir_changes} dir changes`);
  console.log(
    `      power loss (${run.engine}): ${rounds} rounds; acknowledged ${JSON.stringify(run.acknowledged)} = ` +
      `${run.distinct} distinct batches, lost 0, torn 0; cut mid-push ${JSON.stringify(run.cut)}; ` +
      `${run.checks} batch checks; volatile state dropped per cut: ${dropped.join(', ')}`,
  );
}

describe('power loss: volatilefs cuts the power while 16 clients push through every protocol', function () {
  this.timeout(120_000 + ROUNDS * 60_000);

  before(function () {
    const reason = volatileUnavailable();
    if (reason) {
      console.log(`      skipped: ${reason}`);
      this.skip();
    }
  });

  it('when the power is cut, then what was fsynced is kept and nothing else: file data, new names and renames', async () => {
    const vol = await mountVolatile();
    try {
      const d = vol.dir;
      const synced = (path: string): void => {
        const fd = openSync(path, 'r');
        fsyncSync(fd);
        closeSync(fd);
      };
      writeFileSync(join(d, 'log'), 'kept');
      synced(join(d, 'log')); // a new file's fsync keeps its data and its name
      const fd = openSync(join(d, 'log'), 'a');
      writeSync(fd, '+lost');
      closeSync(fd);
      writeFileSync(join(d, 'unsynced'), 'x');
      writeFileSync(join(d, 'tmp'), 'new');
      synced(join(d, 'tmp'));
      renameSync(join(d, 'tmp'), join(d, 'log')); // no fsync of anything after it
      writeFileSync(join(d, 'late'), 'y');
      expect(readFileSync(join(d, 'log'), 'utf8')).to.equal('new');
      await vol.cut();
      await vol.remount();
      expect(readFileSync(join(d, 'log'), 'utf8'), 'unsynced append dropped, rename undone').to.equal('kept');
      expect(existsSync(join(d, 'tmp')), 'the renamed file is back under its old name').to.equal(true);
      expect(existsSync(join(d, 'late')), 'a name made after the last fsync is gone').to.equal(false);
      // 'unsynced' was named before tmp's fsync, which committed the journal: its name, not its data
      expect(
        readFileSync(join(d, 'unsynced'), 'utf8'),
        'an fsync keeps earlier names, not their data',
      ).to.equal('');
    } finally {
      await vol.destroy();
    }
  });

  it('when the disk fails writes under LevelDB, then a push is 503 STORE_IO_ERROR with Retry-After, none of it is stored, reads go on, and once the disk heals pushes go through again, with no restart and after one', async () => {
    const vol = await mountVolatile();
    const dir = join(vol.dir, 'hub');
    let hub: HubProcess | undefined;
    try {
      hub = await spawnHub({ dataDir: dir, env: { STORE_URL: '' } });
      const created = await call(`${hub.url}/datasets/bad-disk`, {
        method: 'PUT',
        token: hub.adminToken,
        body: {},
      });
      const { pushKey, readKey } = created.json as { pushKey: string; readKey: string };
      const pushIcar = (h: HubProcess, n: number) =>
        call(`${h.url}/datasets/bad-disk/resources`, { token: pushKey, body: [CONTEXT, milking(n)] });
      expect((await pushIcar(hub, 1)).status).to.equal(200);
      await vol.failWrites(true);
      const failed = await pushIcar(hub, 2);
      expect(failed.status, failed.text).to.equal(503);
      expect(failed.headers.get('retry-after'), 'Retry-After').to.not.equal(null);
      // an EIO is said in words, like a full disk (docs/backups.md)
      expect((failed.json as { error: { code: string } }).error.code).to.equal('STORE_IO_ERROR');
      // the failed write left nothing behind in what readers see (the cache beside it was reset)
      const d = (await call(`${hub.url}/datasets/bad-disk`, { token: readKey })).json as { lastSeq: number };
      expect(d.lastSeq).to.equal(1);
      const feed = (await call(`${hub.url}/datasets/bad-disk/changes`, { token: readKey })).json as unknown[];
      expect(feed.slice(1, -1)).to.have.length(1);
      expect((await call(`${hub.url}/health`)).status).to.equal(200);
      // healed: the same process reopens its database and takes pushes again
      await vol.failWrites(false);
      const running = hub;
      await eventually(
        async () => ((await pushIcar(running, 3)).status === 200 ? true : undefined),
        30_000,
        'a push to succeed on the healed disk without a restart',
      );
      await hub.kill();
      hub = undefined;
      hub = await spawnHub({ dataDir: dir, env: { STORE_URL: '' } });
      const after = (await call(`${hub.url}/datasets/bad-disk`, { token: readKey })).json as {
        lastSeq: number;
      };
      expect(after.lastSeq, 'the failed push is not there after the restart either').to.equal(2);
      const items = (await call(`${hub.url}/datasets/bad-disk/changes`, { token: readKey })).json as Array<{
        id?: string;
      }>;
      expect(items.slice(1, -1).map((i) => i.id)).to.deep.equal(['mv-1', 'mv-3']);
      expect((await pushIcar(hub, 2)).status).to.equal(200);
    } finally {
      await hub?.kill().catch(() => undefined);
      await vol.destroy();
    }
  });

  if (ENGINES.includes('leveldb')) {
    it(`when the power is cut mid-push ${ROUNDS} times under LevelDB, then every acknowledged batch is whole, none is partial, sequences have no gaps and old tokens still work`, async () => {
      const run = await powerLossRounds(levelRig, ROUNDS);
      expect(run.engine).to.equal('leveldb');
      report(run, ROUNDS);
    });
  }

  if (ENGINES.includes('postgres')) {
    it(`when the power is cut mid-push ${ROUNDS} times under PostgreSQL (its data directory on volatilefs), then every acknowledged batch is whole, none is partial, sequences have no gaps and old tokens still work`, async () => {
      const run = await powerLossRounds(pgRig, ROUNDS);
      expect(run.engine).to.equal('postgresql');
      report(run, ROUNDS);
    });

    it('when PostgreSQL acknowledges commits before they are flushed (synchronous_commit = off), then the power cut loses acknowledged batches: the test sees a missing flush', async () => {
      // a WAL writer that waits 10 s: every commit of the round is still in memory at the cut
      const unsafe = (vol: VolatileMount): Promise<Rig> =>
        pgRig(vol, { synchronous_commit: 'off', wal_writer_delay: "'10s'" });
      let failure: Error | undefined;
      try {
        await powerLossRounds(unsafe, 1);
      } catch (err) {
        failure = err as Error;
      }
      expect(failure?.message).to.match(/acknowledged batches lost/);
      console.log(`      synchronous_commit = off, as expected: ${failure!.message.replace(/\n\s*/g, '; ')}`);
    });
  }
});
