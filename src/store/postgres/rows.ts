import type { Change, DatasetRecord, JsonObject } from '../types.js';
import { decodeText } from './text.js';

/** Columns of the datasets table, in the order every query selects them. */
export const DATASET_COLUMNS = `name, id, epoch, last_seq, live_count, last_push_at, created_at, updated_at,
  config, push_hash, read_hash, attrs, journal_n`;

/** A datasets row as `pg` returns it (int8 arrives as a string). */
export interface DatasetRow {
  name: string;
  id: string;
  epoch: string;
  last_seq: string;
  live_count: string;
  last_push_at: string | null;
  created_at: string;
  updated_at: string;
  config: string;
  push_hash: string;
  read_hash: string;
  attrs: string;
  journal_n: string;
}

/** The engine's view of a dataset: the public record plus where its data lives (its datasets row). */
export interface StoredDataset {
  readonly id: number;
  readonly journalN: number;
  readonly record: DatasetRecord;
}

export function toStoredDataset(r: DatasetRow): StoredDataset {
  return {
    id: Number(r.id),
    journalN: Number(r.journal_n),
    record: {
      name: r.name,
      epoch: r.epoch,
      lastSeq: Number(r.last_seq),
      count: Number(r.live_count),
      lastPushAt: r.last_push_at === null ? null : Number(r.last_push_at),
      createdAt: Number(r.created_at),
      updatedAt: Number(r.updated_at),
      config: JSON.parse(r.config) as JsonObject,
      keyHashes: { push: r.push_hash, read: r.read_hash },
      attrs: JSON.parse(r.attrs) as JsonObject,
    },
  };
}

/** A change row joined from `changes` (int8 as strings, key escaped). */
export interface ChangeRow {
  seq: string;
  key: string;
  kind: string;
  recorded: string;
  deleted: boolean;
  doc: string;
}

export const CHANGE_COLUMNS = 'c.seq, c.key, c.kind, c.recorded, c.deleted, c.doc';

/**
 * The change a state row points at, as a LATERAL subquery of a query whose $1 and $2 are the
 * dataset id and epoch (constants: the plan touches one partition). The LIMIT keeps the planner
 * from flattening it into a join: it stays a primary-key probe per state row. (Flattened, a schema
 * whose tables were never analysed can get a nested loop that scans a whole epoch per row.)
 */
export const CHANGE_OF_STATE = `SELECT * FROM changes c
  WHERE c.dataset = $1 AND c.epoch = $2 AND c.seq = s.seq LIMIT 1`;

export function toChange(r: ChangeRow): Change {
  return {
    seq: Number(r.seq),
    key: decodeText(r.key),
    kind: r.kind,
    recorded: Number(r.recorded),
    deleted: r.deleted,
    doc: r.doc,
  };
}
