// The public client: evaluates flags locally from the configuration Wavegate serves (Unleash client API format)
// and counts each evaluation. Evaluation never does I/O and never throws. The rest is delegated: keeping the
// configuration current (connection.ts), holding it and the cache file (configuration-store.ts), and sending
// metrics and error reports (reporting.ts). This file owns the hot path, readiness and the events.
import { EventEmitter } from 'node:events';
import {
  EMPTY_FEATURES_RESPONSE,
  compile,
  type ClientFeature,
  type Evaluation,
  type EvaluationContext,
  type Evaluator,
  type FallbackFunction,
  type FlagHandle,
  type VariantResult,
} from '@wavegate/evaluation';
import { ConfigurationStore, type AppliedConfiguration } from './configuration-store';
import { Connection, type ConnectionState } from './connection';
import { WavegateTimeoutError } from './errors';
import { safeHostname } from './hostname';
import { HttpClient } from './http';
import { consoleLogger } from './logger';
import { countIn, type MetricsAggregator, type ToggleCounter } from './metrics';
import { Reporter } from './reporting';
import type { ConfigurationSource, FetchLike, Logger, UpdateEvent, WavegateClientOptions } from './types';
import { SDK_NAME, SDK_VERSION } from './version';

export { WavegateAuthError, WavegateTimeoutError } from './errors';
export { silentLogger } from './logger';

export type VariantFallback = Omit<VariantResult, 'feature_enabled'> & { feature_enabled?: boolean };

export interface WavegateClientEvents {
  ready: () => void;
  update: (update: UpdateEvent) => void;
  error: (error: Error) => void;
}

// Per flag of the configuration: the compiled flag and its metrics counter, so that isEnabled and getVariant
// look a flag up once.
interface FlagSlot {
  flag: FlagHandle;
  counter: ToggleCounter | undefined;
  generation: number;
}

export class WavegateClient extends EventEmitter {
  readonly appName: string;
  readonly instanceId: string;
  readonly environment: string | undefined;
  readonly logger: Logger;

  private evaluator: Evaluator = compile(EMPTY_FEATURES_RESPONSE);
  // Emptied when the configuration changes; a slot's counter is valid for one metrics generation (a bucket).
  private slots: Record<string, FlagSlot | undefined> = Object.create(null) as Record<
    string,
    FlagSlot | undefined
  >;
  private readonly metrics: MetricsAggregator | undefined;
  // The static context (appName, environment, options.context) is merged into evaluation contexts only
  // when the configuration refers to one of its fields: the hot path allocates nothing otherwise.
  private readonly staticContext: EvaluationContext;
  private needsStaticContext = false;

  private readonly store: ConfigurationStore;
  private readonly connection: Connection;
  private readonly reporter: Reporter;
  private closed = false;

  private readyState: 'pending' | 'ready' | 'failed' = 'pending';
  private readonly readyPromise: Promise<void>;
  private resolveReady!: () => void;
  private rejectReady!: (e: Error) => void;

