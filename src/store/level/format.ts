import type { Level } from 'level';
import { hubError } from '../../errors.js';
import { keys } from './layout.js';

/**
 * The on-disk format of the LevelDB engine (layout.ts, codec.ts), stored in the database as
 * `g!format`. A store of a newer format is refused at open: an older hub must not read or write a
 * layout it does not know (as the PostgreSQL engine refuses a newer schema, schema.ts). A store
 * without the entry predates it and is format 1. Raise FORMAT_VERSION with any change of the layout
 * or the encodings, and bring older stores forward here.
 */
export const FORMAT_VERSION = 1;

const FORMAT_KEY = keys.global('format');

/** The store's format version: written on a fresh store, refused when newer than this build. */
export async function checkFormat(db: Level<string, string>, location: string): Promise<void> {
  const stored = await db.get(FORMAT_KEY);
  const version = stored === undefined ? 1 : Number(stored);
  if (!(version <= FORMAT_VERSION))
    throw hubError(
      'STORE_FORMAT_NEWER',
      `the LevelDB store ${location} is of format ${stored}, newer than this hub (${FORMAT_VERSION})`,
    );
  if (stored === undefined) await db.put(FORMAT_KEY, String(version), { sync: true });
}
