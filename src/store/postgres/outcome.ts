/**
 * The outcome of a transaction whose connection broke during COMMIT: the server may have committed
 * it (then the client must be told 200, or it re-pushes into a duplicate it cannot tell from a
 * retry) or not. Every write transaction of the hub takes its transaction id
 * (`pg_current_xact_id()`) before COMMIT; when the COMMIT's answer is lost, the hub asks the
 * database, on a new connection, what became of that id (`pg_xact_status`):
 *
 * - `committed`: the transaction is durable (on a failed-over cluster: it reached the new primary);
 * - `aborted`: it never committed (or never reached this server: an id "in the future", which is
 *   what a new primary says of a transaction the old one did not replicate);
 * - `in progress`: the old session has not noticed its client is gone (or waits for a synchronous
 *   standby); asked again until `deadlineMs`, then unknown;
 * - no answer (the database unreachable): unknown.
 *
 * A transaction id is a position in the server's id counter, so after an asynchronous failover a
 * new primary could have given the same id to another transaction; `confirm` (run on the same new
 * connection, for `committed` only) checks the transaction's own effect to rule that out.
 */
export type CommitOutcome = 'committed' | 'aborted' | 'unknown';

/** One query on a fresh connection; rejects when none can be had. */
export type Ask = <R>(text: string, values: unknown[]) => Promise<R[]>;

export interface ResolveOptions {
  /** how long to keep asking while the answer is `in progress` or the database is unreachable */
  readonly deadlineMs: number;
  /** checks, when the id says committed, that the transaction's writes are there */
  readonly confirm?: (ask: Ask) => Promise<boolean>;
  /** pause between two questions */
  readonly intervalMs?: number;
}

/** SQLSTATE 22023 invalid_parameter_value: "transaction ID … is in the future" */
const IN_THE_FUTURE = '22023';

export async function resolveCommit(ask: Ask, xid: string, options: ResolveOptions): Promise<CommitOutcome> {
  const deadline = Date.now() + options.deadlineMs;
  const interval = options.intervalMs ?? 100;
  while (true) {
    try {
      const rows = await ask<{ status: string | null }>(`SELECT pg_xact_status($1::xid8) AS status`, [xid]);
      const status = rows[0]?.status ?? null;
      if (status === 'committed') {
        if (!options.confirm || (await options.confirm(ask))) return 'committed';
        return 'aborted';
      }
      if (status === 'aborted') return 'aborted';
      // null: too old to be known (never for a transaction seconds old); 'in progress': ask again
    } catch (err) {
      if ((err as { code?: unknown }).code === IN_THE_FUTURE) return 'aborted';
      // unreachable: ask again until the deadline
    }
    if (Date.now() + interval > deadline) return 'unknown';
    await new Promise((r) => setTimeout(r, interval));
  }
}
