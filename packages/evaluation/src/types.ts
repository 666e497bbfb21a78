// The Unleash client API wire format (GET /api/client/features, v2) and the engine's own result types.
// Field names follow Unleash exactly, so the JSON the server serves is what every Unleash SDK expects.

export type ConstraintOperator =
  | 'IN'
  | 'NOT_IN'
  | 'STR_STARTS_WITH'
  | 'STR_ENDS_WITH'
  | 'STR_CONTAINS'
  | 'NUM_EQ'
  | 'NUM_GT'
  | 'NUM_GTE'
  | 'NUM_LT'
  | 'NUM_LTE'
  | 'DATE_AFTER'
  | 'DATE_BEFORE'
  | 'SEMVER_EQ'
  | 'SEMVER_GT'
  | 'SEMVER_GTE'
  | 'SEMVER_LT'
  | 'SEMVER_LTE'
  | 'REGEX'
  | 'IN_CIDR';

export const CONSTRAINT_OPERATORS: readonly ConstraintOperator[] = [
  'IN',
  'NOT_IN',
  'STR_STARTS_WITH',
  'STR_ENDS_WITH',
  'STR_CONTAINS',
  'NUM_EQ',
  'NUM_GT',
  'NUM_GTE',
  'NUM_LT',
  'NUM_LTE',
  'DATE_AFTER',
  'DATE_BEFORE',
  'SEMVER_EQ',
  'SEMVER_GT',
  'SEMVER_GTE',
  'SEMVER_LT',
  'SEMVER_LTE',
  'REGEX',
  'IN_CIDR',
];

export interface Constraint {
  contextName: string;
  // A string rather than ConstraintOperator: an SDK must survive operators newer than itself.
  operator: ConstraintOperator | string;
  values?: string[];
  value?: string;
  inverted?: boolean;
  caseInsensitive?: boolean;
}

export interface Segment {
  id: number;
  name?: string | null;
  constraints?: Constraint[];
}

export type PayloadType = 'string' | 'json' | 'csv' | 'number' | string;

export interface VariantPayload {
  type: PayloadType;
  value: string;
}

export interface Override {
  contextName: string;
  values: string[];
}

export interface VariantDefinition {
  name: string;
  weight: number;
  weightType?: 'variable' | 'fix' | string;
  stickiness?: string;
  payload?: VariantPayload;
  overrides?: Override[];
}

export interface StrategyVariant {
  name: string;
  weight: number;
  weightType?: 'variable' | 'fix' | string;
  stickiness?: string;
  payload?: VariantPayload;
}

export interface Strategy {
  name: string;
  id?: string;
  title?: string | null;
  disabled?: boolean | null;
  sortOrder?: number;
  parameters?: Record<string, string | number | undefined>;
  constraints?: Constraint[];
  segments?: number[];
  variants?: StrategyVariant[];
}

export interface FeatureDependency {
  feature: string;
  enabled?: boolean;
  variants?: string[];
}

export interface ClientFeature {
  name: string;
  enabled: boolean;
  type?: string;
  description?: string | null;
  project?: string;
  stale?: boolean;
  impressionData?: boolean;
  strategies?: Strategy[];
  variants?: VariantDefinition[];
  dependencies?: FeatureDependency[];
}

export interface ClientFeaturesResponse {
  version: number;
  features: ClientFeature[];
  segments?: Segment[];
  query?: Record<string, unknown>;
  meta?: Record<string, unknown>;
}

// The Unleash delta API (GET /api/client/delta): a stream of events applied to a features response.
export type DeltaEvent =
  | { type: 'hydration'; eventId: number; features: ClientFeature[]; segments?: Segment[] }
  | { type: 'feature-updated'; eventId: number; feature: ClientFeature }
  | { type: 'feature-removed'; eventId: number; featureName: string; project?: string }
  | { type: 'segment-updated'; eventId: number; segment: Segment }
  | { type: 'segment-removed'; eventId: number; segmentId: number };

export interface ClientFeaturesDelta {
  events: DeltaEvent[];
}

export type ContextPropertyValue = string | number | boolean | null | undefined;

// The Unleash context. Any other top-level field is looked up like `properties.*`, as the Unleash SDKs do.
export interface EvaluationContext {
  userId?: string;
  sessionId?: string;
  remoteAddress?: string;
  environment?: string;
  appName?: string;
  currentTime?: string | Date | number;
  properties?: Record<string, ContextPropertyValue>;
  [field: string]: unknown;
}

// What getVariant returns; the shape of the Unleash node SDK (and of the client specification).
export interface VariantResult {
  name: string;
  enabled: boolean;
  payload?: VariantPayload;
  feature_enabled: boolean;
}

// OpenFeature's resolution reasons, so that OFREP and the OpenFeature provider can pass them through.
export type EvaluationReason = 'STATIC' | 'TARGETING_MATCH' | 'SPLIT' | 'DEFAULT' | 'DISABLED' | 'ERROR';

// Why a flag came out false, when it did; finer than the OpenFeature reason.
export type EvaluationDetail =
  | 'FLAG_NOT_FOUND'
  | 'FLAG_DISABLED'
  | 'DEPENDENCY_NOT_MET'
  | 'NO_STRATEGY_MATCHED'
  | 'NO_STRATEGIES'
  | 'STRATEGY_MATCHED';

export interface MatchedStrategy {
  // Position in the flag's strategy list as served.
  index: number;
  name: string;
  id?: string;
}

export interface Evaluation {
  flag: string;
  enabled: boolean;
  variant: VariantResult;
  reason: EvaluationReason;
  detail: EvaluationDetail;
  // Set when reason is ERROR.
  errorCode?: 'FLAG_NOT_FOUND';
  strategy?: MatchedStrategy;
  // Where the variant came from: a strategy's variants, the flag's variants, or none (the disabled variant).
  variantSource: 'strategy' | 'feature' | 'none';
}

export interface CompileOptions {
  // The host name the applicationHostname strategy compares against (Unleash SDKs read it from the OS).
  // Without it, applicationHostname strategies never match.
  hostname?: string;
  // A number in [0, 1); Math.random by default. Used only where Unleash itself is random.
  random?: () => number;
  // Milliseconds since the epoch, for DATE_* constraints when the context has no currentTime.
  now?: () => number;
}

export type FallbackFunction = (flagName: string, context: EvaluationContext) => boolean;
