import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { call } from './helpers/http.js';
import { startTestHub, TEST_ENGINE, type TestHub } from './helpers/hub.js';
import { mountTmpfs, umount } from './helpers/tmpfs.js';

describe('probes: /health is liveness, /ready is readiness (issue 15)', () => {
  let hub: TestHub;
  before(async () => {
    hub = await startTestHub();
  });
  after(() => hub.close());

  it('when the store is reachable and writable, then /ready is 200 and names the engine, and /health is ok', async () => {
    const ready = await call(`${hub.url}/ready`);
    expect(ready.status, ready.text).to.equal(200);
    expect(ready.json).to.deep.include({
      status: 'ready',
      engine: TEST_ENGINE === 'postgres' ? 'postgresql' : 'leveldb',
    });
    expect((await call(`${hub.url}/health`)).json).to.deep.equal({ status: 'ok' });
  });

  // a disk of its own to fill: root only (mount)
  const root = process.getuid?.() === 0 && TEST_ENGINE === 'leveldb';
  (root ? it : it.skip)(
    'when the LevelDB disk is full, then /ready is 503 with the reason while /health stays ok',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'hub-ready-'));
      mountTmpfs(dir, 16);
      let own: TestHub | undefined;
      try {
        // no free-space floor: this test is about the probe write (disk-full.test.ts tests the floor)
        own = await startTestHub({ limits: { diskFreeFloorBytes: 0 } }, join(dir, 'data'));
        expect((await call(`${own.url}/ready`)).status).to.equal(200);
        // fill what is left of the disk
        spawnSync('dd', ['if=/dev/zero', `of=${join(dir, 'filler')}`, 'bs=1M', 'count=64'], {
          stdio: 'ignore',
        });
        const r = await call(`${own.url}/ready`);
        expect(r.status, r.text).to.equal(503);
        expect(r.headers.get('retry-after')).to.equal('2');
        expect(r.json).to.deep.include({ status: 'unavailable', engine: 'leveldb' });
        expect((r.json as { reason: string }).reason).to.match(/cannot write/);
        expect((await call(`${own.url}/health`)).json).to.deep.equal({ status: 'ok' });
      } finally {
        rmSync(join(dir, 'filler'), { force: true });
        await own?.running.close().catch(() => undefined);
        umount(dir);
      }
    },
  );
});
