import { hubError, HubError } from '../../errors.js';

/** Which query parameter a piece of ODSQL came from: error messages name it. */
export type Clause = 'where' | 'select' | 'order_by' | 'group_by' | 'refine' | 'exclude' | 'q' | 'sort';

/**
 * Every ODSQL parse or type error is ODSQL_ERROR (ODS renders it as `ODSQLError`): a 400 that points
 * at the offending character. `column` is 1-based, so a user can count to it in the text they typed
 * (`where=a = = 1` → column 5).
 */
export function odsqlError(clause: Clause, source: string, offset: number, message: string): HubError {
  const column = Math.min(offset, source.length) + 1;
  const near = source.slice(offset, offset + 20);
  const where = offset >= source.length ? 'at the end' : `at column ${column} (near '${near}')`;
  return hubError('ODSQL_ERROR', `ODSQL error in ${clause} ${where}: ${message}`, {
    clause,
    column,
  });
}
