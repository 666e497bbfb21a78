// @wavegate/evaluation: Unleash-compatible flag evaluation, shared by the Wavegate server and SDK.
// Pure: no I/O, no dependencies. compile() a client features response once, then evaluate many times.
export { Evaluator, compile } from './evaluator';
export type { FlagHandle } from './evaluator';
export { applyDelta, isDelta, EMPTY_FEATURES_RESPONSE } from './delta';
export { compileConstraint, isKnownOperator } from './constraints';
export type { ConstraintMatcher, ConstraintEnv } from './constraints';
export { BUILT_IN_STRATEGIES } from './strategies';
export { DISABLED_VARIANT, DISABLED_VARIANT_FEATURE_ENABLED } from './variants';
export { murmurhash3, murmurhash3Concat, normalizedValue, STRATEGY_SEED, VARIANT_SEED } from './murmurhash3';
export { parseSemver, compareSemver } from './semver';
export type { ParsedSemver } from './semver';
export { parseCidr } from './ip';
export type { CidrRange } from './ip';
export { compileRe2 } from './re2';
export type { Re2Matcher } from './re2';
export { resolveContextValue } from './context';
export { CONSTRAINT_OPERATORS } from './types';
export type {
  ClientFeature,
  ClientFeaturesDelta,
  ClientFeaturesResponse,
  CompileOptions,
  Constraint,
  ConstraintOperator,
  DeltaEvent,
  Evaluation,
  EvaluationContext,
  EvaluationDetail,
  EvaluationReason,
  FallbackFunction,
  FeatureDependency,
  MatchedStrategy,
  Override,
  PayloadType,
  Segment,
  Strategy,
  StrategyVariant,
  VariantDefinition,
  VariantPayload,
  VariantResult,
} from './types';
