import type { Bench, HubDataset } from '../lib/context.js';
import { revised } from '../lib/data.js';
import { cpuTicks, residentOf, type Resident, type Server } from '../lib/procs.js';
import { rate, summarise, runRotated } from '../lib/stats.js';
import { pushHub, type Ingested } from './ingest.js';

export const PULL = '3. Pull';

/** Every resource item starts with this (the generator puts resourceType first). */
const ITEM = '{"resourceType":';

/**
 * Streams a hub's whole feed (the LevelDB hub's unless `from` names another); answers ms and checks
 * it got every item and the continuation.
 */
export async function pullHub(
  b: Bench,
  ds: HubDataset,
  format: 'json' | 'ndjson',
  expect: number,
  from: Server = b.hub,
): Promise<number> {
  const url = `${from.url}/datasets/${ds.id}/changes?apikey=${ds.readKey}${format === 'ndjson' ? '&format=ndjson' : ''}`;
  const s = await b.reader.read(url, ITEM);
  if (s.status !== 200 || s.marks !== expect || !s.tail.includes('"@continuation"')) {
    throw new Error(`${from.name} /changes (${format}): status ${s.status}, ${s.marks} items of ${expect}`);
  }
  return s.ms;
}

async function pullPouch(b: Bench, db: string, expect: number): Promise<number> {
  const s = await b.reader.read(`${b.pouch.url}/${db}/_changes?include_docs=true`, '"doc":{');
  if (s.status !== 200 || s.marks !== expect || !s.tail.includes('"last_seq"')) {
    throw new Error(`pouchdb _changes: status ${s.status}, ${s.marks} docs of ${expect}`);
  }
  return s.ms;
}

/**
 * Scenario 3: the whole changelog from the start, as a collector's first sync reads it: the hub's
 * JSON array and NDJSON feeds, pouchdb-server's `_changes?include_docs=true`, and a raw
 * classic-level iterator over the same entries.
 */
export async function pull(b: Bench, data: Ingested): Promise<void> {
  const n = b.resources.length;
  // warm-up: one read of each
  await pullHub(b, data.hubDataset, 'json', n);
  await pullPouch(b, data.pouchDb, n);
  await b.raw.run({ op: 'iterate', db: data.rawDb });

  const json: number[] = [];
  const nd: number[] = [];
  const pouch: number[] = [];
  const raw: number[] = [];
  const hubCpu: number[] = [];
  const pouchCpu: number[] = [];
  const cpuPer = async (pid: number, into: number[], run: () => Promise<number>): Promise<number> => {
    const before = cpuTicks(pid);
    const ms = await run();
    into.push(((cpuTicks(pid) - before) * 10_000) / n);
    return ms;
  };
  for (let rep = 0; rep < b.sizes.reps; rep++) {
    await runRotated(rep, [
      async () => {
        await b.settle();
        json.push(rate(n, await cpuPer(b.hub.pid, hubCpu, () => pullHub(b, data.hubDataset, 'json', n))));
      },
      async () => {
        await b.settle();
        nd.push(rate(n, await pullHub(b, data.hubDataset, 'ndjson', n)));
      },
      async () => {
        await b.settle();
        pouch.push(rate(n, await cpuPer(b.pouch.pid, pouchCpu, () => pullPouch(b, data.pouchDb, n))));
      },
      async () => {
        await b.settle();
        const r = await b.raw.run({ op: 'iterate', db: data.rawDb });
        if (r.count !== n) throw new Error(`raw iterator: ${r.count} entries of ${n}`);
        raw.push(rate(r.count, r.ms));
      },
    ]);
  }
  const ratio = (a: number[], c: number[]) => summarise(a.map((x, i) => x / c[i]!));
  const what = `${n.toLocaleString('en')} changes from the start`;
  b.report.add({
    scenario: PULL,
    system: 'hub',
    figure: 'GET /changes (JSON array)',
    unit: 'changes/s',
    summary: summarise(json),
    note: what,
  });
  b.report.add({
    scenario: PULL,
    system: 'hub',
    figure: 'GET /changes?format=ndjson',
    unit: 'changes/s',
    summary: summarise(nd),
  });
  b.report.add({
    scenario: PULL,
    system: 'pouchdb-server',
    figure: 'GET /_changes?include_docs=true',
    unit: 'changes/s',
    summary: summarise(pouch),
  });
  b.report.add({
    scenario: PULL,
    system: 'classic-level',
    figure: 'iterator (nextv 1000)',
    unit: 'changes/s',
    summary: summarise(raw),
  });
  b.report.add({
    scenario: PULL,
    system: 'hub',
    figure: 'server CPU per change, JSON (all threads)',
    unit: 'µs',
    summary: summarise(hubCpu),
  });
  b.report.add({
    scenario: PULL,
    system: 'pouchdb-server',
    figure: 'server CPU per change (all threads)',
    unit: 'µs',
    summary: summarise(pouchCpu),
  });
  for (const [label, figures] of [
    ['JSON', json],
    ['NDJSON', nd],
  ] as const) {
    const vsPouch = ratio(figures, pouch);
    const vsRaw = ratio(figures, raw);
    b.report.add({
      scenario: PULL,
      system: `hub ${label} ÷ pouchdb-server`,
      figure: 'ratio',
      unit: '×',
      summary: vsPouch,
      target: '≥ 12×',
      met: vsPouch.median >= 12,
    });
    b.report.add({
      scenario: PULL,
      system: `hub ${label} ÷ classic-level`,
      figure: 'ratio',
      unit: '×',
      summary: vsRaw,
      target: '≥ 0.5×',
      met: vsRaw.median >= 0.5,
    });
  }
}

