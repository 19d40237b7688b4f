import type { Context } from 'koa';
import { hubError } from '../../errors.js';

/**
 * Headers that ask for a full sync. The ICAR push rules (the generic exchange's "Dataset Push":
 * "Full sync is not accepted as header in the push scenario") refuse them on a push: answering 200
 * while ignoring them would make the client believe its full sync happened. Full sync belongs to
 * the UDA entity routes (docs/uda.md#full-sync).
 */
const FULL_SYNC_HEADER = /^(universal-data-api-full-sync-|icar-full-sync)/;

export function refuseFullSyncHeaders(ctx: Context): void {
  const found = Object.keys(ctx.headers).filter((h) => FULL_SYNC_HEADER.test(h));
  if (found.length === 0) return;
  throw hubError(
    'FULL_SYNC_NOT_ACCEPTED',
    `full sync is not accepted as header in the push scenario (ICAR push rule 1): remove ${found.map((h) => `'${h}'`).join(', ')}; full sync belongs to the UDA entity routes`,
    { headers: found },
  );
}
