import type Router from '@koa/router';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { hubError } from '../../errors.js';
import { adminAccess, datasetAccess } from '../../http/access.js';
import { credentialOf } from '../../http/auth.js';
import { errorBody, renderHubError } from '../../http/errors.js';
import { readJson } from '../../http/json.js';
import type { ProtocolDeps } from '../deps.js';
import { detail, listItem } from './view.js';
import { PassThrough } from 'node:stream';
import { writeBackup } from '../../domain/backup.js';
import { parseKeySpec } from '../../domain/keys.js';
import type { JsonObject } from '../../store/types.js';
import { compileScopeWhere, scopeCheckOf } from '../scope.js';

const openapiFile = new URL('../../../spec/openapi.yaml', import.meta.url);

/** Loaded once: the spec is part of the code and does not change while the hub runs. */
let openapiJson: string | undefined;
function openapi(): string {
  openapiJson ??= JSON.stringify(inlineSchemaFiles(parseYaml(readFileSync(openapiFile, 'utf8'))));
  return openapiJson;
}

/**
 * spec/openapi.yaml refers to the JSON Schemas the code itself loads (`./schemas/*.json`), so spec
 * and code cannot disagree; served as one document, those references are inlined.
 */
function inlineSchemaFiles(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(inlineSchemaFiles);
  if (node === null || typeof node !== 'object') return node;
  const obj = node as Record<string, unknown>;
  const ref = obj.$ref;
  if (typeof ref === 'string' && /^\.\/schemas\/[\w.-]+\.json$/.test(ref)) {
    const {
      $schema: _s,
      $id: _i,
      ...schema
    } = JSON.parse(readFileSync(new URL(ref, openapiFile), 'utf8')) as Record<string, unknown>;
    return schema;
  }
  return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, inlineSchemaFiles(v)]));
}

/**
 * Health, metrics, the OpenAPI document and dataset administration (docs/operations.md#probes-and-metrics,
 * docs/datasets.md#datasets).
 */
export function mountAdmin(router: Router, deps: ProtocolDeps): void {
  const { hub } = deps;
  const hubErrors = errorBody(renderHubError);

  // liveness: the process serves HTTP (a restart would not help a database that is away)
  router.get('/health', hubErrors, (ctx) => {
    ctx.body = { status: 'ok' };
  });

  // readiness: the store is reachable and writable now; route traffic elsewhere while it is not
  router.get('/ready', hubErrors, async (ctx) => {
    const engine = hub.store.engine;
    const r = await hub.store.ready();
    // the disk's state either way: a hub below the free-space floor or out of disk is not ready
    const disk = hub.store.health();
    ctx.status = r.ready ? 200 : 503;
    ctx.body = r.ready
      ? { status: 'ready', engine, disk }
      : { status: 'unavailable', engine, reason: r.reason, disk };
    if (!r.ready) ctx.set('Retry-After', '2');
  });

  router.get('/metrics', hubErrors, async (ctx) => {
    ctx.type = deps.metrics.registry.contentType;
    ctx.body = await deps.metrics.registry.metrics();
  });

  // a consistent snapshot of the whole running hub (docs/backups.md); pushes go on meanwhile. A
  // failure after the headers went out cuts the body short: the missing end line says so on restore
  router.get('/backup', hubErrors, async (ctx) => {
    await adminAccess(hub, ctx);
    const body = new PassThrough();
    const done = writeBackup(hub.store, body);
    done.catch((err: unknown) => {
      deps.logger.error({ err }, 'backup failed');
      body.destroy(err instanceof Error ? err : new Error(String(err)));
    });
    ctx.type = 'application/gzip';
    ctx.set(
      'Content-Disposition',
      `attachment; filename="hub-backup-${new Date().toISOString().replace(/[:.]/g, '-')}.ndjson.gz"`,
    );
    ctx.body = body;
  });

  router.get('/openapi.json', hubErrors, (ctx) => {
    ctx.type = 'application/json';
    ctx.body = openapi();
  });

  router.get('/datasets', hubErrors, async (ctx) => {
    const principal = await hub.datasets.identify(credentialOf(ctx));
    const base = deps.baseUrl(ctx);
    ctx.body = (await hub.datasets.readable(principal)).map((d) => listItem(d, base));
  });

  router.put('/datasets/:id', hubErrors, async (ctx) => {
    await adminAccess(hub, ctx);
    const body = await readJson(ctx);
    const { created, record, keys } = await hub.datasets.put(ctx.params.id!, body);
    ctx.status = created ? 201 : 200;
    ctx.body = { ...detail(hub, record, deps.baseUrl(ctx), { role: 'admin' }), ...keys };
  });

  router.get('/datasets/:id', hubErrors, async (ctx) => {
    const { dataset, principal } = await datasetAccess(hub, ctx, ctx.params.id!, 'read');
    const view = detail(hub, dataset, deps.baseUrl(ctx), principal);
    const scope = scopeCheckOf(principal, dataset);
    if (scope) {
      // a scoped key counts its own documents only, and learns nothing of the others' changes
      let count = 0;
      for await (const c of hub.store.current(dataset.name, { epoch: dataset.epoch }))
        if (scope.admits(c)) count++;
      view.count = count;
      view.lastSeq = null;
      view.scope = scope.scope as unknown as JsonObject;
    }
    ctx.body = view;
  });

  router.delete('/datasets/:id', hubErrors, async (ctx) => {
    await adminAccess(hub, ctx);
    await hub.datasets.require(ctx.params.id!);
    if (!(await hub.datasets.delete(ctx.params.id!))) throw hubError('DATASET_NOT_FOUND', 'no such dataset');
    ctx.status = 204;
  });

  // additional keys, each with a role and an optional scope (docs/datasets.md#scoped-keys)
  router.post('/datasets/:id/keys', hubErrors, async (ctx) => {
    await adminAccess(hub, ctx);
    const dataset = await hub.datasets.require(ctx.params.id!);
    const spec = parseKeySpec(await readJson(ctx));
    // the where is compiled now, so a key never carries an ODSQL error to its first read
    if (spec.scope?.where !== undefined) compileScopeWhere(spec.scope.where);
    ctx.status = 201;
    ctx.body = await hub.datasets.keys.create(dataset.name, spec);
  });

  router.get('/datasets/:id/keys', hubErrors, async (ctx) => {
    await adminAccess(hub, ctx);
    const dataset = await hub.datasets.require(ctx.params.id!);
    ctx.body = { keys: await hub.datasets.keys.list(dataset.name) };
  });

  router.delete('/datasets/:id/keys/:keyId', hubErrors, async (ctx) => {
    await adminAccess(hub, ctx);
    const dataset = await hub.datasets.require(ctx.params.id!);
    await hub.datasets.keys.revoke(dataset.name, ctx.params.keyId!);
    ctx.status = 204;
  });

  router.post('/datasets/:id/keys/renew', hubErrors, async (ctx) => {
    await adminAccess(hub, ctx);
    ctx.body = await hub.datasets.renewKeys(ctx.params.id!);
  });
}
