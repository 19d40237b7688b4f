import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Logger } from 'pino';
import { createApp } from './app.js';
import { resolveAdminToken, type HubConfig } from './config.js';
import { Hub } from './domain/hub.js';
import { createLogger } from './http/logging.js';
import { Metrics } from './http/metrics.js';
import { openStore } from './store/open.js';

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

/** Server-level timeouts against slow clients (the body reader has its own idle timeout). */
const HEADERS_TIMEOUT_MS = 15_000;
const REQUEST_TIMEOUT_MS = 120_000;

/** Opens the store, builds the app and listens. Used by main.ts and by the tests (port 0). */
export async function startHub(config: HubConfig): Promise<RunningHub> {
  const logger = createLogger(config.logLevel);
  const { token: adminToken, generated } = resolveAdminToken(config);
  if (generated) {
    // printed once, on the first start; it is kept in DATA_DIR/admin-token (mode 0600)
    process.stderr.write(
      `hub: generated admin token ${adminToken} (stored in ${config.dataDir}/admin-token)\n`,
    );
  }
  const store = await openStore(config);
  const hub = await Hub.create(store, adminToken);
  const metrics = new Metrics();
  const { koa, routes } = createApp({
    hub,
    logger,
    metrics,
    publicUrl: config.publicUrl,
    fullSyncLeaseMs: config.fullSyncLeaseMs,
  });

  const server = createServer(
    { headersTimeout: HEADERS_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS, keepAliveTimeout: 5_000 },
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

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      // long-polls and event streams would hold the close forever: end them after a grace period
      const grace = setTimeout(() => {
        for (const s of sockets) s.destroy();
      }, 2_000);
      await closed;
      clearTimeout(grace);
      await store.close();
      logger.info('hub stopped');
    })();
    return closing;
  };
  return { url, port, server, hub, adminToken, logger, routes, close };
}
