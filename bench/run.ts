/**
 * `npm run bench`: the hub side by side with the peer a user would pick instead (pouchdb-server,
 * CouchDB's API over LevelDB on Node) and with LevelDB itself (classic-level, no HTTP), on the same
 * generated data, in one run on this machine. Every system runs in its own child process on
 * loopback; this process only sends requests and measures.
 *
 *   npm run bench               the sizes (100,000 resources, a 1,000,000-change feed)
 *   npm run bench -- --quick    a tenth of them, for a smoke run
 *   npm run bench -- --only=8   only the scenarios whose number is listed (comma-separated)
 *
 * The hub's PostgreSQL engine runs on BENCH_STORE_URL (default: the test database of
 * .ci/postgres-up); without a reachable PostgreSQL that scenario is skipped and the rest runs.
 *
 * Prints a table and writes bench/results.json (figures, versions, the machine).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { redactStoreUrl } from '../src/store/postgres/url.js';
import { Bench, FULL, QUICK } from './lib/context.js';
import { generateResources } from './lib/data.js';
import { BENCH_STORE_URL, serverInfo } from './lib/pg.js';
import { RawLevel, Reader, ROOT, startHub, startPouch, type Server } from './lib/procs.js';
import { Report } from './lib/report.js';
import { ingest, repush } from './scenarios/ingest.js';
import { graphQuery } from './scenarios/graph.js';
import { jsonldLoad } from './scenarios/jsonld.js';
import { latency } from './scenarios/latency.js';
import { postgresEngine } from './scenarios/postgres.js';
import { longFeed, pull } from './scenarios/pull.js';
import { pushRecordScenarios, recordsQuery } from './scenarios/records.js';

const quick = process.argv.includes('--quick');
const only = process.argv
  .find((a) => a.startsWith('--only='))
  ?.slice('--only='.length)
  .split(',');
const sizes = quick ? QUICK : FULL;

function version(pkg: string): string {
  try {
    return (
      JSON.parse(readFileSync(join(ROOT, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }
    ).version;
  } catch {
    return 'unknown';
  }
}

/** The commit measured, `-dirty` when the tree had changes: a figure is traceable to its code. */
function gitCommit(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: ROOT,
      encoding: 'utf8',
    }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], {
      cwd: ROOT,
      encoding: 'utf8',
    }).trim();
    return dirty ? `${head}-dirty` : head;
  } catch {
    return 'unknown';
  }
}

function cpuModel(): string {
  const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
  return m ? m[1]!.trim() : (cpus()[0]?.model ?? 'unknown');
}

async function main(): Promise<void> {
  const started = Date.now();
  const load = loadavg();
  console.log(
    `sync hub benchmark (${quick ? 'quick' : 'full'}): ${cpus().length} CPUs (${cpuModel()}), Node ${process.version}, load ${load.map((l) => l.toFixed(2)).join(' ')}`,
  );
  const resources = generateResources(sizes.resources);
  const rawFile = join(tmpdir(), `bench-resources-${process.pid}.ndjson`);
  writeFileSync(rawFile, resources.map((r) => r.text).join('\n') + '\n');
  const avgBytes = Math.round(
    resources.reduce((n, r) => n + Buffer.byteLength(r.text), 0) / resources.length,
  );

  const report = new Report();
  const servers: Server[] = [];
  let raw: RawLevel | undefined;
  let reader: Reader | undefined;
  try {
    const hub = await startHub();
    servers.push(hub);
    const pouch = await startPouch();
    servers.push(pouch);
    raw = RawLevel.start();
    reader = Reader.start();
    const b = new Bench(sizes, hub, pouch, raw, reader, report, resources, rawFile);

    const step = async (name: string, run: () => Promise<void>) => {
      if (only && !only.includes(name.split('.')[0]!)) return;
      const t0 = Date.now();
      console.log(`${name}…`);
      await run();
      console.log(`  (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
    };
    let data: Awaited<ReturnType<typeof ingest>> | undefined;
    await step('1. ingest', async () => {
      data = await ingest(b);
    });
    if (!data && only?.some((n) => ['2', '3'].includes(n))) data = await ingest(b);
    await step('2. re-push', () => repush(b, data!));
    await step('3. pull', () => pull(b, data!));
    await step('4. push→pull latency', () => latency(b));
    let ods: Awaited<ReturnType<typeof pushRecordScenarios>>;
    await step('5. ODS / Obsrv push', async () => {
      ods = await pushRecordScenarios(b);
    });
    await step('6. records query', () => recordsQuery(b, ods));
    await step('8. JSON-LD under load: health and push p99 under 8 concurrent 5 MB expansions', () =>
      jsonldLoad(b),
    );
    await step("9. graph query: 1-hop outgoing and inverse, the ref index's ingest cost", () =>
      graphQuery(b),
    );
    // before the long feed, which leaves the LevelDB hub holding a million changes
    await step('7. PostgreSQL engine: ingest and pull, 1 and 2 hub processes', () => postgresEngine(b));
    await step(`3. pull, long feed (${sizes.longFeed.toLocaleString('en')} changes)`, () =>
      longFeed(b, data!),
    );
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    await raw?.stop();
    await reader?.stop();
    rmSync(rawFile, { force: true });
  }

  const seconds = (Date.now() - started) / 1000;
  const table = report.table();
  console.log(`\n${table}\n`);
  const meta = {
    date: new Date(started).toISOString(),
    mode: quick ? 'quick' : 'full',
    durationSeconds: Math.round(seconds),
    machine: {
      cpus: cpus().length,
      cpuModel: cpuModel(),
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      loadAverageAtStart: load,
      loadAverageAtEnd: loadavg(),
    },
    versions: {
      node: process.version,
      hub: `${(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version} (${gitCommit()})`,
      'pouchdb-server': version('pouchdb-server'),
      'express-pouchdb': version('express-pouchdb'),
      'pouchdb-core': version('pouchdb-core'),
      leveldown: version('leveldown'),
      'classic-level': version('classic-level'),
      pg: version('pg'),
    },
    postgres: { url: redactStoreUrl(BENCH_STORE_URL), ...(await serverInfo()) },
    sizes: { ...sizes, averageResourceBytes: avgBytes },
    table,
  };
  const out = join(ROOT, 'bench', 'results.json');
  report.write(out, meta);
  console.log(
    `${resources.length.toLocaleString('en')} resources of ${avgBytes} bytes on average; ${seconds.toFixed(0)} s; written ${out}`,
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
