import type Router from '@koa/router';
import { hubError } from '../../errors.js';
import { parseSchemaSetUpload } from '../../domain/schema-set.js';
import { adminAccess, datasetAccess } from '../../http/access.js';
import { errorBody, renderHubError } from '../../http/errors.js';
import { readJson } from '../../http/json.js';
import type { ProtocolDeps } from '../deps.js';

/**
 * A dataset's schema set (docs/icar.md#schema-sets): PUT replaces it, POST adds files to it, GET
 * shows its files and type map, DELETE removes it. Admin only, except GET (any reader).
 */
export function mountSchemaSets(router: Router, deps: ProtocolDeps): void {
  const { hub } = deps;
  const sets = hub.ingestor.schemaSets;
  const hubErrors = errorBody(renderHubError);
  const path = '/datasets/:id/schemas';

  const describe = async (name: string) => {
    const set = await sets.describe(await hub.datasets.require(name));
    if (!set) throw hubError('SCHEMA_SET_NOT_FOUND', `dataset '${name}' has no schema set`);
    return set;
  };

  for (const [method, mode] of [
    ['put', 'replace'],
    ['post', 'merge'],
  ] as const) {
    router[method](path, hubErrors, async (ctx) => {
      await adminAccess(hub, ctx);
      const dataset = await hub.datasets.require(ctx.params.id!);
      await sets.put(dataset, parseSchemaSetUpload(await readJson(ctx)), mode);
      ctx.body = await describe(dataset.name);
    });
  }

  router.get(path, hubErrors, async (ctx) => {
    await datasetAccess(hub, ctx, ctx.params.id!, 'read');
    ctx.body = await describe(ctx.params.id!);
  });

  router.delete(path, hubErrors, async (ctx) => {
    await adminAccess(hub, ctx);
    const removed = await sets.remove(await hub.datasets.require(ctx.params.id!));
    ctx.body = { removed };
  });
}
