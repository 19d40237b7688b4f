import type { HubError } from '../../errors.js';
import type { ErrorRenderer } from '../../http/errors.js';

/**
 * ODS error bodies (docs/ods.md#errors). The quota answer is the one ODS documents for every API,
 * `{"errorcode":10002,"error":"Too many requests..."}`, whichever route hit the limit.
 */
function quotaBody(err: HubError): { errorcode: number; error: string } | undefined {
  const code = err.details.errorcode;
  return err.status === 429 && typeof code === 'number' ? { errorcode: code, error: err.message } : undefined;
}

/**
 * Push API (`/api/push/1.0/…`): `{"status":"error","errorcode":<int>,"error":"<message>"}`. The
 * errorcode is the HTTP status unless the error carries an ODS code of its own; what went wrong
 * is in the message.
 */
export const renderOdsPushError: ErrorRenderer = (err) =>
  quotaBody(err) ?? {
    status: 'error',
    errorcode: typeof err.details.errorcode === 'number' ? err.details.errorcode : err.status,
    error: err.message,
    // a refused push: every problem (index, path, keyword, message) beside the first one's message
    ...(Array.isArray(err.details.errors) ? { errors: err.details.errors } : {}),
  };

/** DATASET_NOT_FOUND → DatasetNotFoundError: the hub's stable codes in the explore API's style. */
function pascalCode(code: string): string {
  const words = code
    .toLowerCase()
    .split('_')
    .filter((w) => w !== '');
  const name = words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join('');
  return name.endsWith('Error') ? name : `${name}Error`;
}

/**
 * Explore and search APIs (v2.1, v1, files): `{"error_code":"…","message":"…"}`. A query that
 * does not parse is `ODSQLError`, any other bad parameter `InvalidRESTParameterError`.
 */
export const renderOdsExploreError: ErrorRenderer = (err) => {
  const quota = quotaBody(err);
  if (quota) return quota;
  const errorCode =
    err.status === 400
      ? err.code === 'ODSQL_ERROR'
        ? 'ODSQLError'
        : 'InvalidRESTParameterError'
      : pascalCode(err.code);
  return { error_code: errorCode, message: err.message };
};