/**
 * Scenario 3, long feed: the hub's changelog grown to `longFeed` changes (new versions of the same
 * resources, pushed like the ingest), then streamed whole as one JSON array while the hub's RSS is
 * sampled every 100 ms. A streaming feed keeps it flat; one built in memory would grow by the feed.
 */
export async function longFeed(b: Bench, data: Ingested): Promise<void> {
  const ds = data.hubDataset;
  const n = b.resources.length;
  const rounds = Math.ceil(b.sizes.longFeed / n) - 1;
  let pushed = 0;
  let pushMs = 0;
  for (let round = 1; round <= rounds; round++) {
    const bodies = data.hubBodies.map((body) => revised(body, round));
    const r = await pushHub(b, ds, bodies);
    if (r.changes !== n) throw new Error(`hub: round ${round} made ${r.changes} changes of ${n}`);
    pushed += r.changes;
    pushMs += r.ms;
  }
  const info = await b.datasetInfo(ds);
  const total = info.lastSeq;
  if (total < b.sizes.longFeed) throw new Error(`hub: ${total} changes, ${b.sizes.longFeed} wanted`);
  if (pushed > 0) {
    b.report.add({
      scenario: PULL,
      system: 'hub',
      figure: 'filling the long feed: updates pushed',
      unit: 'resources/s',
      summary: summarise([rate(pushed, pushMs)]),
      note: `${pushed.toLocaleString('en')} new versions`,
    });
  }

  await b.settle();
  const before = residentOf(b.hub.pid);
  const samples: Resident[] = [];
  const timer = setInterval(() => samples.push(residentOf(b.hub.pid)), 100);
  let ms: number;
  try {
    const s = await b.reader.read(`${b.hub.url}/datasets/${ds.id}/changes?apikey=${ds.readKey}`, ITEM);
    ms = s.ms;
    if (s.status !== 200 || s.marks !== total)
      throw new Error(`hub long feed: status ${s.status}, ${s.marks} items of ${total}`);
  } finally {
    clearInterval(timer);
  }
  const mb = (x: number) => x / 1024 / 1024;
  const peak = (k: keyof Resident) => Math.max(before[k], ...samples.map((x) => x[k]));
  const label = `${total.toLocaleString('en')} changes`;
  const note = `${samples.length} samples every 100 ms`;
  b.report.add({
    scenario: PULL,
    system: 'hub',
    figure: `GET /changes, ${label} (JSON)`,
    unit: 'changes/s',
    summary: summarise([rate(total, ms)]),
  });
  for (const [k, what] of [
    ['rss', 'RSS (VmRSS)'],
    ['anon', 'own memory (RssAnon)'],
    ['file', 'mapped LevelDB files (RssFile)'],
  ] as const) {
    b.report.add({
      scenario: PULL,
      system: 'hub',
      figure: `${what} at start → peak while streaming`,
      unit: 'MB',
      summary: summarise([mb(peak(k))]),
      note: `${mb(before[k]).toFixed(0)} → ${mb(peak(k)).toFixed(0)} MB, ${note}`,
    });
  }
  // the target is on the hub's own memory: file pages are the kernel's cache of LevelDB's tables
  const growth = mb(peak('anon') - before.anon);
  b.report.add({
    scenario: PULL,
    system: 'hub',
    figure: `own memory growth while streaming ${label}`,
    unit: 'MB',
    summary: summarise([growth]),
    target: '≤ 50 MB',
    met: growth <= 50,
  });
}
