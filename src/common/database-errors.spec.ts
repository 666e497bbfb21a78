import { QueryFailedError } from 'typeorm';
import { isTransientDatabaseError } from './database-errors';

const failed = (code?: string) =>
  new QueryFailedError('UPDATE x', [], Object.assign(new Error('e'), { code }));

describe('isTransientDatabaseError', () => {
  it.each([
    '40001',
    '40P01',
    '55P03',
    '57P01',
    '08006',
    '53100',
    'SQLITE_BUSY',
    'SQLITE_BUSY_SNAPSHOT',
    'SQLITE_IOERR_WRITE',
  ])('%s is about the moment: retried', (code) => expect(isTransientDatabaseError(failed(code))).toBe(true));
  it.each([
    '23505',
    '23514',
    '22P02',
    '42703',
    'SQLITE_CONSTRAINT_UNIQUE',
    'SQLITE_CONSTRAINT_TRIGGER',
    'SQLITE_ERROR',
  ])('%s is the statement’s fault: the target fails', (code) =>
    expect(isTransientDatabaseError(failed(code))).toBe(false),
  );
  it('an error the driver gave no code is taken as transient; a non-database error is not', () => {
    expect(isTransientDatabaseError(failed(undefined))).toBe(true);
    expect(isTransientDatabaseError(new Error('boom'))).toBe(false);
  });
});
