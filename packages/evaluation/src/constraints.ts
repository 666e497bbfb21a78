import { contextTime, fieldReader, stringSet, type FieldReader } from './context';
import { CidrSet } from './ip';
import { compileRe2 } from './re2';
import { compareSemverString, parseSemver, type ParsedSemver } from './semver';
import { CONSTRAINT_OPERATORS } from './types';
import type { Constraint, EvaluationContext } from './types';

// A compiled constraint: everything that can be parsed is parsed once, in compile().
export type ConstraintMatcher = (context: EvaluationContext) => boolean;

export interface ConstraintEnv {
  now: () => number;
}

const NEVER: ConstraintMatcher = () => false;

// IN / NOT_IN lists up to this long are compared value by value rather than looked up.
const FEW_VALUES = 4;

// As the Unleash SDKs clean constraint values: drop empty ones, trim the rest.
function cleanValues(values: unknown): string[] {
  if (!Array.isArray(values)) return [];
  const out: string[] = [];
  for (const v of values as unknown[]) if (v) out.push(String(v).trim());
  return out;
}

function lowerAscii(c: number): number {
  return c >= 0x41 && c <= 0x5a ? c + 0x20 : c;
}

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

// s[offset..] starts with `lowerNeedle`, ignoring ASCII case in s (s is ASCII, the needle lower-cased).
function regionMatchesFolded(s: string, offset: number, lowerNeedle: string): boolean {
  if (offset < 0 || offset + lowerNeedle.length > s.length) return false;
  for (let k = 0; k < lowerNeedle.length; k++) {
    if (lowerAscii(s.charCodeAt(offset + k)) !== lowerNeedle.charCodeAt(k)) return false;
  }
  return true;
}

type StringOp = 'STR_STARTS_WITH' | 'STR_ENDS_WITH' | 'STR_CONTAINS';

function stringTest(op: StringOp, value: string, needle: string): boolean {
  if (op === 'STR_STARTS_WITH') return value.startsWith(needle);
  if (op === 'STR_ENDS_WITH') return value.endsWith(needle);
  return value.includes(needle);
}

function foldedTest(op: StringOp, value: string, needle: string): boolean {
  if (op === 'STR_STARTS_WITH') return regionMatchesFolded(value, 0, needle);
  if (op === 'STR_ENDS_WITH') return regionMatchesFolded(value, value.length - needle.length, needle);
  for (let i = 0; i + needle.length <= value.length; i++)
    if (regionMatchesFolded(value, i, needle)) return true;
  return false;
}

function compileString(
  op: StringOp,
  read: FieldReader,
  values: string[],
  caseInsensitive: boolean,
): ConstraintMatcher {
  if (!caseInsensitive) {
    // One closure per operator, and none loops for the usual single value.
    if (values.length === 1) {
      const needle = values[0];
      switch (op) {
        case 'STR_STARTS_WITH':
          return (ctx) => {
            const value = read(ctx);
            return value !== undefined && value.startsWith(needle);
          };
        case 'STR_ENDS_WITH':
          return (ctx) => {
            const value = read(ctx);
            return value !== undefined && value.endsWith(needle);
          };
        default:
          return (ctx) => {
            const value = read(ctx);
            return value !== undefined && value.includes(needle);
          };
      }
    }
    return (ctx) => {
      const value = read(ctx);
      if (value === undefined) return false;
      for (let k = 0; k < values.length; k++) if (stringTest(op, value, values[k])) return true;
      return false;
    };
  }
  const needles = values.map((v) => v.toLowerCase());
  return (ctx) => {
    const value = read(ctx);
    if (value === undefined) return false;
    // ASCII values compare in place; others are lower-cased (a copy), since Unicode case mapping can
    // change a string's length.
    if (isAscii(value)) {
      for (let k = 0; k < needles.length; k++) if (foldedTest(op, value, needles[k])) return true;
      return false;
    }
    const lowered = value.toLowerCase();
    for (let k = 0; k < needles.length; k++) if (stringTest(op, lowered, needles[k])) return true;
    return false;
  };
}

// A context version as the node SDK compares it with a semver constraint: NaN when it cannot be.
function semverCompare(ctx: EvaluationContext, read: FieldReader, target: ParsedSemver): number {
  const value = read(ctx);
  // A context version may not start with `v`, unlike the constraint value (node SDK rule).
  if (!value || value.charCodeAt(0) === 0x76) return NaN;
  return compareSemverString(value, target);
}

