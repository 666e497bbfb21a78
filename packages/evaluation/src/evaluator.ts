import { EMPTY_CONTEXT } from './context';
import {
  compileSegments,
  compileStrategy,
  type CompiledStrategy,
  type StrategyEnv,
  type StrategyTest,
} from './strategies';
import type {
  ClientFeature,
  ClientFeaturesResponse,
  CompileOptions,
  Evaluation,
  EvaluationContext,
  EvaluationReason,
  FallbackFunction,
  VariantResult,
} from './types';
import {
  DISABLED_VARIANT,
  DISABLED_VARIANT_FEATURE_ENABLED,
  compileVariants,
  overrideVariant,
  selectVariant,
  weightedVariant,
  type CompiledVariants,
} from './variants';

interface CompiledDependency {
  parent: CompiledFlag | undefined;
  // `enabled: false` in the dependency: the parent must be off.
  expectEnabled: boolean;
  // Non-empty when the parent must be on with one of these variants.
  variants: ReadonlySet<string> | undefined;
}

// A compiled flag, opaque to callers: from Evaluator.lookup(), for isEnabledFlag() and getVariantFlag().
export interface FlagHandle {
  readonly name: string;
}

// A flag's outcome code for a context (see below), specialised when the flag is compiled.
type FlagMatcher = (context: EvaluationContext) => number;

interface CompiledFlag extends FlagHandle {
  name: string;
  definition: ClientFeature;
  enabled: boolean;
  // The SDKs treat a flag whose `strategies` is not an array as malformed, hence off.
  malformed: boolean;
  strategies: CompiledStrategy[];
  variants: CompiledVariants | undefined;
  dependencies: CompiledDependency[];
  matcher: FlagMatcher;
}

// Outcome codes of matching a flag (>= 0: index into the compiled strategies that matched).
const NO_STRATEGIES = -1;
const FLAG_DISABLED = -2;
const DEPENDENCY_NOT_MET = -3;
const NO_STRATEGY_MATCHED = -4;

const DISABLED_MATCHER: FlagMatcher = () => FLAG_DISABLED;
const NO_STRATEGIES_MATCHER: FlagMatcher = () => NO_STRATEGIES;
const NO_MATCH_MATCHER: FlagMatcher = () => NO_STRATEGY_MATCHED;

// A strategy as one predicate (its constraints, then its test), with no call for what is always true:
// undefined means the strategy always matches. The usual shapes get a closure of their own, so the hot
// path neither loops nor loads the strategy's fields.
function strategyPredicate(strategy: CompiledStrategy): StrategyTest | undefined {
  const cs = strategy.constraints;
  const test = strategy.always ? undefined : strategy.test;
  if (cs.length === 0) return test;
  if (cs.length === 1) {
    const c0 = cs[0];
    return test === undefined ? c0 : (ctx) => c0(ctx) && test(ctx);
  }
  if (cs.length === 2) {
    const c0 = cs[0];
    const c1 = cs[1];
    return test === undefined ? (ctx) => c0(ctx) && c1(ctx) : (ctx) => c0(ctx) && c1(ctx) && test(ctx);
  }
  return (ctx) => {
    for (let k = 0; k < cs.length; k++) if (!cs[k](ctx)) return false;
    return test === undefined || test(ctx);
  };
}

// The flag's strategies as one function returning the index of the first that matches, or
// NO_STRATEGY_MATCHED. Strategies that never match are left out, and so is everything after one that
// always matches.
function strategiesMatcher(strategies: readonly CompiledStrategy[]): FlagMatcher {
  if (strategies.length === 0) return NO_STRATEGIES_MATCHER;
  const indexes: number[] = [];
  const predicates: (StrategyTest | undefined)[] = [];
  for (let k = 0; k < strategies.length; k++) {
    if (strategies[k].never) continue;
    const predicate = strategyPredicate(strategies[k]);
    indexes.push(k);
    predicates.push(predicate);
    if (predicate === undefined) break;
  }
  if (indexes.length === 0) return NO_MATCH_MATCHER;
  const k0 = indexes[0];
  const p0 = predicates[0];
  if (p0 === undefined) return () => k0;
  if (indexes.length === 1) return (ctx) => (p0(ctx) ? k0 : NO_STRATEGY_MATCHED);
  const k1 = indexes[1];
  const p1 = predicates[1];
  if (indexes.length === 2) {
    return p1 === undefined
      ? (ctx) => (p0(ctx) ? k0 : k1)
      : (ctx) => (p0(ctx) ? k0 : p1(ctx) ? k1 : NO_STRATEGY_MATCHED);
  }
  return (ctx) => {
    for (let k = 0; k < predicates.length; k++) {
      const predicate = predicates[k];
      if (predicate === undefined || predicate(ctx)) return indexes[k];
    }
    return NO_STRATEGY_MATCHED;
  };
}

