import { conflict, notFound } from '../common/errors';

// Codes the service adds to those of the lifecycle (domain/lifecycle.ts CR_ERROR_CODES) and the planner.
export const CHANGE_REQUEST_ERRORS = {
  NOT_FOUND: 'CHANGE_REQUEST.NOT_FOUND',
  CONCURRENT_UPDATE: 'CHANGE_REQUEST.CONCURRENT_UPDATE',
  TICKET_REQUIRED: 'CHANGE_REQUEST.TICKET_REQUIRED',
  JUSTIFICATION_REQUIRED: 'CHANGE_REQUEST.JUSTIFICATION_REQUIRED',
  SCHEDULED_IN_PAST: 'CHANGE_REQUEST.SCHEDULED_IN_PAST',
} as const;

export const changeRequestNotFound = (id: string) =>
  notFound(CHANGE_REQUEST_ERRORS.NOT_FOUND, `No change request ${id}`);

export const concurrentUpdate = () =>
  conflict(
    CHANGE_REQUEST_ERRORS.CONCURRENT_UPDATE,
    'The change request was changed by someone else at the same moment; reload it and try again.',
  );

/** Thrown inside a transaction when the optimistic-lock update matched no row; the service retries the use case. */
export class VersionConflict extends Error {
  constructor() {
    super('change request version conflict');
    this.name = 'VersionConflict';
  }
}
