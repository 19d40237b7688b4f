/**
 * JSON-LD expansion rate on the changes feed: 10,000 ICAR resources (and 10,000 UDA entities) read
 * as plain JSON and with format=jsonld, over real HTTP against a hub on a temp LevelDB.
 * Run: npx tsx bench/jsonld-changes.ts   (figures go in reports, not in tests)
 */
import { createDataset, milking, pushResources } from '../test/helpers/data.js';
import { call } from '../test/helpers/http.js';
import { startTestHub } from '../test/helpers/hub.js';

const N = 10_000;
const BATCH = 2_000;
const ROUNDS = 3;

const hub = await startTestHub();
try {
  const icar = await createDataset(hub, 'bench-icar');
  for (let i = 0; i < N; i += BATCH) {
    const r = await pushResources(
      hub,
      'bench-icar',
      icar.pushKey,
      Array.from({ length: BATCH }, (_, j) => milking(i + j)),
    );
    if (r.status !== 200) throw new Error(r.text);
  }
  const uda = await createDataset(hub, 'bench-uda');
  const ctx = {
    id: '@context',
    namespaces: { _: 'http://farm.example/p/', a: 'http://farm.example/animal/' },
  };
  for (let i = 0; i < N; i += BATCH) {
    const entities = Array.from({ length: BATCH }, (_, j) => ({
      id: `a:${i + j}`,
      props: { name: `cow ${i + j}`, weight: 500 + ((i + j) % 100), born: '2021-03-14' },
      refs: { memberOf: `a:herd-${(i + j) % 10}` },
    }));
    const r = await call(`${hub.url}/datasets/bench-uda/entities`, {
      token: uda.pushKey,
      body: [ctx, ...entities],
    });
    if (r.status !== 200) throw new Error(r.text);
  }

  for (const [name, key] of [
    ['bench-icar', icar.readKey],
    ['bench-uda', uda.readKey],
  ] as const) {
    for (const query of ['', '?format=jsonld']) {
      const rates: number[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        const t0 = performance.now();
        const r = await call(`${hub.url}/datasets/${name}/changes${query}`, { token: key });
        const ms = performance.now() - t0;
        const items = (r.json as unknown[]).length - 2;
        if (items !== N) throw new Error(`expected ${N} items, got ${items}`);
        rates.push(Math.round((N / ms) * 1000));
      }
      console.log(
        `${name} /changes${query || ' (plain)'}: ${rates.join(', ')} items/s (best ${Math.max(...rates)})`,
      );
    }
  }
} finally {
  await hub.close();
}
