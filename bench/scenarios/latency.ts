import { keepAliveAgent, send, sendOk } from '../lib/client.js';
import type { Bench } from '../lib/context.js';
import { CONTEXT_ELEMENT, generateResources, type Resource } from '../lib/data.js';
import { percentile, runRotated, summarise, tailName } from '../lib/stats.js';

export const LATENCY = '4. Push→pull latency';

/** A system seen as: push one resource, and long-poll for changes after a position. */
interface LiveFeed {
  push(r: Resource): Promise<void>;
  /** waits for the next changes; answers the sourceIds they carry */
  poll(): Promise<string[]>;
}

/**
 * Measures, for each of `resources`, the time from just before its push is sent to the moment a
 * long-poll reader has it. The writer sends the next push only after the reader got the previous
 * one, so every sample is one change's own latency, not a queue's.
 */
async function measure(feed: LiveFeed, resources: readonly Resource[]): Promise<number[]> {
  const sentAt = new Map<string, number>();
  const waiting = new Map<string, () => void>();
  const latencies: number[] = [];
  let reading = true;
  const reader = (async () => {
    while (reading) {
      const ids = await feed.poll();
      const now = performance.now();
      for (const id of ids) {
        const t = sentAt.get(id);
        if (t === undefined) continue;
        latencies.push(now - t);
        waiting.get(id)?.();
      }
    }
  })();
  for (const r of resources) {
    const received = new Promise<void>((resolve) => waiting.set(r.sourceId, resolve));
    sentAt.set(r.sourceId, performance.now());
    await feed.push(r);
    await received;
    // a short, varying pause: the next push meets the reader at a different point of its poll cycle
    await new Promise((resolve) => setTimeout(resolve, 1 + (latencies.length % 5)));
  }
  reading = false;
  // one last push ends the reader's pending long-poll
  const last = generateResources(1, 99, 'end')[0]!;
  await feed.push(last);
  await reader;
  return latencies;
}

function hubFeed(b: Bench, ds: { id: string; pushKey: string; readKey: string }, token: string): LiveFeed {
  const readAgent = keepAliveAgent(1);
  const context = JSON.stringify(CONTEXT_ELEMENT);
  let since = token;
  return {
    async push(r) {
      await sendOk(b.hubAgent, `${b.hub.url}/dataset/${ds.id}/resources`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ds.pushKey}` },
        body: `[${context},${r.text}]`,
      });
    },
    async poll() {
      const reply = await sendOk(
        readAgent,
        `${b.hub.url}/datasets/${ds.id}/changes?apikey=${ds.readKey}&feed=longpoll&timeout=30000&since=${since}`,
      );
      const items = JSON.parse(reply.body.toString('utf8')) as Array<{
        id?: string;
        token?: string;
        meta?: { sourceId: string };
      }>;
      since = items[items.length - 1]!.token!;
      return items.flatMap((i) => (i.meta ? [i.meta.sourceId] : []));
    },
  };
}

function pouchFeed(b: Bench, db: string): LiveFeed {
  const readAgent = keepAliveAgent(1);
  let since: string | number = 0;
  return {
    async push(r) {
      const reply = await sendOk(
        b.pouchAgent,
        `${b.pouch.url}/${db}/_bulk_docs`,
        { method: 'POST', body: `{"docs":[{"_id":${JSON.stringify(r.id)},${r.text.slice(1)}]}` },
        [201],
      );
      if (reply.body.includes('"error"')) throw new Error(`pouchdb push: ${reply.body.toString('utf8')}`);
    },
    async poll() {
      const reply = await sendOk(
        readAgent,
        `${b.pouch.url}/${db}/_changes?feed=longpoll&include_docs=true&timeout=30000&since=${since}`,
      );
      const body = JSON.parse(reply.body.toString('utf8')) as {
        results: Array<{ doc?: { meta?: { sourceId: string } } }>;
        last_seq: string | number;
      };
      since = body.last_seq;
      return body.results.flatMap((r) => (r.doc?.meta ? [r.doc.meta.sourceId] : []));
    },
  };
}

/** Scenario 4: push→pull latency through a long-poll, hub vs pouchdb-server `feed=longpoll`. */
export async function latency(b: Bench): Promise<void> {
  const n = b.sizes.latencyPushes;
  const result = {
    hub: { p50: [] as number[], p99: [] as number[] },
    pouch: { p50: [] as number[], p99: [] as number[] },
  };
  for (let rep = -1; rep < b.sizes.reps; rep++) {
    // rep -1 is the warm-up
    const resources = generateResources(rep < 0 ? 20 : n, 1000 + rep, `lat${rep + 1}`);
    let hub: number[] = [];
    let pouch: number[] = [];
    await runRotated(rep + 1, [
      async () => {
        await b.settle();
        const ds = await b.createDataset(`latency-${rep + 1}`);
        const start = await send(
          b.hubAgent,
          `${b.hub.url}/datasets/${ds.id}/changes?apikey=${ds.readKey}&limit=0`,
        );
        const items = JSON.parse(start.body.toString('utf8')) as Array<{ token?: string }>;
        hub = await measure(hubFeed(b, ds, items[items.length - 1]!.token!), resources);
      },
      async () => {
        await b.settle();
        await b.createDb(`latency-${rep + 1}`);
        pouch = await measure(pouchFeed(b, `latency-${rep + 1}`), resources);
      },
    ]);
    if (rep < 0) continue;
    result.hub.p50.push(percentile(hub, 50));
    result.hub.p99.push(percentile(hub, 99));
    result.pouch.p50.push(percentile(pouch, 50));
    result.pouch.p99.push(percentile(pouch, 99));
  }
  const note = `${n} single-resource pushes a repetition, one long-poll reader`;
  const tail = tailName(n);
  b.report.add({
    scenario: LATENCY,
    system: 'hub',
    figure: 'p50 push sent → change received',
    unit: 'ms',
    summary: summarise(result.hub.p50),
    note,
  });
  const hubP99 = summarise(result.hub.p99);
  b.report.add({
    scenario: LATENCY,
    system: 'hub',
    figure: tail,
    unit: 'ms',
    summary: hubP99,
    target: '< 50 ms',
    met: hubP99.median < 50,
  });
  b.report.add({
    scenario: LATENCY,
    system: 'pouchdb-server',
    figure: 'p50 (_changes?feed=longpoll)',
    unit: 'ms',
    summary: summarise(result.pouch.p50),
  });
  b.report.add({
    scenario: LATENCY,
    system: 'pouchdb-server',
    figure: tail,
    unit: 'ms',
    summary: summarise(result.pouch.p99),
  });
}
