// Which database errors say something about the statement that raised them, and which only about the database at
// that moment. The wave engine retries a batch on the second kind (the next tick runs it again) and records the
// first as the target's failure, so that a target whose write breaks a constraint fails (and counts towards the halt
// policy) instead of being retried forever with its change request stuck in `running`.
import { QueryFailedError } from 'typeorm';

/** PostgreSQL SQLSTATEs (or classes, two characters) that are about the moment, not the statement. */
const PG_TRANSIENT = [
  '08', // connection exception
  '40', // transaction rollback: serialization failure, deadlock
  '53', // insufficient resources: disk full, out of memory, too many connections
  '55P03', // lock not available
  '57', // operator intervention: admin shutdown, crash shutdown, cannot connect now
  '58', // system error (I/O)
];

/** SQLite result codes (better-sqlite3 `code`, extended codes start with the primary one) that are about the moment. */
const SQLITE_TRANSIENT = ['SQLITE_BUSY', 'SQLITE_LOCKED', 'SQLITE_IOERR', 'SQLITE_FULL', 'SQLITE_PROTOCOL'];

/**
 * True for a database error that is not the statement's fault: lost connection, deadlock, serialization failure,
 * busy or locked database, disk full, I/O error, shutdown. Also true for an error without a code (the driver lost the
 * connection before the server answered). False for constraint violations, bad data, and any other error the
 * statement itself caused.
 */
export function isTransientDatabaseError(e: unknown): boolean {
  if (!(e instanceof QueryFailedError)) return false;
  const code = (e.driverError as { code?: unknown } | undefined)?.code;
  if (typeof code !== 'string' || code === '') return true;
  if (code.startsWith('SQLITE_')) return SQLITE_TRANSIENT.some((c) => code === c || code.startsWith(`${c}_`));
  return PG_TRANSIENT.some((c) => code.startsWith(c));
}
