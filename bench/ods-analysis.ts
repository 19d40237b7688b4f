/**
 * ODS analysis, geo clustering and catalog figures on this machine (not a test): N milkings (robot,
 * time, yield, farm location) are pushed, then grouped analyses, a geocluster and the catalog are
 * timed. The hub runs as its own process (as in production), the client here.
 *
 *   npx tsx bench/ods-analysis.ts            # N = 100000
 *   N=20000 npx tsx bench/ods-analysis.ts
 */
import { loadavg } from 'node:os';
import { HUB_ADMIN, startHub } from './lib/procs.js';

const N = Number(process.env.N ?? 100_000);
const BATCH = 100;
const CONCURRENCY = 4;
const RUNS = 7;

/** 16 robots on 250 farms over 60 days: about 2 milkings per cow per day, as a robot reports them. */
const milking = (i: number) => {
  const farm = i % 250;
  return {
    milking_id: `mv-${i}`,
    robot: `robot-${farm % 16}`,
    animal: `DE0${100000 + (i % 9000)}`,
    ts: new Date(Date.UTC(2024, 3, 1) + Math.floor((i / N) * 60 * 86_400_000)).toISOString(),
    kg: 8 + ((i * 7919) % 80) / 10,
    duration_s: 240 + (i % 180),
    location: { lon: -4.5 + (farm % 25) * 0.35, lat: 43 + Math.floor(farm / 25) * 0.6 },
  };
};

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
  // the hub runs as production runs it, in its own process (bench/lib/procs.ts)
  const hubProcess = await startHub();
  const base = hubProcess.url;
  try {
    const created = await fetch(`${base}/datasets/milkings`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${HUB_ADMIN}` },
      body: JSON.stringify({ title: 'Robot milkings', uniqueKeys: ['milking_id'] }),
    });
    const { pushKey, readKey } = (await created.json()) as { pushKey: string; readKey: string };

    const pushUrl = `${base}/api/push/1.0/milkings/realtime/push/?pushkey=${pushKey}`;
    let next = 0;
    const client = async (): Promise<void> => {
      while (next < N) {
        const start = next;
        next += BATCH;
        const body = JSON.stringify(
          Array.from({ length: Math.min(BATCH, N - start) }, (_, k) => milking(start + k)),
        );
        const r = await fetch(pushUrl, { method: 'POST', body });
        if (r.status !== 200) throw new Error(`push ${r.status} ${await r.text()}`);
        await r.arrayBuffer();
      }
    };
    const [pushMs] = await timed(() => Promise.all(Array.from({ length: CONCURRENCY }, client)));
    console.log(`pushed ${N} milkings in ${(pushMs / 1000).toFixed(1)} s (field types inferred on the way)`);

    const records = `${base}/api/explore/v2.1/catalog/datasets/milkings/records?apikey=${readKey}`;
    const q = (params: Record<string, string>) => new URLSearchParams(params).toString();
    const cases: Array<[string, string]> = [
      [
        'milkings per robot per day (group_by robot, year/month/day(ts); count, avg)',
        `${records}&${q({
          select: 'count(*) as milkings, avg(kg) as avg_kg',
          group_by: 'robot, year(ts) as y, month(ts) as m, day(ts) as d',
          limit: '20000',
        })}`,
      ],
      [
        'top 10 animals by milk (group_by animal; sum, order_by sum desc)',
        `${records}&${q({ select: 'sum(kg) as kg', group_by: 'animal', order_by: 'kg desc', limit: '10' })}`,
      ],
      [
        'aggregates without group_by, where robot = "robot-3"',
        `${records}&${q({ select: 'count(*), sum(kg), min(ts), max(ts)', where: 'robot = "robot-3"' })}`,
      ],
      [
        'geo_cluster(location, 6) with count(*) (v2.1)',
        `${records}&${q({ select: 'count(*) as n', group_by: 'geo_cluster(location, 6) as c', limit: '20000' })}`,
      ],
      [
        'v1 geocluster, zoom 8, view over Brittany',
        `${base}/api/records/1.0/geocluster?${q({
          dataset: 'milkings',
          clusterprecision: '8',
          'geofilter.bbox': '46.5,-5,48.9,-1',
          apikey: readKey,
        })}`,
      ],
      [
        'within_distance 50km, count(*)',
        `${records}&${q({ select: 'count(*) as n', where: "within_distance(location, geom'POINT(-2 44)', 50km)" })}`,
      ],
      [
        'catalog search by title',
        `${base}/api/explore/v2.1/catalog/datasets?${q({ where: 'title like "robot*"', apikey: readKey })}`,
      ],
    ];
    console.log(
      `load average before the queries: ${loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')}`,
    );
    // the hub's own CPU time per query does not depend on what else runs on the machine
    const cpuSeconds = async (): Promise<number> => {
      const text = await (await fetch(`${base}/metrics`)).text();
      return Number(/^process_cpu_seconds_total (\S+)/m.exec(text)?.[1] ?? NaN);
    };
    for (const [name, url] of cases) {
      const cpuBefore = await cpuSeconds();
      const times: number[] = [];
      let size = 0;
      for (let i = 0; i < RUNS; i++) {
        const [ms, text] = await timed(async () => {
          const r = await fetch(url);
          if (r.status !== 200) throw new Error(`${name}: ${r.status} ${await r.text()}`);
          return r.text();
        });
        times.push(ms);
        size = text.length;
      }
      const cpuMs = (((await cpuSeconds()) - cpuBefore) * 1000) / RUNS;
      console.log(
        `${name}: median ${pct(times, 50).toFixed(0)} ms, max ${Math.max(...times).toFixed(0)} ms, ` +
          `hub CPU ${cpuMs.toFixed(0)} ms per query (${size} bytes)`,
      );
    }
    console.log(
      `load average after: ${loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')}`,
    );
  } finally {
    await hubProcess.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