// A flag set compiled once from the client features response and evaluated many times.
// Evaluation is synchronous and allocation-free for isEnabled and getVariant (variant results are
// precomputed and frozen); evaluate() allocates only its result.
export class Evaluator {
  private readonly flags = new Map<string, CompiledFlag>();
  // The same flags by name in a prototype-less dictionary, for the hot path: a keyed load on it is about
  // twice as fast as Map.prototype.get. Only string names are in it (the Map tells 1 from '1').
  private readonly byName: Record<string, CompiledFlag | undefined> = Object.create(null);
  private readonly random: () => number;

  constructor(response: ClientFeaturesResponse, options: CompileOptions = {}) {
    const env: StrategyEnv = {
      random: options.random ?? Math.random,
      now: options.now ?? Date.now,
      hostname: options.hostname,
    };
    this.random = env.random;
    const segments = compileSegments(response.segments, env);
    for (const feature of response.features ?? []) {
      const strategies = Array.isArray(feature.strategies) ? feature.strategies : [];
      this.flags.set(feature.name, {
        name: feature.name,
        definition: feature,
        enabled: Boolean(feature.enabled),
        malformed: !Array.isArray(feature.strategies),
        strategies: strategies.map((s, index) => compileStrategy(s, index, segments, env)),
        variants: compileVariants(feature.variants, feature.name, feature.variants?.[0]?.stickiness),
        dependencies: [],
        matcher: NO_MATCH_MATCHER,
      });
    }
    for (const [name, flag] of this.flags) if (typeof name === 'string') this.byName[name] = flag;
    // Dependencies point at compiled parents; a parent that has parents of its own never satisfies one
    // (Unleash supports a single level).
    for (const flag of this.flags.values()) {
      for (const dep of flag.definition.dependencies ?? []) {
        const parent = this.flags.get(dep.feature);
        const usable = parent !== undefined && (parent.definition.dependencies ?? []).length === 0;
        flag.dependencies.push({
          parent: usable ? parent : undefined,
          expectEnabled: dep.enabled !== false,
          variants: dep.variants !== undefined && dep.variants.length > 0 ? new Set(dep.variants) : undefined,
        });
      }
    }
    for (const flag of this.flags.values()) flag.matcher = this.matcherOf(flag);
  }

  // Names of all flags, in the order served.
  get flagNames(): string[] {
    return [...this.flags.keys()];
  }

  get size(): number {
    return this.flags.size;
  }

  has(flagName: string): boolean {
    return this.flags.has(flagName);
  }

  // The flag as served, for metadata such as type, project or impressionData.
  getFlag(flagName: string): ClientFeature | undefined {
    return this.flags.get(flagName)?.definition;
  }

  // The compiled flag of this name, for callers that keep their own per-flag table (the SDK keeps its
  // metrics counter next to it) and so look a flag up once per evaluation.
  lookup(flagName: string): FlagHandle | undefined {
    return this.find(flagName);
  }

  // isEnabled() of a flag from lookup() of this evaluator.
  isEnabledFlag(handle: FlagHandle, context: EvaluationContext = EMPTY_CONTEXT): boolean {
    return this.match(handle as CompiledFlag, context) >= NO_STRATEGIES;
  }

  isEnabled(
    flagName: string,
    context: EvaluationContext = EMPTY_CONTEXT,
    fallback: boolean | FallbackFunction = false,
  ): boolean {
    const flag = this.find(flagName);
    if (flag === undefined) return typeof fallback === 'function' ? fallback(flagName, context) : fallback;
    return this.match(flag, context) >= NO_STRATEGIES;
  }

  getVariant(
    flagName: string,
    context: EvaluationContext = EMPTY_CONTEXT,
    fallbackVariant?: Omit<VariantResult, 'feature_enabled'> & { feature_enabled?: boolean },
  ): VariantResult {
    const flag = this.find(flagName);
    if (flag === undefined) return withFeatureEnabled(fallbackVariant, false);
    return this.getVariantFlag(flag, context, fallbackVariant);
  }

  // getVariant() of a flag from lookup() of this evaluator.
  getVariantFlag(
    handle: FlagHandle,
    context: EvaluationContext = EMPTY_CONTEXT,
    fallbackVariant?: Omit<VariantResult, 'feature_enabled'> & { feature_enabled?: boolean },
  ): VariantResult {
    const flag = handle as CompiledFlag;
    const code = this.match(flag, context);
    if (code < NO_STRATEGIES) return withFeatureEnabled(fallbackVariant, false);
    if (code >= 0) {
      const strategyVariants = flag.strategies[code].variants;
      if (strategyVariants !== undefined) {
        const variant = selectVariant(strategyVariants, context, this.random);
        if (variant !== undefined) return variant;
      }
    }
    if (flag.variants !== undefined) {
      const variant = selectVariant(flag.variants, context, this.random);
      if (variant !== undefined) return variant;
    }
    return withFeatureEnabled(fallbackVariant, true);
  }

