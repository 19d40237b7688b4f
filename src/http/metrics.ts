import type { Middleware } from 'koa';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ReplicationLag, Store, StoreEvent } from '../store/types.js';

const DISK_STATES = ['ok', 'low', 'full', 'io-error'] as const;

/** The hub's Prometheus figures, one registry per hub (tests run several hubs in one process). */
export class Metrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'hub_http_requests_total',
    help: 'HTTP requests answered, by route, method and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });
  readonly latency = new Histogram({
    name: 'hub_http_request_duration_seconds',
    help: 'Time to answer an HTTP request (until the headers and body are handed to the socket)',
    labelNames: ['method', 'route'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly received = new Counter({
    name: 'hub_records_received_total',
    help: 'Records, resources, entities and events accepted, by dataset',
    labelNames: ['dataset'] as const,
    registers: [this.registry],
  });
  readonly changes = new Counter({
    name: 'hub_changes_written_total',
    help: 'Changes appended to the changelog, by dataset',
    labelNames: ['dataset'] as const,
    registers: [this.registry],
  });

  readonly waitingReaders = new Gauge({
    name: 'hub_feed_waiting_readers',
    help: 'Readers currently waiting for changes (long-polls) or holding an event stream open',
    labelNames: ['feed'] as const,
    registers: [this.registry],
  });

  readonly storeErrors = new Counter({
    name: 'hub_store_errors_total',
    help: 'Database calls that failed, by kind (connection, shutdown, resources, read_only, timeout, conflict, other)',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly storeReconnects = new Counter({
    name: 'hub_store_reconnects_total',
    help: 'Times the connection to the database came back after it was lost',
    registers: [this.registry],
  });
  readonly storeFailovers = new Counter({
    name: 'hub_store_failovers_total',
    help: 'Times connections reached another database server than before (failover, promotion)',
    registers: [this.registry],
  });
  readonly storeRollbacks = new Counter({
    name: 'hub_store_rollbacks_total',
    help: 'Datasets found behind a sequence this process acknowledged (the database went back in time); each got a new epoch',
    registers: [this.registry],
  });
  readonly storeReads = new Counter({
    name: 'hub_store_reads_total',
    help: 'Changelog and state reads by the server that served them, with a read replica (STORE_READ_URL)',
    labelNames: ['from'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  /**
   * The store's disk, read when scraped (store.health() is cached figures, no I/O):
   * hub_store_disk_state{state} is 1 for the current state, hub_store_disk_free_bytes the free
   * space of the data directory's filesystem (LevelDB only).
   */
  watchStore(store: Store): void {
    new Gauge({
      name: 'hub_store_disk_state',
      help: 'State of the store disk for writes: 1 for the current one of ok, low (below DISK_FREE_FLOOR_MB), full, io-error',
      labelNames: ['state'] as const,
      registers: [this.registry],
      collect() {
        const { disk } = store.health();
        for (const state of DISK_STATES) this.set({ state }, state === disk ? 1 : 0);
      },
    });
    new Gauge({
      name: 'hub_store_disk_free_bytes',
      help: 'Free bytes on the filesystem of the data directory (LevelDB engine), as last measured',
      registers: [this.registry],
      collect() {
        const { freeBytes } = store.health();
        if (freeBytes !== undefined) this.set(freeBytes);
      },
    });
  }

  /** Counts what the store reports (server.ts wires it). */
  storeEvent(e: StoreEvent): void {
    if (e.type === 'fault') this.storeErrors.inc({ kind: e.kind });
    else if (e.type === 'reconnect') this.storeReconnects.inc();
    else if (e.type === 'failover') this.storeFailovers.inc();
    else if (e.type === 'rollback') this.storeRollbacks.inc();
    else if (e.type === 'read') this.storeReads.inc({ from: e.from });
  }

  /** The read replica's lag, asked at every scrape (nothing when there is no replica). */
  replicationLag(store: Store): void {
    const lag = (): Promise<ReplicationLag | undefined> =>
      (store.replicationLag?.() ?? Promise.resolve(undefined)).catch(() => undefined);
    new Gauge({
      name: 'hub_store_replication_lag_seconds',
      help: 'How far the read replica (STORE_READ_URL) is behind: time since the last transaction it replayed, 0 when caught up',
      registers: [this.registry],
      async collect() {
        const l = await lag();
        if (l) this.set(l.seconds);
      },
    });
    new Gauge({
      name: 'hub_store_replication_lag_bytes',
      help: 'WAL the primary has written that the read replica has not replayed',
      registers: [this.registry],
      async collect() {
        const l = await lag();
        if (l) this.set(l.bytes);
      },
    });
  }

  /** Counts and times every request, labelled by the route pattern (never the raw path). */
  middleware(): Middleware {
    return async (ctx, next) => {
      const end = process.hrtime.bigint();
      try {
        await next();
      } finally {
        const route = (ctx as unknown as { _matchedRoute?: string })._matchedRoute ?? 'unmatched';
        const seconds = Number(process.hrtime.bigint() - end) / 1e9;
        this.requests.inc({ method: ctx.method, route, status: String(ctx.status) });
        this.latency.observe({ method: ctx.method, route }, seconds);
      }
    };
  }
}
