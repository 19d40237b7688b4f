import { hubError } from '../../errors.js';
import type { Translation } from '../../domain/ingest.js';
import type { JsonObject, JsonValue } from '../../store/types.js';

/**
 * UDA full sync (docs/uda.md#full-sync): a client sends its whole dataset as a series of requests carrying
 * `universal-data-api-full-sync-id`, the first with `-start: true`, the last with `-end: true`; at
 * the end every live entity the sync did not send becomes a delete.
 *
 * State: one lease per dataset in its attrs (`fullSync: {id, lastAt}`), checked and moved inside the
 * dataset's writer (so two syncs can never both hold it), and one aux namespace recording the keys
 * the running sync has sent. One namespace suffices because at most one sync runs at a time; a start
 * empties it (a restarted or abandoned sync's marks go), and the end sweeps with it and empties it,
 * all in the same atomic batch as the request's writes. Everything is derived from the request's
 * headers, which the receive journal keeps, so a recovery replay reproduces the same end state.
 */

export interface FullSyncParams {
  readonly id: string;
  readonly start: boolean;
  readonly end: boolean;
}

/** The aux namespace of the running sync's seen keys. */
export const SEEN_NS = 'uda-fullsync';
const ATTR = 'fullSync';
const MAX_ID_LENGTH = 256;

export interface Lease {
  readonly id: string;
  /** when the sync last sent a request (ms) */
  readonly lastAt: number;
}

function leaseOf(attrs: JsonObject): Lease | undefined {
  const l = attrs[ATTR];
  if (typeof l !== 'object' || l === null || Array.isArray(l)) return undefined;
  return typeof l.id === 'string' && typeof l.lastAt === 'number'
    ? { id: l.id, lastAt: l.lastAt }
    : undefined;
}

/** What GET /datasets/{id} shows of the sync lease, while there is one. */
export function fullSyncStatus(attrs: JsonObject, leaseMs: number, now: number): JsonObject | undefined {
  const lease = leaseOf(attrs);
  if (!lease) return undefined;
  const expiresAt = lease.lastAt + leaseMs;
  return {
    id: lease.id,
    lastRequestAt: new Date(lease.lastAt).toISOString(),
    expiresAt: new Date(expiresAt).toISOString(),
    running: now <= expiresAt,
  };
}

/** The three headers as a request carries them; none → a plain upsert (undefined). */
export function parseFullSyncHeaders(
  id: string | undefined,
  start: string | undefined,
  end: string | undefined,
): FullSyncParams | undefined {
  const flag = (name: string, v: string | undefined): boolean => {
    if (v === undefined || v === '') return false;
    const lower = v.trim().toLowerCase();
    if (lower === 'true') return true;
    if (lower === 'false') return false;
    throw hubError('INVALID_FULL_SYNC', `header universal-data-api-full-sync-${name} must be true or false`);
  };
  const isStart = flag('start', start);
  const isEnd = flag('end', end);
  if (id === undefined || id === '') {
    if (isStart || isEnd) {
      throw hubError(
        'INVALID_FULL_SYNC',
        'a full sync needs the universal-data-api-full-sync-id header on every request',
      );
    }
    return undefined;
  }
  if (id.length > MAX_ID_LENGTH) {
    throw hubError('INVALID_FULL_SYNC', `universal-data-api-full-sync-id is longer than ${MAX_ID_LENGTH}`);
  }
  return { id, start: isStart, end: isEnd };
}

/** Reads the params back from a journaled envelope (replay) or the live one. */
export function fullSyncFromParams(params: JsonObject | undefined): FullSyncParams | undefined {
  const fs: JsonValue | undefined = params?.fullSync;
  if (typeof fs !== 'object' || fs === null || Array.isArray(fs) || typeof fs.id !== 'string')
    return undefined;
  return { id: fs.id, start: fs.start === true, end: fs.end === true };
}

export function fullSyncToParams(sync: FullSyncParams): JsonObject {
  return { fullSync: { id: sync.id, start: sync.start, end: sync.end } };
}

export interface LeaseOptions {
  readonly mode: 'live' | 'replay';
  /** when the request arrived (ms): the lease's new lastAt */
  readonly now: number;
  readonly leaseMs: number;
  /** the clock of the lease check (inside the writer), live only */
  readonly clock: () => number;
}

/**
 * The attrs after this request of a sync, or a 409. Live: a start is refused while another id holds
 * an unexpired lease; any other request must belong to the lease it names, unexpired. Replay: the
 * journal holds only requests that were accepted, so the checks are skipped and only the state moves.
 */
export function moveLease(attrs: JsonObject, sync: FullSyncParams, options: LeaseOptions): JsonObject {
  const lease = leaseOf(attrs);
  if (options.mode === 'live') {
    const now = options.clock();
    const live = lease !== undefined && now - lease.lastAt <= options.leaseMs ? lease : undefined;
    if (live && live.id !== sync.id) {
      throw hubError(
        'FULL_SYNC_IN_PROGRESS',
        `full sync '${live.id}' is running on this dataset; another one can start when it ends or its lease expires`,
        { syncId: live.id },
      );
    }
    if (!sync.start && !live) {
      const why = lease?.id === sync.id ? 'its lease expired' : 'it was never started or has ended';
      throw hubError(
        'FULL_SYNC_NOT_RUNNING',
        `full sync '${sync.id}' is not running (${why}); start it again with universal-data-api-full-sync-start: true`,
      );
    }
  }
  const next: JsonObject = { ...attrs };
  if (sync.end) delete next[ATTR];
  else next[ATTR] = { id: sync.id, lastAt: options.now };
  return next;
}

/** What a sync request adds to its append: seen marks, the sweep at the end, the namespace reset. */
export function syncAppend(
  sync: FullSyncParams,
  tombstone: NonNullable<Translation['sweep']>['tombstone'],
): Pick<Translation, 'markSeen' | 'sweep' | 'clearAux'> {
  if (sync.end) {
    // a start+end request is a whole sync by itself: only its own writes are kept
    return {
      sweep: sync.start ? { tombstone } : { seenNs: SEEN_NS, tombstone },
      clearAux: [SEEN_NS],
    };
  }
  return sync.start ? { markSeen: SEEN_NS, clearAux: [SEEN_NS] } : { markSeen: SEEN_NS };
}
