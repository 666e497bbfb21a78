import { badRequest } from './errors';

// Opaque cursors for `{items, nextCursor}` lists: base64url of a small JSON value.
export function encodeCursor(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

export function decodeCursor<T>(cursor: string | undefined, check: (v: unknown) => v is T): T | undefined {
  if (cursor === undefined || cursor === '') return undefined;
  try {
    const v: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (check(v)) return v;
  } catch {
    // fall through to the 400 below
  }
  throw badRequest('VALIDATION.BAD_CURSOR', 'cursor: not a cursor returned by this list', [
    { field: 'cursor', reason: 'not a cursor returned by this list' },
  ]);
}

export const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
