import type Router from '@koa/router';
import type { ProtocolDeps } from '../deps.js';
import { mountQuery } from './query-route.js';
import { mountTransactions } from './transactions-route.js';

/**
 * The entity graph across datasets, as the Mimiro datahub serves it (docs/uda.md#query,
 * docs/uda.md#transactions): POST /query and POST /transactions. Entities are the UDA protocol's;
 * these routes read and write them over several datasets at once.
 */
export function mountGraph(router: Router, deps: ProtocolDeps): void {
  mountQuery(router, deps);
  mountTransactions(router, deps);
}
