import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { ErrorRenderer } from '../../http/errors.js';

declare module 'koa' {
  interface DefaultState {
    /** the request's msgid once its body could be read, echoed in Obsrv error bodies */
    obsrvMsgid?: string;
  }
}

const API_ID = 'api.data.in';
const API_VER = 'v2';

/** The 200 body of docs/obsrv.md#ingest; `resmsgid` is fresh for every answer. */
export function successBody(msgid: string): object {
  return {
    id: API_ID,
    ver: API_VER,
    ts: new Date().toISOString(),
    params: { status: 'SUCCESS', msgid, resmsgid: randomUUID() },
    responseCode: 'OK',
    result: { message: 'Data ingested successfully' },
  };
}

/** `responseCode` is the HTTP status's name in Obsrv's spelling: 404 → NOT_FOUND, 429 → TOO_MANY_REQUESTS. */
function responseCodeOf(status: number): string {
  return (STATUS_CODES[status] ?? 'Error')
    .toUpperCase()
    .replace(/[^A-Z0-9]+/g, '_')
    .replace(/^_|_$/g, '');
}

/**
 * `error.code`: Obsrv's own codes for what Obsrv has (every 400 — bad JSON, envelope, schema, dedup —
 * is DATA_INGESTION_INVALID_INPUT; a missing dataset is DATASET_NOT_FOUND); the hub's stable codes
 * for the rest (UNAUTHORIZED, FORBIDDEN, PUSH_DISABLED, PAYLOAD_TOO_LARGE, QUOTA_EXCEEDED,
 * OVERLOADED, …).
 */
function obsrvCode(status: number, hubCode: string): string {
  if (status === 400) return 'DATA_INGESTION_INVALID_INPUT';
  if (status === 404) return 'DATASET_NOT_FOUND';
  return hubCode;
}

/**
 * Obsrv's own answer for a dataset it does not have (seed 002, "Failure: Dataset not found"): HTTP
 * 404 with responseCode BAD_REQUEST and this message, word for word; the hub's message naming the
 * dataset is not what Obsrv clients match on.
 */
const DATASET_NOT_FOUND = { responseCode: 'BAD_REQUEST', message: 'Dataset with id not found' } as const;

/**
 * The one Obsrv error body: the success envelope with FAILED, an empty result and `error`. The
 * request's msgid is echoed whenever its body could be read (also for 401/403/404, see routes.ts);
 * the JSON pointer of an envelope error rides in `error.pointer`, outside Obsrv's message.
 */
export const renderObsrvError: ErrorRenderer = (err, ctx) => {
  const msgid = ctx.state.obsrvMsgid;
  const index = err.details.index;
  const pointer = err.details.pointer;
  const notFound = err.status === 404 && err.code === 'DATASET_NOT_FOUND';
  return {
    id: API_ID,
    ver: API_VER,
    ts: new Date().toISOString(),
    params: { status: 'FAILED', ...(msgid === undefined ? {} : { msgid }), resmsgid: randomUUID() },
    responseCode: notFound ? DATASET_NOT_FOUND.responseCode : responseCodeOf(err.status),
    result: {},
    error: {
      code: obsrvCode(err.status, err.code),
      message: notFound ? DATASET_NOT_FOUND.message : err.message,
      trace: '',
      ...(typeof index === 'number' ? { index } : {}),
      ...(typeof pointer === 'string' ? { pointer } : {}),
      // a refused push: every problem (index, path, keyword, message), the first one's fields above
      ...(Array.isArray(err.details.errors) ? { errors: err.details.errors } : {}),
    },
  };
};
