/**
 * ODS figures on this machine (not a test): push throughput with the ODS cookbook's arrays of 100
 * records, and explore latency on a dataset of N records. The hub runs as its own process (as in
 * production), the client here.
 *
 *   npx tsx bench/ods.ts            # N = 100000
 *   N=20000 npx tsx bench/ods.ts
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const N = Number(process.env.N ?? 100_000);
const BATCH = 100;
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 4);
const ADMIN = 'bench-admin-token';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

const record = (i: number) => ({
  identifier: `sensor-${i}`,
  timestamp: new Date(Date.UTC(2024, 0, 1) + i * 60_000).toISOString(),
  parameter: ['speed', 'temperature', 'flow', 'pressure'][i % 4],
  value: (i * 7919) % 1000,
  farm: `farm-${i % 250}`,
  note: i % 1000 === 0 ? 'calibration check' : 'routine reading',
});

async function timed<T>(f: () => Promise<T>): Promise<[number, T]> {
  const t = performance.now();
  const v = await f();
  return [performance.now() - t, v];
}

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'hub-bench-'));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: { ...process.env, PORT: String(port), DATA_DIR: dir, HUB_ADMIN_TOKEN: ADMIN, LOG_LEVEL: 'silent' },
    stdio: 'inherit',
  });
  try {
    for (let i = 0; ; i++) {
      const ok = await fetch(`${base}/health`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      if (i > 200) throw new Error('hub did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
    const created = await fetch(`${base}/datasets/bench`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${ADMIN}` },
      body: JSON.stringify({ uniqueKeys: ['identifier'] }),
    });
    const { pushKey, readKey } = (await created.json()) as { pushKey: string; readKey: string };

    // ---- push: arrays of 100, CONCURRENCY clients
    const pushUrl = `${base}/api/push/1.0/bench/realtime/push/?pushkey=${pushKey}`;
    let next = 0;
    const latencies: number[] = [];
    const client = async (): Promise<void> => {
      while (next < N) {
        const start = next;
        next += BATCH;
        const body = JSON.stringify(
          Array.from({ length: Math.min(BATCH, N - start) }, (_, k) => record(start + k)),
        );
        const [ms, r] = await timed(() => fetch(pushUrl, { method: 'POST', body }));
        if (r.status !== 200) throw new Error(`push ${r.status} ${await r.text()}`);
        await r.arrayBuffer();
        latencies.push(ms);
      }
    };
    const [pushMs] = await timed(() => Promise.all(Array.from({ length: CONCURRENCY }, client)));
    console.log(
      `push: ${N} records in arrays of ${BATCH}, ${CONCURRENCY} clients: ${(pushMs / 1000).toFixed(1)} s = ` +
        `${Math.round(N / (pushMs / 1000))} records/s; request p50 ${pct(latencies, 50).toFixed(0)} ms, ` +
        `p95 ${pct(latencies, 95).toFixed(0)} ms`,
    );

    // ---- explore latency
    const records = `${base}/api/explore/v2.1/catalog/datasets/bench/records?apikey=${readKey}`;
    const cases: Array<[string, string]> = [
      ['no where, limit=10', 'limit=10'],
      [
        'where identifier = "sensor-4242" (text prefilter)',
        `where=${encodeURIComponent('identifier = "sensor-4242"')}&limit=10`,
      ],
      ['where value > 900 (every record parsed)', `where=${encodeURIComponent('value > 900')}&limit=10`],
      [
        'where parameter = "flow" and value < 100',
        `where=${encodeURIComponent('parameter = "flow" and value < 100')}&limit=10`,
      ],
      ['where search("calibration")', `where=${encodeURIComponent('search("calibration")')}&limit=10`],
      [
        'where value > 500, order_by value desc',
        `where=${encodeURIComponent('value > 500')}&order_by=${encodeURIComponent('value desc')}&limit=10`,
      ],
    ];
    for (const [name, qs] of cases) {
      const times: number[] = [];
      let total = 0;
      for (let i = 0; i < 7; i++) {
        const [ms, body] = await timed(
          async () => (await (await fetch(`${records}&${qs}`)).json()) as { total_count: number },
        );
        times.push(ms);
        total = body.total_count;
      }
      console.log(
        `records ${name}: total_count ${total}; median ${pct(times, 50).toFixed(0)} ms, max ${Math.max(...times).toFixed(0)} ms`,
      );
    }

    // ---- full export, with the hub's resident memory sampled while it streams
    const rss = async (): Promise<number> => {
      const text = await (await fetch(`${base}/metrics`)).text();
      return Number(/^process_resident_memory_bytes (\d+)/m.exec(text)?.[1] ?? 0) / 1e6;
    };
    for (const format of ['csv', 'jsonl', 'json']) {
      const before = await rss();
      let peak = before;
      let streaming = true;
      const sampler = (async () => {
        while (streaming) {
          peak = Math.max(peak, await rss());
          await new Promise((r) => setTimeout(r, 50));
        }
      })();
      const [ms, bytes] = await timed(async () => {
        const r = await fetch(
          `${base}/api/explore/v2.1/catalog/datasets/bench/exports/${format}?apikey=${readKey}`,
        );
        let n = 0;
        for await (const chunk of r.body!) n += (chunk as Uint8Array).byteLength;
        return n;
      });
      streaming = false;
      await sampler;
      console.log(
        `export ${format}: ${N} records, ${(bytes / 1e6).toFixed(1)} MB in ${(ms / 1000).toFixed(2)} s; ` +
          `hub RSS ${before.toFixed(0)} MB before, ${peak.toFixed(0)} MB peak`,
      );
    }
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
