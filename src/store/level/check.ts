import { ClassicLevel } from 'classic-level';
import type { Level } from 'level';
import { decodeChange, decodeKeyHead, encodeChange } from './codec.js';
import { EPOCH_TABLES, INCARNATION_TABLES, keys, prefixRange } from './layout.js';
import type { LevelOp } from './apply.js';
import { writeBatch } from './write.js';
import { checkTables } from './tables.js';

/**
 * `hub repair`: LevelDB's own repair (it rebuilds the MANIFEST from the table files it can still
 * read and drops what it cannot), then a check of what the hub keeps beside the changelog against
 * the changelog itself: the current-state index (k!) and each dataset's head (lastSeq, count).
 * The changelog is the truth: the index is rewritten from it. What the changelog itself lost (a
 * gap in its sequences) cannot be rebuilt from it: the report names it, and the way back is a
 * recovery from the receive journal or a restore from a backup.
 */
export interface DatasetFindings {
  readonly name: string;
  readonly changes: number;
  /** sequences missing from the changelog (first ones), and how many in all */
  readonly gaps: { readonly count: number; readonly first: number[] };
  /** keys whose latest change has no state entry */
  readonly missingState: number;
  /** state entries that point at an older change than the key's latest */
  readonly staleState: number;
  /** state entries of keys the changelog does not have */
  readonly extraState: number;
  readonly lastSeq: { readonly record: number; readonly changelog: number };
  readonly count: { readonly record: number; readonly changelog: number };
}

export interface CheckReport {
  readonly datasets: DatasetFindings[];
  /** epochs and incarnations whose dataset record is gone (the hub drops their data when it starts) */
  readonly orphans: { readonly epochs: number; readonly incarnations: number };
  /** the index and heads were rewritten from the changelog */
  readonly fixed: boolean;
  /** nothing is wrong (after the fixes, when fixing): only changelog gaps and orphans can remain */
  readonly consistent: boolean;
}

interface Stored {
  readonly name: string;
  readonly incarnation: string;
  readonly epoch: string;
  readonly lastSeq: number;
  readonly count: number;
  readonly [field: string]: unknown;
}

const PAGE = 1000;
const FLUSH_OPS = 10_000;

async function* entries(db: Level<string, string>, prefix: string): AsyncGenerator<[string, string]> {
  const it = db.iterator(prefixRange(prefix));
  try {
    while (true) {
      const batch = await it.nextv(PAGE);
      if (batch.length === 0) return;
      yield* batch;
    }
  } finally {
    await it.close();
  }
}

/** Runs LevelDB's repair on the database directory (no process may have it open). */
export function repairLevel(location: string): Promise<void> {
  return ClassicLevel.repair(location);
}

async function checkDataset(
  db: Level<string, string>,
  rec: Stored,
  fix: boolean,
): Promise<{ findings: DatasetFindings; ops: LevelOp[] }> {
  const ops: LevelOp[] = [];
  // key → the seq of its latest change (the changelog is read in sequence order)
  const latest = new Map<string, number>();
  const deletedAt = new Set<number>();
  let changes = 0;
  let expected = 1;
  let gapCount = 0;
  const gapFirst: number[] = [];
  let maxSeq = 0;
  for await (const [, v] of entries(db, keys.changePrefix(rec.epoch))) {
    const c = decodeChange(v);
    changes++;
    for (; expected < c.seq; expected++) {
      gapCount++;
      if (gapFirst.length < 20) gapFirst.push(expected);
    }
    expected = c.seq + 1;
    maxSeq = c.seq;
    latest.set(c.key, c.seq);
    if (c.deleted) deletedAt.add(c.seq);
  }
  // a changelog that lost its last changes: their sequences stay used (readers may hold tokens
  // past them), so the head never moves back and the lost tail counts as a gap
  for (let seq = maxSeq + 1; seq <= rec.lastSeq; seq++) {
    gapCount++;
    if (gapFirst.length < 20) gapFirst.push(seq);
  }
  const lastSeq = Math.max(maxSeq, rec.lastSeq);
  let missing = 0;
  let stale = 0;
  let extra = 0;
  const seen = new Set<string>();
  const rewrite = async (key: string, seq: number, hash: string | undefined): Promise<void> => {
    const v = await db.get(keys.change(rec.epoch, seq));
    if (v === undefined) return;
    // the key's content hash lives in its changelog entry too (codec.ts); '' only for imported ones
    ops.push({
      type: 'put',
      key: keys.state(rec.epoch, key),
      value: encodeChange(decodeChange(v), hash ?? decodeKeyHead(v).hash),
    });
  };
  for await (const [k, v] of entries(db, keys.statePrefix(rec.epoch))) {
    const key = k.slice(keys.statePrefix(rec.epoch).length);
    const head = decodeKeyHead(v);
    const want = latest.get(key);
    seen.add(key);
    if (want === undefined) {
      extra++;
      ops.push({ type: 'del', key: k });
    } else if (want !== head.seq) {
      stale++;
      await rewrite(key, want, undefined);
    }
  }
  for (const [key, seq] of latest) {
    if (seen.has(key)) continue;
    missing++;
    await rewrite(key, seq, undefined);
  }
  let live = 0;
  for (const seq of latest.values()) if (!deletedAt.has(seq)) live++;
  if (lastSeq !== rec.lastSeq || live !== rec.count) {
    ops.push({
      type: 'put',
      key: keys.dataset(rec.name),
      value: JSON.stringify({ ...rec, lastSeq, count: live }),
    });
  }
  return {
    findings: {
      name: rec.name,
      changes,
      gaps: { count: gapCount, first: gapFirst },
      missingState: missing,
      staleState: stale,
      extraState: extra,
      lastSeq: { record: rec.lastSeq, changelog: lastSeq },
      count: { record: rec.count, changelog: live },
    },
    ops: fix ? ops : [],
  };
}

