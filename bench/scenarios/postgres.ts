import type { Agent } from 'node:http';
import { keepAliveAgent } from '../lib/client.js';
import type { Bench } from '../lib/context.js';
import { batches, icarBody } from '../lib/data.js';
import { benchSchema, postgresCpuTicks, postgresPids, unreachable, type BenchSchema } from '../lib/pg.js';
import { cpuTicks, startHub, type Server } from '../lib/procs.js';
import { rate, summarise, type Summary } from '../lib/stats.js';
import { pushHub } from './ingest.js';
import { pullHub } from './pull.js';

export const POSTGRES = '7. PostgreSQL engine';
export const SKIPPED = 'skipped: PostgreSQL not reachable (run .ci/postgres-up)';

/** One way of running the hub: its processes, where the clients push, where the reader reads. */
interface Setup {
  readonly label: string;
  /** the pushing clients, spread over these (client i → i % length) */
  readonly to: readonly { readonly server: Server; readonly agent: Agent }[];
  /** the hub the reader streams the feed from */
  readonly readFrom: Server;
  /** whether the PostgreSQL server's CPU belongs to this setup's figures */
  readonly postgres: boolean;
  readonly ingest: number[];
  readonly pull: number[];
  /** µs of CPU per item, hub processes (all threads) and PostgreSQL server */
  readonly ingestCpu: { hub: number[]; pg: number[] };
  readonly pullCpu: { hub: number[]; pg: number[] };
}

function setup(
  label: string,
  servers: readonly Server[],
  readFrom: Server,
  postgres: boolean,
  agents: Agent[],
): Setup {
  return {
    label,
    to: servers.map((server, i) => ({ server, agent: agents[i]! })),
    readFrom,
    postgres,
    ingest: [],
    pull: [],
    ingestCpu: { hub: [], pg: [] },
    pullCpu: { hub: [], pg: [] },
  };
}

/** Runs `fn` and adds the CPU per item that the setup's hubs and PostgreSQL spent meanwhile. */
async function measuringCpu<T>(
  s: Setup,
  items: number,
  into: { hub: number[]; pg: number[] },
  fn: () => Promise<T>,
): Promise<T> {
  const hubTicks = () => s.to.reduce((sum, t) => sum + cpuTicks(t.server.pid), 0);
  const hub0 = hubTicks();
  const pg0 = s.postgres ? postgresCpuTicks() : 0;
  const result = await fn();
  // a tick is 10 ms: µs per item = ticks × 10,000 / items
  into.hub.push(((hubTicks() - hub0) * 10_000) / items);
  if (s.postgres) into.pg.push(((postgresCpuTicks() - pg0) * 10_000) / items);
  return result;
}

const ratios = (a: readonly number[], b: readonly number[]): Summary => summarise(a.map((x, i) => x / b[i]!));

/**
 * Scenario 7: the hub on its PostgreSQL engine (issue 9) beside the hub on LevelDB, on the same
 * resources and clients as the ingest: one hub process on PostgreSQL, and two hub processes on one
 * schema with the clients split across both and the reader reading from one of them. Every
 * repetition runs the three setups one after the other, in rotated order (the LevelDB hub measured
 * again here, so that load from elsewhere hits all alike and ratios are taken per repetition): a
 * fresh dataset, the timed ingest, one untimed read of its feed (PostgreSQL sets its hint bits on
 * the first read of fresh rows), then the timed read. Each PostgreSQL setup works in a schema of
 * its own, dropped at the end.
 */
