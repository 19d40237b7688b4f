import type Router from '@koa/router';
import type { Context } from 'koa';
import { hubError, type HubError } from '../../errors.js';
import { datasetAccess, type Access } from '../../http/access.js';
import { errorBody, type ErrorRenderer } from '../../http/errors.js';
import { readJsonText, sendJsonText } from '../../http/json.js';
import type { JsonValue } from '../../store/types.js';
import type { ProtocolDeps } from '../deps.js';
import { PROBLEM_JSON, renderIcarProblem } from '../icar/problem.js';
import { refuseFullSyncHeaders } from '../icar/push-rules.js';
import { queryInt, queryString } from '../pull/query.js';
import { batchResults, refusedBatch } from './batch.js';
import { adeCollection, ADE_COLLECTIONS, type AdeCollection } from './collections.js';
import { locationOf, parseDateParam, readCollection, readLocations } from './read.js';
import { pushGuardOf } from '../scope.js';
import { checkPushLocation, mayReadLocation, type Location } from './scope.js';

declare module 'koa' {
  interface DefaultState {
    /** the items of an ADE batch POST, for its per-item error body */
    adeBatch?: readonly unknown[];
  }
}

/** An ADE client is configured with this base URL per dataset. */
export const ADE_BASE = '/datasets/:id/ade';
const DEFAULT_PAGE_SIZE = 100;
const MAX_PAGE_SIZE = 1000;

function collectionOf(ctx: Context): AdeCollection {
  const name = ctx.params.collection!;
  const c = adeCollection(name);
  if (!c)
    throw hubError(
      'UNKNOWN_COLLECTION',
      `'${name}' is not a collection of the ICAR ADE url-schemes (${Object.keys(ADE_COLLECTIONS).length} collections: docs/icar.md#collections)`,
    );
  return c;
}

const pathLocation = (ctx: Context): Location => ({ scheme: ctx.params.scheme!, id: ctx.params.location! });

/**
 * Element positions of the ICAR envelope an ADE push becomes (its context element is 0) as the ADE
 * client numbers them: its array from 0.
 */
function adeIndexes(err: HubError): HubError {
  const shift = (v: unknown): number | undefined => (typeof v === 'number' ? Math.max(0, v - 1) : undefined);
  const errors = Array.isArray(err.details.errors)
    ? (err.details.errors as Record<string, unknown>[]).map((e) => ({ ...e, index: shift(e.index) }))
    : undefined;
  const shifted = hubError(
    err.code,
    err.message.replace(/^element (\d+)/, (_m, n: string) => `element ${Number(n) - 1}`),
    {
      ...err.details,
      ...(err.details.index === undefined ? {} : { index: shift(err.details.index) }),
      ...(errors ? { errors } : {}),
    },
  );
  return shifted;
}

/** Errors of the ADE routes: problem+json, with ADE item positions. */
const renderAdeProblem: ErrorRenderer = (err, ctx) => renderIcarProblem(adeIndexes(err), ctx);

/** The batch route's errors: one icarBatchResult per item when the items were refused, else a problem. */
const renderAdeBatch: ErrorRenderer = (err, ctx) => {
  const items = ctx.state.adeBatch;
  if (items && Array.isArray(err.details.errors)) {
    ctx.state.errorType = 'application/json';
    return refusedBatch(items, adeIndexes(err));
  }
  return renderAdeProblem(err, ctx);
};

/** The resource must be of the path's location and of the collection's type. */
function pathProblems(
  doc: unknown,
  index: number,
  where: Location,
  c: AdeCollection,
): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  const problem = (path: string, keyword: string, reason: string) =>
    out.push({ index, path, keyword, message: `element ${index}: ${reason}` });
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    problem('', 'type', 'a resource must be a JSON object');
    return out;
  }
  const loc = locationOf(doc);
  if (!loc || loc.scheme !== where.scheme || loc.id !== where.id)
    problem(
      '/location',
      'location',
      `"location" must be {"scheme":"${where.scheme}","id":"${where.id}"}, the path's`,
    );
  const type = (doc as Record<string, unknown>).resourceType;
  if (type !== c.resourceType)
    problem('/resourceType', 'resourceType', `"resourceType" must be '${c.resourceType}' in this collection`);
  return out;
}

/**
 * The ICAR ADE url scheme over a dataset (docs/icar.md#the-ade-url-scheme): the ADE's GET
 * collections with their date window and paging, its single POST and its batch POST, all reading and
 * writing the same changelog as the generic ICAR exchange (a POST becomes an ICAR push through the
 * same ingest, so schema sets, limits and recovery apply alike).
 */
