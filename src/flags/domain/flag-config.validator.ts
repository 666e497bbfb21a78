import { isIP } from 'node:net';
import { ErrorDetail } from '../../common/errors';
import {
  Constraint,
  CONSTRAINT_OPERATORS,
  ConstraintOperator,
  FlagEnvironmentConfig,
  Override,
  Strategy,
  STRATEGY_NAMES,
  StrategyName,
  StrategyVariant,
  VariantDefinition,
  VariantPayload,
} from './flag.model';

// Pure validation and normalisation of what the admin API accepts for a flag environment, a segment's
// constraints and variants. Every problem is reported with its field path (`strategies[0].constraints[1].operator`),
// all at once, so a form can show them together.

export const MAX_STRATEGIES = 100;
export const MAX_CONSTRAINTS = 100;
export const MAX_VALUES = 10_000;
export const MAX_VARIANTS = 100;
export const TOTAL_WEIGHT = 1000;

const SEMVER_RE =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;
const DATE_RE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;
const CONTEXT_NAME_RE = /^[A-Za-z_][A-Za-z0-9_.:-]{0,99}$/;
const NAME_RE = /^[^\s].{0,99}$/s;

const STRATEGY_PARAMS: Record<StrategyName, readonly string[]> = {
  default: [],
  flexibleRollout: ['rollout', 'stickiness', 'groupId'],
  userWithId: ['userIds'],
  tenantWithId: ['tenantIds'],
  remoteAddress: ['IPs'],
  applicationHostname: ['hostNames'],
};

const LIST_OPERATORS: ReadonlySet<ConstraintOperator> = new Set([
  'IN',
  'NOT_IN',
  'STR_STARTS_WITH',
  'STR_ENDS_WITH',
  'STR_CONTAINS',
  'IN_CIDR',
]);

export interface ValidationContext {
  flagKey: string;
  /** Ids of the segments that exist. */
  segmentIds: ReadonlySet<number>;
  /** Makes ids for new strategies (a UUID in the service, a counter in tests). */
  newId: () => string;
  /** The current strategies, so that an edit that omits `id` keeps the id of the strategy at the same position. */
  previous?: readonly Strategy[];
}

export type Result<T> = { ok: true; value: T } | { ok: false; errors: ErrorDetail[] };

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

export function semverValid(v: string): boolean {
  return SEMVER_RE.test(v);
}

export function cidrValid(v: string): boolean {
  const [addr, bits, ...rest] = v.split('/');
  if (rest.length > 0) return false;
  const family = isIP(addr);
  if (family === 0) return false;
  if (bits === undefined) return true;
  if (!/^\d{1,3}$/.test(bits)) return false;
  return Number(bits) <= (family === 4 ? 32 : 128);
}

/** A flag environment configuration: `{enabled?, strategies?, variants?}` merged over `current`. */
export function validateFlagEnvironment(
  input: unknown,
  current: FlagEnvironmentConfig,
  ctx: ValidationContext,
): Result<FlagEnvironmentConfig> {
  const errors: ErrorDetail[] = [];
  if (!isObject(input)) return { ok: false, errors: [{ field: 'body', reason: 'must be an object' }] };
  for (const k of Object.keys(input)) {
    if (!['enabled', 'strategies', 'variants'].includes(k))
      errors.push({ field: k, reason: 'unknown field' });
  }
  let enabled = current.enabled;
  if (input.enabled !== undefined) {
    if (typeof input.enabled !== 'boolean') errors.push({ field: 'enabled', reason: 'must be a boolean' });
    else enabled = input.enabled;
  }
  let strategies = current.strategies;
  if (input.strategies !== undefined) {
    strategies = validateStrategies(input.strategies, 'strategies', ctx, errors);
  }
  let variants = current.variants;
  if (input.variants !== undefined) {
    variants = validateVariants(input.variants, 'variants', true, errors) as VariantDefinition[];
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, value: { enabled, strategies, variants } };
}

function validateStrategies(
  input: unknown,
  path: string,
  ctx: ValidationContext,
  errors: ErrorDetail[],
): Strategy[] {
  if (!Array.isArray(input)) {
    errors.push({ field: path, reason: 'must be an array' });
    return [];
  }
  if (input.length > MAX_STRATEGIES)
    errors.push({ field: path, reason: `at most ${MAX_STRATEGIES} strategies` });
  const ids = new Set<string>();
  return input.map((raw, i) => {
    const at = `${path}[${i}]`;
    const s = validateStrategy(raw, at, ctx, i, errors);
    if (ids.has(s.id)) errors.push({ field: `${at}.id`, reason: 'duplicate strategy id' });
    ids.add(s.id);
    return s;
  });
}

