/**
 * The benchmark's reading client, run as a child of bench/run.ts: streams a feed and counts its
 * items (see lib/client.ts stream). In its own process so that reading 65 MB of feed does not
 * trigger full garbage collections of the main benchmark process, whose heap holds all the
 * generated data (in one process those collections cost more CPU than the hub spent serving).
 *
 * Answers each { url, marker } message with the stream's figures and the milliseconds it took.
 */
import { keepAliveAgent, stream, type StreamStats } from './lib/client.js';

export interface ReadCommand {
  readonly url: string;
  readonly marker: string;
}

export interface ReadReply extends StreamStats {
  readonly ms: number;
}

const agent = keepAliveAgent(1);

process.on('message', (msg) => {
  const { url, marker } = msg as ReadCommand;
  const t0 = performance.now();
  stream(agent, url, marker).then(
    (stats) => process.send!({ ...stats, ms: performance.now() - t0 } satisfies ReadReply),
    (err: unknown) => {
      process.stderr.write(`reader: ${String(err)}\n`);
      process.exit(1);
    },
  );
});
process.on('SIGTERM', () => process.exit(0));