export function mountAde(router: Router, deps: ProtocolDeps): void {
  const { hub } = deps;
  const problems = errorBody(renderAdeProblem, PROBLEM_JSON);

  router.get(`${ADE_BASE}/locations`, problems, async (ctx) => {
    const access = await datasetAccess(hub, ctx, ctx.params.id!, 'read');
    const locations = await readLocations(hub, access.dataset, (l) => mayReadLocation(access, l));
    ctx.body = {
      member: locations.map((l) => ({ resourceType: 'icarLocationResource', identifier: l })),
      view: { totalItems: locations.length, pageSize: locations.length },
    };
  });

  router.get(`${ADE_BASE}/locations/:scheme/:location/:collection`, problems, async (ctx) => {
    const access = await datasetAccess(hub, ctx, ctx.params.id!, 'read');
    const c = collectionOf(ctx);
    const pageSize = queryInt(ctx, 'pageSize', 1, MAX_PAGE_SIZE) ?? DEFAULT_PAGE_SIZE;
    const after = queryString(ctx, 'after');
    let afterKey: string | undefined;
    if (after !== undefined && after !== '') {
      afterKey = Buffer.from(after, 'base64url').toString('utf8');
      if (afterKey === '' || Buffer.from(afterKey, 'utf8').toString('base64url') !== after)
        throw hubError('INVALID_PARAMETER', "query parameter 'after' is not a page link of this collection");
    }
    const page = await readCollection(
      hub,
      access.dataset,
      {
        resourceType: c.resourceType,
        location: pathLocation(ctx),
        modifiedFrom: parseDateParam('meta-modified-from', queryString(ctx, 'meta-modified-from')),
        modifiedTo: parseDateParam('meta-modified-to', queryString(ctx, 'meta-modified-to')),
        afterKey,
        pageSize,
      },
      (l) => mayReadLocation(access, l),
    );
    const self = new URL(deps.baseUrl(ctx) + ctx.path);
    for (const [k, v] of Object.entries(ctx.query))
      if (k !== 'after' && typeof v === 'string') self.searchParams.set(k, v);
    const first = self.toString();
    const view: Record<string, unknown> = { totalItems: page.totalItems, pageSize, first };
    if (page.nextAfter !== undefined) {
      self.searchParams.set('after', Buffer.from(page.nextAfter, 'utf8').toString('base64url'));
      view.next = self.toString();
    }
    sendJsonText(ctx, `{"view":${JSON.stringify(view)},"member":[${page.members.join(',')}]}`);
  });

  /** Checks the items against the path, then pushes them as one ICAR request: all or nothing. */
  async function push(ctx: Context, access: Access, items: readonly unknown[], texts: readonly string[]) {
    const c = collectionOf(ctx);
    const where = pathLocation(ctx);
    checkPushLocation(access, where);
    const found = items.flatMap((doc, i) => pathProblems(doc, i + 1, where, c));
    if (found.length > 0) {
      const first = found[0]!;
      throw hubError('LOCATION_MISMATCH', first.message as string, {
        index: first.index as number,
        path: first.path,
        keyword: first.keyword,
        errors: found.slice(0, 100),
      });
    }
    return hub.ingestor.ingest(
      access.dataset,
      {
        protocol: 'icar',
        body: [{ id: '@context' }, ...(items as JsonValue[])],
        bodyText: `[{"id":"@context"},${texts.join(',')}]`,
      },
      'push',
      pushGuardOf(hub.store, access.principal, access.dataset),
    );
  }

  router.post(`${ADE_BASE}/locations/:scheme/:location/:collection`, problems, async (ctx) => {
    const access = await datasetAccess(hub, ctx, ctx.params.id!, 'push');
    collectionOf(ctx);
    refuseFullSyncHeaders(ctx);
    const { value, text } = await readJsonText(ctx);
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      throw hubError(
        'INVALID_RESOURCE',
        'the body must be one resource (a JSON object); batches go to /batches/…',
        {
          index: 1,
        },
      );
    await push(ctx, access, [value], [text]);
    sendJsonText(ctx, text);
  });

  router.post(
    `${ADE_BASE}/batches/locations/:scheme/:location/:collection`,
    errorBody(renderAdeBatch, PROBLEM_JSON),
    async (ctx) => {
      const access = await datasetAccess(hub, ctx, ctx.params.id!, 'push');
      collectionOf(ctx);
      refuseFullSyncHeaders(ctx);
      const { value } = await readJsonText(ctx);
      if (!Array.isArray(value))
        throw hubError('INVALID_RESOURCE', 'the body must be a JSON array of resources', { index: 1 });
      ctx.state.adeBatch = value;
      await push(
        ctx,
        access,
        value,
        value.map((v) => JSON.stringify(v)),
      );
      ctx.body = batchResults(value);
    },
  );
}