function validateStrategy(
  raw: unknown,
  at: string,
  ctx: ValidationContext,
  index: number,
  errors: ErrorDetail[],
): Strategy {
  const fallback: Strategy = {
    id: '',
    name: 'default',
    parameters: {},
    constraints: [],
    segments: [],
    variants: [],
  };
  if (!isObject(raw)) {
    errors.push({ field: at, reason: 'must be an object' });
    return fallback;
  }
  for (const k of Object.keys(raw)) {
    if (
      !['id', 'name', 'title', 'disabled', 'parameters', 'constraints', 'segments', 'variants'].includes(k)
    ) {
      errors.push({ field: `${at}.${k}`, reason: 'unknown field' });
    }
  }
  const name = raw.name;
  if (typeof name !== 'string' || !(STRATEGY_NAMES as readonly string[]).includes(name)) {
    errors.push({ field: `${at}.name`, reason: `unknown strategy; one of ${STRATEGY_NAMES.join(', ')}` });
    return fallback;
  }
  const strategy: Strategy = { ...fallback, name: name as StrategyName };
  if (raw.id !== undefined) {
    if (typeof raw.id !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(raw.id)) {
      errors.push({ field: `${at}.id`, reason: 'must be 1-64 letters, digits, _ or -' });
    } else strategy.id = raw.id;
  }
  if (!strategy.id) strategy.id = ctx.previous?.[index]?.id ?? ctx.newId();
  if (raw.title !== undefined && raw.title !== null) {
    if (typeof raw.title !== 'string' || raw.title.length > 100) {
      errors.push({ field: `${at}.title`, reason: 'must be a string of at most 100 characters' });
    } else if (raw.title) strategy.title = raw.title;
  }
  if (raw.disabled !== undefined && raw.disabled !== null) {
    if (typeof raw.disabled !== 'boolean')
      errors.push({ field: `${at}.disabled`, reason: 'must be a boolean' });
    else if (raw.disabled) strategy.disabled = true;
  }
  strategy.parameters = validateParameters(
    strategy.name,
    raw.parameters,
    `${at}.parameters`,
    ctx.flagKey,
    errors,
  );
  if (raw.constraints !== undefined)
    strategy.constraints = validateConstraints(raw.constraints, `${at}.constraints`, errors);
  if (raw.segments !== undefined) {
    if (!Array.isArray(raw.segments))
      errors.push({ field: `${at}.segments`, reason: 'must be an array of segment ids' });
    else {
      raw.segments.forEach((id, j) => {
        if (typeof id !== 'number' || !Number.isInteger(id)) {
          errors.push({ field: `${at}.segments[${j}]`, reason: 'must be a segment id (integer)' });
        } else if (!ctx.segmentIds.has(id)) {
          errors.push({ field: `${at}.segments[${j}]`, reason: `no segment ${id}` });
        } else if (!strategy.segments.includes(id)) strategy.segments.push(id);
      });
    }
  }
  if (raw.variants !== undefined)
    strategy.variants = validateVariants(raw.variants, `${at}.variants`, false, errors);
  return strategy;
}

function paramString(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v.join(',');
  return undefined;
}

function splitList(v: string): string[] {
  return v
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x.length > 0);
}

