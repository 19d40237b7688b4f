import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Logger } from 'pino';
import { createApp } from './app.js';
import { resolveAdminToken, type Settings } from './settings.js';
import { KindForwarders } from './domain/forwarding.js';
import { Hub } from './domain/hub.js';
import { readContextFiles } from './domain/jsonld-loader.js';
import { JsonLdPool } from './domain/jsonld-pool.js';
import { createLogger } from './http/logging.js';
import { Metrics } from './http/metrics.js';
import { createOperations, type OperationsOptions } from './ops/index.js';
import { openStore } from './store/open.js';
import type { StoreEvent } from './store/types.js';

export interface RunningHub {
  readonly url: string;
  readonly port: number;
  readonly server: Server;
  readonly hub: Hub;
  readonly adminToken: string;
  readonly logger: Logger;
  readonly routes: ReadonlyArray<{ readonly method: string; readonly path: string }>;
  /** Graceful stop: no new connections, in-flight requests finish, the store closes cleanly. */
  close(): Promise<void>;
}

/** What a hub in the tests' own process may be given beyond its environment (a fake clock…). */
export interface HubRuntime {
  readonly operations?: Partial<OperationsOptions>;
}

/** Opens the store, builds the app and listens. Used by main.ts and by the tests (port 0). */
export async function startHub(config: Settings, runtime: HubRuntime = {}): Promise<RunningHub> {
  const logger = createLogger(config.logLevel);
  const { token: adminToken, generated } = resolveAdminToken(config);
  if (generated) {
    // printed once, on the first start; it is kept in DATA_DIR/admin-token (mode 0600)
    process.stderr.write(
      `hub: generated admin token ${adminToken} (stored in ${config.dataDir}/admin-token)\n`,
    );
  }
  const metrics = new Metrics();
  const store = await openStore({
    ...config,
    maxPendingWriteBytes: config.limits.maxPendingWriteBytes,
    diskFreeFloorBytes: config.limits.diskFreeFloorBytes,
    onStoreEvent: (e) => {
      metrics.storeEvent(e);
      logStoreEvent(logger, e);
    },
  });
  metrics.watchStore(store);
  if (config.readStoreUrl) metrics.replicationLag(store);
  // the contexts folder is read once, here: a broken file fails the start
  const hub = await Hub.create(store, adminToken, readContextFiles());
  // JSON-LD runs on worker threads: a large document never holds the event loop
  const jsonld = new JsonLdPool({
    ...config.jsonld,
    builtIn: hub.contexts.builtIn,
    registered: () => hub.contexts.current(),
  });
  const stopping = new AbortController();
  // the protocols register how their kinds are forwarded as they mount; the forwarders read it
  const forwarders = new KindForwarders();
  // alerts, scheduled pulls, forwarding: started once the hub serves, stopped before the store closes
  const operations = createOperations(hub, logger, forwarders, {
    retryMaxMs: config.opsRetryMaxMs,
    ...runtime.operations,
  });
  const { koa, routes } = createApp({
    hub,
    logger,
    metrics,
    publicUrl: config.publicUrl,
    fullSyncLeaseMs: config.fullSyncLeaseMs,
    limits: config.limits,
    jsonld,
    operations,
    forwarders,
    jsonldGate: config.jsonld,
    shutdown: stopping.signal,
  });

  const { headersTimeoutMs, requestTimeoutMs } = config.limits;
  // slow-loris protection: headers and whole requests must arrive in time (checked every second;
  // the body reader also cuts off a body that stalls)
  const server = createServer(
    {
      headersTimeout: headersTimeoutMs,
      requestTimeout: requestTimeoutMs,
      keepAliveTimeout: 5_000,
      connectionsCheckingInterval: Math.min(1_000, headersTimeoutMs),
    },
    koa.callback(),
  );
  const sockets = new Set<Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  logger.info({ url, engine: store.engine, dataDir: config.dataDir }, 'hub listening');
  operations.start();

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      // stop accepting; requests in flight (writes above all) finish and are answered
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      // long-polls answer now and event streams end, instead of holding the close
      stopping.abort();
      // a last resort for connections that still hang on after the grace period
      const grace = setTimeout(() => {
        for (const s of sockets) s.destroy();
      }, config.limits.shutdownGraceMs);
      await Promise.all([closed, operations.stop()]);
      clearTimeout(grace);
      await jsonld.close();
      await store.close();
      logger.info('hub stopped');
    })();
    return closing;
  };
  return { url, port, server, hub, adminToken, logger, routes, close };
}

/** What the store reports, at the level an operator needs it (faults are counted, not logged). */
function logStoreEvent(logger: Logger, e: StoreEvent): void {
  switch (e.type) {
    case 'rollback':
      logger.error(
        { dataset: e.dataset, acknowledged: e.acknowledged, found: e.found, epoch: e.epoch },
        'the database went back in time: the dataset has a new epoch, collectors will full-sync',
      );
      break;
    case 'failover':
      logger.warn(
        { server: e.server, previous: e.previous },
        'the database connections reach another server',
      );
      break;
    case 'reconnect':
      logger.info('the database connection is back');
      break;
    case 'waiting':
      logger.warn(
        { attempt: e.attempt, error: e.error, retryInMs: e.retryInMs },
        'waiting for the database to start the hub',
      );
      break;
    default:
      break;
  }
}
