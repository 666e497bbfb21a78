import type { EvaluationContext } from './types';

// A context field as the Unleash SDKs read it: the top-level field first, then `properties`,
// as a string; null and undefined mean "absent". No allocation for string values.
export function resolveContextValue(context: EvaluationContext, field: string): string | undefined {
  let value: unknown = context[field];
  if (value === undefined || value === null) {
    const properties = context.properties;
    value = properties === undefined || properties === null ? undefined : properties[field];
    if (value === undefined || value === null) return undefined;
  }
  return typeof value === 'string' ? value : String(value);
}

// `context.currentTime` in milliseconds since the epoch (NaN when unparseable); now() when it is absent
// or falsy, as in the Unleash SDKs.
export function contextTime(context: EvaluationContext, now: () => number): number {
  const t: unknown = context.currentTime;
  if (!t) return now();
  if (typeof t === 'string') return Date.parse(t);
  if (typeof t === 'number') return t;
  if (t instanceof Date) return t.getTime();
  return Date.parse(String(t));
}

export const EMPTY_CONTEXT: EvaluationContext = Object.freeze({}) as EvaluationContext;