function validateParameters(
  name: StrategyName,
  raw: unknown,
  at: string,
  flagKey: string,
  errors: ErrorDetail[],
): Record<string, string> {
  const out: Record<string, string> = {};
  if (raw === undefined || raw === null) raw = {};
  if (!isObject(raw)) {
    errors.push({ field: at, reason: 'must be an object' });
    return out;
  }
  const allowed = STRATEGY_PARAMS[name];
  for (const [k, v] of Object.entries(raw)) {
    if (!allowed.includes(k)) {
      errors.push({ field: `${at}.${k}`, reason: `unknown parameter for ${name}` });
      continue;
    }
    const s = paramString(v);
    if (s === undefined) errors.push({ field: `${at}.${k}`, reason: 'must be a string or a number' });
    else out[k] = s;
  }
  const requireList = (param: string, check?: (item: string) => string | null) => {
    const v = out[param];
    if (v === undefined || splitList(v).length === 0) {
      if (!errors.some((e) => e.field === `${at}.${param}`)) {
        errors.push({ field: `${at}.${param}`, reason: 'required: a comma-separated list' });
      }
      return;
    }
    const items = splitList(v);
    if (items.length > MAX_VALUES)
      errors.push({ field: `${at}.${param}`, reason: `at most ${MAX_VALUES} entries` });
    if (check) {
      for (const item of items) {
        const reason = check(item);
        if (reason) {
          errors.push({ field: `${at}.${param}`, reason: `${JSON.stringify(item)}: ${reason}` });
          break;
        }
      }
    }
    out[param] = items.join(',');
  };
  switch (name) {
    case 'default':
      break;
    case 'flexibleRollout': {
      const r = out.rollout;
      if (r === undefined) {
        if (!errors.some((e) => e.field === `${at}.rollout`)) {
          errors.push({ field: `${at}.rollout`, reason: 'required: a whole number from 0 to 100' });
        }
      } else if (!/^\d{1,3}$/.test(r.trim()) || Number(r) > 100) {
        errors.push({ field: `${at}.rollout`, reason: 'must be a whole number from 0 to 100' });
      } else out.rollout = String(Number(r));
      const st = out.stickiness;
      if (st !== undefined && !(st === 'default' || st === 'random' || CONTEXT_NAME_RE.test(st))) {
        errors.push({ field: `${at}.stickiness`, reason: 'must be default, random or a context field name' });
      }
      out.stickiness = st || 'default';
      if (out.groupId !== undefined && out.groupId.length > 100) {
        errors.push({ field: `${at}.groupId`, reason: 'at most 100 characters' });
      }
      out.groupId = out.groupId || flagKey;
      break;
    }
    case 'userWithId':
      requireList('userIds');
      break;
    case 'tenantWithId':
      requireList('tenantIds');
      break;
    case 'remoteAddress':
      requireList('IPs', (ip) => (cidrValid(ip) ? null : 'not an IP address or CIDR range'));
      break;
    case 'applicationHostname':
      requireList('hostNames');
      break;
    default: {
      const never: never = name;
      throw new Error(`unhandled strategy ${String(never)}`);
    }
  }
  return out;
}

/** Constraints of a strategy or a segment. */
export function validateConstraints(raw: unknown, at: string, errors: ErrorDetail[]): Constraint[] {
  if (!Array.isArray(raw)) {
    errors.push({ field: at, reason: 'must be an array' });
    return [];
  }
  if (raw.length > MAX_CONSTRAINTS)
    errors.push({ field: at, reason: `at most ${MAX_CONSTRAINTS} constraints` });
  return raw.map((c, i) => validateConstraint(c, `${at}[${i}]`, errors));
}

