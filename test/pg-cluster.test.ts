import { expect } from 'chai';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CONTEXT, milking, type DatasetKeys } from './helpers/data.js';
import { call } from './helpers/http.js';
import { freshSchema, TEST_STORE_URL, type TestSchema } from './helpers/pg.js';
import { eventually } from './helpers/poll.js';
import { spawnHub, type HubProcess } from './helpers/hub-process.js';

/**
 * Scale-out (issue 9): several stateless hub processes on one PostgreSQL database serve the same
 * datasets. Real processes on their own ports, so that one can be killed with SIGKILL.
 */
type Item = Record<string, unknown> & { meta: { source: string; sourceId: string } };

interface Page {
  items: Item[];
  token: string;
}

async function page(base: string, id: string, key: string, query: string): Promise<Page> {
  const r = await call(`${base}/datasets/${id}/changes?${query}`, { token: key });
  if (r.status !== 200) throw new Error(`changes on ${base}: ${r.status} ${r.text}`);
  const arr = r.json as Item[];
  return { items: arr.slice(1, -1), token: (arr[arr.length - 1] as unknown as { token: string }).token };
}

async function readAll(base: string, id: string, key: string): Promise<Item[]> {
  return (await page(base, id, key, '')).items;
}

const ref = (x: Item): string => `${x.meta.source}/${x.meta.sourceId}`;

function push(base: string, id: string, key: string, resources: unknown[]) {
  return call(`${base}/datasets/${id}/resources`, { token: key, body: [CONTEXT, ...resources] });
}

async function waitingLongPolls(base: string): Promise<number> {
  const text = (await call(`${base}/metrics`)).text;
  const line = text.split('\n').find((l) => l.startsWith('hub_feed_waiting_readers{feed="longpoll"} '));
  return line === undefined ? 0 : Number(line.split(' ')[1]);
}

