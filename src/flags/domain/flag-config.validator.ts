// Pure validation and normalisation of what the admin API accepts for a flag environment: on/off, strategies and
// their parameters; constraints and variants are checked by constraint.validator.ts and variant.validator.ts. Every
// problem is reported with its field path (`strategies[0].constraints[1].operator`), all at once, so a form can
// show them together.
import { ErrorDetail } from '../../common/errors';
import { cidrValid, MAX_VALUES, validateConstraints } from './constraint.validator';
import {
  fieldList,
  FlagEnvironmentConfig,
  Strategy,
  STRATEGY_NAMES,
  StrategyName,
  VariantDefinition,
} from './flag.model';
import { CONTEXT_NAME_RE, isObject, refuseUnknownFields, Result } from './validation';
import { validateVariants } from './variant.validator';

export {
  cidrValid,
  semverValid,
  validateConstraints,
  MAX_CONSTRAINTS,
  MAX_VALUES,
} from './constraint.validator';
export { MAX_VARIANTS, TOTAL_WEIGHT } from './variant.validator';
export type { Result } from './validation';

export const MAX_STRATEGIES = 100;

const ENVIRONMENT_FIELDS = fieldList<FlagEnvironmentConfig>()(['enabled', 'strategies', 'variants']);
const STRATEGY_FIELDS = fieldList<Strategy>()([
  'id',
  'name',
  'title',
  'disabled',
  'parameters',
  'constraints',
  'segments',
  'variants',
]);

const STRATEGY_PARAMS: Record<StrategyName, readonly string[]> = {
  default: [],
  flexibleRollout: ['rollout', 'stickiness', 'groupId'],
  userWithId: ['userIds'],
  tenantWithId: ['tenantIds'],
  remoteAddress: ['IPs'],
  applicationHostname: ['hostNames'],
};

export interface ValidationContext {
  flagKey: string;
  /** Ids of the segments that exist. */
  segmentIds: ReadonlySet<number>;
  /** Makes ids for new strategies (a UUID in the service, a counter in tests). */
  newId: () => string;
  /** The current strategies, so that an edit that omits `id` keeps the id of the strategy at the same position. */
  previous?: readonly Strategy[];
}

/** A flag environment configuration: `{enabled?, strategies?, variants?}` merged over `current`. */
export function validateFlagEnvironment(
  input: unknown,
  current: FlagEnvironmentConfig,
  ctx: ValidationContext,
): Result<FlagEnvironmentConfig> {
  const errors: ErrorDetail[] = [];
  if (!isObject(input)) return { ok: false, errors: [{ field: 'body', reason: 'must be an object' }] };
  refuseUnknownFields(input, ENVIRONMENT_FIELDS, '', errors);
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
  refuseUnknownFields(raw, STRATEGY_FIELDS, at, errors);
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
    case 'flexibleRollout':
      normaliseRollout(out, at, flagKey, errors);
      break;
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

/** flexibleRollout: rollout 0-100 required; stickiness and groupId default to `default` and the flag key. */
function normaliseRollout(
  out: Record<string, string>,
  at: string,
  flagKey: string,
  errors: ErrorDetail[],
): void {
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
}
