import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import type { BackupRecord, DatasetBackupRecord } from '../store/backup.js';
import type { JsonObject, Store } from '../store/types.js';

/**
 * The backup file: gzip of NDJSON, one line per record of the store's logical content
 * (store/backup.ts), between a header line and a footer line:
 *
 *   {"t":"backup","format":"sync-hub-backup","version":1,"engine":"leveldb","createdAt":…}
 *   {"t":"hub","secret":"…"}  {"t":"dataset",…}  {"t":"change",…} …
 *   {"t":"end","records":N,"datasets":D,"changes":C,"sha256":"<hex of every line before this one>"}
 *
 * The same for every engine, so a backup is also the way from one engine to the other. The
 * footer's checksum covers the uncompressed lines (gzip's own CRC only covers the compression); a
 * file without its footer was cut short and is refused.
 */
export const BACKUP_FORMAT = 'sync-hub-backup';
const BACKUP_VERSION = 1;
/** Lines are handed to gzip in chunks of about this many characters (one write per line is slow). */
const CHUNK_CHARS = 256 * 1024;
/** How many earlier epochs a dataset remembers through restores of restores. */
const MAX_RESTORED_EPOCHS = 8;

export interface BackupSummary {
  readonly records: number;
  readonly datasets: number;
  readonly changes: number;
  readonly sha256: string;
}

interface Header {
  readonly t: 'backup';
  readonly format: string;
  readonly version: number;
  readonly engine: string;
  readonly createdAt: number;
}

interface Footer extends BackupSummary {
  readonly t: 'end';
}

async function* backupText(store: Store, done: (s: BackupSummary) => void): AsyncGenerator<string> {
  const hash = createHash('sha256');
  let chunk = '';
  const header: Header = {
    t: 'backup',
    format: BACKUP_FORMAT,
    version: BACKUP_VERSION,
    engine: store.engine,
    createdAt: Date.now(),
  };
  chunk += JSON.stringify(header) + '\n';
  let records = 0;
  let datasets = 0;
  let changes = 0;
  for await (const r of store.exportAll()) {
    records++;
    if (r.t === 'dataset') datasets++;
    else if (r.t === 'change') changes++;
    chunk += JSON.stringify(r) + '\n';
    if (chunk.length >= CHUNK_CHARS) {
      hash.update(chunk);
      yield chunk;
      chunk = '';
    }
  }
  hash.update(chunk);
  const summary: BackupSummary = { records, datasets, changes, sha256: hash.digest('hex') };
  const footer: Footer = { t: 'end', ...summary };
  yield chunk + JSON.stringify(footer) + '\n';
  done(summary);
}

/** Writes a backup of the store, from one consistent snapshot of it, to `out` (gzip). */
export async function writeBackup(store: Store, out: Writable): Promise<BackupSummary> {
  let summary: BackupSummary | undefined;
  await pipeline(Readable.from(backupText(store, (s) => (summary = s))), createGzip({ level: 6 }), out);
  return summary!;
}

/** A backup being read: the lines of a file, parsed. */
async function* lines(path: string): AsyncGenerator<string> {
  const input = createReadStream(path).pipe(createGunzip());
  yield* createInterface({ input, crlfDelay: Infinity });
}

export class BackupError extends Error {
  override readonly name = 'BackupError';
}

/**
 * Reads the whole file once and checks it: the header, that every line is JSON, and the footer's
 * count and checksum. Resolves with the footer's summary and the header.
 */
export async function verifyBackup(
  path: string,
): Promise<BackupSummary & { engine: string; createdAt: number }> {
  const hash = createHash('sha256');
  let header: Header | undefined;
  let footer: Footer | undefined;
  let records = 0;
  try {
    for await (const line of lines(path)) {
      if (footer) throw new BackupError('the backup has lines after its end line');
      const value = JSON.parse(line) as { t?: string };
      if (!header) {
        header = value as Header;
        if (header.t !== 'backup' || header.format !== BACKUP_FORMAT)
          throw new BackupError('this is not a sync-hub backup');
        if (header.version !== BACKUP_VERSION)
          throw new BackupError(`backup format version ${header.version} is not supported`);
      } else if (value.t === 'end') {
        footer = value as Footer;
        continue;
      } else records++;
      hash.update(line + '\n');
    }
  } catch (err) {
    if (err instanceof BackupError) throw err;
    throw new BackupError(`the backup cannot be read: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!header) throw new BackupError('the backup is empty');
  if (!footer) throw new BackupError('the backup is incomplete: its end line is missing (cut short?)');
  const sha256 = hash.digest('hex');
  if (sha256 !== footer.sha256 || records !== footer.records)
    throw new BackupError(`the backup is damaged: checksum ${sha256} != ${footer.sha256}`);
  return {
    records,
    datasets: footer.datasets,
    changes: footer.changes,
    sha256,
    engine: header.engine,
    createdAt: header.createdAt,
  };
}

/**
 * The records of a verified backup, made ready for a restore. Each dataset gets a new epoch that
 * remembers the one it was backed up in (attrs.restoredFrom): tokens issued before the backup
 * name that epoch and a sequence the restored changelog has too, so they go on working
 * (feed.ts); a token past the backup's point names changes the restored hub never had, and gets
 * the full-sync signal instead of a silent gap.
 */
export async function* restoreRecords(path: string): AsyncGenerator<BackupRecord> {
  let first = true;
  for await (const line of lines(path)) {
    const r = JSON.parse(line) as BackupRecord | Header | Footer;
    if (first) {
      first = false;
      continue;
    }
    if (r.t === 'end' || r.t === 'backup') continue;
    yield r.t === 'dataset' ? withNewEpoch(r) : r;
  }
}

export interface RestoredEpoch {
  readonly epoch: string;
  readonly lastSeq: number;
}

function withNewEpoch(r: DatasetBackupRecord): DatasetBackupRecord {
  const before: RestoredEpoch = { epoch: r.epoch, lastSeq: r.lastSeq };
  const restoredFrom = [before, ...restoredEpochs(r.attrs)].slice(0, MAX_RESTORED_EPOCHS);
  return {
    ...r,
    epoch: randomBytes(8).toString('hex'),
    attrs: { ...r.attrs, restoredFrom: restoredFrom as unknown as JsonObject[] },
  };
}

/** The epochs a dataset was restored from, newest first, each up to the sequence the backup had. */
export function restoredEpochs(attrs: JsonObject): RestoredEpoch[] {
  const list = attrs.restoredFrom;
  if (!Array.isArray(list)) return [];
  return list.filter(
    (e): e is { epoch: string; lastSeq: number } =>
      e !== null &&
      typeof e === 'object' &&
      !Array.isArray(e) &&
      typeof e.epoch === 'string' &&
      typeof e.lastSeq === 'number',
  );
}
