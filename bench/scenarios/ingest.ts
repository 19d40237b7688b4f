import type { Agent } from 'node:http';
import { send } from '../lib/client.js';
import { pushAll, type Bench, type HubDataset } from '../lib/context.js';
import { batches, bulkDocsBody, icarBody } from '../lib/data.js';
import { cpuTicks, type Server } from '../lib/procs.js';
import { rate, summarise, runRotated } from '../lib/stats.js';

export const INGEST = '1. Ingest';
export const REPUSH = '2. Re-push (dedup)';

/** What the ingest leaves for the scenarios after it: the last repetition's data sets. */
export interface Ingested {
  readonly hubDataset: HubDataset;
  readonly pouchDb: string;
  readonly rawDb: string;
  readonly hubBodies: readonly Buffer[];
  readonly pouchBodies: readonly Buffer[];
}

/**
 * Pushes ICAR bodies to the hub from `clients` clients; answers ms and the changes the hub reports.
 * `to` spreads the clients over other hubs instead (client i pushes to `to[i % to.length]`).
 */
export async function pushHub(
  b: Bench,
  ds: HubDataset,
  bodies: readonly Buffer[],
  to: readonly { readonly server: Server; readonly agent: Agent }[] = [{ server: b.hub, agent: b.hubAgent }],
): Promise<{ ms: number; changes: number }> {
  let changes = 0;
  const urls = to.map((t) => `${t.server.url}/dataset/${ds.id}/resources`);
  const headers = { authorization: `Bearer ${ds.pushKey}` };
  const ms = await pushAll(b.sizes.clients, bodies, async (body, client) => {
    const i = client % to.length;
    const r = await send(to[i]!.agent, urls[i]!, { method: 'POST', headers, body });
    if (r.status !== 200)
      throw new Error(`${to[i]!.server.name} push → ${r.status}: ${r.body.toString('utf8', 0, 300)}`);
    changes += (JSON.parse(r.body.toString('utf8')) as { changes: number }).changes;
  });
  return { ms, changes };
}

/**
 * Pushes `_bulk_docs` bodies to pouchdb-server; answers ms and how many docs were written and how
 * many answered a conflict (a re-push without revisions).
 */
export async function pushPouch(
  b: Bench,
  db: string,
  bodies: readonly Buffer[],
): Promise<{ ms: number; ok: number; conflicts: number }> {
  let ok = 0;
  let conflicts = 0;
  const url = `${b.pouch.url}/${db}/_bulk_docs`;
  const ms = await pushAll(b.sizes.clients, bodies, async (body) => {
    const r = await send(b.pouchAgent, url, { method: 'POST', body });
    if (r.status !== 201)
      throw new Error(`pouchdb _bulk_docs → ${r.status}: ${r.body.toString('utf8', 0, 300)}`);
    for (const item of JSON.parse(r.body.toString('utf8')) as Array<{ ok?: boolean; error?: string }>) {
      if (item.ok) ok++;
      else if (item.error === 'conflict') conflicts++;
      else throw new Error(`pouchdb _bulk_docs item error: ${JSON.stringify(item)}`);
    }
  });
  return { ms, ok, conflicts };
}

const ratios = (a: readonly number[], b: readonly number[]): number[] => a.map((x, i) => x / b[i]!);

/**
 * Scenario 1: the same resources into the hub (ICAR push), pouchdb-server (`_bulk_docs`) and the
 * raw classic-level loop, repetitions interleaved so that load from elsewhere hits all three alike.
 * Each repetition writes into a fresh dataset/database; the last ones stay for scenarios 2–3.
 */
