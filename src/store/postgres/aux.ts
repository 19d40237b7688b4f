import type { AuxWrite } from '../types.js';
import { encodeText } from './text.js';

/** Runs one statement in the caller's transaction. */
export type RunQuery = (text: string, values: unknown[]) => Promise<unknown>;

/**
 * Writes auxiliary entries of one dataset in two statements (upserts, then deletes), whether they come
 * with an append or alone. The last write of an entry wins, as in a LevelDB batch.
 */
export async function writeAuxRows(run: RunQuery, id: number, writes: Iterable<AuxWrite>): Promise<void> {
  const last = new Map<string, AuxWrite>();
  for (const w of writes) {
    const k = `${w.ns}\u0000${w.key}`;
    last.delete(k);
    last.set(k, w);
  }
  const puts = [...last.values()].filter((w) => w.value !== null);
  const dels = [...last.values()].filter((w) => w.value === null);
  if (puts.length > 0) {
    await run(
      `INSERT INTO aux (dataset, ns, key, value)
       SELECT $1, u.* FROM unnest($2::text[], $3::text[], $4::text[]) AS u
       ON CONFLICT (dataset, ns, key) DO UPDATE SET value = EXCLUDED.value`,
      [
        id,
        puts.map((w) => encodeText(w.ns)),
        puts.map((w) => encodeText(w.key)),
        puts.map((w) => encodeText(w.value!)),
      ],
    );
  }
  if (dels.length > 0) {
    await run(
      `DELETE FROM aux WHERE dataset = $1 AND (ns, key) IN (SELECT * FROM unnest($2::text[], $3::text[]))`,
      [id, dels.map((w) => encodeText(w.ns)), dels.map((w) => encodeText(w.key))],
    );
  }
}

/**
 * auxCount in one statement: the upsert's row lock makes concurrent uses from any process count one
 * after the other, and its WHERE refuses a use at the limit without writing. No row back means
 * refused (or no such dataset, which the caller tells apart).
 */
export const COUNT_SQL = `
  INSERT INTO aux (dataset, ns, key, value)
  SELECT id, $2, $3, $4 || '|1' FROM datasets WHERE name = $1
  ON CONFLICT (dataset, ns, key) DO UPDATE SET value = CASE
      WHEN split_part(aux.value, '|', 1) = $4 THEN $4 || '|' || (split_part(aux.value, '|', 2)::bigint + 1)
      ELSE $4 || '|1' END
    WHERE split_part(aux.value, '|', 1) <> $4 OR split_part(aux.value, '|', 2)::bigint < $5
  RETURNING split_part(value, '|', 2)::bigint AS used`;