function validateConstraint(raw: unknown, at: string, errors: ErrorDetail[]): Constraint {
  const out: Constraint = { contextName: '', operator: 'IN', values: [] };
  if (!isObject(raw)) {
    errors.push({ field: at, reason: 'must be an object' });
    return out;
  }
  for (const k of Object.keys(raw)) {
    if (!['contextName', 'operator', 'values', 'value', 'inverted', 'caseInsensitive'].includes(k)) {
      errors.push({ field: `${at}.${k}`, reason: 'unknown field' });
    }
  }
  if (typeof raw.contextName !== 'string' || !CONTEXT_NAME_RE.test(raw.contextName)) {
    errors.push({
      field: `${at}.contextName`,
      reason: 'must be a context field name (letters, digits, _ . : -)',
    });
  } else out.contextName = raw.contextName;
  const op = raw.operator;
  if (typeof op !== 'string' || !(CONSTRAINT_OPERATORS as readonly string[]).includes(op)) {
    errors.push({
      field: `${at}.operator`,
      reason: `unknown operator; one of ${CONSTRAINT_OPERATORS.join(', ')}`,
    });
    return out;
  }
  out.operator = op as ConstraintOperator;
  for (const flag of ['inverted', 'caseInsensitive'] as const) {
    if (raw[flag] === undefined || raw[flag] === null) continue;
    if (typeof raw[flag] !== 'boolean') errors.push({ field: `${at}.${flag}`, reason: 'must be a boolean' });
    else if (raw[flag]) out[flag] = true;
  }
  if (LIST_OPERATORS.has(out.operator)) {
    delete out.value;
    if (raw.value !== undefined && raw.value !== null && raw.value !== '') {
      errors.push({ field: `${at}.value`, reason: `${op} takes values (a list), not value` });
    }
    const values = raw.values;
    if (!Array.isArray(values) || values.length === 0) {
      errors.push({ field: `${at}.values`, reason: `${op} needs a non-empty list of strings` });
      return out;
    }
    if (values.length > MAX_VALUES)
      errors.push({ field: `${at}.values`, reason: `at most ${MAX_VALUES} values` });
    const list: string[] = [];
    values.forEach((v, j) => {
      if (typeof v !== 'string') errors.push({ field: `${at}.values[${j}]`, reason: 'must be a string' });
      else if (v.length > 1000)
        errors.push({ field: `${at}.values[${j}]`, reason: 'at most 1000 characters' });
      else if (op === 'IN_CIDR' && !cidrValid(v.trim())) {
        errors.push({ field: `${at}.values[${j}]`, reason: 'not an IP address or CIDR range' });
      } else list.push(op === 'IN_CIDR' ? v.trim() : v);
    });
    out.values = list;
    return out;
  }
  delete out.values;
  if (Array.isArray(raw.values) && raw.values.length > 0) {
    errors.push({ field: `${at}.values`, reason: `${op} takes a single value, not values` });
  }
  const value = typeof raw.value === 'number' ? String(raw.value) : raw.value;
  if (typeof value !== 'string' || value.trim() === '') {
    errors.push({ field: `${at}.value`, reason: `${op} needs a value` });
    return out;
  }
  const v = value.trim();
  if (op.startsWith('NUM_') && !(/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(v) && Number.isFinite(Number(v)))) {
    errors.push({ field: `${at}.value`, reason: 'not a number' });
  } else if (op.startsWith('DATE_') && !(DATE_RE.test(v) && !Number.isNaN(Date.parse(v)))) {
    errors.push({ field: `${at}.value`, reason: 'not an ISO 8601 date-time' });
  } else if (op.startsWith('SEMVER_') && !semverValid(v)) {
    errors.push({ field: `${at}.value`, reason: 'not a semantic version (MAJOR.MINOR.PATCH[-pre][+build])' });
  } else if (op === 'REGEX') {
    try {
      new RegExp(v);
    } catch {
      errors.push({ field: `${at}.value`, reason: 'not a valid regular expression' });
    }
  }
  out.value = op === 'REGEX' ? value : v;
  return out;
}

