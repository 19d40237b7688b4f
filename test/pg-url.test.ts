import { expect } from 'chai';
import { parsePgUrl } from '../src/store/postgres/url.js';

describe('PostgreSQL STORE_URL: hosts, session attributes and timeouts (issue 15)', () => {
  it('when the URL lists several hosts, then each is kept in order with its port, and read-write is the default', () => {
    const u = parsePgUrl('postgres://u:p@db1:5433,db2,[::1]:5434/hub?schema=s1');
    expect(u.hosts).to.deep.equal([
      { host: 'db1', port: 5433 },
      { host: 'db2', port: 5432 },
      { host: '::1', port: 5434 },
    ]);
    expect(u.targetSessionAttrs).to.equal('read-write');
    const second = new URL(u.connectionString(u.hosts[1]!));
    expect([second.hostname, second.port, second.username, second.password, second.pathname]).to.deep.equal([
      'db2',
      '5432',
      'u',
      'p',
      '/hub',
    ]);
    // the hub's own parameters never reach the driver
    expect(second.searchParams.has('schema')).to.equal(false);
  });

  it('when the URL has one host, then any session is accepted unless target_session_attrs says read-write', () => {
    expect(parsePgUrl('postgres://u@db/hub').targetSessionAttrs).to.equal('any');
    expect(parsePgUrl('postgres://u@db/hub?target_session_attrs=read-write').targetSessionAttrs).to.equal(
      'read-write',
    );
    expect(() => parsePgUrl('postgres://u@db/hub?target_session_attrs=primary')).to.throw(
      /target_session_attrs/,
    );
  });

  it('when no timeouts are given, then the defaults hold and the driver waits one second longer than the server', () => {
    const u = parsePgUrl('postgres://u@db/hub');
    expect(u.timeouts).to.deep.equal({
      connectMs: 5_000,
      statementMs: 10_000,
      lockMs: 10_000,
      idleInTransactionMs: 60_000,
      queryMs: 11_000,
    });
    expect(u.pg).to.include({
      statement_timeout: 10_000,
      query_timeout: 11_000,
      connectionTimeoutMillis: 5_000,
    });
  });

  it('when timeouts are given, then they are used, and a bad one is refused with its name', () => {
    const u = parsePgUrl('postgres://u@db/hub?connect_timeout=2&statement_timeout=3000&lock_timeout=500');
    expect(u.timeouts).to.include({ connectMs: 2_000, statementMs: 3_000, lockMs: 500, queryMs: 4_000 });
    expect(() => parsePgUrl('postgres://u@db/hub?statement_timeout=soon')).to.throw(/statement_timeout/);
  });
});
