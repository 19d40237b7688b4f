import { expect } from 'chai';
import { join } from 'node:path';
import { CONTEXT, milking } from './helpers/data.js';
import { call } from './helpers/http.js';
import { TEST_ENGINE } from './helpers/hub.js';
import { spawnHub, type HubProcess } from './helpers/hub-process.js';
import { eventually } from './helpers/poll.js';
import { mountVolatile, volatileUnavailable } from './powerloss/volatile.js';

type Item = { id?: string; seq?: number; token?: string };

/**
 * A write the store could not make durable (its fsync failed): the request is answered 503, and
 * what the hub holds in memory about the dataset — its record (last sequence, count) and the heads
 * it keeps for queued pushes (store/level/recent.ts) — must follow what is on disk afterwards, not
 * what the failed write left behind in memory. LevelDB's log may keep a record whose fsync failed
 * and replay it when the database is reopened: the hub then must count it, number the next change
 * after it and know its resource is there.
 *
 * LevelDB only: the PostgreSQL engine keeps no dataset state in memory (every push reads its heads
 * in its transaction), and a failed commit there is rolled back by the server.
 */
describe('a store write that fails its fsync (docs/backups.md)', function () {
  this.timeout(120_000);

  before(function () {
    const reason = volatileUnavailable();
    if (reason) {
      console.log(`      skipped: ${reason}`);
      this.skip();
    }
    if (TEST_ENGINE === 'postgres') {
      console.log('      skipped: LevelDB only, run by the LevelDB pass (npm test)');
      this.skip();
    }
  });

  it('when a push fails its fsync and the disk heals, then the hub follows the disk: the replayed change is counted, the next push numbers after it, and pushing that resource again is no new change', async () => {
    const vol = await mountVolatile();
    let hub: HubProcess | undefined;
    try {
      hub = await spawnHub({ dataDir: join(vol.dir, 'hub'), env: { STORE_URL: '' } });
      const created = await call(`${hub.url}/datasets/flaky`, {
        method: 'PUT',
        token: hub.adminToken,
        body: {},
      });
      const { pushKey, readKey } = created.json as { pushKey: string; readKey: string };
      const h = hub;
      const push = (...ns: number[]) =>
        call(`${h.url}/datasets/flaky/resources`, {
          token: pushKey,
          body: [CONTEXT, ...ns.map((n) => milking(n))],
        });
      const info = async () =>
        (await call(`${h.url}/datasets/flaky`, { token: readKey })).json as {
          lastSeq: number;
          count: number;
        };
      const feed = async () =>
        ((await call(`${h.url}/datasets/flaky/changes`, { token: readKey })).json as Item[]).slice(1, -1);

      expect((await push(1)).status).to.equal(200);
      await vol.failFsyncs();
      const failed = await push(2);
      expect(failed.status, failed.text).to.equal(503);
      expect((failed.json as { error: { code: string } }).error.code).to.equal('STORE_IO_ERROR');
      await vol.failWrites(false);
      await eventually(
        async () => ((await push(3)).status === 200 ? true : undefined),
        30_000,
        'a push to succeed on the healed disk',
      );
      // mv-2's record was in LevelDB's log: the reopen replayed it, and the hub counts it
      const items = await feed();
      const d = await info();
      console.log(
        `      after the failed fsync: feed ${items.map((i) => i.id).join(' ')}; lastSeq ${d.lastSeq}`,
      );
      expect(items.map((i) => i.id)).to.deep.equal(['mv-1', 'mv-2', 'mv-3']);
      expect(d.lastSeq).to.equal(3);
      // the same resource again: no new change, since the hub knows its head
      expect((await push(2)).status).to.equal(200);
      expect((await feed()).map((i) => i.id)).to.deep.equal(['mv-1', 'mv-2', 'mv-3']);
      expect((await info()).lastSeq).to.equal(3);
    } finally {
      await hub?.kill().catch(() => undefined);
      await vol.destroy();
    }
  });
});
