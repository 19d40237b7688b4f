import type { Logger } from 'pino';
import { hubError } from '../errors.js';
import { canonicalJson } from '../domain/canonical.js';
import { configOf } from '../domain/config.js';
import { isInternalDataset } from '../domain/contexts.js';
import type { KindForwarders } from '../domain/forwarding.js';
import type { Hub } from '../domain/hub.js';
import type { IngestedEvent } from '../domain/ingest.js';
import type { DatasetRecord } from '../store/types.js';
import { alertStatus, InactivityAlerts } from './alerts.js';
import { Forwarder } from './forwarder.js';
import { httpClient } from './outgoing.js';
import { OpsLease } from './lease.js';
import { SCHEDULE_PROTOCOL, translateSchedule } from './schedule-translate.js';
import { Scheduler, type PullResult } from './scheduler.js';
import type { Clock } from './clock.js';
import type { ConnectionOptions } from 'node:tls';

export interface OperationsOptions {
  /** how often dataset configs are checked for new, changed or removed alerts/schedules/upstreams */
  readonly reconcileMs: number;
  /** the longest wait between two attempts of an outgoing call (webhooks, pulls, forwarding) */
  readonly retryMaxMs: number;
  readonly httpTimeoutMs: number;
  /** a scheduled pull's resource may be at most this big */
  readonly snapshotMaxBytes: number;
  /** scheduled pulls read due times from this clock (tests pass a fake one) */
  readonly clock?: Clock;
  /** TLS settings of outgoing ftps:// connections (a CA of one's own; NODE_EXTRA_CA_CERTS works too) */
  readonly tls?: ConnectionOptions;
}

export const DEFAULT_OPERATIONS: OperationsOptions = {
  reconcileMs: 1_000,
  retryMaxMs: 60_000,
  httpTimeoutMs: 30_000,
  snapshotMaxBytes: 128 * 1024 * 1024,
};

/**
 * The background work of one hub: made before the app (the admin routes are given it in their
 * dependencies), started once the hub serves, stopped before the store closes.
 */
export interface Operations {
  start(): void;
  /** a scheduled pull now (POST /datasets/{id}/schedule/run); 503 while the work is not running */
  runScheduleNow(dataset: string): Promise<PullResult>;
  stop(): Promise<void>;
}

interface Armed {
  createdAt: number;
  /** this process holds the dataset's lease: it runs the forwarder and the scheduled pulls */
  leader: boolean;
  alert: string;
  schedule: string;
  upstream: string;
  forwarder?: Forwarder;
}

/**
 * The hub's background work — inactivity alerts, scheduled pulls and forwarding to an upstream hub
 * through the kind forwarders the protocols registered. Once started it keeps in line with the
 * dataset configs: a reconciler reads every dataset record each `reconcileMs` (one listing from the
 * store: on PostgreSQL another process may have changed them) and (re)arms what was added or
 * changed, and stops what was removed. `stop()` cancels timers and outgoing calls and resolves once
 * nothing is left running, before the store closes.
 */
