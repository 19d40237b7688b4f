/**
 * The LevelDB limit, run as a child of bench/run.ts: classic-level (through `level`, the binding the
 * hub uses) driven directly, no HTTP, no hub.
 *
 * - ingest: a plain loop writing the resources of a file (one JSON text a line) as one
 *   `sync: true` batch of `batch` puts at a time, keyed like a changelog (zero-padded sequence):
 *   `db.batch(array)`, or with `chained` a chained batch.
 * - iterate: reads every value back with an iterator (`nextv(1000)`, utf8 strings).
 *
 * Answers each command with { op, count, ms } over IPC.
 */
import { readFileSync } from 'node:fs';
import { Level } from 'level';
import type { RawCommand, RawReply } from './lib/procs.js';

const seqKey = (n: number): string => String(n).padStart(16, '0');

async function ingest(
  file: string,
  batch: number,
  location: string,
  limit?: number,
  chained?: boolean,
): Promise<RawReply> {
  const lines = readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .slice(0, limit);
  const db = new Level<string, string>(location, { keyEncoding: 'utf8', valueEncoding: 'utf8' });
  await db.open();
  const t0 = performance.now();
  for (let i = 0; i < lines.length; i += batch) {
    const end = Math.min(i + batch, lines.length);
    if (chained) {
      // the same write through a chained batch (what the hub uses): a third of the CPU per put
      const b = db.batch();
      for (let j = i; j < end; j++) b.put(seqKey(j + 1), lines[j]!);
      await b.write({ sync: true });
    } else {
      const ops = [];
      for (let j = i; j < end; j++) ops.push({ type: 'put' as const, key: seqKey(j + 1), value: lines[j]! });
      await db.batch(ops, { sync: true });
    }
  }
  const ms = performance.now() - t0;
  await db.close();
  return { op: 'ingest', count: lines.length, ms };
}

async function iterate(location: string): Promise<RawReply> {
  const db = new Level<string, string>(location, { keyEncoding: 'utf8', valueEncoding: 'utf8' });
  await db.open();
  const t0 = performance.now();
  let count = 0;
  let bytes = 0;
  const it = db.values();
  for (let b = await it.nextv(1000); b.length > 0; b = await it.nextv(1000)) {
    count += b.length;
    for (const v of b) bytes += v.length;
  }
  await it.close();
  const ms = performance.now() - t0;
  await db.close();
  if (bytes === 0 && count > 0) throw new Error('empty values');
  return { op: 'iterate', count, ms };
}

process.on('message', (msg) => {
  const cmd = msg as RawCommand;
  const work =
    cmd.op === 'ingest' ? ingest(cmd.file, cmd.batch, cmd.db, cmd.limit, cmd.chained) : iterate(cmd.db);
  work.then(
    (reply) => process.send!(reply),
    (err: unknown) => {
      process.stderr.write(`raw-level: ${String(err)}\n`);
      process.exit(1);
    },
  );
});
process.on('SIGTERM', () => process.exit(0));
