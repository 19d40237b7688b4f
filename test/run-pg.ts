/**
 * `npm run test:pg`: the whole suite (or the files given) on the PostgreSQL engine. With
 * TEST_STORE_URL set, against that database; without it, against a PostgreSQL server of its own
 * (test/helpers/pg-server.ts: initdb in a temp directory, a free loopback port, installed from
 * Debian when missing), stopped by pid and removed when mocha ends. Exits with mocha's code.
 */
import { spawn } from 'node:child_process';
import { startPgServer, type PgServer } from './helpers/pg-server.js';

const MOCHA = new URL('../node_modules/mocha/bin/mocha.js', import.meta.url).pathname;

let server: PgServer | undefined;
if (!process.env.TEST_STORE_URL) {
  server = await startPgServer();
  process.env.TEST_STORE_URL = server.url;
  console.log(`test:pg: PostgreSQL of its own on 127.0.0.1:${server.port} (pid ${server.pid})`);
}
process.env.TEST_HUB_ENGINE = 'postgres';

const mocha = spawn(process.execPath, [MOCHA, ...process.argv.slice(2)], { stdio: 'inherit' });
// Ctrl-C reaches mocha through the terminal; a TERM sent to us alone is passed on
const forward = (sig: NodeJS.Signals): void => void mocha.kill(sig);
process.on('SIGINT', () => forward('SIGINT'));
process.on('SIGTERM', () => forward('SIGTERM'));

const code = await new Promise<number>((resolve) =>
  mocha.once('exit', (c, signal) => resolve(c ?? (signal ? 128 : 1))),
);
await server?.destroy();
process.exit(code);