// registered only where a PostgreSQL is configured (npm run test:pg, CI's second pass)
if (TEST_STORE_URL)
  describe('scale-out: two hub processes on one PostgreSQL (issue 9)', function () {
    this.timeout(120_000);
    let schema: TestSchema;
    let a: HubProcess;
    let b: HubProcess;

    before(async () => {
      schema = freshSchema();
      // started one after the other: the first creates the schema, the second finds it
      a = await spawnHub({ env: { STORE_URL: schema.url } });
      b = await spawnHub({ env: { STORE_URL: schema.url } });
    });
    after(async () => {
      await a?.stop();
      await b?.stop();
      await schema?.drop();
    });

    async function createOn(hub: HubProcess, id: string): Promise<DatasetKeys> {
      const r = await call(`${hub.url}/datasets/${id}`, { method: 'PUT', token: hub.adminToken, body: {} });
      expect(r.status).to.equal(201);
      return r.json as DatasetKeys;
    }

    it('when a dataset is created or its keys renewed on one process, then the other honours it on the next request', async () => {
      const id = `cluster-keys-${process.pid}`;
      const keys = await createOn(a, id);
      expect((await push(b.url, id, keys.pushKey, [milking(1)])).status).to.equal(200);
      const renewed = await call(`${b.url}/datasets/${id}/keys/renew`, {
        method: 'POST',
        token: b.adminToken,
      });
      expect(renewed.status).to.equal(200);
      const fresh = renewed.json as DatasetKeys;
      expect((await push(a.url, id, keys.pushKey, [milking(2)])).status).to.equal(401);
      expect((await push(a.url, id, fresh.pushKey, [milking(2)])).status).to.equal(200);
      const put = await call(`${a.url}/datasets/${id}`, {
        method: 'PUT',
        token: a.adminToken,
        body: { push: { enabled: false } },
      });
      expect(put.status).to.equal(200);
      expect((await push(b.url, id, fresh.pushKey, [milking(3)])).status).to.equal(403);
      const d = (await call(`${b.url}/datasets/${id}`, { token: fresh.readKey })).json as { lastSeq: number };
      expect(d.lastSeq).to.equal(2);
    });

    it('when one key reads through both processes, then they share its daily quota', async () => {
      const id = `cluster-quota-${process.pid}`;
      const r = await call(`${a.url}/datasets/${id}`, {
        method: 'PUT',
        token: a.adminToken,
        body: { quota: { perDay: 10 } },
      });
      const keys = r.json as DatasetKeys;
      const answers = await Promise.all(
        Array.from({ length: 16 }, (_, i) =>
          call(`${(i % 2 === 0 ? a : b).url}/datasets/${id}/changes`, { token: keys.readKey }),
        ),
      );
      expect(answers.filter((x) => x.status === 200)).to.have.length(10);
      expect(answers.filter((x) => x.status === 429)).to.have.length(6);
      const remaining = answers
        .filter((x) => x.status === 200)
        .map((x) => Number(x.headers.get('x-ratelimit-remaining')))
        .sort((x, y) => x - y);
      expect(remaining).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    });

    it('when 4 clients push to both processes, then a reader alternating between them sees every change exactly once, in one order', async () => {
      const id = `cluster-push-${process.pid}`;
      const keys = await createOn(a, id);
      const clients = 4;
      const batches = 15;
      const per = 10;
      let pushing = true;
      const seen: string[] = [];
      // the reader pages from a and b in turn while the clients push, carrying one token across both
      const reader = (async () => {
        let token = '';
        for (let turn = 0; ; turn++) {
          // only a page asked for after the last push was acknowledged may end the read
          const last = !pushing;
          const base = turn % 2 === 0 ? a.url : b.url;
          const p = await page(base, id, keys.readKey, `limit=37${token ? `&since=${token}` : ''}`);
          seen.push(...p.items.map(ref));
          token = p.token;
          if (last && p.items.length === 0) return;
        }
      })();
      const writers = Array.from({ length: clients }, async (_, c) => {
        for (let i = 0; i < batches; i++) {
          const base = (c + i) % 2 === 0 ? a.url : b.url;
          const resources = Array.from({ length: per }, (_, j) => milking(i * per + j, `client-${c}`));
          const r = await push(base, id, keys.pushKey, resources);
          expect(r.status).to.equal(200);
        }
      });
      await Promise.all(writers);
      pushing = false;
      await reader;

      const total = clients * batches * per;
      expect(seen).to.have.length(total);
      expect(new Set(seen).size).to.equal(total);
      // one order: the incremental reader saw exactly what a full read on either process shows
      const fromA = (await readAll(a.url, id, keys.readKey)).map(ref);
      const fromB = (await readAll(b.url, id, keys.readKey)).map(ref);
      expect(fromA).to.deep.equal(seen);
      expect(fromB).to.deep.equal(seen);
      // and each client's resources in the order that client pushed them
      for (let c = 0; c < clients; c++) {
        const mine = seen.filter((s) => s.startsWith(`client-${c}/`));
        expect(mine).to.deep.equal(Array.from({ length: batches * per }, (_, i) => `client-${c}/mv-${i}`));
      }
      const d = (await call(`${a.url}/datasets/${id}`, { token: keys.readKey })).json as { lastSeq: number };
      expect(d.lastSeq).to.equal(total);
    });

    it('when a long-poll waits on one process, then a push to the other wakes it with the change', async () => {
      const id = `cluster-poll-${process.pid}`;
      const keys = await createOn(a, id);
      const start = await page(a.url, id, keys.readKey, '');
      const before = await waitingLongPolls(b.url);
      let answeredAt = 0;
      const poll = page(b.url, id, keys.readKey, `since=${start.token}&feed=longpoll&timeout=60000`).then(
        (p) => {
          answeredAt = Date.now();
          return p;
        },
      );
      await eventually(async () => ((await waitingLongPolls(b.url)) > before ? true : undefined));
      const r = await push(a.url, id, keys.pushKey, [milking(42)]);
      const pushedAt = Date.now();
      expect(r.status).to.equal(200);
      const woke = await poll;
      expect(woke.items.map(ref)).to.deep.equal(['com.example.robot/mv-42']);
      // far below the 60 s timeout: the NOTIFY woke it, not the clock
      expect(answeredAt - pushedAt).to.be.lessThan(5_000);
    });

    it('when a dataset forwards upstream, then exactly one process forwards it and every change goes up once', async () => {
      const received: string[] = [];
      let posts = 0;
      const upstream = createServer((req, res) => {
        let body = '';
        req.on('data', (c: Buffer) => (body += c.toString()));
        req.on('end', () => {
          posts++;
          for (const r of (JSON.parse(body) as Item[]).slice(1)) received.push(ref(r));
          res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"OK"}');
        });
      });
      await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
      try {
        const port = (upstream.address() as AddressInfo).port;
        const id = `cluster-fwd-${process.pid}`;
        const r = await call(`${a.url}/datasets/${id}`, {
          method: 'PUT',
          token: a.adminToken,
          body: { upstream: { url: `http://127.0.0.1:${port}`, dataset: 'cloud', key: 'k' } },
        });
        const keys = r.json as DatasetKeys;
        for (let i = 0; i < 6; i++) {
          const base = i % 2 === 0 ? a.url : b.url;
          expect((await push(base, id, keys.pushKey, [milking(2 * i), milking(2 * i + 1)])).status).to.equal(
            200,
          );
        }
        await eventually(async () => (new Set(received).size === 12 ? true : undefined), 30_000, 'forwarded');
        // once both processes have looked at the dataset, one forwards and the other stands by
        const states = await eventually(async () => {
          const now = await Promise.all(
            [a, b].map(async (h) => {
              const d = (await call(`${h.url}/datasets/${id}`, { token: keys.readKey })).json as {
                forwarding: { state: string };
              };
              return d.forwarding.state;
            }),
          );
          return now.includes('starting') ? undefined : now;
        }, 10_000);
        expect(
          states.filter((st) => st === 'standby'),
          JSON.stringify(states),
        ).to.have.length(1);
        expect(received, `${posts} posts`).to.have.length(12);
      } finally {
        upstream.close();
      }
    });

    it('when a process is killed with SIGKILL mid-push, then every acknowledged resource is kept and the other process goes on', async () => {
      const id = `cluster-kill-${process.pid}`;
      const keys = await createOn(a, id);
      const victim = await spawnHub({ env: { STORE_URL: schema.url } });
      const acknowledged: string[] = [];
      let interrupted = 0;
      let stop = false;
      const writers = Array.from({ length: 4 }, async (_, c) => {
        for (let i = 0; !stop && i < 1_000; i++) {
          const resources = Array.from({ length: 5 }, (_, j) => milking(i * 5 + j, `killed-${c}`));
          let status: number;
          try {
            status = (await push(victim.url, id, keys.pushKey, resources)).status;
          } catch {
            interrupted++; // the connection died with the process: not acknowledged
            return;
          }
          if (status !== 200) return;
          acknowledged.push(...resources.map((x) => `killed-${c}/${x.id as string}`));
        }
      });
      await eventually(async () => (acknowledged.length >= 200 ? true : undefined), 60_000);
      await victim.kill();
      stop = true;
      await Promise.all(writers);
      expect(interrupted, 'pushes in flight when the process died').to.be.greaterThan(0);

      // the survivor takes pushes at once: the dead process's transaction and its row lock are gone
      expect((await push(b.url, id, keys.pushKey, [milking(1, 'after-kill')])).status).to.equal(200);
      const stored = (await readAll(b.url, id, keys.readKey)).map(ref);
      const storedSet = new Set(stored);
      expect(stored.length).to.equal(storedSet.size);
      const lost = acknowledged.filter((x) => !storedSet.has(x));
      expect(lost).to.deep.equal([]);
      // whole batches only: every stored resource of the dead process belongs to a complete batch
      for (let c = 0; c < 4; c++) {
        const mine = stored.filter((s) => s.startsWith(`killed-${c}/`)).length;
        expect(mine % 5).to.equal(0);
      }
      const d = (await call(`${b.url}/datasets/${id}`, { token: keys.readKey })).json as { lastSeq: number };
      expect(d.lastSeq).to.equal(stored.length);
    });
  });