export async function ingest(b: Bench): Promise<Ingested> {
  const { sizes, resources } = b;
  const groups = batches(resources, sizes.batch);
  const hubBodies = groups.map(icarBody);
  const pouchBodies = groups.map(bulkDocsBody);
  const n = resources.length;

  // warm-up: JIT, sockets, LevelDB files, on a share of the data
  const warmBatches = Math.max(1, Math.floor(sizes.warmup / sizes.batch));
  const warm = await b.createDataset('warm');
  await pushHub(b, warm, hubBodies.slice(0, warmBatches));
  await b.createDb('warm');
  await pushPouch(b, 'warm', pouchBodies.slice(0, warmBatches));
  await b.raw.run({
    op: 'ingest',
    file: b.rawFile,
    batch: sizes.batch,
    db: `${b.raw.dir}/warm`,
    limit: warmBatches * sizes.batch,
  });

  const hub: number[] = [];
  const pouch: number[] = [];
  const raw: number[] = [];
  const chained: number[] = [];
  const hubCpu: number[] = [];
  const pouchCpu: number[] = [];
  /** µs of CPU (all threads) a server spent per resource while `run` ran */
  const cpuPer = async <T>(pid: number, into: number[], run: () => Promise<T>): Promise<T> => {
    const before = cpuTicks(pid);
    const result = await run();
    into.push(((cpuTicks(pid) - before) * 10_000) / n);
    return result;
  };
  let last: Omit<Ingested, 'hubBodies' | 'pouchBodies'> | undefined;
  for (let rep = 0; rep < sizes.reps; rep++) {
    const name = `ingest-${rep}`;
    await b.settle();
    const ds = await b.createDataset(name);
    await b.createDb(name);
    const rawDb = `${b.raw.dir}/${name}`;
    await runRotated(rep, [
      async () => {
        await b.settle();
        const h = await cpuPer(b.hub.pid, hubCpu, () => pushHub(b, ds, hubBodies));
        if (h.changes !== n) throw new Error(`hub: ${h.changes} changes for ${n} resources`);
        hub.push(rate(n, h.ms));
      },
      async () => {
        await b.settle();
        const p = await cpuPer(b.pouch.pid, pouchCpu, () => pushPouch(b, name, pouchBodies));
        if (p.ok !== n) throw new Error(`pouchdb: ${p.ok} docs written for ${n}`);
        pouch.push(rate(n, p.ms));
      },
      async () => {
        await b.settle();
        const r = await b.raw.run({ op: 'ingest', file: b.rawFile, batch: sizes.batch, db: rawDb });
        raw.push(rate(r.count, r.ms));
      },
      async () => {
        await b.settle();
        const c = await b.raw.run({
          op: 'ingest',
          file: b.rawFile,
          batch: sizes.batch,
          db: `${rawDb}-chained`,
          chained: true,
        });
        chained.push(rate(c.count, c.ms));
      },
    ]);

    if (last) {
      // keep the disk small: only the last repetition's data is read later
      await b.deleteDataset(last.hubDataset.id);
      await b.deleteDb(last.pouchDb);
    }
    last = { hubDataset: ds, pouchDb: name, rawDb };
  }
  await b.deleteDataset('warm');
  await b.deleteDb('warm');

  const what = `${n.toLocaleString('en')} resources, batches of ${sizes.batch}, ${sizes.clients} clients`;
  b.report.add({
    scenario: INGEST,
    system: 'hub',
    figure: 'POST /dataset/{id}/resources',
    unit: 'resources/s',
    summary: summarise(hub),
    note: what,
  });
  b.report.add({
    scenario: INGEST,
    system: 'pouchdb-server',
    figure: 'POST /{db}/_bulk_docs',
    unit: 'resources/s',
    summary: summarise(pouch),
  });
  b.report.add({
    scenario: INGEST,
    system: 'classic-level',
    figure: `db.batch(array of ${sizes.batch}), sync: true`,
    unit: 'resources/s',
    summary: summarise(raw),
    note: 'the plain loop',
  });
  b.report.add({
    scenario: INGEST,
    system: 'classic-level',
    figure: `chained batch of ${sizes.batch}, sync: true`,
    unit: 'resources/s',
    summary: summarise(chained),
  });
  b.report.add({
    scenario: INGEST,
    system: 'hub',
    figure: 'server CPU per resource (all threads)',
    unit: 'µs',
    summary: summarise(hubCpu),
  });
  b.report.add({
    scenario: INGEST,
    system: 'pouchdb-server',
    figure: 'server CPU per resource (all threads)',
    unit: 'µs',
    summary: summarise(pouchCpu),
  });
  const vsPouch = summarise(ratios(hub, pouch));
  const vsRaw = summarise(ratios(hub, raw));
  b.report.add({
    scenario: INGEST,
    system: 'hub ÷ pouchdb-server',
    figure: 'ratio',
    unit: '×',
    summary: vsPouch,
    target: '≥ 5×',
    met: vsPouch.median >= 5,
  });
  b.report.add({
    scenario: INGEST,
    system: 'hub ÷ classic-level plain loop',
    figure: 'ratio',
    unit: '×',
    summary: vsRaw,
    target: '≥ 1×',
    met: vsRaw.median >= 1,
  });
  b.report.add({
    scenario: INGEST,
    system: 'hub ÷ classic-level chained',
    figure: 'ratio',
    unit: '×',
    summary: summarise(ratios(hub, chained)),
  });
  return { ...last!, hubBodies, pouchBodies };
}

/**
 * Scenario 2: the same resources pushed again. The hub compares canonical hashes and writes
 * nothing; pouchdb-server, given the same documents without revisions, answers a conflict for each
 * (CouchDB's way of refusing a second write of an existing id) and writes nothing either.
 */
export async function repush(b: Bench, data: Ingested): Promise<void> {
  const n = b.resources.length;
  const hub: number[] = [];
  const pouch: number[] = [];
  for (let rep = 0; rep < b.sizes.reps; rep++) {
    await runRotated(rep, [
      async () => {
        await b.settle();
        const h = await pushHub(b, data.hubDataset, data.hubBodies);
        if (h.changes !== 0) throw new Error(`hub: a re-push made ${h.changes} changes`);
        hub.push(rate(n, h.ms));
      },
      async () => {
        await b.settle();
        const p = await pushPouch(b, data.pouchDb, data.pouchBodies);
        if (p.conflicts !== n) throw new Error(`pouchdb: ${p.conflicts} conflicts for ${n} re-pushed docs`);
        pouch.push(rate(n, p.ms));
      },
    ]);
  }
  b.report.add({
    scenario: REPUSH,
    system: 'hub',
    figure: 'identical resources (0 changes)',
    unit: 'resources/s',
    summary: summarise(hub),
  });
  b.report.add({
    scenario: REPUSH,
    system: 'pouchdb-server',
    figure: 'same docs, no _rev (409 each)',
    unit: 'resources/s',
    summary: summarise(pouch),
  });
  b.report.add({
    scenario: REPUSH,
    system: 'hub ÷ pouchdb-server',
    figure: 'ratio',
    unit: '×',
    summary: summarise(ratios(hub, pouch)),
  });
}
