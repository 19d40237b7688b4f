import { open } from 'node:fs/promises';
import { join } from 'node:path';

/** The last 8 bytes of every LevelDB table file: kTableMagicNumber 0xdb4775248b80fb57, little-endian. */
const TABLE_MAGIC = Buffer.from('57fb808b247547db', 'hex');

/** What classic-level offers beyond the `level` types: LevelDB's properties. */
interface WithProperties {
  getProperty(property: string): string;
}

/** The live table files of the open database, with the sizes LevelDB recorded for them. */
function liveTables(db: WithProperties): Array<{ number: number; size: number }> {
  const out: Array<{ number: number; size: number }> = [];
  for (const m of db.getProperty('leveldb.sstables').matchAll(/^\s*(\d+):(\d+)\[/gm))
    out.push({ number: Number(m[1]), size: Number(m[2]) });
  return out;
}

function corruption(message: string): Error {
  return Object.assign(new Error(`Corruption: ${message}`), { code: 'LEVEL_CORRUPTION' });
}

/**
 * A start-up check LevelDB does not make: a table file cut short (a full disk during a copy, a bad
 * restore, a failing disk) is only found when a read reaches it, as a failed pull much later.
 * Each live table (as the open database's version lists it: not the half-written output of a
 * compaction a crash interrupted) must have the size LevelDB recorded and a table footer: one
 * stat and one 8-byte read per file, before the hub serves.
 */
export async function checkTables(db: unknown, location: string, attempt = 0): Promise<void> {
  const tail = Buffer.alloc(8);
  for (const t of liveTables(db as WithProperties)) {
    const base = String(t.number).padStart(6, '0');
    let f;
    try {
      f = await open(join(location, `${base}.ldb`), 'r').catch(() =>
        open(join(location, `${base}.sst`), 'r'),
      );
    } catch {
      // a compaction that finished meanwhile may have removed it: look at the new version once
      if (attempt === 0) return checkTables(db, location, 1);
      throw corruption(`table file ${base}.ldb is missing`);
    }
    try {
      const { size } = await f.stat();
      const { bytesRead } = size >= 8 ? await f.read(tail, 0, 8, size - 8) : { bytesRead: 0 };
      if (size !== t.size || bytesRead !== 8 || !tail.equals(TABLE_MAGIC))
        throw corruption(`table file ${base}.ldb is truncated or damaged (${size} of ${t.size} bytes)`);
    } finally {
      await f.close();
    }
  }
}
