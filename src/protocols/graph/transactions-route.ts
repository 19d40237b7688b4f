import type Router from '@koa/router';
import { hubError, HubError } from '../../errors.js';
import type { Envelope } from '../../domain/ingest.js';
import { datasetsAccess } from '../../http/access.js';
import { refuseScoped } from '../scope.js';
import { errorBody, renderHubError } from '../../http/errors.js';
import { readJson } from '../../http/json.js';
import type { JsonObject, JsonValue } from '../../store/types.js';
import type { ProtocolDeps } from '../deps.js';
import { isObject } from '../uda/entity.js';

/** Datasets one transaction may write. */
export const MAX_TRANSACTION_DATASETS = 100;

const invalid = (message: string): HubError => hubError('INVALID_TRANSACTION', message);

/**
 * POST /transactions (docs/uda.md#transactions), the Mimiro datahub's transactional update: an
 * `@context` with namespaces, then dataset name → list of entities. Every dataset's part is an
 * ordinary UDA push (validated, schema-checked, journaled as one, so recovery replays it as one),
 * and all parts are one atomic append across the datasets: every part or none. The caller needs push
 * rights on every dataset named — with dataset keys, which each grant one dataset, that is the admin.
 */
export function mountTransactions(router: Router, deps: ProtocolDeps): void {
  const { hub } = deps;
  const hubErrors = errorBody(renderHubError);

  router.post('/transactions', hubErrors, async (ctx) => {
    const parts = parseTransaction(await readJson(ctx));
    const { datasets, principal } = await datasetsAccess(
      hub,
      ctx,
      parts.map((p) => p.dataset),
      'push',
    );
    // a transaction is not checked document by document against a key scope
    refuseScoped(principal, 'or push through /transactions');
    const results = await hub.ingestor.ingestMany(
      parts.map((p, i) => ({ dataset: datasets[i]!, envelope: p.envelope })),
    );
    const answer: JsonObject = {};
    for (const [i, r] of results.entries()) {
      answer[parts[i]!.dataset] = { received: r.received, changes: r.changes };
    }
    ctx.body = { status: 'OK', datasets: answer };
  });
}

interface Part {
  readonly dataset: string;
  readonly envelope: Envelope;
}

/** The transaction as one UDA push body per dataset: the context element, then its entities. */
export function parseTransaction(body: unknown): Part[] {
  if (!isObject(body)) {
    throw invalid(
      'the body must be a JSON object: {"@context": {"namespaces": {…}}, "<dataset>": [entities…], …}',
    );
  }
  const context = body['@context'];
  let namespaces: JsonValue = {};
  if (context !== undefined && context !== null) {
    if (!isObject(context)) throw invalid('"@context" must be an object {"namespaces": {prefix: IRI, …}}');
    for (const k of Object.keys(context)) {
      if (k !== 'namespaces') throw invalid(`"@context" has only "namespaces", not '${k}'`);
    }
    namespaces = (context.namespaces ?? {}) as JsonValue;
  }
  const names = Object.keys(body).filter((k) => k !== '@context');
  if (names.length === 0) throw invalid('a transaction names at least one dataset with its list of entities');
  if (names.length > MAX_TRANSACTION_DATASETS) {
    throw invalid(
      `a transaction may write at most ${MAX_TRANSACTION_DATASETS} datasets, not ${names.length}`,
    );
  }
  return names.map((dataset) => {
    const entities = body[dataset];
    if (!Array.isArray(entities)) throw invalid(`"${dataset}" must be a list of entities`);
    return {
      dataset,
      envelope: {
        protocol: 'uda',
        body: [{ id: '@context', namespaces }, ...(entities as JsonValue[])],
      },
    };
  });
}
