import { promisify } from 'node:util';
import { deflateRaw, deflateRawSync, inflateRawSync } from 'node:zlib';

/**
 * The receive journal holds every accepted request's raw text for recovery, a third of what an
 * ingest writes. Writes are what bound ingest (one synced batch per group, serialised per dataset:
 * bench/, issue 8), and request JSON compresses 5–10× even at deflate level 1, so entries are stored
 * compressed: `z<recorded>|<raw deflate>`. Compression runs on the thread pool before the request
 * reaches its writer. Entries written before this format (`<recorded>|<text>`) still read.
 */
const deflateRawAsync = promisify(deflateRaw);
const LEVEL = { level: 1 };
const MARK = 0x7a; // 'z'

export function packJournal(text: string): Promise<Buffer> {
  return deflateRawAsync(Buffer.from(text, 'utf8'), LEVEL);
}

export function packJournalSync(text: string): Buffer {
  return deflateRawSync(Buffer.from(text, 'utf8'), LEVEL);
}

export function journalValue(recorded: number, packed: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`z${recorded}|`, 'latin1'), packed]);
}

export function readJournalValue(value: Buffer): { recorded: number; text: string } {
  const bar = value.indexOf(0x7c); // '|'
  if (value[0] === MARK) {
    return {
      recorded: Number(value.subarray(1, bar).toString('latin1')),
      text: inflateRawSync(value.subarray(bar + 1)).toString('utf8'),
    };
  }
  return {
    recorded: Number(value.subarray(0, bar).toString('latin1')),
    text: value.subarray(bar + 1).toString('utf8'),
  };
}
