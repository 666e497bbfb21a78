import { ErrorDetail, unprocessable } from '../common/errors';

// Small helpers for Operation.parseParams: every bad field is reported (`params.url`), unknown keys refused
// (a misspelt parameter must not silently fall back to a default).
export class ParamsReader {
  readonly details: ErrorDetail[] = [];
  constructor(
    private readonly params: Record<string, unknown>,
    allowed: readonly string[],
  ) {
    for (const key of Object.keys(params)) {
      if (!allowed.includes(key)) {
        this.details.push({
          field: `params.${key}`,
          reason: allowed.length
            ? `unknown parameter; expected ${allowed.join(', ')}`
            : 'this operation takes no parameters',
        });
      }
    }
  }

  int(key: string, min: number, max: number): number | undefined {
    const v = this.params[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      this.details.push({ field: `params.${key}`, reason: `must be an integer from ${min} to ${max}` });
      return undefined;
    }
    return v;
  }

  string(
    key: string,
    opts: { required?: boolean; max?: number; pattern?: RegExp; hint?: string } = {},
  ): string | undefined {
    const v = this.params[key];
    if (v === undefined) {
      if (opts.required) this.details.push({ field: `params.${key}`, reason: 'is required' });
      return undefined;
    }
    if (
      typeof v !== 'string' ||
      v.length === 0 ||
      v.length > (opts.max ?? 2000) ||
      (opts.pattern && !opts.pattern.test(v))
    ) {
      this.details.push({
        field: `params.${key}`,
        reason: opts.hint ?? `must be a non-empty string of at most ${opts.max ?? 2000} characters`,
      });
      return undefined;
    }
    return v;
  }

  oneOf<T extends string>(key: string, values: readonly T[], def: T): T {
    const v = this.params[key];
    if (v === undefined) return def;
    if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) {
      this.details.push({ field: `params.${key}`, reason: `must be one of ${values.join(', ')}` });
      return def;
    }
    return v as T;
  }

  object(key: string): Record<string, unknown> | undefined {
    const v = this.params[key];
    if (v === undefined) return undefined;
    if (v === null || typeof v !== 'object' || Array.isArray(v)) {
      this.details.push({ field: `params.${key}`, reason: 'must be an object' });
      return undefined;
    }
    return v as Record<string, unknown>;
  }

  done(operation: string): void {
    if (this.details.length > 0) {
      throw unprocessable(
        'CHANGE_REQUEST.INVALID_PARAMS',
        `Invalid params for ${operation}: ${this.details.map((d) => `${d.field} ${d.reason}`).join('; ')}`,
        this.details,
      );
    }
  }
}
