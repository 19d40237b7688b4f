import { expect } from 'chai';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { CONTEXT, createDataset, milking, pushResources, readChanges, uniqueId } from './helpers/data.js';
import { call, rawRequest } from './helpers/http.js';
import { startTestHub, type TestHub } from './helpers/hub.js';
import { waitForMetric } from './helpers/poll.js';

/** Opens a raw socket and resolves with what the server sent by the time it closed the connection. */
function rawSocket(
  url: string,
  send: (s: ReturnType<typeof connect>) => void,
  timeoutMs = 15_000,
): Promise<{ text: string; closedAfterMs: number }> {
  const u = new URL(url);
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const s = connect(Number(u.port), u.hostname);
    let text = '';
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error('the server did not cut the connection off'));
    }, timeoutMs);
    s.on('data', (d) => (text += d.toString()));
    s.on('error', () => undefined);
    s.on('close', () => {
      clearTimeout(timer);
      resolve({ text, closedAfterMs: Date.now() - t0 });
    });
    s.on('connect', () => send(s));
  });
}

describe('reliability: slow, greedy and leaving clients', () => {
  let hub: TestHub;
  before(async () => {
    hub = await startTestHub({
      limits: {
        bodyIdleTimeoutMs: 400,
        headersTimeoutMs: 1000,
        requestTimeoutMs: 3000,
        maxWaitingReadersPerKey: 2,
      },
    });
  });
  after(() => hub.close());

  // every push route reads its body through the same reader, so every one cuts a stalled body off
  const slowRoutes: {
    name: string;
    path: (id: string, key: string) => string;
    body: string;
    error: RegExp;
  }[] = [
    {
      name: 'ICAR',
      path: (id) => `/datasets/${id}/resources`,
      body: JSON.stringify([CONTEXT, milking(1)]),
      error: /REQUEST_TIMEOUT/,
    },
    {
      name: 'UDA',
      path: (id) => `/datasets/${id}/entities`,
      body: JSON.stringify([{ id: '@context', namespaces: { _: 'http://example.com/' } }, { id: 'a' }]),
      error: /REQUEST_TIMEOUT/,
    },
    {
      name: 'Obsrv',
      path: (id) => `/v2/data/in/${id}`,
      body: JSON.stringify({ data: { events: [{ id: 'e1' }] } }),
      error: /"responseCode":"REQUEST_TIMEOUT"/,
    },
    {
      name: 'ODS',
      path: (id, key) => `/api/push/1.0/${id}/realtime/push/?pushkey=${key}`,
      body: JSON.stringify([{ sensor: 't1', celsius: 20 }]),
      error: /"errorcode":408,"error":"no request data for 400 ms"/,
    },
  ];
  for (const route of slowRoutes) {
    it(`when a client sends its ${route.name} push body one byte a second, then it is cut off with 408 and nothing is stored`, async () => {
      const id = uniqueId('slow');
      const keys = await createDataset(hub, id);
      const r = await rawSocket(hub.url, (s) => {
        s.write(
          `POST ${route.path(id, keys.pushKey)} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${keys.pushKey}\r\n` +
            `Content-Type: application/json\r\nContent-Length: ${route.body.length}\r\n\r\n`,
        );
        let i = 0;
        const drip = setInterval(() => {
          if (s.destroyed || i >= route.body.length) return clearInterval(drip);
          s.write(route.body[i++]!);
        }, 1000);
        s.on('close', () => clearInterval(drip));
      });
      expect(r.text).to.match(/^HTTP\/1\.1 408/);
      expect(r.text.split('\r\n\r\n')[1]).to.match(route.error);
      const d = (await call(`${hub.url}/datasets/${id}`, { token: keys.readKey })).json as {
        lastSeq: number;
      };
      expect(d.lastSeq).to.equal(0);
    });
  }

  it('when a client never finishes its headers, then the connection is closed', async () => {
    const r = await rawSocket(hub.url, (s) => {
      s.write('GET /health HTTP/1.1\r\nHost: x\r\n');
      const drip = setInterval(() => !s.destroyed && s.write('X-Slow: 1\r\n'), 300);
      s.on('close', () => clearInterval(drip));
    });
    expect(r.text).to.not.include('"status":"ok"');
    expect(r.closedAfterMs).to.be.lessThan(10_000);
    expect((await call(`${hub.url}/health`)).status).to.equal(200);
  });

  it('when one key holds more long-polls than allowed, then the next gets 429 and the others keep working', async () => {
    const id = uniqueId('cap');
    const keys = await createDataset(hub, id);
    const start = await readChanges(hub, id, keys.readKey);
    const url = `${hub.url}/datasets/${id}/changes?since=${start.token}&feed=longpoll&timeout=20000`;
    const polls = [call(url, { token: keys.readKey }), call(url, { token: keys.readKey })];
    await waitForMetric(hub, 'hub_feed_waiting_readers{feed="longpoll"}', (v) => v >= 2);
    const third = await call(url, { token: keys.readKey });
    expect(third.status).to.equal(429);
    expect(third.headers.get('retry-after')).to.equal('1');
    expect((third.json as { error: { code: string } }).error.code).to.equal('TOO_MANY_WAITING_READERS');
    // another key is not affected
    const other = call(url, { token: keys.pushKey });
    await pushResources(hub, id, keys.pushKey, [milking(1)]);
    const answers = await Promise.all([...polls, other]);
    for (const a of answers) expect(a.status).to.equal(200);
    // places are given back: a new poll is accepted again
    const now = (await readChanges(hub, id, keys.readKey)).token;
    const again = await call(`${hub.url}/datasets/${id}/changes?since=${now}&feed=longpoll&timeout=50`, {
      token: keys.readKey,
    });
    expect(again.status).to.equal(200);
  });

  it('when a long-poll client disconnects, then its place and subscription are released', async () => {
    const id = uniqueId('gone');
    const keys = await createDataset(hub, id);
    const start = await readChanges(hub, id, keys.readKey);
    const ac = new AbortController();
    const p = fetch(`${hub.url}/datasets/${id}/changes?since=${start.token}&feed=longpoll&timeout=20000`, {
      headers: { authorization: `Bearer ${keys.readKey}` },
      signal: ac.signal,
    }).catch(() => undefined);
    await waitForMetric(hub, 'hub_feed_waiting_readers{feed="longpoll"}', (v) => v >= 1);
    ac.abort();
    await p;
    await waitForMetric(hub, 'hub_feed_waiting_readers{feed="longpoll"}', (v) => v === 0);
  });

  it('when the Content-Encoding is unknown, then 415 and nothing stored', async () => {
    const id = uniqueId('enc');
    const keys = await createDataset(hub, id);
    const r = await rawRequest(`${hub.url}/datasets/${id}/resources`, {
      headers: { authorization: `Bearer ${keys.pushKey}`, 'content-encoding': 'br' },
      body: JSON.stringify([CONTEXT, milking(1)]),
    });
    expect(r.status).to.equal(415);
    expect(JSON.parse(r.text)).to.have.nested.property('error.code', 'UNSUPPORTED_ENCODING');
  });
});

