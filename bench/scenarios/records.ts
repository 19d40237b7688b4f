import { randomUUID } from 'node:crypto';
import { send } from '../lib/client.js';
import { pushAll, type Bench, type HubDataset } from '../lib/context.js';
import { batches, generateEvents } from '../lib/data.js';
import { percentile, rate, summarise, tailName } from '../lib/stats.js';

export const PUSH_RECORDS = '5. ODS / Obsrv push';
export const QUERY = '6. Records query';

/** A route that is not (yet) mounted answers 404 NOT_FOUND; the scenario then says so and skips. */
class RouteMissing extends Error {}

async function pushRecords(
  b: Bench,
  url: string,
  headers: Record<string, string>,
  bodies: readonly Buffer[],
): Promise<number> {
  return pushAll(b.sizes.clients, bodies, async (body) => {
    const r = await send(b.hubAgent, url, { method: 'POST', headers, body });
    if (r.status === 404) throw new RouteMissing(r.body.toString('utf8', 0, 200));
    if (r.status !== 200)
      throw new Error(`${url.split('?')[0]} → ${r.status}: ${r.body.toString('utf8', 0, 300)}`);
  });
}

/**
 * Pushes `total` records in arrays of `recordBatch`, over `reps` repetitions (plus a warm-up into
 * another dataset); every repetition adds new records to the same dataset, so that the records
 * query runs on all of them afterwards. Answers the per-repetition rates, or why it was skipped.
 */
async function measurePush(
  b: Bench,
  prefix: string,
  makeBody: (records: Array<Record<string, unknown>>) => Buffer,
  url: (ds: HubDataset) => string,
): Promise<{ rates: number[]; dataset: HubDataset } | { skipped: string }> {
  const { reps, records, recordBatch } = b.sizes;
  const headers = (ds: HubDataset) => ({ authorization: `Bearer ${ds.pushKey}` });
  try {
    const warm = await b.createDataset(`${prefix}-warm`);
    const warmBodies = batches(
      generateEvents(Math.max(recordBatch, records / 10), 1, `${prefix}w`),
      recordBatch,
    ).map(makeBody);
    await pushRecords(b, url(warm), headers(warm), warmBodies);
    const ds = await b.createDataset(prefix);
    const rates: number[] = [];
    const perRep = Math.ceil(records / reps);
    for (let rep = 0; rep < reps; rep++) {
      const bodies = batches(generateEvents(perRep, 10 + rep, `${prefix}${rep}`), recordBatch).map(makeBody);
      await b.settle();
      const ms = await pushRecords(b, url(ds), headers(ds), bodies);
      rates.push(rate(perRep, ms));
    }
    return { rates, dataset: ds };
  } catch (err) {
    // only a missing route is a skip; any other failure (a 500, a refused connection) ends the bench
    if (!(err instanceof RouteMissing)) throw err;
    // the 404's body says which route is missing; the table only needs to say that one is
    console.log(`    404: ${err.message.trim()}`);
    return { skipped: 'skipped: route not available (404)' };
  }
}

/** Scenario 5: ODS records/s (arrays of 100) and Obsrv events/s (batches of 100). */
export async function pushRecordScenarios(b: Bench): Promise<HubDataset | undefined> {
  const what = `${b.sizes.records.toLocaleString('en')} in arrays of ${b.sizes.recordBatch}, ${b.sizes.clients} clients`;
  const obsrv = await measurePush(
    b,
    'obsrv',
    (events) =>
      Buffer.from(
        JSON.stringify({
          id: 'api.data.in',
          ver: 'v2',
          ts: String(Date.now()),
          params: { msgid: randomUUID() },
          data: events,
        }),
      ),
    (ds) => `${b.hub.url}/v2/data/in/${ds.id}`,
  );
  if ('skipped' in obsrv)
    b.report.add({
      scenario: PUSH_RECORDS,
      system: 'hub',
      figure: 'Obsrv POST /v2/data/in/{id}',
      unit: 'events/s',
      note: obsrv.skipped,
    });
  else
    b.report.add({
      scenario: PUSH_RECORDS,
      system: 'hub',
      figure: 'Obsrv POST /v2/data/in/{id}',
      unit: 'events/s',
      summary: summarise(obsrv.rates),
      note: what,
    });

  const ods = await measurePush(
    b,
    'ods',
    (records) => Buffer.from(JSON.stringify(records)),
    (ds) => `${b.hub.url}/api/push/1.0/${ds.id}/realtime/push/?pushkey=${ds.pushKey}`,
  );
  if ('skipped' in ods) {
    b.report.add({
      scenario: PUSH_RECORDS,
      system: 'hub',
      figure: 'ODS POST /api/push/1.0/{id}/{res}/push/',
      unit: 'records/s',
      note: ods.skipped,
    });
    return undefined;
  }
  b.report.add({
    scenario: PUSH_RECORDS,
    system: 'hub',
    figure: 'ODS POST /api/push/1.0/{id}/{res}/push/',
    unit: 'records/s',
    summary: summarise(ods.rates),
    note: what,
  });
  return ods.dataset;
}

/** The ODSQL filters timed: a common value (found early) and a rare conjunction (a long scan). */
const QUERIES = ['device = "box-3"', 'farm = "farm-0042" and value > 15'];

/** Scenario 6: `/records?where=…&limit=10` latency over the ODS dataset of scenario 5. */
export async function recordsQuery(b: Bench, ds: HubDataset | undefined): Promise<void> {
  const figure = (label: string) => `GET …/records?where=${label}&limit=10`;
  if (!ds) {
    b.report.add({
      scenario: QUERY,
      system: 'hub',
      figure: figure('…'),
      unit: 'ms',
      note: 'skipped: route not available (ODS push was skipped)',
    });
    return;
  }
  const base = `${b.hub.url}/api/explore/v2.1/catalog/datasets/${ds.id}/records?apikey=${ds.readKey}&limit=10`;
  for (const label of QUERIES) {
    const url = `${base}&where=${encodeURIComponent(label)}`;
    const probe = await send(b.hubAgent, url);
    if (probe.status === 404) {
      b.report.add({
        scenario: QUERY,
        system: 'hub',
        figure: figure(label),
        unit: 'ms',
        note: 'skipped: route not available (404)',
      });
      continue;
    }
    if (probe.status !== 200)
      throw new Error(`records query → ${probe.status}: ${probe.body.toString('utf8', 0, 300)}`);
    const { total_count: total } = JSON.parse(probe.body.toString('utf8')) as { total_count: number };
    const p50: number[] = [];
    const p99: number[] = [];
    for (let rep = 0; rep < b.sizes.reps; rep++) {
      await b.settle();
      const samples: number[] = [];
      for (let q = 0; q < b.sizes.queries; q++) {
        const t0 = performance.now();
        const r = await send(b.hubAgent, url);
        samples.push(performance.now() - t0);
        if (r.status !== 200) throw new Error(`records query → ${r.status}`);
      }
      p50.push(percentile(samples, 50));
      p99.push(percentile(samples, 99));
    }
    const note = `${b.sizes.records.toLocaleString('en')} records, ${total.toLocaleString('en')} match, ${b.sizes.queries} queries a repetition`;
    b.report.add({
      scenario: QUERY,
      system: 'hub',
      figure: `p50 ${figure(label)}`,
      unit: 'ms',
      summary: summarise(p50),
      note,
    });
    // nearest-rank p99 of fewer than 100 samples is their maximum: named so
    const tail = tailName(b.sizes.queries);
    b.report.add({ scenario: QUERY, system: 'hub', figure: tail, unit: 'ms', summary: summarise(p99) });
  }
}
