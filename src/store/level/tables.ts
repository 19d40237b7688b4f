import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/** The last 8 bytes of every LevelDB table file: kTableMagicNumber 0xdb4775248b80fb57, little-endian. */
const TABLE_MAGIC = Buffer.from('57fb808b247547db', 'hex');

/**
 * A start-up check LevelDB does not make: a table file cut short (a full disk during a copy, a
 * bad restore, a failing disk) lost its footer, and LevelDB only finds out when a read reaches
 * that file, as a 500 in some pull. One read of 8 bytes per file finds it before the hub serves.
 */
export async function checkTableFooters(location: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(location);
  } catch {
    return; // a new directory: LevelDB creates it
  }
  const tail = Buffer.alloc(8);
  for (const name of names) {
    if (!/^\d+\.(ldb|sst)$/.test(name)) continue;
    const f = await open(join(location, name), 'r');
    try {
      const { size } = await f.stat();
      const { bytesRead } = size >= 8 ? await f.read(tail, 0, 8, size - 8) : { bytesRead: 0 };
      if (bytesRead !== 8 || !tail.equals(TABLE_MAGIC)) {
        throw Object.assign(
          new Error(
            `Corruption: table file ${name} is truncated or damaged (${size} bytes, no table footer)`,
          ),
          {
            code: 'LEVEL_CORRUPTION',
          },
        );
      }
    } finally {
      await f.close();
    }
  }
}
