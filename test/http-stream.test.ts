import { expect } from 'chai';
import Koa from 'koa';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { sendStream } from '../src/http/stream.js';

/**
 * The streaming helper every feed and export answers through. A source that fails before its
 * first byte (the store went away while a feed opened: seen in the failover tests) must still give
 * the client a status and an error body, not a connection cut with no answer.
 */
describe('streamed answers (src/http/stream.ts)', () => {
  let server: Server;
  let base: string;
  let finallyRan = 0;

  before(async () => {
    const app = new Koa();
    app.use(async (ctx, next) => {
      try {
        await next();
      } catch (err) {
        ctx.status = 503;
        ctx.set('Retry-After', '2');
        ctx.body = { code: 'STORE_UNAVAILABLE', message: (err as Error).message };
      }
    });
    app.use(async (ctx) => {
      async function* failing(): AsyncGenerator<string> {
        try {
          await new Promise((r) => setImmediate(r));
          if (ctx.path === '/failing') throw new Error('the store went away');
          yield 'never';
        } finally {
          finallyRan++;
        }
      }
      async function* fine(): AsyncGenerator<string> {
        yield '[';
        yield '1,2';
        yield ']';
      }
      await sendStream(ctx, ctx.path === '/failing' ? failing() : fine(), {
        contentType: 'application/json',
      });
    });
    server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(() => new Promise<void>((r) => server.close(() => r())));

  it('when the source fails before its first chunk, then the answer is the error (503 with Retry-After and a body), not a cut connection', async () => {
    const r = await fetch(`${base}/failing`);
    expect(r.status).to.equal(503);
    expect(r.headers.get('retry-after')).to.equal('2');
    expect(await r.json()).to.deep.equal({ code: 'STORE_UNAVAILABLE', message: 'the store went away' });
    expect(finallyRan).to.equal(1);
  });

  it('when the source yields, then every chunk arrives in order, the first one included', async () => {
    const r = await fetch(`${base}/fine`);
    expect(r.status).to.equal(200);
    expect(await r.text()).to.equal('[1,2]');
  });
});
