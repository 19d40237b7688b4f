import type { Store } from '../../../src/store/types.js';
import { datasetsContract } from './datasets.js';
import { appendContract } from './append.js';
import { journalContract } from './journal.js';
import { blobsContract } from './blobs.js';
import { auxContract } from './aux.js';
import { sweepContract } from './sweep.js';
import { concurrencyContract } from './concurrency.js';
import { readsContract } from './reads.js';
import { subscribeContract } from './subscribe.js';
import { rebuildContract } from './rebuild.js';
import { lifecycleContract } from './lifecycle.js';
import { closedContract } from './closed.js';
import { formatContract } from './format.js';
import { sharedContract } from './shared.js';
import { backupContract } from './backup.js';
import { contractOf, type EngineFactory } from './support.js';

export type { EngineFactory, EngineHarness, EngineFeatures, StoreTuning } from './support.js';

/**
 * The store contract: every behaviour of src/store/types.ts, written against the interface only, one
 * file per operation plus traits (a closed store, a newer format), run against each engine
 * (test/store/level.test.ts, test/store/postgres.test.ts) the way Level runs its abstract test suite
 * against every backend; tests of a feature run where the engine lists it. An engine passes it or it
 * is not a store.
 */
export function storeContract(factory: EngineFactory): void {
  describe(`store contract: ${factory.name}`, function () {
    this.timeout(60_000);
    let harness: Awaited<ReturnType<EngineFactory['create']>>;
    let store: Store;

    before(async () => {
      harness = await factory.create();
      store = await harness.open();
    });
    after(async () => {
      await store?.close();
      await harness?.destroy();
    });

    const c = contractOf(factory, () => store);
    datasetsContract(c);
    appendContract(c);
    journalContract(c);
    blobsContract(c);
    auxContract(c);
    sweepContract(c);
    concurrencyContract(c);
    readsContract(c);
    subscribeContract(c);
    rebuildContract(c);
    lifecycleContract(c);
    closedContract(c);
    formatContract(c);
    sharedContract(c);
    backupContract(c);
  });
}
