import { expect } from 'chai';
import { classifyLevelError } from '../../src/store/level/disk.js';
import { classifyPgError } from '../../src/store/postgres/disk.js';
import { faultError } from '../../src/store/faults.js';

/**
 * The words of a storage failure, as each engine's driver reports it (the texts are LevelDB's and
 * PostgreSQL's own). An EIO cannot be provoked on a test machine without a failing device; the
 * ENOSPC path is shown end to end in test/disk-full.test.ts.
 */
const levelError = (message: string) => Object.assign(new Error(message), { code: 'LEVEL_IO_ERROR' });
const pgError = (code: string, message: string) => Object.assign(new Error(message), { code });

describe('store faults: a failed write said in words', () => {
  it('when LevelDB reports ENOSPC on its log or a table, then it is disk-full; EIO and other I/O errors are io-error; anything else is not a disk fault', () => {
    expect(
      classifyLevelError(levelError('IO error: /d/leveldb/000028.log: No space left on device')),
    ).to.equal('disk-full');
    expect(
      classifyLevelError(levelError('IO error: /d/leveldb/000029.ldb: No space left on device')),
    ).to.equal('disk-full');
    expect(classifyLevelError(levelError('IO error: /d/leveldb/000031.log: Input/output error'))).to.equal(
      'io-error',
    );
    const wrapped = new Error('Database failed to write', {
      cause: levelError('IO error: x: Input/output error'),
    });
    expect(classifyLevelError(wrapped)).to.equal('io-error');
    expect(
      classifyLevelError(
        Object.assign(new Error('Database is not open'), { code: 'LEVEL_DATABASE_NOT_OPEN' }),
      ),
    ).to.equal(undefined);
    expect(classifyLevelError(new Error('Corruption: bad block'))).to.equal(undefined);
  });

  it('when PostgreSQL answers 53100 or "could not extend file", then it is disk-full; 58030 is io-error; a serialization failure is not a disk fault', () => {
    expect(
      classifyPgError(pgError('53100', 'could not extend file "base/16384/16415": No space left on device')),
    ).to.equal('disk-full');
    expect(
      classifyPgError(new Error('x', { cause: pgError('XX000', 'could not extend file "base/1/2"') })),
    ).to.equal('disk-full');
    expect(
      classifyPgError(pgError('58030', 'could not read block 0 in file "base/1/2": Input/output error')),
    ).to.equal('io-error');
    expect(classifyPgError(pgError('40001', 'could not serialize access'))).to.equal(undefined);
  });

  it('when a fault becomes an answer, then disk-full is 503 STORE_DISK_FULL and io-error 503 STORE_IO_ERROR, both with Retry-After', () => {
    const full = faultError('disk-full');
    expect([full.status, full.code, full.details.retryAfter]).to.deep.equal([503, 'STORE_DISK_FULL', 30]);
    const io = faultError('io-error');
    expect([io.status, io.code, io.details.retryAfter]).to.deep.equal([503, 'STORE_IO_ERROR', 10]);
  });
});
