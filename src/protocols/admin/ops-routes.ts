import type Router from '@koa/router';
import { hubError } from '../../errors.js';
import { configOf } from '../../domain/config.js';
import { adminAccess } from '../../http/access.js';
import { errorBody, renderHubError } from '../../http/errors.js';
import { recoverDataset, scratchRecovery } from '../../ops/recovery.js';
import type { ProtocolDeps } from '../deps.js';

/**
 * Admin routes of the operations around the changelog (docs/operations.md): recover a dataset from its
 * receive log, drop that log, and run a scheduled pull now. The work itself lives in src/ops/.
 */
export function mountOpsRoutes(router: Router, deps: ProtocolDeps): void {
  const { hub } = deps;
  const hubErrors = errorBody(renderHubError);

  router.post('/datasets/:id/recover', hubErrors, async (ctx) => {
    await adminAccess(hub, ctx);
    const report = await recoverDataset(hub, ctx.params.id!);
    ctx.body = { status: 'OK', ...report };
  });

  router.delete('/datasets/:id/recovery', hubErrors, async (ctx) => {
    await adminAccess(hub, ctx);
    await scratchRecovery(hub, ctx.params.id!);
    ctx.status = 204;
  });

  router.post('/datasets/:id/schedule/run', hubErrors, async (ctx) => {
    await adminAccess(hub, ctx);
    const dataset = await hub.datasets.require(ctx.params.id!);
    if (!configOf(dataset).schedule) {
      throw hubError('NO_SCHEDULE', `dataset '${dataset.name}' has no schedule to run`);
    }
    ctx.body = { status: 'OK', ...(await deps.operations.runScheduleNow(dataset.name)) };
  });
}
