import type { DatasetRecord, JsonObject, Store } from '../store/types.js';
import { ContextRegistry } from './contexts.js';
import { hashKey } from './credentials.js';
import { Datasets } from './datasets.js';
import { Ingestor } from './ingest.js';
import { Quotas } from './quota.js';

/** A piece of background work (alerts, schedules, forwarding) reporting on one dataset. */
export type StatusProvider = (dataset: DatasetRecord) => JsonObject | undefined;

/**
 * The domain's composition root: the services protocols and operations call. Everything here talks
 * to the store through its interface only.
 */
export class Hub {
  readonly datasets: Datasets;
  readonly ingestor: Ingestor;
  readonly quotas: Quotas;
  private readonly statusProviders = new Map<string, StatusProvider>();

  private constructor(
    readonly store: Store,
    /** hub-wide secret for token MACs */
    readonly secret: string,
    adminToken: string,
    /** this hub's JSON-LD contexts: the built-in files and those an admin registered */
    readonly contexts: ContextRegistry,
  ) {
    this.datasets = new Datasets(store, hashKey(adminToken), contexts);
    this.ingestor = new Ingestor(store);
    this.quotas = new Quotas(store);
  }

  /** `builtInContexts`: the contexts folder as read at start-up (readContextFiles). */
  static async create(
    store: Store,
    adminToken: string,
    builtInContexts: ReadonlyMap<string, string>,
  ): Promise<Hub> {
    const contexts = await ContextRegistry.open(store, builtInContexts);
    return new Hub(store, await store.secret(), adminToken, contexts);
  }

  /** Operations register what they know about a dataset for GET /datasets/{id}. */
  registerStatus(name: string, provider: StatusProvider): void {
    this.statusProviders.set(name, provider);
  }

  statusOf(dataset: DatasetRecord): JsonObject {
    const out: JsonObject = {};
    for (const [name, provider] of this.statusProviders) {
      const s = provider(dataset);
      if (s !== undefined) out[name] = s;
    }
    return out;
  }
}
