import type { DatasetRecord } from './types.js';

/**
 * The store's logical content as a stream of records, the same for every engine: what a backup
 * holds and what a restore loads (a LevelDB export loads into PostgreSQL and back). Records after
 * a `dataset` record belong to that dataset, in this order: its changes (by sequence), its
 * current state (which change is the latest of each key, with the key's content hash), the index
 * terms of each key that has some, applied
 * idempotency keys, journal entries, blobs, auxiliary entries. Engine-internal ids (LevelDB
 * incarnations, PostgreSQL dataset ids) are not part of it: an import makes its own.
 */
export type BackupRecord =
  | { readonly t: 'hub'; readonly secret: string }
  | (DatasetRecord & { readonly t: 'dataset'; readonly journalN: number })
  | {
      readonly t: 'change';
      readonly seq: number;
      readonly key: string;
      readonly kind: string;
      readonly recorded: number;
      readonly deleted: boolean;
      readonly doc: string;
    }
  | {
      readonly t: 'state';
      readonly key: string;
      readonly seq: number;
      readonly deleted: boolean;
      readonly hash: string;
    }
  | { readonly t: 'terms'; readonly key: string; readonly terms: readonly string[] }
  | { readonly t: 'idem'; readonly key: string; readonly recorded: number }
  | { readonly t: 'journal'; readonly n: number; readonly recorded: number; readonly text: string }
  | { readonly t: 'blob'; readonly id: string; readonly contentType: string; readonly bytes: string }
  | { readonly t: 'aux'; readonly ns: string; readonly key: string; readonly value: string };

export type DatasetBackupRecord = Extract<BackupRecord, { t: 'dataset' }>;

export interface ImportSummary {
  readonly datasets: number;
  readonly changes: number;
}

/** Blobs travel as base64 inside the JSON records. */
export const blobToText = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');
export const blobFromText = (text: string): Buffer => Buffer.from(text, 'base64');
