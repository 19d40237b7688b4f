import type { QueryRow } from '../../domain/odsql/values.js';
import type { JsonObject } from '../../store/types.js';
import type { KindRenderer } from '../pull/render.js';

/**
 * Records (kind `record`: ODS pushes, Obsrv events, scheduled pulls) in the ICAR /changes feed, in
 * the ODS record shape: `{"recordid","record_timestamp","fields"}` plus `"deleted": true` for
 * deletes (whose fields are the record's last ones). The stored text is spliced in, not re-parsed.
 */
export const recordRenderer: KindRenderer = {
  render: (change) =>
    `{"recordid":${JSON.stringify(change.key)},"record_timestamp":"${new Date(change.recorded).toISOString()}",` +
    `"fields":${change.doc}${change.deleted ? ',"deleted":true' : ''}}`,
};

/** A record of the v1 search API. */
export function v1Record(dataset: string, row: QueryRow): JsonObject {
  return {
    datasetid: dataset,
    recordid: row.recordid,
    fields: row.fields,
    record_timestamp: new Date(row.recorded).toISOString(),
  };
}
