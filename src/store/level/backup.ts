import { randomBytes } from 'node:crypto';
import type { Level } from 'level';
import { hubError } from '../../errors.js';
import { blobFromText, blobToText, type BackupRecord, type ImportSummary } from '../backup.js';
import type { JsonObject } from '../types.js';
import { idempotencyNs, type LevelOp } from './apply.js';
import { decodeBlob, decodeChange, decodeKeyHead, encodeBlob, encodeChange } from './codec.js';
import { journalValue, packJournalSync, readJournalValue } from './journal.js';
import { keys, prefixRange } from './layout.js';
import { writeBatch } from './write.js';

type Db = Level<string, string>;
type Snapshot = ReturnType<Db['snapshot']>;

/** The engine's dataset record: the public fields plus where its data lives. */
interface Stored {
  readonly name: string;
  readonly incarnation: string;
  readonly epoch: string;
  readonly lastSeq: number;
  readonly count: number;
  readonly lastPushAt: number | null;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly config: JsonObject;
  readonly keyHashes: { push: string; read: string };
  readonly attrs: JsonObject;
  readonly journalN: number;
}

const PAGE = 1000;
const FLUSH_OPS = 20_000;
/** State entries looked up (getMany of their changes) at once. */
const STATE_PAGE = 5_000;

async function* scan<V extends string | Buffer>(
  db: Db,
  prefix: string,
  snapshot: Snapshot,
  buffer: V extends Buffer ? true : false,
): AsyncGenerator<[string, V]> {
  const it = db.iterator<string, V>({
    ...prefixRange(prefix),
    snapshot,
    ...(buffer ? { valueEncoding: 'buffer' } : {}),
  });
  try {
    while (true) {
      const batch = await it.nextv(PAGE);
      if (batch.length === 0) return;
      yield* batch as Array<[string, V]>;
    }
  } finally {
    await it.close();
  }
}

/**
 * Every dataset from one explicit LevelDB snapshot: what was committed when the export started,
 * however long it takes to read and whatever is written meanwhile.
 */
export async function* exportLevel(db: Db, secret: string): AsyncGenerator<BackupRecord> {
  const snapshot = db.snapshot();
  try {
    yield { t: 'hub', secret: (await db.get(keys.global('secret'), { snapshot })) ?? secret };
    const records: Stored[] = [];
    for await (const [, v] of scan<string>(db, keys.datasetRange.gt, snapshot, false))
      records.push(JSON.parse(v) as Stored);
    for (const rec of records) {
      const { incarnation, ...pub } = rec;
      yield { t: 'dataset', ...pub };
      for await (const [, v] of scan<string>(db, keys.changePrefix(rec.epoch), snapshot, false))
        yield { t: 'change', ...decodeChange(v) };
      for await (const [, v] of scan<string>(db, keys.statePrefix(rec.epoch), snapshot, false)) {
        const c = decodeChange(v);
        yield { t: 'state', key: c.key, seq: c.seq, deleted: c.deleted, hash: decodeKeyHead(v).hash };
      }
      const termsPrefix = keys.termsPrefix(rec.epoch);
      for await (const [k, v] of scan<string>(db, termsPrefix, snapshot, false))
        yield { t: 'terms', key: k.slice(termsPrefix.length), terms: v.split('\u0000') };
      const idem = keys.auxPrefix(incarnation, idempotencyNs(rec.epoch));
      for await (const [k, v] of scan<string>(db, idem, snapshot, false))
        yield { t: 'idem', key: k.slice(idem.length), recorded: Number(v) };
      const journal = keys.journalPrefix(incarnation);
      for await (const [k, v] of scan<Buffer>(db, journal, snapshot, true))
        yield { t: 'journal', n: Number(k.slice(journal.length)), ...readJournalValue(v) };
      const blobs = `b!${incarnation}!`;
      for await (const [k, v] of scan<Buffer>(db, blobs, snapshot, true)) {
        const b = decodeBlob(v);
        yield {
          t: 'blob',
          id: k.slice(blobs.length),
          contentType: b.contentType,
          bytes: blobToText(b.bytes),
        };
      }
      const aux = keys.auxAll(incarnation);
      for await (const [k, v] of scan<string>(db, aux, snapshot, false)) {
        const rest = k.slice(aux.length);
        const sep = rest.indexOf('!');
        const ns = decodeURIComponent(rest.slice(0, sep));
        // idempotency keys of this epoch went out as `idem`; those of older epochs are garbage
        if (/^idem@[0-9a-f]{16}$/.test(ns)) continue;
        yield { t: 'aux', ns, key: rest.slice(sep + 1), value: v };
      }
    }
  } finally {
    await snapshot.close();
  }
}