/** Flag variants (with overrides) or strategy variants; weights of `variable` variants are spread over 1000. */
function validateVariants(
  raw: unknown,
  at: string,
  withOverrides: boolean,
  errors: ErrorDetail[],
): StrategyVariant[] | VariantDefinition[] {
  if (!Array.isArray(raw)) {
    errors.push({ field: at, reason: 'must be an array' });
    return [];
  }
  if (raw.length > MAX_VARIANTS) errors.push({ field: at, reason: `at most ${MAX_VARIANTS} variants` });
  const names = new Set<string>();
  const before = errors.length;
  const out = raw.map((v, i) => {
    const p = `${at}[${i}]`;
    const variant: VariantDefinition = { name: '', weight: 0, weightType: 'variable', stickiness: 'default' };
    if (!isObject(v)) {
      errors.push({ field: p, reason: 'must be an object' });
      return variant;
    }
    const allowed = [
      'name',
      'weight',
      'weightType',
      'stickiness',
      'payload',
      ...(withOverrides ? ['overrides'] : []),
    ];
    for (const k of Object.keys(v))
      if (!allowed.includes(k)) errors.push({ field: `${p}.${k}`, reason: 'unknown field' });
    if (typeof v.name !== 'string' || !NAME_RE.test(v.name) || v.name.length > 100) {
      errors.push({ field: `${p}.name`, reason: 'must be 1-100 characters' });
    } else if (names.has(v.name)) errors.push({ field: `${p}.name`, reason: 'duplicate variant name' });
    else {
      names.add(v.name);
      variant.name = v.name;
    }
    if (v.weightType !== undefined) {
      if (v.weightType !== 'variable' && v.weightType !== 'fix') {
        errors.push({ field: `${p}.weightType`, reason: 'must be variable or fix' });
      } else variant.weightType = v.weightType;
    }
    if (v.weight !== undefined) {
      if (
        typeof v.weight !== 'number' ||
        !Number.isInteger(v.weight) ||
        v.weight < 0 ||
        v.weight > TOTAL_WEIGHT
      ) {
        errors.push({ field: `${p}.weight`, reason: `must be a whole number from 0 to ${TOTAL_WEIGHT}` });
      } else variant.weight = v.weight;
    } else if (variant.weightType === 'fix')
      errors.push({ field: `${p}.weight`, reason: 'required for a fix weight' });
    if (v.stickiness !== undefined) {
      if (
        typeof v.stickiness !== 'string' ||
        !(v.stickiness === 'default' || CONTEXT_NAME_RE.test(v.stickiness))
      ) {
        errors.push({ field: `${p}.stickiness`, reason: 'must be default or a context field name' });
      } else variant.stickiness = v.stickiness;
    }
    if (v.payload !== undefined && v.payload !== null) {
      const payload = validatePayload(v.payload, `${p}.payload`, errors);
      if (payload) variant.payload = payload;
    }
    if (withOverrides && v.overrides !== undefined) {
      variant.overrides = validateOverrides(v.overrides, `${p}.overrides`, errors);
      if (variant.overrides.length === 0) delete variant.overrides;
    }
    return variant;
  });
  if (errors.length > before || out.length === 0) return out;
  const fixed = out.filter((v) => v.weightType === 'fix').reduce((s, v) => s + v.weight, 0);
  const variable = out.filter((v) => v.weightType === 'variable');
  if (fixed > TOTAL_WEIGHT)
    errors.push({ field: at, reason: `fix weights add up to ${fixed}, more than ${TOTAL_WEIGHT}` });
  else if (variable.length === 0 && fixed !== TOTAL_WEIGHT) {
    errors.push({
      field: at,
      reason: `fix weights must add up to ${TOTAL_WEIGHT} when no variant is variable`,
    });
  } else if (variable.length > 0) {
    // As Unleash does: the rest of 1000 is spread evenly over the variable variants, the remainder to the first ones.
    const rest = TOTAL_WEIGHT - fixed;
    const each = Math.floor(rest / variable.length);
    variable.forEach((v, i) => (v.weight = each + (i < rest % variable.length ? 1 : 0)));
  }
  return withOverrides ? out : out.map(({ overrides: _o, ...v }) => v);
}

function validatePayload(raw: unknown, at: string, errors: ErrorDetail[]): VariantPayload | undefined {
  if (!isObject(raw)) {
    errors.push({ field: at, reason: 'must be an object {type, value}' });
    return undefined;
  }
  const { type, value } = raw;
  if (type !== 'string' && type !== 'json' && type !== 'csv' && type !== 'number') {
    errors.push({ field: `${at}.type`, reason: 'must be string, json, csv or number' });
    return undefined;
  }
  if (typeof value !== 'string') {
    errors.push({ field: `${at}.value`, reason: 'must be a string' });
    return undefined;
  }
  if (value.length > 100_000) errors.push({ field: `${at}.value`, reason: 'at most 100000 characters' });
  if (type === 'json') {
    try {
      JSON.parse(value);
    } catch {
      errors.push({ field: `${at}.value`, reason: 'not valid JSON' });
    }
  }
  if (type === 'number' && (value.trim() === '' || !Number.isFinite(Number(value)))) {
    errors.push({ field: `${at}.value`, reason: 'not a number' });
  }
  return { type, value };
}

function validateOverrides(raw: unknown, at: string, errors: ErrorDetail[]): Override[] {
  if (!Array.isArray(raw)) {
    errors.push({ field: at, reason: 'must be an array' });
    return [];
  }
  return raw.map((o, i) => {
    const p = `${at}[${i}]`;
    if (!isObject(o)) {
      errors.push({ field: p, reason: 'must be an object {contextName, values}' });
      return { contextName: '', values: [] };
    }
    if (typeof o.contextName !== 'string' || !CONTEXT_NAME_RE.test(o.contextName)) {
      errors.push({ field: `${p}.contextName`, reason: 'must be a context field name' });
    }
    if (!Array.isArray(o.values) || !o.values.every((v) => typeof v === 'string')) {
      errors.push({ field: `${p}.values`, reason: 'must be a list of strings' });
      return { contextName: String(o.contextName), values: [] };
    }
    return { contextName: String(o.contextName), values: o.values as string[] };
  });
}
