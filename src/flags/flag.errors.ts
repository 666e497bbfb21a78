// The 422 of every flag and segment write: FLAG.INVALID naming each bad field, the first three in the message.
import { ErrorDetail, unprocessable } from '../common/errors';

export function invalid(errors: ErrorDetail[]) {
  const first = errors.slice(0, 3).map((e) => `${e.field}: ${e.reason}`);
  return unprocessable(
    'FLAG.INVALID',
    first.join('; ') + (errors.length > 3 ? `; and ${errors.length - 3} more` : ''),
    errors,
  );
}