  constructor(options: WavegateClientOptions) {
    super();
    for (const key of ['url', 'token', 'appName'] as const) {
      if (typeof options[key] !== 'string' || options[key] === '')
        throw new TypeError(`WavegateClient: option "${key}" is required`);
    }
    this.appName = options.appName;
    this.environment = options.environment;
    this.instanceId = options.instanceId ?? `${options.appName}-${safeHostname()}-${process.pid}`;
    const fetchFn = options.fetch ?? (globalThis as { fetch?: FetchLike }).fetch;
    if (fetchFn === undefined)
      throw new TypeError('WavegateClient: no global fetch (Node 18+); pass options.fetch');
    this.logger = options.logger ?? consoleLogger;
    const http = new HttpClient(
      options.url.replace(/\/+$/, ''),
      fetchFn,
      this.requestHeaders(options),
      options.timeoutMs ?? 10_000,
      this.logger,
    );
    this.staticContext = staticContextOf(options);
    const identity = { appName: this.appName, instanceId: this.instanceId, environment: this.environment };
    this.reporter = new Reporter(options, identity, http);
    this.metrics = this.reporter.metrics;
    this.store = new ConfigurationStore(options.cacheFile, Object.keys(this.staticContext), this.logger, {
      applied: (c) => this.applied(c),
      rejected: (e) => this.emitError(e),
    });
    this.connection = new Connection(options, http, this.store, this.logger, {
      failed: (e) => {
        this.failReady(e);
        this.emitError(e);
      },
      error: (e) => this.emitError(e),
    });

    this.readyPromise = new Promise<void>((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    // Handled here so that a client nobody awaits does not crash the process with an unhandled rejection.
    this.readyPromise.catch(() => undefined);

    if (options.bootstrap !== undefined) this.store.loadBootstrap(options.bootstrap);
    if (options.offline === true) {
      setImmediate(() => void this.startOffline());
      return;
    }
    this.reporter.start();
    // Started on the next tick so that listeners attached right after construction see every event.
    setImmediate(() => this.start());
  }

  override on<E extends keyof WavegateClientEvents>(event: E, listener: WavegateClientEvents[E]): this {
    return super.on(event, listener);
  }

  override once<E extends keyof WavegateClientEvents>(event: E, listener: WavegateClientEvents[E]): this {
    return super.once(event, listener);
  }

  override off<E extends keyof WavegateClientEvents>(event: E, listener: WavegateClientEvents[E]): this {
    return super.off(event, listener);
  }

  // Resolves once a configuration is loaded: from the server, the bootstrap or the cache file. Rejects with
  // WavegateAuthError on a refused token, and with WavegateTimeoutError after `timeoutMs` when given.
  ready(timeoutMs?: number): Promise<void> {
    if (timeoutMs === undefined || this.readyState !== 'pending') return this.readyPromise;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new WavegateTimeoutError(timeoutMs)), timeoutMs);
      this.readyPromise.then(
        () => {
          clearTimeout(timer);
          resolve();
        },
        (e: Error) => {
          clearTimeout(timer);
          reject(e);
        },
      );
    });
  }

  get isReady(): boolean {
    return this.readyState === 'ready';
  }

  // How the client currently gets updates, and where its configuration came from.
  get status(): { connection: ConnectionState; source: ConfigurationSource | undefined; flagCount: number } {
    return { connection: this.connection.state, source: this.store.source, flagCount: this.evaluator.size };
  }

  isEnabled(
    flag: string,
    context?: EvaluationContext,
    fallback: boolean | FallbackFunction = false,
  ): boolean {
    const slot = this.slot(flag);
    if (slot === undefined) {
      const enabled = this.evaluator.isEnabled(flag, this.withStatic(context), fallback);
      if (this.metrics !== undefined) this.metrics.count(flag, enabled);
      return enabled;
    }
    const enabled = this.evaluator.isEnabledFlag(slot.flag, this.withStatic(context));
    if (slot.counter !== undefined) countIn(slot.counter, enabled);
    return enabled;
  }

  getVariant(flag: string, context?: EvaluationContext, fallback?: VariantFallback): VariantResult {
    const slot = this.slot(flag);
    if (slot === undefined) {
      const variant = this.evaluator.getVariant(flag, this.withStatic(context), fallback);
      if (this.metrics !== undefined) this.metrics.countVariant(flag, variant.feature_enabled, variant.name);
      return variant;
    }
    const variant = this.evaluator.getVariantFlag(slot.flag, this.withStatic(context), fallback);
    if (slot.counter !== undefined && this.metrics !== undefined)
      this.metrics.countVariantIn(slot.counter, variant.feature_enabled, variant);
    return variant;
  }

  // The full outcome with OpenFeature's reason; used by the OpenFeature provider.
  evaluate(flag: string, context?: EvaluationContext): Evaluation {
    const evaluation = this.evaluator.evaluate(flag, this.withStatic(context));
    if (this.metrics !== undefined && evaluation.errorCode === undefined)
      this.metrics.countVariant(flag, evaluation.enabled, evaluation.variant.name);
    return evaluation;
  }

  getFlag(flag: string): ClientFeature | undefined {
    return this.evaluator.getFlag(flag);
  }

  get flagNames(): string[] {
    return this.evaluator.flagNames;
  }

  // Counts an error that happened behind a flag, for the context's tenant (`tenantId`). Errors are sent in
  // batches; Wavegate turns them into signals that halt a rollout whose newly exposed tenants fail.
  reportError(flag: string, context?: EvaluationContext, error?: unknown): void {
    this.reporter.reportError(flag, context, error);
  }

  // Runs fn with the flag's state and reports what it throws (or what its promise rejects with), then
  // rethrows it: `await client.withFlag('new-checkout', ctx, (on) => on ? checkoutV2() : checkout())`.
  withFlag<T>(flag: string, context: EvaluationContext | undefined, fn: (enabled: boolean) => T): T {
    const enabled = this.isEnabled(flag, context);
    let result: T;
    try {
      result = fn(enabled);
    } catch (e) {
      this.reportError(flag, context, e);
      throw e;
    }
    if (isThenable(result)) {
      return result.then(undefined, (e: unknown) => {
        this.reportError(flag, context, e);
        throw e;
      }) as T;
    }
    return result;
  }

  // Sends the metrics counted since the last send. Resolves whatever happens; a failed send keeps the counts.
  flushMetrics(): Promise<void> {
    return this.reporter.flushMetrics();
  }

  // Sends the error reports counted since the last send. A failed send keeps them for the next one.
  flushErrors(): Promise<void> {
    return this.reporter.flushErrors();
  }

  // Stops streaming and polling, then sends pending metrics and error reports. Evaluation keeps working
  // with the last configuration.
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.connection.close();
    this.store.close();
    this.reporter.stop();
    if (this.readyState === 'pending')
      this.failReady(new Error('Wavegate client closed before it was ready'));
    await Promise.all([this.flushMetrics(), this.flushErrors()]);
    await this.store.pendingWrite;
  }

  // The slot of a flag of the configuration; undefined for an unknown flag. When the metrics bucket is full
  // the slot has no counter, is not kept, and the evaluation is counted as dropped (as count() does).
  private slot(flag: string): FlagSlot | undefined {
    if (typeof flag !== 'string') return undefined;
    const slot = this.slots[flag];
    const metrics = this.metrics;
    if (slot !== undefined && (metrics === undefined || slot.generation === metrics.generation)) return slot;
    const handle = this.evaluator.lookup(flag);
    if (handle === undefined) return undefined;
    const fresh: FlagSlot = {
      flag: handle,
      counter: metrics === undefined ? undefined : metrics.counterFor(flag),
      generation: metrics === undefined ? 0 : metrics.generation,
    };
    if (metrics === undefined || fresh.counter !== undefined) this.slots[flag] = fresh;
    return fresh;
  }

  private withStatic(context: EvaluationContext | undefined): EvaluationContext {
    if (context === undefined) return this.staticContext;
    return this.needsStaticContext ? { ...this.staticContext, ...context } : context;
  }

  // A new configuration from the store: evaluate with it from now on, then tell the listeners.
  private applied({ evaluator, source, changed, first, usesStaticContext }: AppliedConfiguration): void {
    this.evaluator = evaluator;
    this.slots = Object.create(null) as Record<string, FlagSlot | undefined>;
    this.needsStaticContext = usesStaticContext;
    if (this.readyState === 'pending') {
      this.readyState = 'ready';
      this.resolveReady();
      this.emit('ready');
    }
    if (first || changed.length > 0) {
      const update: UpdateEvent = { source, changed, flagCount: evaluator.size };
      this.emit('update', update);
    }
  }

  private requestHeaders(options: WavegateClientOptions): Record<string, string> {
    return {
      Authorization: options.token,
      'UNLEASH-APPNAME': options.appName,
      'UNLEASH-INSTANCEID': this.instanceId,
      'UNLEASH-SDK': `${SDK_NAME}:${SDK_VERSION}`,
      'User-Agent': `${SDK_NAME}/${SDK_VERSION} (${options.appName})`,
      ...options.headers,
    };
  }

  // Offline: the bootstrap, else the cache file; never a request.
  private async startOffline(): Promise<void> {
    if (this.readyState === 'pending') await this.store.loadCacheOnce();
    this.failReady(new Error('offline Wavegate client without a bootstrap or a readable cache file'));
  }

  private start(): void {
    if (this.closed) return;
    this.reporter.register();
    this.connection.start();
  }

  private failReady(error: Error): void {
    if (this.readyState !== 'pending') return;
    this.readyState = 'failed';
    this.rejectReady(error);
  }

  private emitError(error: Error): void {
    // EventEmitter throws on an 'error' event nobody listens to; log it instead.
    if (this.listenerCount('error') > 0) this.emit('error', error);
    else this.logger.warn(error.message);
  }
}

function staticContextOf(options: WavegateClientOptions): EvaluationContext {
  const staticContext: EvaluationContext = { appName: options.appName };
  if (options.environment !== undefined) staticContext.environment = options.environment;
  Object.assign(staticContext, options.context);
  return Object.freeze(staticContext);
}

function isThenable(value: unknown): value is Promise<unknown> {
  return (
    typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function'
  );
}
