import { send, sendOk } from '../lib/client.js';
import { pushAll, type Bench, type HubDataset } from '../lib/context.js';
import { cpuTicks } from '../lib/procs.js';
import { percentile, rate, summarise, tailName } from '../lib/stats.js';

export const GRAPH = '9. Graph query';

const NS = { p: 'http://bench.example/people/', s: 'http://bench.example/schema/' };
const CONTEXT = JSON.stringify({ id: '@context', namespaces: NS });
const BATCH = 1000;

/**
 * Entity i of n with 3 refs: two to other entities of the graph (pseudo-random, so every entity
 * has about two incoming refs) and its type (one hub node every entity refers to). Without refs, the
 * same ids become props of the same size: the ingest cost of the ref index is the difference.
 */
function entity(i: number, n: number, withRefs: boolean): string {
  const a = `p:${(i * 7919 + 1) % n}`;
  const b = `p:${(i * 104729 + 3) % n}`;
  const links = { 's:knows': a, 's:worksWith': b, 's:type': 's:Person' };
  const body = withRefs ? { refs: links } : { props: links };
  return JSON.stringify({ id: `p:${i}`, props: { 's:name': `person ${i}`, 's:n': i }, ...body });
}

function bodies(n: number, withRefs: boolean): Buffer[] {
  const out: Buffer[] = [];
  for (let start = 0; start < n; start += BATCH) {
    const items: string[] = [CONTEXT];
    for (let i = start; i < Math.min(n, start + BATCH); i++) items.push(entity(i, n, withRefs));
    out.push(Buffer.from(`[${items.join(',')}]`));
  }
  return out;
}

async function ingest(b: Bench, ds: HubDataset, all: Buffer[]): Promise<{ ms: number; cpuMs: number }> {
  await b.settle();
  const ticks0 = cpuTicks(b.hub.pid);
  const ms = await pushAll(b.sizes.clients, all, async (body) => {
    const r = await send(b.hubAgent, `${b.hub.url}/datasets/${ds.id}/entities`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ds.pushKey}` },
      body,
    });
    if (r.status !== 200) throw new Error(`push → ${r.status}: ${r.body.toString('utf8', 0, 300)}`);
  });
  // clock ticks of 10 ms
  return { ms, cpuMs: (cpuTicks(b.hub.pid) - ticks0) * 10 };
}

/** `count` queries one after the other; answers the latencies (ms). */
async function timeQueries(
  b: Bench,
  ds: HubDataset,
  make: (k: number) => object,
  count: number,
): Promise<number[]> {
  const out: number[] = [];
  for (let k = 0; k < count; k++) {
    const body = JSON.stringify({ ...make(k), datasets: [ds.id] });
    const t0 = performance.now();
    const r = await sendOk(b.hubAgent, `${b.hub.url}/query`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ds.readKey}` },
      body,
    });
    out.push(performance.now() - t0);
    if (r.body.length < 10) throw new Error('empty query answer');
  }
  return out;
}

/**
 * Scenario 9: a graph of `graphEntities` entities with 3 refs each (a tenth with --quick) pushed
 * through the UDA route, beside the same entities without refs (the ref index's ingest cost);
 * then 1-hop outgoing and inverse queries from single entities (p50, p99 of 200 each), and one
 * 100-entity page of the hub node every entity refers to.
 */
export async function graphQuery(b: Bench): Promise<void> {
  const n = b.sizes.graphEntities;
  const what = `${n.toLocaleString('en')} entities × 3 refs, pushed in arrays of ${BATCH} from ${b.sizes.clients} clients`;
  const plain = await b.createDataset('graph-plain');
  const refs = await b.createDataset('graph-refs');
  const without = await ingest(b, plain, bodies(n, false));
  const withRefs = await ingest(b, refs, bodies(n, true));
  b.report.add({
    scenario: GRAPH,
    system: 'hub',
    figure: 'ingest without refs',
    unit: 'entities/s',
    summary: summarise([rate(n, without.ms)]),
    note: what,
  });
  b.report.add({
    scenario: GRAPH,
    system: 'hub',
    figure: 'ingest with refs (ref index kept)',
    unit: 'entities/s',
    summary: summarise([rate(n, withRefs.ms)]),
  });
  const cost = (withRefs.cpuMs / without.cpuMs - 1) * 100;
  b.report.add({
    scenario: GRAPH,
    system: 'hub',
    figure: 'ref index ingest cost (hub CPU per entity, with vs without refs)',
    unit: '%',
    summary: summarise([cost]),
    target: '< 25 %',
    met: cost < 25,
  });

  // the queries meet the store, not the compactions of the ingest just done
  await b.settle();
  const count = 200;
  const pick = (k: number) => `p:${(k * 15485863) % n}`;
  const hops: Array<[string, (k: number) => object]> = [
    ['1-hop outgoing (*) from one entity', (k) => ({ startingEntities: [pick(k)], predicate: '*' })],
    [
      '1-hop inverse (*) to one entity',
      (k) => ({ startingEntities: [pick(k)], predicate: '*', inverse: true }),
    ],
    [
      '1-hop inverse, 100 of the hub node (s:type → s:Person)',
      () => ({ startingEntities: ['s:Person'], predicate: 's:type', inverse: true, limit: 100 }),
    ],
  ];
  for (const [figure, make] of hops) {
    await timeQueries(b, refs, make, 20); // warm-up
    const samples = await timeQueries(b, refs, make, count);
    b.report.add({
      scenario: GRAPH,
      system: 'hub',
      figure: `${figure}: p50`,
      unit: 'ms',
      summary: summarise([percentile(samples, 50)]),
    });
    const p99 = percentile(samples, 99);
    b.report.add({
      scenario: GRAPH,
      system: 'hub',
      figure: `${figure}: ${tailName(samples.length)}`,
      unit: 'ms',
      summary: summarise([p99]),
      target: '< 10 ms',
      met: p99 < 10,
    });
  }
  await b.deleteDataset(plain.id);
  await b.deleteDataset(refs.id);
}
