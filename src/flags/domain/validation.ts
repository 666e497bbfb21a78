// What the flag validators share: the result type, the shape checks, and the refusal of fields the model lacks.
import { ErrorDetail } from '../../common/errors';

export type Result<T> = { ok: true; value: T } | { ok: false; errors: ErrorDetail[] };

export const CONTEXT_NAME_RE = /^[A-Za-z_][A-Za-z0-9_.:-]{0,99}$/;

export const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** One `unknown field` error per field of `raw` not in `allowed`, named under `at` (top level when empty). */
export function refuseUnknownFields(
  raw: Record<string, unknown>,
  allowed: readonly string[],
  at: string,
  errors: ErrorDetail[],
): void {
  for (const k of Object.keys(raw)) {
    if (!allowed.includes(k)) errors.push({ field: at === '' ? k : `${at}.${k}`, reason: 'unknown field' });
  }
}
