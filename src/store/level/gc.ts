import type { Level } from 'level';
import { EPOCH_TABLES, INCARNATION_TABLES, prefixRange } from './layout.js';

interface Live {
  readonly incarnation: string;
  readonly epoch: string;
}

/**
 * Start-up sweep of data nothing points at: epochs of deleted datasets or of rebuilds that were
 * interrupted, and incarnations of deleted datasets whose clearing was cut short by a crash. It
 * skips from one id to the next, so it costs one seek per id, not one step per key.
 */
export async function collectGarbage(db: Level<string, string>, live: readonly Live[]): Promise<number> {
  const epochs = new Set(live.map((d) => d.epoch));
  const incarnations = new Set(live.map((d) => d.incarnation));
  let cleared = 0;
  for (const table of EPOCH_TABLES) cleared += await sweepTable(db, table, epochs);
  for (const table of INCARNATION_TABLES) cleared += await sweepTable(db, table, incarnations);
  return cleared;
}

async function sweepTable(
  db: Level<string, string>,
  table: string,
  keep: ReadonlySet<string>,
): Promise<number> {
  const tablePrefix = `${table}!`;
  const end = prefixRange(tablePrefix).lt;
  let from = tablePrefix;
  let cleared = 0;
  while (true) {
    const [first] = await db.keys({ gt: from, lt: end, limit: 1 }).all();
    if (first === undefined) return cleared;
    const id = first.slice(tablePrefix.length, first.indexOf('!', tablePrefix.length));
    const idPrefix = `${tablePrefix}${id}!`;
    if (!keep.has(id)) {
      await db.clear(prefixRange(idPrefix));
      cleared++;
    }
    from = prefixRange(idPrefix).lt;
  }
}
