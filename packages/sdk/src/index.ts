// @wavegate/sdk: evaluate Wavegate flags locally, stay current through server-sent events (polling as the
// fallback), keep working offline, and report errors so that a bad rollout halts itself.
export { WavegateClient } from './client';
export { WavegateAuthError, WavegateTimeoutError } from './errors';
export { silentLogger } from './logger';
export type { VariantFallback, WavegateClientEvents } from './client';
export { SDK_NAME, SDK_VERSION } from './version';
export type {
  ConfigurationSource,
  ErrorReport,
  ErrorReportBody,
  FetchInitLike,
  FetchLike,
  FetchResponseLike,
  Logger,
  MetricsBody,
  MetricsBucket,
  UpdateEvent,
  WavegateClientOptions,
} from './types';
export type {
  ClientFeature,
  ClientFeaturesResponse,
  Evaluation,
  EvaluationContext,
  EvaluationReason,
  VariantResult,
} from '@wavegate/evaluation';
