import { createHash } from 'node:crypto';

/** Changes written by record-shaped protocols (ODS push, Obsrv events, scheduled pulls) carry this kind. */
export const RECORD_KIND = 'record';

/**
 * The Opendatasoft record id (docs/ods.md#record-ids): sha1 hex of JSON.stringify(values), where values are
 * the record's values of the `uniqueKeys` fields — or of all its fields when there are none — taken in
 * field-name order (JavaScript's default sort of the names). Records with the same id replace each other.
 */
export function recordId(record: Record<string, unknown>, uniqueKeys?: readonly string[]): string {
  const names = uniqueKeys && uniqueKeys.length > 0 ? [...uniqueKeys].sort() : Object.keys(record).sort();
  const values = names.map((n) => (Object.prototype.hasOwnProperty.call(record, n) ? record[n] : undefined));
  return createHash('sha1').update(JSON.stringify(values)).digest('hex');
}
