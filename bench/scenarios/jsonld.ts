import { request as httpRequest, type Agent } from 'node:http';
import { keepAliveAgent, sendOk } from '../lib/client.js';
import type { Bench } from '../lib/context.js';
import { CONTEXT_ELEMENT, generateResources } from '../lib/data.js';
import { HUB_ADMIN } from '../lib/procs.js';
import { percentile, summarise } from '../lib/stats.js';

export const JSONLD_LOAD = '8. JSON-LD under load';

/** Concurrent expansions the hub is held under, and each document's size (the issue's figures). */
const EXPANSIONS = 8;
const DOCUMENT_BYTES = 5_000_000;

/** A JSON-LD document of about `bytes` bytes: ICAR resources under the hub's ICAR context, as one graph. */
function bigDocument(bytes: number): Buffer {
  const graph: string[] = [];
  let size = 0;
  let i = 0;
  while (size < bytes - 200) {
    const r = generateResources(1, 1000 + i, `ld${i}`)[0]!.text;
    graph.push(r);
    size += r.length + 1;
    i++;
  }
  return Buffer.from(`{"@context":"icar","@graph":[${graph.join(',')}]}`);
}

/** POST a body and count the answer's bytes without keeping them (the client spends little CPU). */
function postCounting(
  agent: Agent,
  url: string,
  token: string,
  body: Buffer,
): Promise<{ status: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      {
        agent,
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'content-length': String(body.length),
        },
      },
      (res) => {
        let bytes = 0;
        res.on('data', (c: Buffer) => (bytes += c.length));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * `GET /health` and a one-resource push, each sent one at a time in a loop, while EXPANSIONS
 * clients keep a 5 MB POST /jsonld/expand each in flight (a new one as soon as one answers). The
 * JSON-LD work runs on the hub's worker pool; the event loop only moves bytes, so the probes'
 * p99 should stay under 100 ms.
 */
export async function jsonldLoad(b: Bench): Promise<void> {
  const seconds = b.sizes.resources >= 100_000 ? 30 : 10;
  const ds = await b.createDataset('jsonld-load');
  const doc = bigDocument(DOCUMENT_BYTES);
  const heavy = keepAliveAgent(EXPANSIONS);
  const probes = keepAliveAgent(2);
  let until = 0;
  const statuses = new Map<number, number>();
  let expandedBytes = 0;

  const expander = async (): Promise<void> => {
    while (performance.now() < until) {
      const r = await postCounting(heavy, `${b.hub.url}/jsonld/expand`, HUB_ADMIN, doc);
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      if (r.status === 200) expandedBytes += r.bytes;
    }
  };
  const probe = async (run: () => Promise<unknown>, end = until, warmUp = 500): Promise<number[]> => {
    const samples: number[] = [];
    // the expansions are under way before the first sample
    await new Promise((resolve) => setTimeout(resolve, warmUp));
    while (performance.now() < end) {
      const t0 = performance.now();
      await run();
      samples.push(performance.now() - t0);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return samples;
  };
  const context = JSON.stringify(CONTEXT_ELEMENT);
  let n = 0;
  const healthProbe = () => sendOk(probes, `${b.hub.url}/health`);
  const pushProbe = () => {
    const r = generateResources(1, 5000 + n, `probe${n++}`)[0]!;
    return sendOk(probes, `${b.hub.url}/dataset/${ds.id}/resources`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ds.pushKey}` },
      body: `[${context},${r.text}]`,
    });
  };
  // the same probes on the idle hub first: what this machine gives without JSON-LD load
  const idleEnd = performance.now() + (seconds / 2) * 1000;
  const [idleHealth, idlePush] = await Promise.all([
    probe(healthProbe, idleEnd, 0),
    probe(pushProbe, idleEnd, 0),
  ]);
  until = performance.now() + seconds * 1000;
  const [health, push] = await Promise.all([
    probe(healthProbe),
    probe(pushProbe),
    ...Array.from({ length: EXPANSIONS }, expander),
  ]);
  heavy.destroy();
  probes.destroy();

  const note = `${EXPANSIONS} clients × ${(doc.length / 1e6).toFixed(1)} MB expand for ${seconds} s; answers ${[...statuses].map(([s, c]) => `${s}×${c}`).join(', ')}; ${(expandedBytes / 1e6).toFixed(0)} MB expanded`;
  for (const [figure, samples, idle] of [
    ['GET /health', health, idleHealth],
    ['push of one resource', push, idlePush],
  ] as const) {
    const p99 = percentile(samples, 99);
    const p50 = percentile(samples, 50);
    b.report.add({
      scenario: JSONLD_LOAD,
      system: 'hub',
      figure: `${figure}, p99 (${samples.length} samples, p50 ${p50.toFixed(1)} ms)`,
      unit: 'ms',
      summary: summarise([p99]),
      target: '< 100 ms',
      met: p99 < 100,
      note: `${note}; idle hub: p99 ${percentile(idle, 99).toFixed(1)} ms, p50 ${percentile(idle, 50).toFixed(1)} ms (${idle.length} samples)`,
    });
  }
}