describe('reliability: graceful shutdown', () => {
  it('when the hub stops while a push is in flight and a long-poll waits, then the push is answered 200 and kept, and the poll answers at once', async () => {
    const hub = await startTestHub({ limits: { shutdownGraceMs: 20_000 } });
    const id = uniqueId('stop');
    const keys = await createDataset(hub, id);
    const start = await readChanges(hub, id, keys.readKey);
    const poll = call(`${hub.url}/datasets/${id}/changes?since=${start.token}&feed=longpoll&timeout=60000`, {
      token: keys.readKey,
    });
    await waitForMetric(hub, 'hub_feed_waiting_readers{feed="longpoll"}', (v) => v >= 1);
    const body = Buffer.from(
      JSON.stringify([CONTEXT, ...Array.from({ length: 3000 }, (_, i) => milking(i))]),
    );
    const half = body.length >> 1;
    // the push: headers and half its body now, the rest only once the stop has begun
    const arrived = new Promise<void>((resolve) => hub.running.server.once('request', () => resolve()));
    const u = new URL(`${hub.url}/datasets/${id}/resources`);
    const req = httpRequest({
      host: u.hostname,
      port: u.port,
      path: u.pathname,
      method: 'POST',
      agent: false,
      headers: {
        authorization: `Bearer ${keys.pushKey}`,
        'content-type': 'application/json',
        'content-length': body.length,
      },
    });
    const answered = new Promise<{ status: number; text: string }>((resolve, reject) => {
      req.on('response', (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      });
      req.on('error', reject);
    });
    req.write(body.subarray(0, half));
    await arrived; // the hub is handling the push: it is in flight
    const t0 = Date.now();
    const closing = hub.running.close();
    // the stop has begun: the hub listens no more and the waiting long-poll is answered
    const polled = await poll.catch((err: Error) => ({ status: 0, text: err.message }));
    expect(hub.running.server.listening, 'the hub stopped listening').to.equal(false);
    const before = await Promise.race([answered, Promise.resolve(undefined)]);
    expect(before, 'the push is not answered before its body is complete').to.equal(undefined);
    req.end(body.subarray(half));
    const pushed = await answered;
    await closing;
    expect(Date.now() - t0).to.be.lessThan(15_000);
    expect(pushed.status, pushed.text).to.equal(200);
    expect(polled.status, polled.text).to.equal(200);
    const again = await hub.restart();
    try {
      const d = (await call(`${again.url}/datasets/${id}`, { token: keys.readKey })).json as {
        lastSeq: number;
      };
      expect(d.lastSeq, 'every record of the push is kept').to.equal(3000);
    } finally {
      await again.close();
    }
  });
});
