import type Router from '@koa/router';
import type { Context } from 'koa';
import { fileURLToPath } from 'node:url';
import { hubError } from '../../errors.js';
import { IngestRates } from '../../domain/ingest-rates.js';
import { datasetAccess } from '../../http/access.js';
import { refuseScoped } from '../scope.js';
import { credentialOf } from '../../http/auth.js';
import { errorBody, renderHubError } from '../../http/errors.js';
import type { ProtocolDeps } from '../deps.js';
import { loadAssets, type Asset } from './assets.js';

const consoleDir = fileURLToPath(new URL('../../../console/', import.meta.url));

/**
 * The page may load and call nothing but this hub, and runs no inline script or style: an injected
 * `<script>` or `onclick=` (were a dataset title ever to slip into markup) would not run.
 */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

function sendAsset(ctx: Context, asset: Asset): void {
  ctx.set('Content-Security-Policy', CONSOLE_CSP);
  ctx.set('X-Content-Type-Options', 'nosniff');
  ctx.set('Referrer-Policy', 'no-referrer');
  ctx.set('X-Frame-Options', 'DENY');
  // always revalidated (a 304 when unchanged): a hub upgrade never leaves an old script in a browser
  ctx.set('Cache-Control', 'no-cache');
  ctx.set('ETag', asset.etag);
  ctx.type = asset.type;
  ctx.status = 200;
  if (ctx.fresh) {
    ctx.status = 304;
    return;
  }
  ctx.body = asset.bytes;
}

/**
 * The console (docs/operations.md#console): a static page for the people who run the hub at `GET /`, its
 * files under `/console/{file}`, `GET /whoami` (what the page's key may do) and the ingest-rate
 * figures it draws, `GET /datasets/{id}/stats`.
 */
export function mountConsole(router: Router, deps: ProtocolDeps): void {
  const { hub } = deps;
  const hubErrors = errorBody(renderHubError);
  const assets = loadAssets(consoleDir);
  const page = assets.get('index.html');
  if (!page) throw new Error(`the console's index.html is missing in ${consoleDir}`);

  const rates = new IngestRates();
  hub.ingestor.on('ingested', (e) => rates.record(e));
  hub.datasets.on('deleted', (name) => rates.forget(name));

  router.get('/', hubErrors, (ctx) => sendAsset(ctx, page));

  router.get('/console/:file', hubErrors, (ctx) => {
    const asset = assets.get(ctx.params.file!);
    if (!asset) throw hubError('NOT_FOUND', 'no such console file');
    sendAsset(ctx, asset);
  });

  router.get('/whoami', hubErrors, async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    const principal = await hub.datasets.identify(credentialOf(ctx));
    ctx.body =
      principal.role === 'admin' || principal.role === 'anonymous'
        ? { role: principal.role }
        : { role: principal.role, dataset: principal.dataset };
  });

  router.get('/datasets/:id/stats', hubErrors, async (ctx) => {
    const { dataset, principal } = await datasetAccess(hub, ctx, ctx.params.id!, 'read');
    refuseScoped(principal, 'ingest statistics');
    const now = Date.now();
    const minutes = rates.series(dataset.name, now, dataset.createdAt);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = {
      dataset: dataset.name,
      from: new Date(minutes[0]!.start).toISOString(),
      to: new Date(now).toISOString(),
      received: minutes.reduce((n, m) => n + m.received, 0),
      changes: minutes.reduce((n, m) => n + m.changes, 0),
      minutes: minutes.map((m) => ({
        start: new Date(m.start).toISOString(),
        received: m.received,
        changes: m.changes,
      })),
    };
  });
}