function compileOperator(c: Constraint, env: ConstraintEnv): ConstraintMatcher | undefined {
  const read = fieldReader(c.contextName);
  switch (c.operator) {
    case 'IN':
    case 'NOT_IN': {
      const values = [...new Set(cleanValues(c.values))];
      let isIn: ConstraintMatcher;
      if (values.length === 1) {
        const only = values[0];
        isIn = (ctx) => read(ctx) === only;
      } else if (values.length <= FEW_VALUES) {
        // A few string comparisons cost less than one lookup in a dictionary.
        isIn = (ctx) => {
          const value = read(ctx);
          if (value === undefined) return false;
          for (let k = 0; k < values.length; k++) if (values[k] === value) return true;
          return false;
        };
      } else {
        const set = stringSet(values);
        isIn = (ctx) => {
          const value = read(ctx);
          return value !== undefined && set[value] === true;
        };
      }
      return c.operator === 'IN' ? isIn : (ctx) => !isIn(ctx);
    }
    case 'STR_STARTS_WITH':
    case 'STR_ENDS_WITH':
    case 'STR_CONTAINS':
      return compileString(c.operator, read, cleanValues(c.values), Boolean(c.caseInsensitive));
    case 'NUM_EQ':
    case 'NUM_GT':
    case 'NUM_GTE':
    case 'NUM_LT':
    case 'NUM_LTE': {
      const target = Number(c.value);
      if (Number.isNaN(target)) return NEVER;
      // Number(undefined) is NaN, Number('') is 0: as in the SDKs. A comparison with NaN is false.
      // One closure per operator: the hot path does not branch on it.
      switch (c.operator) {
        case 'NUM_EQ':
          return (ctx) => Number(read(ctx)) === target;
        case 'NUM_GT':
          return (ctx) => Number(read(ctx)) > target;
        case 'NUM_GTE':
          return (ctx) => Number(read(ctx)) >= target;
        case 'NUM_LT':
          return (ctx) => Number(read(ctx)) < target;
        default:
          return (ctx) => Number(read(ctx)) <= target;
      }
    }
    case 'DATE_AFTER':
    case 'DATE_BEFORE': {
      // The SDKs compare `currentTime` (or now) whatever the contextName says.
      const target = c.value === undefined ? NaN : Date.parse(String(c.value));
      if (Number.isNaN(target)) return NEVER;
      return c.operator === 'DATE_AFTER'
        ? (ctx) => contextTime(ctx, env.now) > target
        : (ctx) => contextTime(ctx, env.now) < target;
    }
    case 'SEMVER_EQ':
    case 'SEMVER_GT':
    case 'SEMVER_GTE':
    case 'SEMVER_LT':
    case 'SEMVER_LTE': {
      const target = c.value === undefined ? undefined : parseSemver(String(c.value));
      if (target === undefined) return NEVER;
      // One closure per operator; a comparison with NaN (no version, or not one) is false.
      switch (c.operator) {
        case 'SEMVER_EQ':
          return (ctx) => semverCompare(ctx, read, target) === 0;
        case 'SEMVER_GT':
          return (ctx) => semverCompare(ctx, read, target) > 0;
        case 'SEMVER_GTE':
          return (ctx) => semverCompare(ctx, read, target) >= 0;
        case 'SEMVER_LT':
          return (ctx) => semverCompare(ctx, read, target) < 0;
        default:
          return (ctx) => semverCompare(ctx, read, target) <= 0;
      }
    }
    case 'REGEX': {
      const regex = typeof c.value === 'string' ? compileRe2(c.value, Boolean(c.caseInsensitive)) : undefined;
      if (regex === undefined) return NEVER;
      return (ctx) => {
        const value = read(ctx);
        return value !== undefined && regex.test(value);
      };
    }
    case 'IN_CIDR': {
      const ranges = new CidrSet(cleanValues(c.values));
      if (ranges.size === 0) return NEVER;
      return (ctx) => {
        const value = read(ctx);
        return value !== undefined && ranges.contains(value);
      };
    }
    default:
      return undefined;
  }
}

export function compileConstraint(c: Constraint, env: ConstraintEnv): ConstraintMatcher {
  const matcher = compileOperator(c, env);
  // An operator this engine does not know is false even when inverted, as in the Unleash SDKs; a known
  // operator whose value cannot be parsed (bad date, semver, regex) is false before inversion.
  if (matcher === undefined) return NEVER;
  if (!c.inverted) return matcher;
  return (ctx) => !matcher(ctx);
}

const KNOWN_OPERATORS: ReadonlySet<string> = new Set(CONSTRAINT_OPERATORS);

// Whether this engine evaluates the operator (the server validates flags with it).
export function isKnownOperator(operator: string): boolean {
  return KNOWN_OPERATORS.has(operator);
}
