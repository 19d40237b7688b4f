import { expect } from 'chai';
import { CONTEXT, milking } from './helpers/data.js';
import { spawnHub, type HubProcess } from './helpers/hub-process.js';
import { call } from './helpers/http.js';
import { removeTestData, tempDir, TEST_ENGINE_NAME } from './helpers/hub.js';

async function rss(hub: HubProcess): Promise<number> {
  const text = (await call(`${hub.url}/metrics`)).text;
  const line = text.split('\n').find((l) => l.startsWith('process_resident_memory_bytes '));
  return Number(line?.split(' ')[1] ?? 0);
}

describe('reliability: overload', function () {
  this.timeout(120_000);

  it('when clients flood one dataset with large pushes, then the hub answers 503 + Retry-After, memory stays bounded and every 200 is durable', async () => {
    const dir = tempDir('hub-flood-');
    let hub = await spawnHub({
      dataDir: dir,
      env: {
        MAX_INFLIGHT_BODY_BYTES: String(8 * 1024 * 1024),
        MAX_PENDING_WRITE_BYTES: String(4 * 1024 * 1024),
      },
    });
    try {
      // the child hub runs on the engine of this pass (npm run test:pg: PostgreSQL)
      expect(hub.engine).to.equal(TEST_ENGINE_NAME);
      const created = await call(`${hub.url}/datasets/flood`, {
        method: 'PUT',
        token: hub.adminToken,
        body: {},
      });
      const { pushKey, readKey } = created.json as { pushKey: string; readKey: string };
      const baseline = await rss(hub);
      let peak = baseline;
      const statuses = new Map<number, number>();
      const acknowledged: string[] = [];
      let retryAfterMissing = 0;
      const until = Date.now() + 4_000;
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          peak = Math.max(peak, await rss(hub).catch(() => 0));
          await new Promise((r) => setTimeout(r, 100));
        }
      })();
      const client = async (c: number): Promise<void> => {
        for (let n = 0; Date.now() < until; n++) {
          const batch = `c${c}-n${n}`;
          const body = [
            CONTEXT,
            ...Array.from({ length: 1300 }, (_, i) => ({ ...milking(i, `src.${batch}`), batch })),
          ];
          const r = await call(`${hub.url}/datasets/flood/resources`, { token: pushKey, body });
          statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
          if (r.status === 200) acknowledged.push(batch);
          if (r.status === 503) {
            if (r.headers.get('retry-after') === null) retryAfterMissing++;
            expect((r.json as { error: { code: string } }).error.code).to.equal('OVERLOADED');
          }
        }
      };
      await Promise.all(Array.from({ length: 24 }, (_, c) => client(c)));
      sampling = false;
      await sampler;

      const answered = [...statuses.keys()];
      expect(
        answered.every((s) => s === 200 || s === 503),
        `statuses ${JSON.stringify([...statuses])}`,
      ).to.equal(true);
      expect(statuses.get(503) ?? 0, 'some requests were refused').to.be.greaterThan(0);
      expect(acknowledged.length, 'some requests got through').to.be.greaterThan(0);
      expect(retryAfterMissing).to.equal(0);
      expect(peak - baseline, `RSS grew from ${baseline} to ${peak}`).to.be.lessThan(400 * 1024 * 1024);

      // every acknowledged batch survives a crash, whole
      await hub.kill();
      hub = await spawnHub({ dataDir: dir });
      const feed = (await call(`${hub.url}/datasets/flood/changes`, { token: readKey })).json as Array<{
        batch?: string;
      }>;
      const counts = new Map<string, number>();
      for (const item of feed.slice(1, -1)) counts.set(item.batch!, (counts.get(item.batch!) ?? 0) + 1);
      for (const b of acknowledged) expect(counts.get(b), b).to.equal(1300);
      expect(counts.size).to.equal(acknowledged.length);
      console.log(
        `      overload (${hub.engine}): ${statuses.get(200)} × 200, ${statuses.get(503)} × 503; RSS ${Math.round(baseline / 2 ** 20)} → peak ${Math.round(peak / 2 ** 20)} MiB`,
      );
    } finally {
      await hub.kill().catch(() => undefined);
      await removeTestData(dir);
    }
  });
});
