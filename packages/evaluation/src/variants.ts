import { fieldReader, type FieldReader } from './context';
import { VARIANT_SEED, hashPrefix, prefixedBucket, type HashPrefix } from './murmurhash3';
import type { EvaluationContext, Override, StrategyVariant, VariantDefinition, VariantResult } from './types';

// The variant results for disabled outcomes, shared and frozen: getVariant allocates nothing for them.
export const DISABLED_VARIANT: VariantResult = Object.freeze({
  name: 'disabled',
  enabled: false,
  feature_enabled: false,
});
export const DISABLED_VARIANT_FEATURE_ENABLED: VariantResult = Object.freeze({
  name: 'disabled',
  enabled: false,
  feature_enabled: true,
});

interface CompiledOverride {
  read: FieldReader;
  values: ReadonlySet<string>;
  result: VariantResult;
}

export interface CompiledVariants {
  totalWeight: number;
  weights: number[];
  results: VariantResult[];
  overrides: CompiledOverride[];
  // `${groupId}:`, the hash prefix, hashed once.
  groupPrefix: HashPrefix;
  // The stickiness field's reader; undefined for Unleash's default stickiness (userId, sessionId,
  // remoteAddress, then random).
  stickiness: FieldReader | undefined;
  // Whether more than one variant can be drawn, i.e. the pick is a split.
  split: boolean;
}

function freezeResult(v: VariantDefinition | StrategyVariant): VariantResult {
  const result: VariantResult = { name: String(v.name), enabled: true, feature_enabled: true };
  if (v.payload !== undefined && v.payload !== null) {
    result.payload = Object.freeze({ type: v.payload.type, value: v.payload.value });
  }
  return Object.freeze(result);
}

// `groupId` is the flag name for flag variants and the strategy's groupId for strategy variants.
export function compileVariants(
  variants: readonly (VariantDefinition | StrategyVariant)[] | undefined,
  groupId: string,
  stickiness: string | undefined,
): CompiledVariants | undefined {
  if (!Array.isArray(variants) || variants.length === 0) return undefined;
  const weights: number[] = [];
  const results: VariantResult[] = [];
  const overrides: CompiledOverride[] = [];
  let totalWeight = 0;
  let drawable = 0;
  for (const v of variants) {
    const weight = Number(v.weight) || 0;
    const result = freezeResult(v);
    weights.push(weight);
    results.push(result);
    totalWeight += weight;
    if (weight > 0) drawable++;
    const list: Override[] | undefined = 'overrides' in v ? v.overrides : undefined;
    for (const o of list ?? []) {
      overrides.push({
        read: fieldReader(o.contextName),
        values: new Set((o.values ?? []).map(String)),
        result,
      });
    }
  }
  return {
    totalWeight,
    weights,
    results,
    overrides,
    groupPrefix: hashPrefix(`${groupId}:`, VARIANT_SEED),
    stickiness: stickiness === undefined || stickiness === 'default' ? undefined : fieldReader(stickiness),
    split: drawable > 1,
  };
}

// The variant an override assigns to this context, if any (overrides win over weights).
export function overrideVariant(cv: CompiledVariants, ctx: EvaluationContext): VariantResult | undefined {
  const overrides = cv.overrides;
  for (let k = 0; k < overrides.length; k++) {
    const o = overrides[k];
    const value = o.read(ctx);
    if (value !== undefined && o.values.has(value)) return o.result;
  }
  return undefined;
}

function defaultStickinessValue(ctx: EvaluationContext): string | undefined {
  const userId = ctx.userId;
  if (typeof userId === 'string' && userId !== '') return userId;
  const sessionId = ctx.sessionId;
  if (typeof sessionId === 'string' && sessionId !== '') return sessionId;
  const remoteAddress = ctx.remoteAddress;
  if (typeof remoteAddress === 'string' && remoteAddress !== '') return remoteAddress;
  return undefined;
}

// The weighted pick: bucket = murmurhash3(`${groupId}:${stickinessValue}`, 86028157) % totalWeight + 1.
export function weightedVariant(
  cv: CompiledVariants,
  ctx: EvaluationContext,
  random: () => number,
): VariantResult | undefined {
  const seed = cv.stickiness === undefined ? defaultStickinessValue(ctx) : cv.stickiness(ctx);
  // Without a stickiness value the SDKs hash a random number: a uniform draw does the same.
  const target = seed
    ? prefixedBucket(cv.groupPrefix, seed, cv.totalWeight)
    : Math.floor(random() * cv.totalWeight) + 1;
  let counter = 0;
  const weights = cv.weights;
  for (let k = 0; k < weights.length; k++) {
    if (weights[k] === 0) continue;
    counter += weights[k];
    if (counter >= target) return cv.results[k];
  }
  return undefined;
}

export function selectVariant(
  cv: CompiledVariants,
  ctx: EvaluationContext,
  random: () => number,
): VariantResult | undefined {
  if (cv.totalWeight <= 0) return undefined;
  return overrideVariant(cv, ctx) ?? weightedVariant(cv, ctx, random);
}