  // The full outcome, with the OpenFeature reason and the strategy that matched.
  evaluate(flagName: string, context: EvaluationContext = EMPTY_CONTEXT): Evaluation {
    const flag = this.find(flagName);
    if (flag === undefined) {
      return {
        flag: flagName,
        enabled: false,
        variant: DISABLED_VARIANT,
        reason: 'ERROR',
        errorCode: 'FLAG_NOT_FOUND',
        detail: 'FLAG_NOT_FOUND',
        variantSource: 'none',
      };
    }
    const code = this.match(flag, context);
    if (code < NO_STRATEGIES) {
      return {
        flag: flagName,
        enabled: false,
        variant: DISABLED_VARIANT,
        reason: code === FLAG_DISABLED ? 'DISABLED' : 'DEFAULT',
        detail:
          code === FLAG_DISABLED
            ? 'FLAG_DISABLED'
            : code === DEPENDENCY_NOT_MET
              ? 'DEPENDENCY_NOT_MET'
              : 'NO_STRATEGY_MATCHED',
        variantSource: 'none',
      };
    }
    const strategy = code >= 0 ? flag.strategies[code] : undefined;
    let reason: EvaluationReason = strategy === undefined ? 'STATIC' : strategy.reason;
    let variant: VariantResult | undefined;
    let variantSource: Evaluation['variantSource'] = 'none';
    let pick = this.pick(strategy?.variants, context);
    if (pick !== undefined) variantSource = 'strategy';
    else {
      pick = this.pick(flag.variants, context);
      if (pick !== undefined) variantSource = 'feature';
    }
    if (pick !== undefined) {
      variant = pick.variant;
      if (pick.override) reason = 'TARGETING_MATCH';
      else if (pick.split) reason = 'SPLIT';
    }
    const result: Evaluation = {
      flag: flagName,
      enabled: true,
      variant: variant ?? DISABLED_VARIANT_FEATURE_ENABLED,
      reason,
      detail: strategy === undefined ? 'NO_STRATEGIES' : 'STRATEGY_MATCHED',
      variantSource,
    };
    if (strategy !== undefined) {
      result.strategy =
        strategy.id === undefined
          ? { index: strategy.index, name: strategy.name }
          : { index: strategy.index, name: strategy.name, id: strategy.id };
    }
    return result;
  }

  // Every flag for one context, e.g. for a bulk evaluation endpoint.
  evaluateAll(context: EvaluationContext = EMPTY_CONTEXT): Evaluation[] {
    const out: Evaluation[] = [];
    for (const name of this.flags.keys()) out.push(this.evaluate(name, context));
    return out;
  }

  // A variant with how it was chosen, for evaluate(); selectVariant() is the allocation-free version.
  private pick(
    cv: CompiledVariants | undefined,
    ctx: EvaluationContext,
  ): { variant: VariantResult; override: boolean; split: boolean } | undefined {
    if (cv === undefined || cv.totalWeight <= 0) return undefined;
    const override = overrideVariant(cv, ctx);
    if (override !== undefined) return { variant: override, override: true, split: cv.split };
    const variant = weightedVariant(cv, ctx, this.random);
    return variant === undefined ? undefined : { variant, override: false, split: cv.split };
  }

  private find(flagName: string): CompiledFlag | undefined {
    return typeof flagName === 'string' ? this.byName[flagName] : undefined;
  }

  // Outcome codes: >= 0 the index of the strategy that matched; NO_STRATEGIES (enabled, none to match);
  // else why the flag is off.
  private match(flag: CompiledFlag, ctx: EvaluationContext): number {
    return flag.matcher(ctx);
  }

  private matcherOf(flag: CompiledFlag): FlagMatcher {
    if (!flag.enabled || flag.malformed) return DISABLED_MATCHER;
    const strategies = strategiesMatcher(flag.strategies);
    const deps = flag.dependencies;
    if (deps.length === 0) return strategies;
    return (ctx) => {
      for (let k = 0; k < deps.length; k++)
        if (!this.dependencySatisfied(deps[k], ctx)) return DEPENDENCY_NOT_MET;
      return strategies(ctx);
    };
  }

  private dependencySatisfied(dep: CompiledDependency, ctx: EvaluationContext): boolean {
    const parent = dep.parent;
    if (parent === undefined) return false;
    if (!dep.expectEnabled) return this.match(parent, ctx) < NO_STRATEGIES;
    if (dep.variants === undefined) return this.match(parent, ctx) >= NO_STRATEGIES;
    const variant = this.getVariant(parent.name, ctx);
    return variant.feature_enabled && dep.variants.has(variant.name);
  }
}

function withFeatureEnabled(
  fallback: (Omit<VariantResult, 'feature_enabled'> & { feature_enabled?: boolean }) | undefined,
  featureEnabled: boolean,
): VariantResult {
  if (fallback === undefined) return featureEnabled ? DISABLED_VARIANT_FEATURE_ENABLED : DISABLED_VARIANT;
  return { ...fallback, feature_enabled: featureEnabled };
}

// Compiles a client features response (GET /api/client/features) into an Evaluator.
export function compile(response: ClientFeaturesResponse, options?: CompileOptions): Evaluator {
  return new Evaluator(response, options);
}
