import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { createDataset, uniqueId } from './helpers/data.js';
import { startFtpServer, selfSignedCert, type FtpServer } from './helpers/ftp-server.js';
import { call, parseNdjson } from './helpers/http.js';
import { startTestHub, tempDir, type TestHub } from './helpers/hub.js';
import { eventually } from './helpers/poll.js';

type Json = Record<string, unknown>;

/**
 * Scheduled pulls of FTP and FTPS resources ("a URL (HTTP or FTP work well)", seed 001) from a
 * real vsftpd on loopback: the same parsers, size cap, retries, unchanged detection and error
 * reporting as HTTP, and credentials that are never shown back.
 */
describe('scheduled pulls over FTP and FTPS (vsftpd)', function () {
  this.timeout(60_000);
  let hub: TestHub;
  let ftp: FtpServer;
  let ftps: FtpServer;
  const certDir = tempDir('ftps-cert-');
  const SECRET = 'reader-s3cret@example.org';

  before(async () => {
    const cert = selfSignedCert(certDir);
    [ftp, ftps] = await Promise.all([startFtpServer(), startFtpServer({ tls: cert })]);
    hub = await startTestHub({
      opsRetryMaxMs: 200,
      // the test's own CA for ftps:// (a hub would use NODE_EXTRA_CA_CERTS); a small size cap
      runtime: { operations: { tls: { ca: readFileSync(cert.cert, 'utf8') }, snapshotMaxBytes: 4096 } },
    });
  });
  after(async () => {
    await hub?.close();
    await Promise.all([ftp?.destroy(), ftps?.destroy()]);
    rmSync(certDir, { recursive: true, force: true });
  });

  const run = (id: string) =>
    call(`${hub.url}/datasets/${id}/schedule/run`, { method: 'POST', token: hub.adminToken });
  /** the dataset's live records, sorted by `key` */
  async function liveRecords(id: string, key: string): Promise<Json[]> {
    const r = await call(`${hub.url}/datasets/${id}/resources?format=ndjson`, { token: hub.adminToken });
    const items = (parseNdjson(r.text) as Json[]).slice(1, -1);
    return items
      .map((i) => (i.fields as Json) ?? i)
      .sort((a, b) => String(a[key]).localeCompare(String(b[key])));
  }
  async function detail(id: string): Promise<Json> {
    const r = await call(`${hub.url}/datasets/${id}`, { token: hub.adminToken });
    expect(r.status).to.equal(200);
    expect(r.text, 'a credential shown back').to.not.include('s3cret');
    return r.json as Json;
  }

  it('when an FTP resource is pulled first, then unchanged, then changed, then it is applied, skipped, and applied with the deletion; its password is never shown', async () => {
    const id = uniqueId('ftp');
    writeFileSync(join(ftp.root, `${id}.csv`), 'isbn;title\n1;Zen\n2;Dune\n3;Emma\n');
    // anonymous login; vsftpd takes any password but its banned list, so the URL's is the one sent
    const url = `ftp://anonymous:${encodeURIComponent(SECRET)}@127.0.0.1:${ftp.port}/${id}.csv`;
    await createDataset(hub, id, { uniqueKeys: ['isbn'], schedule: { url, everyMinutes: 60 } });
    const first = await eventually(async () => {
      const d = await detail(id);
      return (d.schedule as Json).lastSuccessAt ? d : undefined;
    });
    expect(first).to.include({ count: 3 });
    expect((first.schedule as Json).lastResult).to.include({ outcome: 'applied', format: 'csv', records: 3 });
    const masked = `ftp://anonymous:***@127.0.0.1:${ftp.port}/${id}.csv`;
    expect((first.schedule as Json).url).to.equal(masked);
    expect(((first.config as Json).schedule as Json).url).to.equal(masked);

    const same = await run(id);
    expect(same.status).to.equal(200);
    expect(same.json).to.include({ outcome: 'unchanged', changes: 0 });

    writeFileSync(join(ftp.root, `${id}.csv`), 'isbn;title\n1;Zen\n2;Dune II\n');
    const changed = await run(id);
    expect(changed.json).to.include({ outcome: 'applied', records: 2, changes: 2, deleted: 1 });
    expect(await liveRecords(id, 'isbn')).to.deep.equal([
      { isbn: '1', title: 'Zen' },
      { isbn: '2', title: 'Dune II' },
    ]);
  });

  it('when the credentials are in the config, then they are used and shown masked; a refused login is a 502 naming the FTP reply', async () => {
    const id = uniqueId('ftpcred');
    writeFileSync(join(ftp.root, `${id}.json`), '[{"n":1}]');
    const url = `ftp://127.0.0.1:${ftp.port}/${id}.json`;
    await createDataset(hub, id, {
      schedule: { url, username: 'anonymous', password: ftp.bannedPassword, everyMinutes: 60 },
    });
    const d = await eventually(async () => {
      const v = await detail(id);
      return (v.schedule as Json).lastError ? v : undefined;
    });
    // vsftpd refuses this one password: the config's credentials are the ones sent
    expect((d.schedule as Json).lastError).to.match(/^FTP 530 Login incorrect/);
    expect((d.schedule as Json).lastError).to.not.include(ftp.bannedPassword);
    expect(((d.config as Json).schedule as Json).password).to.equal('***');
    expect(JSON.stringify(d)).to.not.include(ftp.bannedPassword);
    expect(d.count).to.equal(0);

    // the config read back (password masked) and PUT again keeps the stored password: still
    // refused (vsftpd would let the mask itself in)
    const put = await call(`${hub.url}/datasets/${id}`, {
      method: 'PUT',
      token: hub.adminToken,
      body: d.config,
    });
    expect(put.status).to.equal(200);
    const again = await run(id);
    expect(again.status).to.equal(502);
    expect((again.json as { error: Json }).error.message).to.match(/530 Login incorrect/);
    // a new password replaces it
    const fixed = {
      ...(d.config as Json),
      schedule: { ...((d.config as Json).schedule as Json), password: 'ok@example.org' },
    };
    await call(`${hub.url}/datasets/${id}`, { method: 'PUT', token: hub.adminToken, body: fixed });
    await eventually(async () => ((await detail(id)).count === 1 ? true : undefined));
  });

  it('when the FTP server fails (no such file, server down, a file over the size cap), then nothing is applied, the run is a 502 and the status says why; back up, the next run applies', async () => {
    const id = uniqueId('ftpfail');
    const file = join(ftp.root, `${id}.ndjson`);
    writeFileSync(file, '{"k":1}\n{"k":2}\n');
    await createDataset(hub, id, {
      schedule: { url: `ftp://127.0.0.1:${ftp.port}/${id}.ndjson`, everyMinutes: 60 },
    });
    await eventually(async () => ((await detail(id)).count === 2 ? true : undefined));

    rmSync(file);
    const missing = await run(id);
    expect(missing.status).to.equal(502);
    expect((missing.json as { error: Json }).error).to.include({ code: 'SCHEDULE_FAILED' });
    expect(((await detail(id)).schedule as Json).lastError).to.match(/^FTP 550 /);

    writeFileSync(file, `${'{"k":3}\n'.repeat(600)}`);
    const big = await run(id);
    expect(big.status).to.equal(502);
    expect(((await detail(id)).schedule as Json).lastError).to.match(/larger than 4096 bytes/);

    writeFileSync(file, '{"k":3}\n');
    await ftp.stop();
    try {
      const down = await run(id);
      expect(down.status).to.equal(502);
      expect(((await detail(id)).schedule as Json).lastError).to.match(/ECONNREFUSED/);
      expect(await detail(id)).to.include({ count: 2 });
    } finally {
      await ftp.start();
    }
    const back = await run(id);
    expect(back.json).to.include({ outcome: 'applied', records: 1, deleted: 2 });
    expect(((await detail(id)).schedule as Json).lastError).to.equal(null);
  });

  it('when the resource is ftps:// on a server that requires TLS, then it is pulled over TLS and an unchanged file is skipped', async () => {
    const id = uniqueId('ftps');
    writeFileSync(join(ftps.root, `${id}.json`), '[{"a":1},{"a":2}]');
    await createDataset(hub, id, {
      schedule: { url: `ftps://127.0.0.1:${ftps.port}/${id}.json`, everyMinutes: 60 },
    });
    await eventually(async () => ((await detail(id)).count === 2 ? true : undefined));
    const again = await run(id);
    expect(again.json).to.include({ outcome: 'unchanged' });
    // the same server refuses plain FTP: the pull above was encrypted
    const plain = uniqueId('plain');
    await createDataset(hub, plain, {
      schedule: { url: `ftp://127.0.0.1:${ftps.port}/${id}.json`, everyMinutes: 60 },
    });
    const refused = await run(plain);
    expect(refused.status).to.equal(502);
    expect(((await detail(plain)).schedule as Json).lastError).to.match(/530 .*encryption/);
  });
});
