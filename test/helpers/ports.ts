import { createServer } from 'node:net';

/**
 * A loopback port nobody listens on now: the OS picks it, and it is closed again before the server
 * under test binds it (a race another process could win: hub-process.ts tries again on EADDRINUSE).
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const address = s.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      s.close(() => resolve(port));
    });
  });
}
