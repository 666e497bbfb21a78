import type { EvaluationContext } from './types';

// A context field as the Unleash SDKs read it: the top-level field first, then `properties`,
// as a string; null and undefined mean "absent". No allocation for string values.
export function resolveContextValue(context: EvaluationContext, field: string): string | undefined {
  let value: unknown = context[field];
  if (typeof value === 'string') return value;
  if (value === undefined || value === null) {
    const properties = context.properties;
    value = properties === undefined || properties === null ? undefined : properties[field];
    if (value === undefined || value === null) return undefined;
  }
  return typeof value === 'string' ? value : String(value);
}

// A reader of one context field, with resolveContextValue's semantics.
export type FieldReader = (context: EvaluationContext) => string | undefined;

// The reader every field can fall back to: resolveContextValue with the field fixed.
export function genericFieldReader(field: string): FieldReader {
  return (context) => resolveContextValue(context, field);
}

// Readers are made once per field name and shared by every flag set compiled in this process, so a new
// configuration starts with readers that are already optimised. Bounded: names beyond it get the generic one.
const READERS = new Map<string, FieldReader>();
const MAX_READERS = 1_000;
let codegen = true;

// A reader specialised for `field`. In the generic reader, `context[field]` is one property-access site shared
// by every field of every flag; the engine finds nothing to specialise there and looks each access up the slow
// way. A function of its own per field name, with the name as a literal, gives each field its own access
// sites, which the engine optimises for the contexts it actually sees (measured: bench/sdk-eval).
//
// The function is built from source text. The only text that varies is the field name, written with
// JSON.stringify (a JSON string is a valid JavaScript string literal, whatever it contains), so nothing in a
// flag configuration can become code. Where code generation from strings is disallowed
// (--disallow-code-generation-from-strings, some sandboxes), every field gets the generic reader.
export function fieldReader(field: string): FieldReader {
  if (typeof field !== 'string') return genericFieldReader(field);
  const known = READERS.get(field);
  if (known !== undefined) return known;
  if (!codegen || READERS.size >= MAX_READERS) return genericFieldReader(field);
  let reader: FieldReader;
  try {
    reader = specialisedReader(field);
  } catch {
    codegen = false;
    return genericFieldReader(field);
  }
  READERS.set(field, reader);
  return reader;
}

function specialisedReader(field: string): FieldReader {
  const key = JSON.stringify(field);
  const make = new Function(
    'String',
    `'use strict';
return function readField(context) {
  let value = context[${key}];
  if (typeof value === 'string') return value;
  if (value === undefined || value === null) {
    const properties = context.properties;
    value = properties === undefined || properties === null ? undefined : properties[${key}];
    if (value === undefined || value === null) return undefined;
  }
  return typeof value === 'string' ? value : String(value);
};`,
  ) as (string: StringConstructor) => FieldReader;
  return make(String);
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

// A set of strings as a prototype-less dictionary: `has[value] === true`. For the hot path, where a keyed
// load on it is about twice as fast as Set.prototype.has; any string, `__proto__` included, is an
// ordinary key.
export type StringSet = Readonly<Record<string, true | undefined>>;

export function stringSet(values: Iterable<string>): StringSet {
  const set = Object.create(null) as Record<string, true | undefined>;
  for (const v of values) set[v] = true;
  return set;
}