/**
 * Loads an export into an empty database. Each dataset's data is written under a fresh
 * incarnation before its record, so an import cut short leaves only data nothing points at (the
 * next open sweeps it); the records and the secret go last, in one synced batch.
 */
export async function importLevel(db: Db, records: AsyncIterable<BackupRecord>): Promise<ImportSummary> {
  for await (const _ of db.keys({ ...keys.datasetRange, limit: 1 }))
    throw hubError('STORE_NOT_EMPTY', 'the store already holds datasets: restore into an empty one');
  let ops: LevelOp[] = [];
  const finals: LevelOp[] = [];
  // one batch is written while the next is parsed (the write runs on LevelDB's thread)
  let writing: Promise<void> = Promise.resolve();
  const flush = async (): Promise<void> => {
    await writing;
    if (ops.length === 0) return;
    writing = writeBatch(db, ops, false);
    writing.catch(() => undefined);
    ops = [];
  };
  const settle = async (): Promise<void> => {
    await flush();
    await writing;
  };
  let current: { incarnation: string; epoch: string } | undefined;
  let states: Array<{ key: string; seq: number; hash: string }> = [];
  let changesUnwritten = false;
  const flushStates = async (): Promise<void> => {
    if (states.length === 0 || !current) return;
    // the changes the states name must be readable (they all come before the first state)
    if (changesUnwritten) await settle();
    changesUnwritten = false;
    const { epoch } = current;
    const values = await db.getMany(states.map((s) => keys.change(epoch, s.seq)));
    states.forEach((s, i) => {
      const v = values[i];
      if (v === undefined)
        throw new Error(`backup: the state of '${s.key}' names change ${s.seq}, which is missing`);
      ops.push({ type: 'put', key: keys.state(epoch, s.key), value: encodeChange(decodeChange(v), s.hash) });
    });
    states = [];
  };
  let datasets = 0;
  let changes = 0;
  for await (const r of records) {
    if (r.t !== 'state') await flushStates();
    switch (r.t) {
      case 'hub':
        finals.push({ type: 'put', key: keys.global('secret'), value: r.secret });
        break;
      case 'dataset': {
        const { t: _t, ...rec } = r;
        current = { incarnation: randomBytes(8).toString('hex'), epoch: r.epoch };
        finals.push({
          type: 'put',
          key: keys.dataset(r.name),
          value: JSON.stringify({ ...rec, incarnation: current.incarnation }),
        });
        datasets++;
        break;
      }
      case 'change': {
        const { t: _t, ...c } = r;
        ops.push({ type: 'put', key: keys.change(need(current).epoch, c.seq), value: encodeChange(c, '') });
        changesUnwritten = true;
        changes++;
        break;
      }
      case 'state':
        need(current);
        states.push(r);
        if (states.length >= STATE_PAGE) await flushStates();
        break;
      case 'terms': {
        const { epoch } = need(current);
        ops.push({ type: 'put', key: keys.terms(epoch, r.key), value: r.terms.join('\u0000') });
        for (const t of r.terms) ops.push({ type: 'put', key: keys.index(epoch, t, r.key), value: '' });
        break;
      }
      case 'idem':
        ops.push({
          type: 'put',
          key: keys.aux(need(current).incarnation, idempotencyNs(current!.epoch), r.key),
          value: String(r.recorded),
        });
        break;
      case 'journal':
        ops.push({
          type: 'put',
          key: keys.journal(need(current).incarnation, r.n),
          value: journalValue(r.recorded, packJournalSync(r.text)),
          valueEncoding: 'buffer',
        });
        break;
      case 'blob':
        ops.push({
          type: 'put',
          key: keys.blob(need(current).incarnation, r.id),
          value: encodeBlob(r.contentType, blobFromText(r.bytes)),
          valueEncoding: 'buffer',
        });
        break;
      case 'aux':
        ops.push({ type: 'put', key: keys.aux(need(current).incarnation, r.ns, r.key), value: r.value });
        break;
    }
    if (ops.length >= FLUSH_OPS) await flush();
  }
  await flushStates();
  await settle();
  await writeBatch(db, finals, true);
  return { datasets, changes };
}

function need<T>(current: T | undefined): T {
  if (current === undefined) throw new Error('backup: a data record comes before any dataset record');
  return current;
}