export function createOperations(
  hub: Hub,
  logger: Logger,
  forwarders: KindForwarders,
  overrides: Partial<OperationsOptions> = {},
): Operations {
  const options: OperationsOptions = { ...DEFAULT_OPERATIONS, ...overrides };
  const log = logger.child({ component: 'ops' });
  // scheduled pulls write (and recovery replays, even before the work starts) requests of their own protocol
  hub.ingestor.register(SCHEDULE_PROTOCOL, translateSchedule);
  // alerts and forwarding retry inside got (bounded), then forwarding backs off on its own
  const client = httpClient({
    retries: 4,
    backoffLimitMs: options.retryMaxMs,
    timeoutMs: options.httpTimeoutMs,
  });
  const pullClient = httpClient({
    retries: 0,
    backoffLimitMs: options.retryMaxMs,
    timeoutMs: options.httpTimeoutMs,
  });
  const forwardClient = httpClient({
    retries: 2,
    backoffLimitMs: options.retryMaxMs,
    timeoutMs: options.httpTimeoutMs,
  });

  const alerts = new InactivityAlerts(hub, log, client);
  const armed = new Map<string, Armed>();
  const lease = new OpsLease(hub.store);
  const scheduler = new Scheduler(hub, log, {
    client: pullClient,
    maxBytes: options.snapshotMaxBytes,
    attempts: 3,
    retryBaseMs: 1_000,
    retryMaxMs: options.retryMaxMs,
    ftpTimeoutMs: options.httpTimeoutMs,
    tls: options.tls,
    clock: options.clock,
    holder: lease.holder,
  });
  const onIngested = (e: IngestedEvent): void => alerts.onIngested(e);

  hub.registerStatus('alert', alertStatus);
  hub.registerStatus('schedule', (d) => scheduler.status(d));
  hub.registerStatus('forwarding', (d) => {
    if (!configOf(d).upstream) return undefined;
    const a = armed.get(d.name);
    if (a && !a.leader) return { state: 'standby', note: 'another hub process forwards this dataset' };
    return a?.forwarder?.status(d) ?? { state: 'starting', lag: d.lastSeq };
  });

  let started = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let pass: Promise<void> = Promise.resolve();

  const apply = async (d: DatasetRecord): Promise<void> => {
    const config = configOf(d);
    const prev = armed.get(d.name);
    const fresh = prev?.createdAt !== d.createdAt; // deleted and re-created: a new dataset
    // forwarding and pulls run in one process only (several may share a PostgreSQL store)
    const leader = config.schedule || config.upstream ? await lease.hold(d) : false;
    const next: Armed = {
      createdAt: d.createdAt,
      leader,
      alert: canonicalJson(config.alert ?? null),
      schedule: canonicalJson({
        leader,
        schedule: config.schedule ?? null,
        uniqueKeys: config.uniqueKeys ?? null,
        schema: config.schema ?? null,
        validationMode: config.validationMode ?? null,
      }),
      upstream: canonicalJson({ leader, upstream: config.upstream ?? null }),
      forwarder: prev?.forwarder,
    };
    armed.set(d.name, next);
    if (fresh || prev.alert !== next.alert) alerts.watch(d);
    if (fresh || prev.schedule !== next.schedule) {
      if (config.schedule && leader) scheduler.arm(d.name);
      else scheduler.disarm(d.name);
    }
    if (fresh || prev.upstream !== next.upstream) {
      await next.forwarder?.stop();
      next.forwarder = undefined;
      if (config.upstream && leader) {
        const f = new Forwarder(hub, d.name, config.upstream, log, {
          client: forwardClient,
          forwarders,
          batchChanges: 500,
          batchBytes: 4 * 1024 * 1024,
          retryBaseMs: 500,
          retryMaxMs: options.retryMaxMs,
        });
        next.forwarder = f;
        await f.start();
      }
    }
  };

  const reconcile = async (): Promise<void> => {
    const datasets = (await hub.store.listDatasets()).filter((d) => !isInternalDataset(d.name));
    const names = new Set(datasets.map((d) => d.name));
    for (const [name, a] of armed) {
      if (names.has(name)) continue;
      armed.delete(name);
      alerts.unwatch(name);
      scheduler.disarm(name);
      await a.forwarder?.stop();
    }
    for (const d of datasets) {
      if (stopped) return;
      try {
        await apply(d);
      } catch (err) {
        log.warn({ err, dataset: d.name }, 'could not start background work for this dataset');
      }
    }
  };

  const loop = (): void => {
    pass = reconcile()
      .catch((err: unknown) => log.warn({ err }, 'reconciling background work failed'))
      .finally(() => {
        if (!stopped) timer = setTimeout(loop, options.reconcileMs);
      });
  };

  return {
    start() {
      if (started || stopped) return;
      started = true;
      hub.ingestor.on('ingested', onIngested);
      loop();
    },
    async runScheduleNow(dataset) {
      if (!started || stopped)
        throw hubError('OPERATIONS_STOPPED', 'background work is not running', { retryAfter: 1 });
      return await scheduler.runNow(dataset);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      clearTimeout(timer);
      await pass;
      hub.ingestor.off('ingested', onIngested);
      await Promise.all([
        alerts.stop(),
        scheduler.stop(),
        ...[...armed.values()].map((a) => a.forwarder?.stop()),
      ]);
      // hand the leases over at once instead of making another process wait for them to expire
      await Promise.all(
        [...armed].filter(([, a]) => a.leader).map(([name]) => lease.release(name).catch(() => undefined)),
      );
    },
  };
}
