import { conflict, unprocessable } from '../common/errors';

export const ARCHIVE_ERRORS = {
  /** The moment is outside the restorable window, or the tenant's history cannot be read (purged). */
  NOT_RESTORABLE: 'ARCHIVE.NOT_RESTORABLE',
  /** A file the rebuild needs does not verify, even after repair; nothing may be written from it. */
  CORRUPT: 'ARCHIVE.CORRUPT',
} as const;

export const notRestorable = (message: string, tenantId?: string) =>
  unprocessable(ARCHIVE_ERRORS.NOT_RESTORABLE, message, [
    tenantId ? { target: `tenant:${tenantId}`, reason: message } : { field: 'pointInTime', reason: message },
  ]);

/** Names the damaged file and the block(s) parity could not repair. */
export const archiveCorrupt = (file: string, blocks: number[], why: string) =>
  conflict(
    ARCHIVE_ERRORS.CORRUPT,
    `archive file ${file} is damaged beyond repair (${why}${blocks.length ? `; blocks ${blocks.join(', ')}` : ''}); refusing to restore from it`,
    [{ target: file, reason: why }],
  );
