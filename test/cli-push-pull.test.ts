import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDataset, milking, uniqueId } from './helpers/data.js';
import { startTestHub, tempDir, type TestHub } from './helpers/hub.js';
import { fakeServer } from './helpers/fake-server.js';

const HUB_BIN = fileURLToPath(new URL('../bin/hub.js', import.meta.url));

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the `hub` command as a child process, as a script would (no TTY: plain progress lines). */
function hubCli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [HUB_BIN, ...args],
      { env: { ...process.env, HUB_URL: '', HUB_KEY: '', ...env }, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe('the hub CLI (docs/operations.md#cli)', () => {
  let hub: TestHub;
  let dir: string;
  before(async () => {
    hub = await startTestHub();
    dir = tempDir('hub-cli-');
  });
  after(async () => {
    await hub.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('when a 20,000-record NDJSON file is pushed and pulled back, then the pulled items equal the file and the final token pulls nothing new', async () => {
    const id = uniqueId('cli');
    const { pushKey, readKey } = await createDataset(hub, id, {});
    const docs = Array.from({ length: 20_000 }, (_, i) => milking(i));
    const file = join(dir, 'milkings.ndjson');
    writeFileSync(file, docs.map((d) => JSON.stringify(d)).join('\n') + '\n');

    const pushed = await hubCli(['push', id, file], { HUB_URL: hub.url, HUB_KEY: pushKey });
    expect(pushed.stderr).to.not.match(/error/);
    expect(pushed.code).to.equal(0);
    // about 12 MB: several requests under the 5 MB limit
    expect(pushed.stdout).to.match(
      new RegExp(`^pushed 20000 items to ${id} \\(icar\\) in [3-9] batches, 20000 changes`),
    );
    expect(pushed.stderr).to.match(/push .*: 20000 items/);

    const out = join(dir, 'pulled.ndjson');
    const pulled = await hubCli([
      '--url',
      hub.url,
      '--key',
      readKey,
      'pull',
      id,
      '--out',
      out,
      '--page-size',
      '7000',
    ]);
    expect(pulled.code).to.equal(0);
    const token = pulled.stdout.trim();
    expect(token).to.match(/^[A-Za-z0-9_-]+$/);
    const lines = readFileSync(out, 'utf8').trimEnd().split('\n');
    expect(lines).to.have.length(20_000);
    expect(lines.map((l) => JSON.parse(l) as unknown)).to.deep.equal(docs);

    const again = await hubCli(['pull', id, '--since', token], { HUB_URL: hub.url, HUB_KEY: readKey });
    expect(again.code).to.equal(0);
    expect(again.stdout).to.equal('');
    expect(again.stderr).to.include(`token: ${token}`);
  });

  it('when the hub answers 503 at first, then push and pull retry and succeed, and a pull from the final token resumes with only what came after', async () => {
    const id = uniqueId('cli');
    const { pushKey, readKey } = await createDataset(hub, id, {});
    // in front of the hub: the first POST and the first GET are refused with 503, the rest passed on
    const refused = new Set<string>();
    const proxy = await fakeServer((req, res, raw) => {
      if (!refused.has(req.method)) {
        refused.add(req.method);
        res
          .writeHead(503, { 'retry-after': '1', 'content-type': 'application/json' })
          .end('{"error":{"code":"OVERLOADED"}}');
        return;
      }
      const headers: Record<string, string> = {};
      for (const h of ['authorization', 'content-type', 'content-encoding']) {
        const v = raw.headers[h];
        if (typeof v === 'string') headers[h] = v;
      }
      void fetch(`${hub.url}${req.url}`, {
        method: req.method,
        headers,
        body: req.method === 'GET' ? undefined : req.body,
      }).then(async (r) => {
        res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'application/json' });
        res.end(Buffer.from(await r.arrayBuffer()));
      });
    });
    try {
      const file = join(dir, 'retry.ndjson');
      writeFileSync(file, [milking(1), milking(2)].map((d) => JSON.stringify(d)).join('\n') + '\n');
      const pushed = await hubCli(['push', id, file], { HUB_URL: proxy.url, HUB_KEY: pushKey });
      expect(pushed.code, pushed.stderr).to.equal(0);
      expect(pushed.stdout).to.include('pushed 2 items').and.include('2 changes');
      const posts = proxy.received.filter((r) => r.method === 'POST');
      expect(posts, 'the refused push and its retry').to.have.length(2);

      const pulled = await hubCli(['pull', id], { HUB_URL: proxy.url, HUB_KEY: readKey });
      expect(pulled.code, pulled.stderr).to.equal(0);
      expect(pulled.stdout.trimEnd().split('\n')).to.have.length(2);
      expect(
        proxy.received.filter((r) => r.method === 'GET').length,
        'the refused pull was retried',
      ).to.be.at.least(2);
      const token = /token: (\S+)/.exec(pulled.stderr)![1]!;

      // two more records, then resume from the token: only those two
      writeFileSync(file, [milking(3), milking(4)].map((d) => JSON.stringify(d)).join('\n') + '\n');
      expect((await hubCli(['push', id, file], { HUB_URL: hub.url, HUB_KEY: pushKey })).code).to.equal(0);
      const resumed = await hubCli(['pull', id, '--since', token], { HUB_URL: hub.url, HUB_KEY: readKey });
      expect(resumed.code).to.equal(0);
      const items = resumed.stdout
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l) as { meta: { sourceId: string } });
      expect(items.map((i) => i.meta.sourceId)).to.deep.equal(['mv-3', 'mv-4']);
    } finally {
      await proxy.close();
    }
  });

  it('when a JSON array with its context element is pushed twice, then the second push makes no change', async () => {
    const id = uniqueId('cli');
    const { pushKey } = await createDataset(hub, id, {});
    const file = join(dir, 'small.json');
    const context = { id: '@context', namespaces: { icar: 'http://data.adewg.icar.org/core/' } };
    writeFileSync(file, JSON.stringify([context, milking(1), milking(2)]));
    const first = await hubCli(['--url', hub.url, '--key', pushKey, 'push', id, file]);
    expect(first.stdout).to.include('pushed 2 items').and.include('2 changes');
    const second = await hubCli(['--url', hub.url, '--key', pushKey, 'push', id, file]);
    expect(second.code).to.equal(0);
    expect(second.stdout).to.include('0 changes');
  });

  it('when a CSV file is pushed, then its rows become records through the ODS route and pull back as ODS records', async () => {
    const id = uniqueId('cli');
    const { pushKey, readKey } = await createDataset(hub, id, { uniqueKeys: ['animal'] });
    const file = join(dir, 'weights.csv');
    writeFileSync(file, 'animal;weight;pen\nDE01;512;4\nDE02;498;4\nDE01;515;4\n');
    const pushed = await hubCli(['--url', hub.url, '--key', pushKey, 'push', id, file]);
    expect(pushed.code, pushed.stderr).to.equal(0);
    expect(pushed.stdout).to.match(/^pushed 3 items to .* \(ods\) in 1 batches/);
    const pulled = await hubCli(['--url', hub.url, '--key', readKey, 'pull', id]);
    expect(pulled.code).to.equal(0);
    const items = pulled.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { fields: Record<string, string> });
    expect(items.map((i) => i.fields)).to.deep.equal([
      { animal: 'DE01', weight: '512', pen: '4' },
      { animal: 'DE02', weight: '498', pen: '4' },
      { animal: 'DE01', weight: '515', pen: '4' },
    ]);
  });

  it('when the key is wrong, the file is invalid or the arguments are missing, then the exit code and message say so', async () => {
    const id = uniqueId('cli');
    const { readKey } = await createDataset(hub, id, {});
    const file = join(dir, 'bad.ndjson');
    writeFileSync(file, `${JSON.stringify(milking(1))}\n{not json\n`);
    const good = join(dir, 'good.ndjson');
    writeFileSync(good, `${JSON.stringify(milking(1))}\n`);

    const refused = await hubCli(['--url', hub.url, '--key', readKey, 'push', id, good]);
    expect(refused.code).to.equal(3);
    expect(refused.stderr).to.match(/^hub: error: batch 1 .*HTTP 403 FORBIDDEN/m);

    const invalid = await hubCli(['--url', hub.url, '--key', readKey, 'push', id, file]);
    expect(invalid.code).to.equal(2);
    expect(invalid.stderr).to.match(/line 2 .* is not valid JSON/);

    const missing = await hubCli(['--url', hub.url, 'push', id]);
    expect(missing.code).to.equal(2);
    expect(missing.stderr).to.match(/missing required argument 'file'/);

    const unknown = await hubCli(['--url', hub.url, '--key', hub.adminToken, 'pull', uniqueId('nope')]);
    expect(unknown.code).to.equal(3);
    expect(unknown.stderr).to.match(/HTTP 404 DATASET_NOT_FOUND/);
  });

  it('when --help is asked of any command, then it prints usage and exits 0', async () => {
    for (const args of [
      ['--help'],
      ['push', '--help'],
      ['pull', '--help'],
      ['datasets', '--help'],
      ['serve', '--help'],
    ]) {
      const r = await hubCli(args);
      expect(r.code, args.join(' ')).to.equal(0);
      expect(r.stdout, args.join(' ')).to.match(/^Usage: hub/);
    }
  });

  it('when datasets are listed with the admin token, then every dataset is printed, one per line', async () => {
    const id = uniqueId('cli');
    await createDataset(hub, id, {});
    const r = await hubCli(['datasets'], { HUB_URL: hub.url, HUB_KEY: hub.adminToken });
    expect(r.code).to.equal(0);
    expect(r.stdout.split('\n')).to.include(`${id}\t${hub.url}/datasets/${id}`);
    const json = await hubCli(['datasets', '--json'], { HUB_URL: hub.url, HUB_KEY: hub.adminToken });
    expect((JSON.parse(json.stdout) as Array<{ name: string }>).map((d) => d.name)).to.include(id);
  });
});
