/**
 * ICAR push throughput with and without a schema set, in one run: batches of 100 milking visits
 * pushed to a dataset holding the ADE-shaped test set (test/fixtures/ade/schemas: relative refs
 * across folders, allOf, nullable, enums in their own files) and to one with none. The hub runs in a
 * child process (as in production); this process is the client. The target: validation by
 * a schema set costs less than 20% of ingest throughput.
 *
 *   npx tsx bench/ade-validation.ts [batches=300] [concurrency=8]
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HUB_ADMIN, startHub } from './lib/procs.js';

const BATCHES = Number(process.argv[2] ?? 300);
const CONCURRENCY = Number(process.argv[3] ?? 8);
const PER_BATCH = 100;
const SET_DIR = fileURLToPath(new URL('../test/fixtures/ade/schemas/', import.meta.url));

function setFiles(): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const full = join(d, name);
      if (statSync(full).isDirectory()) walk(full);
      else out[relative(SET_DIR, full).split(sep).join('/')] = JSON.parse(readFileSync(full, 'utf8'));
    }
  };
  walk(SET_DIR);
  return out;
}

let counter = 0;
function visit(): Record<string, unknown> {
  const n = counter++;
  return {
    resourceType: 'icarMilkingVisitEventResource',
    id: `mv-${n}`,
    animal: { id: `528${String(n % 100_000).padStart(12, '0')}`, scheme: 'eu.animalId' },
    eventDateTime: '2024-05-02T06:11:42Z',
    milkingStartingDateTime: '2024-05-02T06:11:42Z',
    milkingType: 'Automated',
    milkingMilkWeight: { unitCode: 'KGM', value: 10 + (n % 70) / 10 },
    milkingComplete: true,
    milkingBoxNumber: String(1 + (n % 4)),
    location: { scheme: 'io.example.farms', id: `farm-${n % 10}` },
    meta: {
      source: 'com.example.robot',
      sourceId: `mv-${n}`,
      modified: '2024-05-02T06:18:03Z',
      validFrom: null,
    },
  };
}

const body = () => JSON.stringify([{ id: '@context' }, ...Array.from({ length: PER_BATCH }, visit)]);

async function call(path: string, method: string, token: string, payload: unknown): Promise<unknown> {
  const r = await fetch(`${HUB}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(payload),
  });
  if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
  return r.json();
}

async function run(id: string, key: string): Promise<number> {
  const bodies = Array.from({ length: BATCHES }, body);
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < bodies.length) {
        const b = bodies[next++]!;
        const r = await fetch(`${HUB}/datasets/${id}/resources`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: b,
        });
        if (r.status !== 200) throw new Error(`${r.status} ${await r.text()}`);
        await r.arrayBuffer();
      }
    }),
  );
  return (BATCHES * PER_BATCH) / ((performance.now() - t0) / 1000);
}

const hubProcess = await startHub();
const HUB = hubProcess.url;
try {
  const none = ((await call('/datasets/bench-ade-none', 'PUT', HUB_ADMIN, {})) as { pushKey: string })
    .pushKey;
  const withSet = ((await call('/datasets/bench-ade-set', 'PUT', HUB_ADMIN, {})) as { pushKey: string })
    .pushKey;
  await call('/datasets/bench-ade-set/schemas', 'PUT', HUB_ADMIN, { files: setFiles() });
  await run('bench-ade-none', none); // warm-up
  await run('bench-ade-set', withSet);
  const figures: Record<'none' | 'set', number[]> = { none: [], set: [] };
  for (let round = 0; round < 3; round++) {
    figures.none.push(await run('bench-ade-none', none));
    figures.set.push(await run('bench-ade-set', withSet));
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const fmt = (n: number) => Math.round(n).toLocaleString('en');
  const cost = 1 - median(figures.set) / median(figures.none);
  console.log(
    `${BATCHES} batches × ${PER_BATCH} milking visits, ${CONCURRENCY} concurrent clients, 3 rounds (median):`,
  );
  console.log(`  no validation:  ${fmt(median(figures.none))} resources/s  (${figures.none.map(fmt)})`);
  console.log(`  ADE schema set: ${fmt(median(figures.set))} resources/s  (${figures.set.map(fmt)})`);
  console.log(`  cost of validation: ${(cost * 100).toFixed(1)}% of ingest throughput (target < 20%)`);
} finally {
  await hubProcess.stop();
}
