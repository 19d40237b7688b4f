import { hubError } from '../errors.js';

/**
 * docs/datasets.md#datasets. Ids never become file paths; this pattern also keeps them out of LevelDB's
 * separators.
 */
export const DATASET_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function checkDatasetId(id: string): string {
  if (!DATASET_ID.test(id)) {
    throw hubError('INVALID_DATASET_ID', 'dataset id must match ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$');
  }
  return id;
}
