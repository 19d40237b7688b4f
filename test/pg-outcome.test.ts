import { expect } from 'chai';
import pg from 'pg';
import { resolveCommit, type Ask } from '../src/store/postgres/outcome.js';
import { startPgServer, type PgServer } from './helpers/pg-server.js';

/**
 * The resolution of a COMMIT whose answer was lost (issue 15): driven with real transaction ids of
 * a server of the test's own, since a connection that breaks exactly during COMMIT cannot be
 * arranged from outside.
 */
describe('PostgreSQL: the outcome of a COMMIT whose answer was lost', function () {
  this.timeout(60_000);
  let server: PgServer;
  let pool: pg.Pool;
  const ask: Ask = async <R>(text: string, values: unknown[]) => (await pool.query(text, values)).rows as R[];

  before(async () => {
    server = await startPgServer();
    pool = new pg.Pool({ connectionString: server.url, max: 4 });
    await pool.query(`CREATE TABLE IF NOT EXISTS outcome_probe (n int)`);
  });
  after(async () => {
    await pool?.end();
    await server?.destroy();
  });

  /** Runs a transaction that writes a row, takes its id, and ends it with `end`. */
  async function transaction(end: 'COMMIT' | 'ROLLBACK'): Promise<string> {
    const c = await pool.connect();
    try {
      await c.query('BEGIN');
      const xid = (await c.query<{ xid: string }>(`SELECT pg_current_xact_id()::text AS xid`)).rows[0]!.xid;
      await c.query(`INSERT INTO outcome_probe VALUES (1)`);
      await c.query(end);
      return xid;
    } finally {
      c.release();
    }
  }

  it('when the transaction committed, then it resolves committed', async () => {
    expect(await resolveCommit(ask, await transaction('COMMIT'), { deadlineMs: 1_000 })).to.equal(
      'committed',
    );
  });

  it('when the transaction rolled back, then it resolves aborted', async () => {
    expect(await resolveCommit(ask, await transaction('ROLLBACK'), { deadlineMs: 1_000 })).to.equal(
      'aborted',
    );
  });

  it('when the transaction is still open on another connection, then it resolves unknown at the deadline', async () => {
    const c = await pool.connect();
    try {
      await c.query('BEGIN');
      const xid = (await c.query<{ xid: string }>(`SELECT pg_current_xact_id()::text AS xid`)).rows[0]!.xid;
      const started = Date.now();
      expect(await resolveCommit(ask, xid, { deadlineMs: 300, intervalMs: 50 })).to.equal('unknown');
      expect(Date.now() - started).to.be.at.least(250);
      // and once it commits, the same question answers committed
      await c.query('COMMIT');
      expect(await resolveCommit(ask, xid, { deadlineMs: 1_000 })).to.equal('committed');
    } finally {
      c.release();
    }
  });

  it('when the id is one the server never gave out (a new primary that lacks it), then it resolves aborted', async () => {
    const current = (await pool.query<{ xid: string }>(`SELECT pg_current_xact_id()::text AS xid`)).rows[0]!
      .xid;
    const future = String(BigInt(current) + 1_000_000n);
    expect(await resolveCommit(ask, future, { deadlineMs: 1_000 })).to.equal('aborted');
  });

  it('when the id says committed but the transaction’s own writes are not there, then it resolves aborted', async () => {
    const xid = await transaction('COMMIT');
    expect(await resolveCommit(ask, xid, { deadlineMs: 1_000, confirm: async () => false })).to.equal(
      'aborted',
    );
    expect(await resolveCommit(ask, xid, { deadlineMs: 1_000, confirm: async () => true })).to.equal(
      'committed',
    );
  });

  it('when the database cannot be asked, then it resolves unknown at the deadline', async () => {
    const down: Ask = async () => {
      throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    };
    expect(await resolveCommit(down, '1234', { deadlineMs: 200, intervalMs: 50 })).to.equal('unknown');
  });
});
