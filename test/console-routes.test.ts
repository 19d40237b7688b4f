import { expect } from 'chai';
import { request as httpRequest } from 'node:http';
import { createDataset, milking, pushResources, uniqueId } from './helpers/data.js';
import { call, rawRequest } from './helpers/http.js';
import { startTestHub, type TestHub } from './helpers/hub.js';

interface Stats {
  dataset: string;
  from: string;
  to: string;
  received: number;
  changes: number;
  minutes: { start: string; received: number; changes: number }[];
}

/** The console's files a browser loads, starting from the page: its links, scripts and their imports. */
async function referencedFiles(hub: TestHub, html: string): Promise<string[]> {
  const found = new Set<string>();
  for (const m of html.matchAll(/(?:src|href)="([^"]+)"/g)) found.add(m[1]!);
  const queue = [...found].filter((p) => p.endsWith('.js'));
  while (queue.length > 0) {
    const path = queue.shift()!;
    const text = (await call(`${hub.url}${path}`)).text;
    for (const m of text.matchAll(/\bfrom '([^']+)'/g)) {
      const next = new URL(m[1]!, `${hub.url}${path}`).pathname;
      if (!found.has(next)) {
        found.add(next);
        queue.push(next);
      }
    }
  }
  return [...found];
}

/** A GET of the path exactly as written: fetch and URL would resolve its dot segments first. */
function getPathAsIs(hub: TestHub, path: string): Promise<{ status: number; text: string }> {
  const { hostname, port } = new URL(hub.url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: hostname, port, path, method: 'GET', agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('console routes: the page, its files, whoami and ingest figures', () => {
  let hub: TestHub;
  before(async () => {
    hub = await startTestHub();
  });
  after(() => hub.close());

  it('when / is fetched, then the page comes with a strict CSP, nosniff and no inline script, style or handler', async () => {
    const r = await call(`${hub.url}/`);
    expect(r.status).to.equal(200);
    expect(r.headers.get('content-type')).to.equal('text/html; charset=utf-8');
    const csp = r.headers.get('content-security-policy') ?? '';
    expect(csp).to.include("default-src 'self'");
    expect(csp).to.include("script-src 'self'");
    expect(csp).to.include("style-src 'self'");
    expect(csp).to.include("frame-ancestors 'none'");
    expect(csp).to.not.include('unsafe-inline');
    expect(r.headers.get('x-content-type-options')).to.equal('nosniff');
    expect(r.headers.get('x-frame-options')).to.equal('DENY');
    for (const tag of r.text.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/g)) {
      expect(tag[0], 'a script must be a file').to.match(/\ssrc="\/console\/[a-z0-9-]+\.js"/);
      expect(tag[1]!.trim(), 'inline script').to.equal('');
    }
    expect(r.text).to.not.match(/<style\b/);
    expect(r.text).to.not.match(/\sstyle=/);
    expect(r.text).to.not.match(/\son[a-z]+=/);
  });

  it('when every file the page loads is fetched, then each is served with its type and none reaches beyond the hub', async () => {
    const page = (await call(`${hub.url}/`)).text;
    const files = await referencedFiles(hub, page);
    expect(files).to.include.members(['/console/main.js', '/console/console.css', '/console/tail.js']);
    const types: Record<string, string> = {
      js: 'text/javascript; charset=utf-8',
      css: 'text/css; charset=utf-8',
      svg: 'image/svg+xml',
    };
    for (const path of files) {
      expect(path, 'only the hub’s own /console/ files').to.match(/^\/console\/[a-z0-9-]+\.(js|css|svg)$/);
      const r = await call(`${hub.url}${path}`);
      expect(r.status, path).to.equal(200);
      expect(r.headers.get('content-type'), path).to.equal(types[path.split('.').pop()!]);
      expect(r.headers.get('content-security-policy'), path).to.include("default-src 'self'");
      // no absolute URL for the browser to load: no CDN, no font service, no analytics
      const urls = [...r.text.matchAll(/https?:\/\/[^\s'"`)]+/g)].map((m) => m[0]);
      expect(
        urls.filter((u) => u !== 'http://www.w3.org/2000/svg'),
        path,
      ).to.deep.equal([]);
      expect(r.text, path).to.not.match(/@import|url\(/);
    }
  });

  it('when a file is asked again with its ETag, then 304 with no body', async () => {
    const first = await call(`${hub.url}/console/main.js`);
    const etag = first.headers.get('etag');
    expect(etag).to.match(/^"[A-Za-z0-9_-]+"$/);
    expect(first.headers.get('cache-control')).to.equal('no-cache');
    // node's http, not fetch: fetch adds `Cache-Control: no-cache` to conditional requests
    const again = await rawRequest(`${hub.url}/console/main.js`, {
      method: 'GET',
      headers: { 'if-none-match': etag! },
    });
    expect(again.status).to.equal(304);
    expect(again.text).to.equal('');
    const page = await call(`${hub.url}/`);
    const pageAgain = await rawRequest(`${hub.url}/`, {
      method: 'GET',
      headers: { 'if-none-match': page.headers.get('etag')! },
    });
    expect(pageAgain.status).to.equal(304);
  });

  it('when a console URL names anything but a console file (traversal, encodings, other types, dot files), then 404 in the hub error body', async () => {
    const paths = [
      '/console/../package.json',
      '/console/..%2Fpackage.json',
      '/console/%2e%2e%2fpackage.json',
      '/console/%2E%2E/src/app.ts',
      '/console/..%5Cpackage.json',
      '/console/%252e%252e%252fpackage.json',
      '/console/tsconfig.json',
      '/console/.gitignore',
      '/console/main.js%00.css',
      '/console/main.js%2F',
      '/console/MAIN.JS',
      '/console/main.ts',
      '/console/',
      '/console',
      '/console/sub/main.js',
      '/console/%2Fetc%2Fpasswd',
      '/console/..',
      '/console/.',
    ];
    for (const path of paths) {
      const r = await getPathAsIs(hub, path);
      expect(r.status, path).to.equal(404);
      const body = JSON.parse(r.text) as { error: { code: string } };
      expect(body.error.code, path).to.equal('NOT_FOUND');
      expect(r.text, path).to.not.include('sync-hub');
      expect(r.text, path).to.not.include('compilerOptions');
    }
  });

  it('when /whoami is asked with each kind of credential, then it names the role and the key’s dataset; a bad key is 401', async () => {
    const id = uniqueId('who');
    const keys = await createDataset(hub, id);
    expect((await call(`${hub.url}/whoami`, { token: hub.adminToken })).json).to.deep.equal({
      role: 'admin',
    });
    expect((await call(`${hub.url}/whoami`, { token: keys.readKey })).json).to.deep.equal({
      role: 'read',
      dataset: id,
    });
    expect((await call(`${hub.url}/whoami`, { token: keys.pushKey })).json).to.deep.equal({
      role: 'push',
      dataset: id,
    });
    expect((await call(`${hub.url}/whoami`)).json).to.deep.equal({ role: 'anonymous' });
    const bad = await call(`${hub.url}/whoami`, { token: 'f'.repeat(32) });
    expect(bad.status).to.equal(401);
    expect((bad.json as { error: { code: string } }).error.code).to.equal('UNAUTHORIZED');
    expect(bad.headers.get('cache-control')).to.equal('no-store');
  });

  it('when resources are pushed, then the figures count records received and changes made over the last 60 minutes', async () => {
    const id = uniqueId('stats');
    const keys = await createDataset(hub, id);
    const empty = (await call(`${hub.url}/datasets/${id}/stats`, { token: keys.readKey })).json as Stats;
    expect(empty.received).to.equal(0);
    expect(empty.minutes).to.have.length(60);

    expect((await pushResources(hub, id, keys.pushKey, [milking(1), milking(2)])).status).to.equal(200);
    // one unchanged resource: received, but no change
    expect((await pushResources(hub, id, keys.pushKey, [milking(1), milking(3)])).status).to.equal(200);
    const r = await call(`${hub.url}/datasets/${id}/stats`, { token: keys.readKey });
    expect(r.status).to.equal(200);
    const stats = r.json as Stats;
    expect(stats.dataset).to.equal(id);
    expect(stats.received).to.equal(4);
    expect(stats.changes).to.equal(3);
    expect(stats.minutes).to.have.length(60);
    expect(stats.minutes.reduce((n, m) => n + m.received, 0)).to.equal(4);
    expect(stats.minutes.reduce((n, m) => n + m.changes, 0)).to.equal(3);
    const starts = stats.minutes.map((m) => Date.parse(m.start));
    starts.forEach((t, i) => {
      expect(t % 60_000).to.equal(0);
      if (i > 0) expect(t - starts[i - 1]!).to.equal(60_000);
    });
    expect(Date.parse(stats.from)).to.equal(starts[0]);
    expect(Date.parse(stats.to)).to.be.within(starts[59]!, starts[59]! + 60_000);
    // the pushes landed in the last minute or two (the minute may turn between them)
    expect(stats.minutes.slice(-2).reduce((n, m) => n + m.received, 0)).to.equal(4);
  });

  it('when a push is rejected, then it is not counted', async () => {
    const id = uniqueId('stats');
    const keys = await createDataset(hub, id, { schema: { type: 'object', required: ['nothere'] } });
    expect((await pushResources(hub, id, keys.pushKey, [milking(1)])).status).to.equal(400);
    const stats = (await call(`${hub.url}/datasets/${id}/stats`, { token: keys.readKey })).json as Stats;
    expect(stats.received).to.equal(0);
  });

  it('when a dataset is deleted and created again, then its figures start from zero', async () => {
    const id = uniqueId('stats');
    const first = await createDataset(hub, id);
    expect((await pushResources(hub, id, first.pushKey, [milking(1)])).status).to.equal(200);
    expect(
      (await call(`${hub.url}/datasets/${id}`, { method: 'DELETE', token: hub.adminToken })).status,
    ).to.equal(204);
    const second = await createDataset(hub, id);
    const stats = (await call(`${hub.url}/datasets/${id}/stats`, { token: second.readKey })).json as Stats;
    expect(stats.received).to.equal(0);
    expect(stats.changes).to.equal(0);
  });

  it('when the figures of a dataset are asked with another dataset’s key, then 403; of a missing dataset, 404', async () => {
    const a = uniqueId('stats');
    const b = uniqueId('stats');
    const keysA = await createDataset(hub, a);
    await createDataset(hub, b);
    const forbidden = await call(`${hub.url}/datasets/${b}/stats`, { token: keysA.readKey });
    expect(forbidden.status).to.equal(403);
    const missing = await call(`${hub.url}/datasets/${uniqueId('none')}/stats`, { token: hub.adminToken });
    expect(missing.status).to.equal(404);
    expect((missing.json as { error: { code: string } }).error.code).to.equal('DATASET_NOT_FOUND');
  });
});
