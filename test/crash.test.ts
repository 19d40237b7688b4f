import { expect } from 'chai';
import { spawnHub, type HubProcess } from './helpers/hub-process.js';
import {
  addCounts,
  checkTargets,
  createTargets,
  DIALECTS,
  expectOnlyOverload,
  pushUntilInterrupted,
} from './helpers/crash.js';
import { call } from './helpers/http.js';
import { removeTestData, tempDir, TEST_ENGINE_NAME } from './helpers/hub.js';

/** Rounds in `npm test`; `npm run test:crash` runs 20. */
const ROUNDS = Number(process.env.CRASH_ROUNDS ?? 3);
/** Concurrent pushers, spread over the four push protocols. */
const PUSHERS = 16;

describe('crash safety: SIGKILL while 16 clients push through every protocol (docs/datasets.md#the-changelog)', function () {
  this.timeout(60_000 + ROUNDS * 40_000);

  it(`when the hub is killed with SIGKILL mid-push ${ROUNDS} times, then every acknowledged batch is whole, none is partial, sequences have no gaps and old tokens still work`, async () => {
    const dir = tempDir('hub-crash-');
    let hub: HubProcess = await spawnHub({ dataDir: dir });
    const acknowledged: Record<string, number> = {};
    const cut: Record<string, number> = {};
    let checks = 0;
    try {
      // the child hub runs on the engine of this pass (npm test: LevelDB, npm run test:pg: PostgreSQL)
      expect(hub.engine).to.equal(TEST_ENGINE_NAME);
      const targets = await createTargets(hub, 'crash');
      for (let round = 0; round < ROUNDS; round++) {
        const r = await pushUntilInterrupted({
          hub,
          targets,
          round,
          pushers: PUSHERS,
          interrupt: () => hub.kill(),
        });
        expectOnlyOverload(r.before);
        // the kill cut pushes off mid-way: otherwise this round tested a quiet hub
        expect(
          Object.values(r.cut).reduce((a, b) => a + b, 0),
          `round ${round}: pushes cut`,
        ).to.be.greaterThan(0);
        addCounts(acknowledged, r.acknowledged);
        addCounts(cut, r.cut);
        hub = await spawnHub({ dataDir: dir });
        checks += await checkTargets(hub, targets);
      }
      for (const d of DIALECTS) {
        expect(acknowledged[d.name], `${d.name}: acknowledged at least once per round`).to.be.at.least(
          ROUNDS,
        );
      }
      const distinct = targets.reduce((n, t) => n + t.acknowledged.size, 0);
      console.log(
        `      crash (${hub.engine}): ${ROUNDS} rounds; acknowledged ${JSON.stringify(acknowledged)} = ${distinct} ` +
          `distinct batches, lost 0, torn 0; cut mid-push by the kills ${JSON.stringify(cut)}; ` +
          `${checks} batch checks (each acknowledged batch once after every later restart)`,
      );
    } finally {
      await hub.kill().catch(() => undefined);
      await removeTestData(dir);
    }
  });

  it('when the hub gets SIGTERM, then it exits 0 and starts again on the same data', async () => {
    const dir = tempDir('hub-term-');
    try {
      const hub = await spawnHub({ dataDir: dir });
      await call(`${hub.url}/datasets/t`, { method: 'PUT', token: hub.adminToken, body: {} });
      expect(await hub.stop()).to.equal(0);
      const again = await spawnHub({ dataDir: dir });
      expect((await call(`${again.url}/datasets/t`, { token: again.adminToken })).status).to.equal(200);
      await again.stop();
    } finally {
      await removeTestData(dir);
    }
  });
});
