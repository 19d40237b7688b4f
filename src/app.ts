import Router from '@koa/router';
import Koa from 'koa';
import type { Logger } from 'pino';
import type { JsonLdConfig, Limits } from './settings.js';
import type { KindForwarders } from './domain/forwarding.js';
import type { JsonLdPool } from './domain/jsonld-pool.js';
import type { Hub } from './domain/hub.js';
import { compression } from './http/compress.js';
import { cors } from './http/cors.js';
import { errorHandler } from './http/errors.js';
import { requestLog } from './http/logging.js';
import type { Metrics } from './http/metrics.js';
import { WaitingReaders } from './http/waiting.js';
import { BodyBudget } from './http/admission.js';
import { mountAdmin } from './protocols/admin/routes.js';
import { mountConsole } from './protocols/console/routes.js';
import type { BackgroundWork, ProtocolDeps } from './protocols/deps.js';
import { mountAde } from './protocols/ade/routes.js';
import { mountGraph } from './protocols/graph/routes.js';
import { mountIcar } from './protocols/icar/routes.js';
import { mountObsrv } from './protocols/obsrv/routes.js';
import { mountJsonLd } from './protocols/jsonld/routes.js';
import { isOdsPushRequest, mountOds, odsErrorScope } from './protocols/ods/routes.js';
import { mountOpsRoutes } from './protocols/admin/ops-routes.js';
import { KindRenderers } from './protocols/pull/render.js';
import { mountUda } from './protocols/uda/routes.js';

export interface AppOptions {
  readonly hub: Hub;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly publicUrl?: string;
  readonly fullSyncLeaseMs: number;
  readonly limits: Limits;
  readonly jsonld: JsonLdPool;
  /** the background work, made before the app and started once it serves */
  readonly operations: BackgroundWork;
  /** filled by the protocols as they mount: how each kind is forwarded upstream */
  readonly forwarders: KindForwarders;
  readonly jsonldGate: Pick<JsonLdConfig, 'anonymous' | 'anonymousPerMinute'>;
  /** aborted when the hub stops: long-polls answer and event streams end at once */
  readonly shutdown: AbortSignal;
}

export interface HubApp {
  readonly koa: Koa;
  /** every route the app serves, for the spec check */
  readonly routes: ReadonlyArray<{ readonly method: string; readonly path: string }>;
}

/** The Koa app: error handling, logs and metrics around every protocol's routes. */
export function createApp(options: AppOptions): HubApp {
  const { hub, logger, metrics } = options;
  const koa = new Koa({ proxy: false });
  // errors are rendered by errorHandler; Koa's own handler only sees failures after headers went out
  koa.on('error', (err: unknown) => logger.debug({ err }, 'response stream ended with an error'));
  koa.silent = true;

  const router = new Router();
  const bodyBudget = new BodyBudget(options.limits.maxInflightBodyBytes);
  const deps: ProtocolDeps = {
    hub,
    logger,
    metrics,
    renderers: new KindRenderers(),
    forwarders: options.forwarders,
    operations: options.operations,
    baseUrl: (ctx) => options.publicUrl ?? `${ctx.protocol}://${ctx.host}`,
    fullSyncLeaseMs: options.fullSyncLeaseMs,
    waiting: new WaitingReaders(options.limits.maxWaitingReadersPerKey),
    shutdown: options.shutdown,
    jsonld: options.jsonld,
    jsonldGate: options.jsonldGate,
  };
  hub.ingestor.on('ingested', (e) => {
    metrics.received.inc({ dataset: e.dataset }, e.received);
    metrics.changes.inc({ dataset: e.dataset }, e.changes);
  });

  mountAdmin(router, deps);
  mountConsole(router, deps);
  mountIcar(router, deps);
  mountAde(router, deps);
  mountObsrv(router, deps);
  mountUda(router, deps);
  mountGraph(router, deps);
  mountJsonLd(router, deps);
  mountOds(router, deps);
  mountOpsRoutes(router, deps);

  koa.use(async (ctx, next) => {
    ctx.state.limits = options.limits;
    ctx.state.bodyBudget = bodyBudget;
    await next();
  });
  koa.use(requestLog(logger));
  koa.use(metrics.middleware());
  // outside errorHandler so that error answers carry CORS headers too
  koa.use(cors({ except: isOdsPushRequest }));
  // outside errorHandler too: a large error body is compressed like any answer
  koa.use(compression());
  koa.use(errorHandler(logger));
  // ODS answers its own error shape on its paths, unmatched routes and 405s included
  koa.use(odsErrorScope);
  koa.use(router.routes());
  // 405 with Allow / 501 are set here; errorHandler turns the empty answers into JSON errors
  koa.use(router.allowedMethods());
  const routes = router.stack.flatMap((layer) =>
    layer.methods.filter((m) => m !== 'HEAD').map((method) => ({ method, path: String(layer.path) })),
  );
  return { koa, routes };
}
