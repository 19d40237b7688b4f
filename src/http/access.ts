import type { Context } from 'koa';
import { hubError } from '../errors.js';
import { configOf } from '../domain/config.js';
import type { Need, Principal } from '../domain/datasets.js';
import type { Hub } from '../domain/hub.js';
import type { DatasetRecord } from '../store/types.js';
import { credentialOf } from './auth.js';

export interface Access {
  readonly dataset: DatasetRecord;
  readonly principal: Principal;
}

/**
 * The gate in front of every dataset route: the dataset must exist (404), the credential must be
 * valid (401) and grant `need` on it (403), and a dataset key must be within its daily quota (429,
 * with X-RateLimit-* headers on every answer). Admin is never limited.
 */
export async function datasetAccess(hub: Hub, ctx: Context, datasetId: string, need: Need): Promise<Access> {
  const dataset = await hub.datasets.require(datasetId);
  const principal = await hub.datasets.identify(credentialOf(ctx));
  hub.datasets.authorize(principal, need, dataset);
  await takeQuota(hub, ctx, dataset, principal);
  return { dataset, principal };
}

/**
 * A dataset key's daily quota (429 when used up, X-RateLimit-* headers on every answer); admin and
 * anonymous readers are never limited.
 */
export async function takeQuota(
  hub: Hub,
  ctx: Context,
  dataset: DatasetRecord,
  principal: Principal,
): Promise<void> {
  const quota = configOf(dataset).quota;
  if (quota && principal.role !== 'admin' && principal.role !== 'anonymous') {
    const q = await hub.quotas.take(dataset.name, principal.keyHash, quota.perDay);
    ctx.set('X-RateLimit-Limit', String(q.limit));
    ctx.set('X-RateLimit-Remaining', String(q.remaining));
    ctx.set('X-RateLimit-Reset', String(q.reset));
    if (!q.allowed) {
      throw hubError(
        'QUOTA_EXCEEDED',
        'Too many requests on the API: the daily quota of this key is used up',
        {
          errorcode: 10002,
          retryAfter: Math.max(1, Math.ceil(q.reset - Date.now() / 1000)),
        },
      );
    }
  }
}

/**
 * The gate in front of routes over several datasets (POST /query, POST /transactions): the caller
 * must be allowed `need` on each one named (404, 401, 403 as on a dataset route); the quota taken is
 * that of the key's own dataset, once.
 */
export async function datasetsAccess(
  hub: Hub,
  ctx: Context,
  names: readonly string[],
  need: Need,
): Promise<{ datasets: DatasetRecord[]; principal: Principal }> {
  const principal = await hub.datasets.identify(credentialOf(ctx));
  const datasets: DatasetRecord[] = [];
  for (const name of names) {
    const dataset = await hub.datasets.require(name);
    hub.datasets.authorize(principal, need, dataset);
    datasets.push(dataset);
  }
  if (principal.role === 'push' || principal.role === 'read') {
    const own =
      datasets.find((d) => d.name === principal.dataset) ?? (await hub.datasets.get(principal.dataset));
    if (own) await takeQuota(hub, ctx, own, principal);
  }
  return { datasets, principal };
}

/** The gate in front of admin routes. */
export async function adminAccess(hub: Hub, ctx: Context): Promise<Principal> {
  const principal = await hub.datasets.identify(credentialOf(ctx));
  hub.datasets.authorize(principal, 'admin');
  return principal;
}
