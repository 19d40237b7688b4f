import { expect } from 'chai';
import { rmSync } from 'node:fs';
import { CONTEXT, milking } from './helpers/data.js';
import { startChildHub, type ChildHub } from './helpers/child.js';
import { call } from './helpers/http.js';
import { tempDir } from './helpers/hub.js';

/** Rounds in `npm test`; CRASH_ROUNDS=20 (npm run test:crash) for the long version. */
const ROUNDS = Number(process.env.CRASH_ROUNDS ?? 3);
const CLIENTS = 6;

interface Resource {
  id: string;
  batch: string;
  meta: { source: string; sourceId: string };
}

async function readAll(hub: ChildHub, id: string, key: string): Promise<Resource[]> {
  const r = await call(`${hub.url}/datasets/${id}/changes`, { token: key });
  expect(r.status).to.equal(200);
  const arr = r.json as Resource[];
  return arr.slice(1, -1);
}

describe('crash safety: SIGKILL while clients push (API.md §2)', function () {
  this.timeout(60_000 + ROUNDS * 30_000);

  it(`when the hub is killed with SIGKILL mid-push ${ROUNDS} times, then every acknowledged batch is whole after restart and none is half-stored`, async () => {
    const dir = tempDir('hub-crash-');
    let hub = await startChildHub(dir);
    const id = 'crash';
    const created = await call(`${hub.url}/datasets/${id}`, {
      method: 'PUT',
      token: hub.adminToken,
      body: {},
    });
    const { pushKey, readKey } = created.json as { pushKey: string; readKey: string };
    const acknowledged = new Set<string>();
    const batchSizes = new Map<string, number>();
    let sent = 0;
    try {
      for (let round = 0; round < ROUNDS; round++) {
        let stop = false;
        const client = async (c: number): Promise<void> => {
          for (let n = 0; !stop; n++) {
            const batch = `r${round}-c${c}-n${n}`;
            const size = 1 + ((c * 7 + n) % 40);
            const resources = Array.from({ length: size }, (_, i) => ({
              ...milking(i, `src.${batch}`),
              batch,
            }));
            batchSizes.set(batch, size);
            sent++;
            try {
              const r = await call(`${hub.url}/datasets/${id}/resources`, {
                token: pushKey,
                body: [CONTEXT, ...resources],
              });
              if (r.status === 200) acknowledged.add(batch);
            } catch {
              return; // the hub died under us: this batch was never acknowledged
            }
          }
        };
        const clients = Array.from({ length: CLIENTS }, (_, c) => client(c));
        // kill at a random moment once some batches went through
        const target = acknowledged.size + 5 + Math.floor(Math.random() * 30);
        const deadline = Date.now() + 20_000;
        while (acknowledged.size < target && Date.now() < deadline)
          await new Promise((r) => setTimeout(r, 5));
        await hub.kill();
        stop = true;
        await Promise.all(clients);

        hub = await startChildHub(dir);
        const items = await readAll(hub, id, readKey);
        const byBatch = new Map<string, number>();
        for (const it of items) byBatch.set(it.batch, (byBatch.get(it.batch) ?? 0) + 1);
        for (const b of acknowledged)
          expect(byBatch.get(b), `acknowledged batch ${b}`).to.equal(batchSizes.get(b));
        for (const [b, count] of byBatch)
          expect(count, `batch ${b} is whole or absent`).to.equal(batchSizes.get(b));
        const d = (await call(`${hub.url}/datasets/${id}`, { token: readKey })).json as { lastSeq: number };
        expect(d.lastSeq, 'no gaps: lastSeq equals the number of changes').to.equal(items.length);
      }
      expect(acknowledged.size).to.be.greaterThan(ROUNDS * 5);
      console.log(
        `      crash: ${ROUNDS} rounds, ${sent} batches sent, ${acknowledged.size} acknowledged and verified`,
      );
    } finally {
      await hub.kill().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('when the hub gets SIGTERM, then it exits 0 and starts again on the same data', async () => {
    const dir = tempDir('hub-term-');
    try {
      const hub = await startChildHub(dir);
      await call(`${hub.url}/datasets/t`, { method: 'PUT', token: hub.adminToken, body: {} });
      expect(await hub.stop()).to.equal(0);
      const again = await startChildHub(dir);
      expect((await call(`${again.url}/datasets/t`, { token: again.adminToken })).status).to.equal(200);
      await again.stop();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
