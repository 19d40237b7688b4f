import { expect } from 'chai';
import { createDataset, uniqueId, type DatasetKeys } from './helpers/data.js';
import { call, type Reply } from './helpers/http.js';
import { startTestHub, type TestHub } from './helpers/hub.js';

interface Operation {
  'x-hub-auth'?: string;
  parameters?: Array<{ name?: string; in?: string; $ref?: string }>;
}

interface Route {
  readonly method: string;
  readonly path: string;
  readonly auth: string;
  readonly query: boolean;
}

const DATASET_PARAMS = ['id', 'dataset', 'dataset_id'];

/** Every documented operation that acts on one dataset, from the spec itself (x-hub-auth says who may call it). */
function datasetRoutes(spec: { paths: Record<string, Record<string, Operation>> }): Route[] {
  const routes: Route[] = [];
  for (const [path, item] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(item)) {
      const auth = op['x-hub-auth'];
      if (!auth || !['read', 'push', 'admin'].includes(auth)) continue;
      const inPath = DATASET_PARAMS.some((p) => path.includes(`{${p}}`));
      const inQuery = (op.parameters ?? []).some((p) => p.name === 'dataset' && p.in === 'query');
      if (inPath || inQuery) routes.push({ method: method.toUpperCase(), path, auth, query: !inPath });
    }
  }
  return routes;
}

function urlFor(hub: TestHub, route: Route, dataset: string): string {
  let path = route.path;
  for (const p of DATASET_PARAMS) path = path.replace(`{${p}}`, dataset);
  path = path.replace(/\{[^}]+\}/g, 'x');
  return `${hub.url}${path}${route.query ? `?dataset=${dataset}` : ''}`;
}

async function send(
  hub: TestHub,
  route: Route,
  dataset: string,
  headers: Record<string, string>,
): Promise<Reply> {
  const body = route.method === 'GET' || route.method === 'DELETE' ? undefined : '{}';
  return call(urlFor(hub, route, dataset), { method: route.method, headers, raw: body });
}

/** An answer must never show how the hub is built. */
function expectNoLeak(r: Reply, what: string): void {
  expect(r.text, what).to.not.match(/\bat .+\.(ts|js):\d+/);
  expect(r.text, what).to.not.match(/\/(work|home|tmp|usr)\//);
  expect(r.text, what).to.not.match(/node_modules/);
}

describe('security: every dataset route checks who calls it (from x-hub-auth in the spec)', () => {
  let hub: TestHub;
  let routes: Route[];
  let a: { id: string; keys: DatasetKeys };
  let b: { id: string; keys: DatasetKeys };
  before(async () => {
    hub = await startTestHub();
    const spec = (await call(`${hub.url}/openapi.json`)).json as {
      paths: Record<string, Record<string, Operation>>;
    };
    routes = datasetRoutes(spec);
    const idA = uniqueId('sa');
    const idB = uniqueId('sb');
    a = { id: idA, keys: await createDataset(hub, idA) };
    b = { id: idB, keys: await createDataset(hub, idB) };
  });
  after(() => hub.close());

  it('when the spec is read, then it lists the dataset routes to check', () => {
    expect(routes.length).to.be.greaterThan(8);
  });

  it('when a key of dataset A is used on dataset B, then every route of B answers 403', async () => {
    for (const route of routes) {
      for (const key of [a.keys.pushKey, a.keys.readKey]) {
        const r = await send(hub, route, b.id, { authorization: `Bearer ${key}` });
        expect(r.status, `${route.method} ${route.path}`).to.equal(403);
        expect(r.json, `${route.method} ${route.path}: JSON body`).to.not.equal(undefined);
        expectNoLeak(r, `${route.method} ${route.path}`);
      }
    }
  });

  it('when no credential is given, then every read, push and admin route of a private dataset answers 401', async () => {
    for (const route of routes) {
      const r = await send(hub, route, b.id, {});
      expect(r.status, `${route.method} ${route.path}`).to.equal(401);
      expectNoLeak(r, `${route.method} ${route.path}`);
    }
  });

  it('when a read key is used on a push route, or any dataset key on an admin route, then 403', async () => {
    for (const route of routes) {
      const keys =
        route.auth === 'push'
          ? [b.keys.readKey]
          : route.auth === 'admin'
            ? [b.keys.readKey, b.keys.pushKey]
            : [];
      for (const key of keys) {
        const r = await send(hub, route, b.id, { authorization: `Bearer ${key}` });
        expect(
          r.status,
          `${route.method} ${route.path} with a ${key === b.keys.readKey ? 'read' : 'push'} key`,
        ).to.equal(403);
      }
    }
  });

  it('when a garbled or unknown credential is given, then 401 on every route', async () => {
    const garbled = [
      'Bearer',
      'Basic !!!',
      'Token abc',
      `Bearer ${'f'.repeat(32)}`,
      `Bearer ${'x'.repeat(600)}`,
    ];
    for (const route of routes) {
      for (const authorization of garbled) {
        const r = await send(hub, route, b.id, { authorization });
        expect(r.status, `${route.method} ${route.path} with '${authorization.slice(0, 20)}'`).to.equal(401);
      }
    }
  });

  it('when the data directory is searched for the keys, then only their hashes are there', async () => {
    const { readdirSync, readFileSync, statSync } = await import('node:fs');
    const { join } = await import('node:path');
    const files: string[] = [];
    const walk = (d: string): void => {
      for (const f of readdirSync(d)) {
        const p = join(d, f);
        if (statSync(p).isDirectory()) walk(p);
        else files.push(p);
      }
    };
    walk(hub.dataDir);
    for (const f of files) {
      const bytes = readFileSync(f);
      for (const key of [a.keys.pushKey, a.keys.readKey, b.keys.pushKey]) {
        expect(bytes.includes(Buffer.from(key)), `${key} in ${f}`).to.equal(false);
      }
    }
  });
});