export async function postgresEngine(b: Bench): Promise<void> {
  const why = await unreachable();
  if (why) {
    console.log(`  ${SKIPPED}\n  (${why})`);
    b.report.add({
      scenario: POSTGRES,
      system: 'hub on PostgreSQL',
      figure: 'ingest, pull',
      unit: '',
      note: SKIPPED,
    });
    return;
  }
  const { sizes, resources } = b;
  const n = resources.length;
  const bodies = batches(resources, sizes.batch).map(icarBody);
  const warmBodies = bodies.slice(0, Math.max(1, Math.floor(sizes.warmup / sizes.batch)));

  const schemas: BenchSchema[] = [];
  const servers: Server[] = [];
  const agent = () => keepAliveAgent(sizes.clients + 2);
  const hubOn = async (schema: BenchSchema, name: string) => {
    const hub = await startHub({ env: { STORE_URL: schema.url }, name });
    servers.push(hub);
    return hub;
  };
  try {
    const one = benchSchema('one');
    schemas.push(one);
    const single = await hubOn(one, 'hub on PostgreSQL');
    const two = benchSchema('two');
    schemas.push(two);
    // one after the other: the first creates the schema, the second finds it
    const first = await hubOn(two, 'hub A on PostgreSQL');
    const second = await hubOn(two, 'hub B on PostgreSQL');
    const level = setup('hub, LevelDB', [b.hub], b.hub, false, [b.hubAgent]);
    const pg1 = setup('hub, PostgreSQL, 1 process', [single], single, true, [agent()]);
    const pg2 = setup('hub, PostgreSQL, 2 processes', [first, second], second, true, [agent(), agent()]);
    const setups = [level, pg1, pg2];
    const settle = () => b.settle(() => [...servers.map((s) => s.pid), ...postgresPids()]);

    // warm-up of the new processes: JIT, sockets, pool connections, the schema's first pages
    for (const s of [pg1, pg2]) {
      const warm = await b.createDataset('pg-warm', {}, s.to[0]!.server);
      const w = await pushHub(b, warm, warmBodies, s.to);
      await pullHub(b, warm, 'json', w.changes, s.readFrom);
      await b.deleteDataset('pg-warm', s.to[0]!.server);
    }

    for (let rep = 0; rep < sizes.reps; rep++) {
      // each repetition starts with the next setup, so none always runs right after another's work
      for (let k = 0; k < setups.length; k++) {
        const i = (rep + k) % setups.length;
        const s = setups[i]!;
        const admin = s.to[0]!.server;
        await settle();
        const ds = await b.createDataset(`pg-${rep}-${i}`, {}, admin);
        const pushed = await measuringCpu(s, n, s.ingestCpu, () => pushHub(b, ds, bodies, s.to));
        if (pushed.changes !== n) throw new Error(`${s.label}: ${pushed.changes} changes for ${n} resources`);
        s.ingest.push(rate(n, pushed.ms));

        await settle();
        await pullHub(b, ds, 'json', n, s.readFrom);
        await settle();
        const ms = await measuringCpu(s, n, s.pullCpu, () => pullHub(b, ds, 'json', n, s.readFrom));
        s.pull.push(rate(n, ms));
        await b.deleteDataset(ds.id, admin);
      }
    }

    report(b, setups, n);
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    for (const s of schemas)
      await s.drop().catch((err: unknown) => console.error(`drop ${s.schema}: ${String(err)}`));
  }
}

function report(b: Bench, setups: readonly Setup[], n: number): void {
  const [level, pg1, pg2] = setups as [Setup, Setup, Setup];
  const add = (system: string, figure: string, unit: string, summary: Summary, note?: string) =>
    b.report.add({ scenario: POSTGRES, system, figure, unit, summary, ...(note ? { note } : {}) });
  const cpu = (s: Setup, c: { hub: number[]; pg: number[] }, per: string) => {
    if (!s.postgres) {
      add(s.label, `CPU per ${per}: hub (all threads)`, 'µs', summarise(c.hub));
      return;
    }
    const hub = summarise(c.hub);
    const pg = summarise(c.pg);
    add(
      s.label,
      `CPU per ${per}: hub${s.to.length > 1 ? 's' : ''} + PostgreSQL server`,
      'µs',
      summarise(c.hub.map((h, i) => h + c.pg[i]!)),
      `hub ${hub.median.toFixed(1)} + PostgreSQL ${pg.median.toFixed(1)} µs`,
    );
  };

  const ingestWhat = `${n.toLocaleString('en')} resources, batches of ${b.sizes.batch}, ${b.sizes.clients} clients`;
  add(level.label, 'POST /dataset/{id}/resources', 'resources/s', summarise(level.ingest), ingestWhat);
  add(pg1.label, 'POST /dataset/{id}/resources', 'resources/s', summarise(pg1.ingest));
  add(
    pg2.label,
    'POST /dataset/{id}/resources',
    'resources/s',
    summarise(pg2.ingest),
    `${b.sizes.clients / 2} clients on each process, one dataset`,
  );
  add('PostgreSQL, 1 process ÷ LevelDB', 'ratio, ingest', '×', ratios(pg1.ingest, level.ingest));
  add('PostgreSQL, 2 processes ÷ LevelDB', 'ratio, ingest', '×', ratios(pg2.ingest, level.ingest));
  for (const s of setups) cpu(s, s.ingestCpu, 'resource');

  const pullWhat = `${n.toLocaleString('en')} changes from the start, the reader in its own process`;
  add(level.label, 'GET /changes (JSON array)', 'changes/s', summarise(level.pull), pullWhat);
  add(pg1.label, 'GET /changes (JSON array)', 'changes/s', summarise(pg1.pull));
  add(
    pg2.label,
    'GET /changes (JSON array)',
    'changes/s',
    summarise(pg2.pull),
    'read from the second process',
  );
  add('PostgreSQL, 1 process ÷ LevelDB', 'ratio, pull', '×', ratios(pg1.pull, level.pull));
  add('PostgreSQL, 2 processes ÷ LevelDB', 'ratio, pull', '×', ratios(pg2.pull, level.pull));
  for (const s of setups) cpu(s, s.pullCpu, 'change');
}
