import { expect } from 'chai';
import { ClassicLevel } from 'classic-level';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { spawnHub } from './helpers/hub-process.js';
import { CONTEXT, createDataset, milking } from './helpers/data.js';
import { call } from './helpers/http.js';
import { startTestHub, tempDir, TEST_ENGINE } from './helpers/hub.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
const BATCHES = 40;
const PER_BATCH = 250;

async function hubCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['bin/hub.js', ...args], { cwd: root });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

interface Report {
  datasets: Array<{
    name: string;
    changes: number;
    gaps: { count: number };
    missingState: number;
    staleState: number;
    extraState: number;
  }>;
  fixed: boolean;
  consistent: boolean;
}

describe('a damaged LevelDB data directory: start-up message, hub repair and its report (docs/backups.md)', function () {
  before(function () {
    if (TEST_ENGINE === 'postgres') {
      console.log('      skipped: LevelDB only, run by the LevelDB pass (npm test)');
      this.skip();
    }
  });

  this.timeout(120_000);
  const dir = tempDir('hub-damaged-');
  const location = join(dir, 'leveldb');
  let readKey = '';
  let truncated = '';

  before(async () => {
    const hub = await startTestHub({ storeUrl: '' }, dir);
    const keys = await createDataset(hub, 'dmg');
    readKey = keys.readKey;
    for (let b = 0; b < BATCHES; b++) {
      const body = [CONTEXT, ...Array.from({ length: PER_BATCH }, (_, i) => milking(b * PER_BATCH + i))];
      const r = await call(`${hub.url}/datasets/dmg/resources`, { token: keys.pushKey, body });
      expect(r.status, r.text).to.equal(200);
    }
    const epoch = (await hub.running.hub.store.getDataset('dmg'))!.epoch;
    await hub.running.close();
    // lay the database out as a long-running hub's is: compacted into many ~2 MB table files
    // (uncompressed here, so the test can see which file holds which table)
    const db = new ClassicLevel(location, { compression: false });
    await db.open();
    await db.compactRange('\u0000', '\u00ff');
    await db.close();
    // damage a table file of the current-state index only: what the changelog can rebuild
    const files = readdirSync(location)
      .filter((f) => f.endsWith('.ldb'))
      .sort();
    truncated = files.find((f) => {
      const text = readFileSync(join(location, f), 'latin1');
      return text.includes(`k!${epoch}!`) && !text.includes(`c!${epoch}!`);
    })!;
    expect(truncated, `a state-only table file among ${files.join(' ')}`).to.be.a('string');
    truncateSync(join(location, truncated), Math.floor(statSync(join(location, truncated)).size / 2));
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  it('when the hub starts on a directory with a truncated table file, then it exits 5 with a message naming the file and hub repair', async () => {
    const err = await spawnHub({ dataDir: dir }).then(
      async (h) => {
        await h.kill();
        return undefined;
      },
      (e: Error) => e,
    );
    expect(err?.message).to.match(/exited with 5/);
    expect(err?.message).to.include(`could not be opened: Corruption: table file ${truncated} is truncated`);
    expect(err?.message).to.include(`hub repair --data-dir ${dir}`);
  });

  it('when hub repair runs, then it reports the state entries the damaged file held and rewrites them from the changelog; a second check finds nothing and the hub serves every change', async () => {
    const before = await hubCli(['repair', '--data-dir', dir, '--check-only']);
    // check-only cannot open it either: the damage is found by the first read of that file or the table check
    const repaired = await hubCli(['repair', '--data-dir', dir]);
    expect(repaired.code, repaired.stderr).to.equal(0);
    const report = JSON.parse(repaired.stdout) as Report;
    const d = report.datasets.find((x) => x.name === 'dmg')!;
    expect(d.changes, 'the changelog is whole').to.equal(BATCHES * PER_BATCH);
    expect(d.gaps.count).to.equal(0);
    expect(d.missingState, 'state entries lost with the table file').to.be.greaterThan(0);
    console.log(
      `      repair: ${truncated} cut in half; ${d.missingState} of ${d.changes} state entries lost and rewritten from the changelog`,
    );
    expect(report.fixed).to.equal(true);
    expect(report.consistent).to.equal(true);
    expect(repaired.stderr).to.match(/indexes rewritten from the changelog/);
    expect(before.code).to.not.equal(0);

    const again = await hubCli(['repair', '--data-dir', dir, '--check-only']);
    expect(again.code, again.stderr).to.equal(0);
    const clean = (JSON.parse(again.stdout) as Report).datasets.find((x) => x.name === 'dmg')!;
    expect([clean.missingState, clean.staleState, clean.extraState]).to.deep.equal([0, 0, 0]);

    const hub = await spawnHub({ dataDir: dir });
    try {
      const info = (await call(`${hub.url}/datasets/dmg`, { token: readKey })).json as {
        lastSeq: number;
        count: number;
      };
      expect(info.lastSeq).to.equal(BATCHES * PER_BATCH);
      expect(info.count).to.equal(BATCHES * PER_BATCH);
      const feed = await call(`${hub.url}/datasets/dmg/changes?limit=100000`, { token: readKey });
      expect(feed.status).to.equal(200);
      expect((feed.json as unknown[]).length - 2).to.equal(BATCHES * PER_BATCH);
    } finally {
      await hub.stop();
    }
  });
});
