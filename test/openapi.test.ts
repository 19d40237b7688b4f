import { expect } from 'chai';
import { call } from './helpers/http.js';
import { startTestHub, type TestHub } from './helpers/hub.js';

/** Router paths use ':param' and '{/}' for an optional trailing slash; the spec uses '{param}'. */
function specPath(routerPath: string): string {
  return routerPath.replace(/\{\/\}$/, '').replace(/:(\w+)/g, '{$1}');
}

describe('the OpenAPI document (spec/openapi.yaml)', () => {
  let hub: TestHub;
  let spec: { openapi: string; paths: Record<string, Record<string, unknown>> };
  before(async () => {
    hub = await startTestHub();
    const r = await call(`${hub.url}/openapi.json`);
    expect(r.status).to.equal(200);
    spec = r.json as typeof spec;
  });
  after(() => hub.close());

  it('when /openapi.json is fetched, then it is OpenAPI 3.1 with the config schema inlined', () => {
    expect(spec.openapi).to.match(/^3\.1/);
    expect(JSON.stringify(spec)).to.not.include('./schemas/');
  });

  it('when the router has a route, then the spec documents that path and method', () => {
    const missing = hub.running.routes
      .map((r) => ({ method: r.method.toLowerCase(), path: specPath(r.path) }))
      .filter((r) => !spec.paths[r.path]?.[r.method]);
    expect(missing, 'routes missing from spec/openapi.yaml').to.deep.equal([]);
  });

  it('when an operation is documented, then it says who may call it in x-hub-auth', () => {
    const undeclared: string[] = [];
    for (const [path, item] of Object.entries(spec.paths)) {
      for (const [method, op] of Object.entries(item)) {
        if (!['get', 'put', 'post', 'delete', 'patch', 'options'].includes(method)) continue;
        const auth = (op as { 'x-hub-auth'?: string })['x-hub-auth'];
        if (!['none', 'any', 'read', 'push', 'admin'].includes(String(auth)))
          undeclared.push(`${method} ${path}`);
      }
    }
    expect(undeclared, 'operations without a valid x-hub-auth').to.deep.equal([]);
  });

  it('when the spec documents a path and method, then the router serves it', () => {
    const served = new Set(hub.running.routes.map((r) => `${r.method.toLowerCase()} ${specPath(r.path)}`));
    const extra: string[] = [];
    for (const [path, item] of Object.entries(spec.paths)) {
      for (const method of Object.keys(item)) {
        if (
          ['get', 'put', 'post', 'delete', 'patch', 'options'].includes(method) &&
          !served.has(`${method} ${path}`)
        ) {
          extra.push(`${method} ${path}`);
        }
      }
    }
    expect(extra, 'spec paths the router does not serve').to.deep.equal([]);
  });
});
