// Pure validation and normalisation of variants: a flag's (with overrides) and a strategy's. Weights of
// `variable` variants are spread over 1000 as Unleash does; payloads are checked against their type.
import { ErrorDetail } from '../../common/errors';
import { fieldList, Override, StrategyVariant, VariantDefinition, VariantPayload } from './flag.model';
import { CONTEXT_NAME_RE, isObject, refuseUnknownFields } from './validation';

export const MAX_VARIANTS = 100;
export const TOTAL_WEIGHT = 1000;

const NAME_RE = /^[^\s].{0,99}$/s;

const VARIANT_FIELDS = fieldList<VariantDefinition>()([
  'name',
  'weight',
  'weightType',
  'stickiness',
  'payload',
  'overrides',
]);
const STRATEGY_VARIANT_FIELDS = fieldList<StrategyVariant>()([
  'name',
  'weight',
  'weightType',
  'stickiness',
  'payload',
]);

/** Flag variants (with overrides) or strategy variants; weights of `variable` variants are spread over 1000. */
export function validateVariants(
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
    refuseUnknownFields(v, withOverrides ? VARIANT_FIELDS : STRATEGY_VARIANT_FIELDS, p, errors);
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
