import { expect } from 'chai';
import { rmSync } from 'node:fs';
import { CONTEXT, milking } from './helpers/data.js';
import { startChildHub, type ChildHub } from './helpers/child.js';
import { call } from './helpers/http.js';
import { tempDir } from './helpers/hub.js';

/** Rounds in `npm test`; `npm run test:crash` runs 20. */
const ROUNDS = Number(process.env.CRASH_ROUNDS ?? 3);
/** Concurrent pushers, spread over the push protocols. */
const PUSHERS = 16;

/** How one push protocol sends a batch whose every record carries `batch`, and finds it in the feed. */
interface Dialect {
  readonly name: string;
  /** the route exists in this build (ODS may be absent while its branch is out) */
  readonly available: (spec: Record<string, unknown>) => boolean;
  readonly push: (
    hub: ChildHub,
    dataset: string,
    key: string,
    batch: string,
    size: number,
  ) => Promise<number>;
  readonly batchOf: (item: Record<string, unknown>) => string | undefined;
}

const post = async (
  url: string,
  key: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<number> => (await call(url, { token: key, body, headers })).status;

const DIALECTS: Dialect[] = [
  {
    name: 'icar',
    available: () => true,
    push: (hub, ds, key, batch, size) =>
      post(`${hub.url}/datasets/${ds}/resources`, key, [
        CONTEXT,
        ...Array.from({ length: size }, (_, i) => ({ ...milking(i, `src.${batch}`), batch })),
      ]),
    batchOf: (item) => item.batch as string | undefined,
  },
  {
    name: 'uda',
    available: (paths) => '/datasets/{id}/entities' in paths,
    push: (hub, ds, key, batch, size) =>
      post(`${hub.url}/datasets/${ds}/entities`, key, [
        { id: '@context', namespaces: { _: 'http://data.example.org/props/', ex: 'http://ex.org/' } },
        ...Array.from({ length: size }, (_, i) => ({
          id: `ex:${batch}-${i}`,
          props: { batch, n: i },
          refs: {},
        })),
      ]),
    batchOf: (item) => (item.props as Record<string, unknown> | undefined)?.batch as string | undefined,
  },
  {
    name: 'obsrv',
    available: (paths) => '/v2/data/in/{dataset_id}' in paths,
    push: (hub, ds, key, batch, size) =>
      post(`${hub.url}/v2/data/in/${ds}`, key, {
        id: 'api.data.in',
        ver: 'v2',
        ts: String(Date.now()),
        params: { msgid: batch },
        data: Array.from({ length: size }, (_, i) => ({ eid: 'MILKING', batch, n: i })),
      }),
    batchOf: (item) =>
      ((item.fields as Record<string, unknown> | undefined) ?? item).batch as string | undefined,
  },
  {
    name: 'ods',
    available: (paths) => Object.keys(paths).some((p) => p.startsWith('/api/push/1.0/')),
    push: (hub, ds, key, batch, size) =>
      post(
        `${hub.url}/api/push/1.0/${ds}/realtime/push/?pushkey=${key}`,
        '',
        Array.from({ length: size }, (_, i) => ({ batch, n: i, robot: `robot-${i % 4}` })),
      ),
    batchOf: (item) =>
      ((item.fields as Record<string, unknown> | undefined) ?? item).batch as string | undefined,
  },
];

interface Target {
  readonly dialect: Dialect;
  readonly dataset: string;
  pushKey: string;
  readKey: string;
  readonly sizes: Map<string, number>;
  readonly acknowledged: Set<string>;
  /** a token read before the last kill: must stay valid after the restart */
  token?: string;
  itemsAtToken?: number;
}

async function feed(
  hub: ChildHub,
  t: Target,
  since?: string,
): Promise<{ items: Record<string, unknown>[]; token: string; fullSync: boolean; status: number }> {
  const r = await call(`${hub.url}/datasets/${t.dataset}/changes${since ? `?since=${since}` : ''}`, {
    token: t.readKey,
  });
  const arr = (r.json as Record<string, unknown>[] | undefined) ?? [];
  return {
    status: r.status,
    items: arr.slice(1, -1),
    token: String(arr.at(-1)?.token),
    fullSync: r.headers.get('icar-full-sync') === 'true',
  };
}

describe('crash safety: SIGKILL while 16 clients push through every protocol (docs/datasets.md#the-changelog)', function () {
  this.timeout(60_000 + ROUNDS * 40_000);

  it(`when the hub is killed with SIGKILL mid-push ${ROUNDS} times, then every acknowledged batch is whole, none is partial, sequences have no gaps and old tokens still work`, async () => {
    const dir = tempDir('hub-crash-');
    let hub = await startChildHub(dir);
    const paths = ((await call(`${hub.url}/openapi.json`)).json as { paths: Record<string, unknown> }).paths;
    const dialects = DIALECTS.filter((d) => d.available(paths));
    const targets: Target[] = [];
    for (const d of dialects) {
      const dataset = `crash-${d.name}`;
      const r = await call(`${hub.url}/datasets/${dataset}`, {
        method: 'PUT',
        token: hub.adminToken,
        body: {},
      });
      const { pushKey, readKey } = r.json as { pushKey: string; readKey: string };
      targets.push({ dialect: d, dataset, pushKey, readKey, sizes: new Map(), acknowledged: new Set() });
    }
    let sent = 0;
    let verified = 0;
    try {
      for (let round = 0; round < ROUNDS; round++) {
        // a token taken now must survive the crash
        for (const t of targets) {
          const f = await feed(hub, t);
          t.token = f.token;
          t.itemsAtToken = f.items.length;
        }
        let stop = false;
        let acknowledgedThisRound = 0;
        const pusher = async (p: number): Promise<void> => {
          const t = targets[p % targets.length]!;
          for (let n = 0; !stop; n++) {
            const batch = `r${round}-p${p}-n${n}`;
            const size = 1 + ((p * 7 + n * 3) % 30);
            t.sizes.set(batch, size);
            sent++;
            try {
              if ((await t.dialect.push(hub, t.dataset, t.pushKey, batch, size)) === 200) {
                t.acknowledged.add(batch);
                acknowledgedThisRound++;
              }
            } catch {
              return; // the hub died under us: this batch was never acknowledged
            }
          }
        };
        const pushers = Array.from({ length: PUSHERS }, (_, p) => pusher(p));
        // kill at a random moment once some batches went through
        const target = 5 + Math.floor(Math.random() * 60);
        const deadline = Date.now() + 20_000;
        while (acknowledgedThisRound < target && Date.now() < deadline)
          await new Promise((r) => setTimeout(r, 2));
        await hub.kill();
        stop = true;
        await Promise.all(pushers);

        hub = await startChildHub(dir);
        for (const t of targets) {
          const f = await feed(hub, t);
          expect(f.status).to.equal(200);
          const byBatch = new Map<string, number>();
          for (const item of f.items) {
            const b = t.dialect.batchOf(item);
            expect(b, `${t.dialect.name}: every item carries its batch`).to.be.a('string');
            byBatch.set(b!, (byBatch.get(b!) ?? 0) + 1);
          }
          for (const b of t.acknowledged) {
            expect(byBatch.get(b), `${t.dialect.name}: acknowledged batch ${b} is whole`).to.equal(
              t.sizes.get(b),
            );
          }
          for (const [b, count] of byBatch) {
            expect(count, `${t.dialect.name}: batch ${b} is whole or absent`).to.equal(t.sizes.get(b));
          }
          const d = (await call(`${hub.url}/datasets/${t.dataset}`, { token: t.readKey })).json as {
            lastSeq: number;
          };
          expect(d.lastSeq, `${t.dialect.name}: lastSeq equals the number of changes (no gaps)`).to.equal(
            f.items.length,
          );
          const after = await feed(hub, t, t.token);
          expect(after.status, `${t.dialect.name}: old token accepted`).to.equal(200);
          expect(after.fullSync, `${t.dialect.name}: old token is not a full sync`).to.equal(false);
          expect(after.items.length).to.equal(f.items.length - t.itemsAtToken!);
          verified += t.acknowledged.size;
        }
      }
      const acknowledged = targets.reduce((n, t) => n + t.acknowledged.size, 0);
      expect(acknowledged).to.be.greaterThan(ROUNDS * 5);
      console.log(
        `      crash: ${ROUNDS} rounds over ${dialects.map((d) => d.name).join(', ')}; ${sent} batches sent, ` +
          `${acknowledged} acknowledged, ${verified} batch checks passed`,
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
