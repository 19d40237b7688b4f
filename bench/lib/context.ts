import type { Agent } from 'node:http';
import { keepAliveAgent, sendOk } from './client.js';
import type { Resource } from './data.js';
import { HUB_ADMIN, settle, type RawLevel, type Reader, type Server } from './procs.js';
import type { Report } from './report.js';

/** How big a run is: the sizes, or a tenth of them for `--quick`. */
export interface Sizes {
  readonly resources: number;
  readonly batch: number;
  readonly clients: number;
  readonly reps: number;
  readonly warmup: number;
  /** changes in the long changelog streamed for the RSS figure */
  readonly longFeed: number;
  readonly latencyPushes: number;
  /** ODS records / Obsrv events over all repetitions (the records query runs on the ODS ones) */
  readonly records: number;
  readonly recordBatch: number;
  readonly queries: number;
  /** entities of the graph-query scenario (3 refs each) */
  readonly graphEntities: number;
}

export const FULL: Sizes = {
  resources: 100_000,
  batch: 500,
  clients: 4,
  reps: 3,
  warmup: 10_000,
  longFeed: 1_000_000,
  latencyPushes: 200,
  records: 100_000,
  recordBatch: 100,
  // 100 a repetition: enough for a p99 (fewer are reported as their maximum)
  queries: 100,
  graphEntities: 1_000_000,
};

export const QUICK: Sizes = {
  ...FULL,
  resources: 10_000,
  warmup: 2_000,
  longFeed: 100_000,
  latencyPushes: 40,
  records: 10_000,
  queries: 5,
  graphEntities: 100_000,
};

export interface HubDataset {
  readonly id: string;
  readonly pushKey: string;
  readonly readKey: string;
}

/** Everything a scenario needs: the running systems, the data, agents and the report. */
export class Bench {
  /** one keep-alive agent per system, `clients` sockets each */
  readonly hubAgent: Agent;
  readonly pouchAgent: Agent;

  constructor(
    readonly sizes: Sizes,
    readonly hub: Server,
    readonly pouch: Server,
    readonly raw: RawLevel,
    /** the client that streams feeds, in its own process */
    readonly reader: Reader,
    readonly report: Report,
    readonly resources: readonly Resource[],
    /** the resources as one JSON text a line (the raw loop's input) */
    readonly rawFile: string,
  ) {
    this.hubAgent = keepAliveAgent(sizes.clients + 2);
    this.pouchAgent = keepAliveAgent(sizes.clients + 2);
  }

  private readonly admin = { authorization: `Bearer ${HUB_ADMIN}` };

  /** Creates a dataset on `on` (the LevelDB hub unless told), answers its keys. */
  async createDataset(
    id: string,
    config: Record<string, unknown> = {},
    on: Server = this.hub,
  ): Promise<HubDataset> {
    const r = await sendOk(
      this.hubAgent,
      `${on.url}/datasets/${id}`,
      { method: 'PUT', headers: this.admin, body: JSON.stringify(config) },
      [201],
    );
    const keys = JSON.parse(r.body.toString('utf8')) as { pushKey: string; readKey: string };
    return { id, pushKey: keys.pushKey, readKey: keys.readKey };
  }

  async deleteDataset(id: string, on: Server = this.hub): Promise<void> {
    await sendOk(this.hubAgent, `${on.url}/datasets/${id}`, { method: 'DELETE', headers: this.admin }, [204]);
  }

  async datasetInfo(ds: HubDataset): Promise<{ lastSeq: number; count: number }> {
    const r = await sendOk(this.hubAgent, `${this.hub.url}/datasets/${ds.id}`, { headers: this.admin });
    return JSON.parse(r.body.toString('utf8')) as { lastSeq: number; count: number };
  }

  async createDb(name: string): Promise<void> {
    await sendOk(this.pouchAgent, `${this.pouch.url}/${name}`, { method: 'PUT' }, [201]);
  }

  async deleteDb(name: string): Promise<void> {
    await sendOk(this.pouchAgent, `${this.pouch.url}/${name}`, { method: 'DELETE' }, [200]);
  }

  /**
   * Lets every system finish its background work (compactions) before the next measurement;
   * `more` names further processes to wait for (the PostgreSQL scenario's hubs and server).
   */
  settle(more: () => readonly number[] = () => []): Promise<void> {
    return settle(() => [this.hub.pid, this.pouch.pid, this.raw.pid, ...more()]);
  }
}

/**
 * Sends `bodies` from `clients` concurrent clients (each takes the next body when its previous
 * request is answered; `sendOne` is told which client sends, 0 to clients - 1), failing on any
 * unexpected status. Resolves with the elapsed milliseconds.
 */
export async function pushAll(
  clients: number,
  bodies: readonly Buffer[],
  sendOne: (body: Buffer, client: number) => Promise<void>,
): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async (_, client) => {
      while (next < bodies.length) await sendOne(bodies[next++]!, client);
    }),
  );
  return performance.now() - t0;
}
