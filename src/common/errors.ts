// Typed domain errors with stable codes (STYLE.md habit 4). Services and pure domain code throw these;
// the one exception filter (src/common/http-exception.filter.ts) maps `kind` to an HTTP status.

export type ErrorKind =
  | 'bad_request' // 400: malformed input
  | 'unauthorized' // 401
  | 'forbidden' // 403
  | 'not_found' // 404
  | 'conflict' // 409: stale revision / stale plan / state does not allow the transition
  | 'gone' // 410
  | 'payload_too_large' // 413
  | 'unprocessable' // 422: well-formed but invalid for the domain (wrong target type, ineligible, ...)
  | 'rate_limited' // 429
  | 'not_implemented' // 501: this installation cannot do it (e.g. no pg_dump for a PostgreSQL backup)
  | 'bad_gateway'; // 502: a system Wavegate depends on (a provider's platform) did not answer usably

export interface ErrorDetail {
  /** The field, target or row the detail is about, e.g. `targets[3]`, `installation:acme/jira`, `row 12`. */
  field?: string;
  target?: string;
  row?: number;
  reason: string;
}

export class DomainError extends Error {
  constructor(
    readonly kind: ErrorKind,
    /** Stable machine-readable code, e.g. `CHANGE_REQUEST.SELF_APPROVAL`. */
    readonly code: string,
    message: string,
    readonly details?: ErrorDetail[],
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

export const badRequest = (code: string, message: string, details?: ErrorDetail[]) =>
  new DomainError('bad_request', code, message, details);
export const unauthorized = (code: string, message: string) => new DomainError('unauthorized', code, message);
export const forbidden = (code: string, message: string) => new DomainError('forbidden', code, message);
export const notFound = (code: string, message: string) => new DomainError('not_found', code, message);
export const conflict = (code: string, message: string, details?: ErrorDetail[]) =>
  new DomainError('conflict', code, message, details);
export const unprocessable = (code: string, message: string, details?: ErrorDetail[]) =>
  new DomainError('unprocessable', code, message, details);
export const badGateway = (code: string, message: string, details?: ErrorDetail[]) =>
  new DomainError('bad_gateway', code, message, details);
export const notImplemented = (code: string, message: string, details?: ErrorDetail[]) =>
  new DomainError('not_implemented', code, message, details);
