// OpenFeature provider for @openfeature/server-sdk (a peer dependency, needed only by this entry point):
//   import { OpenFeature } from '@openfeature/server-sdk';
//   import { WavegateProvider } from '@wavegate/sdk/openfeature';
//   await OpenFeature.setProviderAndWait(new WavegateProvider({ url, token, appName }));
import {
  FlagNotFoundError,
  OpenFeatureEventEmitter,
  ParseError,
  ProviderEvents,
  TypeMismatchError,
  type EvaluationContext as OpenFeatureContext,
  type FlagMetadata,
  type JsonValue,
  type Provider,
  type ResolutionDetails,
  type TrackingEventDetails,
} from '@openfeature/server-sdk';
import type { Evaluation, EvaluationContext } from '@wavegate/evaluation';
import { WavegateClient } from './client';
import type { UpdateEvent, WavegateClientOptions } from './types';

export interface WavegateProviderOptions {
  // Which flag a tracking event reports an error for; undefined ignores the event. By default:
  // `details.flagKey` when it is a string, else the event name when it is a known flag.
  errorFlagOf?: (
    eventName: string,
    details: TrackingEventDetails,
    client: WavegateClient,
  ) => string | undefined;
}

// Boolean flags resolve to whether the flag is on. String, number and object flags resolve to the payload of
// the flag's variant (a string flag without a payload resolves to the variant's name); when the flag is off,
// or on without a variant, they resolve to the default value with reason DISABLED or DEFAULT.
export class WavegateProvider implements Provider {
  readonly metadata = { name: 'Wavegate' } as const;
  readonly runsOn = 'server' as const;
  readonly events = new OpenFeatureEventEmitter();
  readonly client: WavegateClient;
  private readonly ownsClient: boolean;
  private readonly errorFlagOf: NonNullable<WavegateProviderOptions['errorFlagOf']>;
  private initialized = false;

  constructor(client: WavegateClient | WavegateClientOptions, options: WavegateProviderOptions = {}) {
    this.ownsClient = !(client instanceof WavegateClient);
    this.client = client instanceof WavegateClient ? client : new WavegateClient(client);
    this.errorFlagOf = options.errorFlagOf ?? defaultErrorFlag;
    this.client.on('update', (update: UpdateEvent) => {
      if (this.initialized)
        this.events.emit(ProviderEvents.ConfigurationChanged, { flagsChanged: update.changed });
    });
    this.client.on('error', (error: Error) => {
      if (error.name === 'WavegateAuthError')
        this.events.emit(ProviderEvents.Error, { message: error.message });
    });
  }

  async initialize(): Promise<void> {
    await this.client.ready();
    this.initialized = true;
  }

  async onClose(): Promise<void> {
    if (this.ownsClient) await this.client.close();
  }

  async resolveBooleanEvaluation(
    flagKey: string,
    _defaultValue: boolean,
    context: OpenFeatureContext,
  ): Promise<ResolutionDetails<boolean>> {
    const evaluation = this.evaluate(flagKey, context);
    return {
      value: evaluation.enabled,
      variant: evaluation.enabled ? 'on' : 'off',
      reason: evaluation.reason,
      flagMetadata: metadataOf(evaluation),
    };
  }

  async resolveStringEvaluation(
    flagKey: string,
    defaultValue: string,
    context: OpenFeatureContext,
  ): Promise<ResolutionDetails<string>> {
    return this.fromVariant(flagKey, defaultValue, context, (payload, variantName) => {
      if (payload === undefined) return variantName;
      return payload.value;
    });
  }

  async resolveNumberEvaluation(
    flagKey: string,
    defaultValue: number,
    context: OpenFeatureContext,
  ): Promise<ResolutionDetails<number>> {
    return this.fromVariant(flagKey, defaultValue, context, (payload) => {
      const n = payload === undefined || payload.value.trim() === '' ? NaN : Number(payload.value);
      if (Number.isNaN(n))
        throw new TypeMismatchError(`flag ${flagKey}: the variant's payload is not a number`);
      return n;
    });
  }

  async resolveObjectEvaluation<T extends JsonValue>(
    flagKey: string,
    defaultValue: T,
    context: OpenFeatureContext,
  ): Promise<ResolutionDetails<T>> {
    return this.fromVariant(flagKey, defaultValue, context, (payload) => {
      if (payload === undefined || payload.type !== 'json')
        throw new TypeMismatchError(`flag ${flagKey}: the variant's payload is not JSON`);
      try {
        return JSON.parse(payload.value) as T;
      } catch (e) {
        throw new ParseError(
          `flag ${flagKey}: the variant's JSON payload does not parse: ${(e as Error).message}`,
        );
      }
    });
  }

  // Tracking events become error reports (see WavegateProviderOptions.errorFlagOf).
  track(eventName: string, context: OpenFeatureContext, details: TrackingEventDetails = {}): void {
    const flag = this.errorFlagOf(eventName, details, this.client);
    if (flag === undefined) return;
    const message = typeof details.message === 'string' ? details.message : eventName;
    this.client.reportError(flag, toWavegateContext(context), message);
  }

  private evaluate(flagKey: string, context: OpenFeatureContext): Evaluation {
    const evaluation = this.client.evaluate(flagKey, toWavegateContext(context));
    if (evaluation.errorCode === 'FLAG_NOT_FOUND') throw new FlagNotFoundError(`flag ${flagKey} not found`);
    return evaluation;
  }

  private fromVariant<T>(
    flagKey: string,
    defaultValue: T,
    context: OpenFeatureContext,
    valueOf: (payload: Evaluation['variant']['payload'], variantName: string) => T,
  ): ResolutionDetails<T> {
    const evaluation = this.evaluate(flagKey, context);
    const flagMetadata = metadataOf(evaluation);
    if (!evaluation.enabled) return { value: defaultValue, reason: evaluation.reason, flagMetadata };
    if (!evaluation.variant.enabled) return { value: defaultValue, reason: 'DEFAULT', flagMetadata };
    return {
      value: valueOf(evaluation.variant.payload, evaluation.variant.name),
      variant: evaluation.variant.name,
      reason: evaluation.reason,
      flagMetadata,
    };
  }
}

function defaultErrorFlag(eventName: string, details: TrackingEventDetails, client: WavegateClient) {
  if (typeof details.flagKey === 'string') return details.flagKey;
  return client.getFlag(eventName) === undefined ? undefined : eventName;
}

function metadataOf(evaluation: Evaluation): FlagMetadata {
  const metadata: Record<string, string | number | boolean> = {
    detail: evaluation.detail,
    variantSource: evaluation.variantSource,
  };
  if (evaluation.strategy !== undefined) {
    metadata.strategy = evaluation.strategy.name;
    metadata.strategyIndex = evaluation.strategy.index;
  }
  return metadata;
}

// OpenFeature's targetingKey is Unleash's userId; other fields are kept as they are (the engine reads
// top-level fields like `properties.*`), dates become ISO strings, nested objects other than `properties` are dropped.
export function toWavegateContext(context: OpenFeatureContext): EvaluationContext {
  const out: EvaluationContext = {};
  for (const [key, value] of Object.entries(context)) {
    if (value === undefined || value === null) continue;
    if (key === 'targetingKey') continue;
    if (value instanceof Date) out[key] = value.toISOString();
    else if (typeof value !== 'object' || key === 'properties') out[key] = value;
  }
  if (out.userId === undefined && typeof context.targetingKey === 'string') out.userId = context.targetingKey;
  return out;
}