/** Ids (epochs, incarnations) that have data in `table` but no dataset pointing at them. */
async function orphanIds(
  db: Level<string, string>,
  table: string,
  live: ReadonlySet<string>,
): Promise<number> {
  const tablePrefix = `${table}!`;
  const end = prefixRange(tablePrefix).lt;
  let from = tablePrefix;
  let orphans = 0;
  while (true) {
    const [first] = await db.keys({ gt: from, lt: end, limit: 1 }).all();
    if (first === undefined) return orphans;
    const id = first.slice(tablePrefix.length, first.indexOf('!', tablePrefix.length));
    if (!live.has(id)) orphans++;
    from = prefixRange(`${tablePrefix}${id}!`).lt;
  }
}

export async function checkLevel(db: Level<string, string>, options: { fix: boolean }): Promise<CheckReport> {
  const records: Stored[] = [];
  for await (const [, v] of entries(db, 'm!')) records.push(JSON.parse(v) as Stored);
  const datasets: DatasetFindings[] = [];
  for (const rec of records) {
    const { findings, ops } = await checkDataset(db, rec, options.fix);
    datasets.push(findings);
    for (let i = 0; i < ops.length; i += FLUSH_OPS) await writeBatch(db, ops.slice(i, i + FLUSH_OPS), true);
  }
  const epochs = new Set(records.map((r) => r.epoch));
  const incarnations = new Set(records.map((r) => r.incarnation));
  let orphanEpochs = 0;
  let orphanIncarnations = 0;
  for (const t of EPOCH_TABLES) orphanEpochs = Math.max(orphanEpochs, await orphanIds(db, t, epochs));
  for (const t of INCARNATION_TABLES)
    orphanIncarnations = Math.max(orphanIncarnations, await orphanIds(db, t, incarnations));
  const indexWrong = (d: DatasetFindings): boolean =>
    d.missingState + d.staleState + d.extraState > 0 ||
    d.lastSeq.record !== d.lastSeq.changelog ||
    d.count.record !== d.count.changelog;
  const gaps = datasets.some((d) => d.gaps.count > 0);
  return {
    datasets,
    orphans: { epochs: orphanEpochs, incarnations: orphanIncarnations },
    fixed: options.fix && datasets.some(indexWrong),
    consistent: !gaps && (options.fix || !datasets.some(indexWrong)),
  };
}

/**
 * Repairs the LevelDB database at `location` (unless `checkOnly`), then checks it and, unless
 * `checkOnly`, fixes the index and heads from the changelog. No hub may have it open.
 */
export async function repairAndCheck(
  location: string,
  options: { checkOnly?: boolean } = {},
): Promise<CheckReport> {
  if (!options.checkOnly) await repairLevel(location);
  const db = new ClassicLevel<string, string>(location, {
    keyEncoding: 'utf8',
    valueEncoding: 'utf8',
    createIfMissing: false,
  });
  await db.open();
  try {
    if (options.checkOnly) await checkTables(db, location);
    return await checkLevel(db as unknown as Level<string, string>, { fix: !options.checkOnly });
  } finally {
    await db.close();
  }
}
