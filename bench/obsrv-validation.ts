/**
 * Obsrv ingest throughput with and without a dataset schema, measured in one run:
 * batches of 100 events of 10 properties each, against a dataset with a 10-property strict schema
 * and one with none. The hub runs in a child process (as in production); this process is the client.
 *
 *   npx tsx bench/obsrv-validation.ts [batches=400] [concurrency=8]
 */
import { randomUUID } from 'node:crypto';
import { compileRecordSchema } from '../src/domain/validation.js';
import { HUB_ADMIN, startHub } from './lib/procs.js';

const BATCHES = Number(process.argv[2] ?? 400);
const CONCURRENCY = Number(process.argv[3] ?? 8);
const EVENTS_PER_BATCH = 100;
const ADMIN = HUB_ADMIN;

const SCHEMA = {
  type: 'object',
  required: ['eid', 'mid', 'ets', 'ver', 'actor', 'device', 'value', 'unit', 'ok', 'tags'],
  additionalProperties: false,
  properties: {
    eid: { enum: ['INTERACT', 'IMPRESSION', 'MILKING'] },
    mid: { type: 'string', minLength: 1 },
    ets: { type: 'integer', minimum: 0 },
    ver: { type: 'string', pattern: '^[0-9]+\\.[0-9]+$' },
    actor: {
      type: 'object',
      required: ['id', 'type'],
      properties: { id: { type: 'string' }, type: { type: 'string' } },
    },
    device: { type: 'string' },
    value: { type: 'number' },
    unit: { const: 'KGM' },
    ok: { type: 'boolean' },
    tags: { type: 'array', items: { type: 'string' }, maxItems: 10 },
  },
};

let counter = 0;
function event(): Record<string, unknown> {
  const i = counter++;
  return {
    eid: 'MILKING',
    mid: `m-${i}`,
    ets: 1_700_000_000_000 + i,
    ver: '3.0',
    actor: { id: `robot-${i % 4}`, type: 'robot' },
    device: `box-${i % 8}`,
    value: 10 + (i % 70) / 10,
    unit: 'KGM',
    ok: true,
    tags: ['am', 'box'],
  };
}

const body = () =>
  JSON.stringify({
    id: 'api.data.in',
    ver: 'v2',
    ts: String(Date.now()),
    params: { msgid: randomUUID() },
    data: Array.from({ length: EVENTS_PER_BATCH }, event),
  });

async function put(id: string, config: object): Promise<string> {
  const r = await fetch(`${HUB}/datasets/${id}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${ADMIN}` },
    body: JSON.stringify(config),
  });
  return ((await r.json()) as { pushKey: string }).pushKey;
}

/** BATCHES requests from CONCURRENCY clients; answers events/s. */
async function run(id: string, key: string): Promise<number> {
  const bodies = Array.from({ length: BATCHES }, body);
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < bodies.length) {
        const b = bodies[next++]!;
        const r = await fetch(`${HUB}/v2/data/in/${id}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: b,
        });
        if (r.status !== 200) throw new Error(`${r.status} ${await r.text()}`);
        await r.arrayBuffer();
      }
    }),
  );
  return (BATCHES * EVENTS_PER_BATCH) / ((performance.now() - t0) / 1000);
}

/** The validator alone, in this process: what the schema costs per event without HTTP or disk. */
function validatorOnly(): number {
  const validate = compileRecordSchema(SCHEMA, 'strict');
  const events = Array.from({ length: 10_000 }, event);
  const t0 = performance.now();
  for (let round = 0; round < 20; round++)
    for (const e of events) if (validate(e).length > 0) throw new Error('bad');
  return (20 * events.length) / ((performance.now() - t0) / 1000);
}

// the hub runs as production runs it, in its own process (bench/lib/procs.ts)
const hubProcess = await startHub();
const HUB = hubProcess.url;
try {
  const none = await put('bench-none', {});
  const strict = await put('bench-strict', { schema: SCHEMA, validationMode: 'strict' });
  await run('bench-none', none); // warm-up: JIT, LevelDB files
  await run('bench-strict', strict);
  const figures: Record<string, number[]> = { none: [], strict: [] };
  for (let round = 0; round < 3; round++) {
    figures.none!.push(await run('bench-none', none));
    figures.strict!.push(await run('bench-strict', strict));
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const fmt = (n: number) => Math.round(n).toLocaleString('en');
  console.log(
    `${BATCHES} batches × ${EVENTS_PER_BATCH} events, ${CONCURRENCY} concurrent clients, 3 rounds (median):`,
  );
  console.log(`  no schema:            ${fmt(median(figures.none!))} events/s  (${figures.none!.map(fmt)})`);
  console.log(
    `  10-property strict:   ${fmt(median(figures.strict!))} events/s  (${figures.strict!.map(fmt)})`,
  );
  console.log(`  validator alone:      ${fmt(validatorOnly())} events/s (one core, no HTTP/disk)`);
} finally {
  await hubProcess.stop();
}
