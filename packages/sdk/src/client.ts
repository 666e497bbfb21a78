import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import {
  BUILT_IN_STRATEGIES,
  EMPTY_FEATURES_RESPONSE,
  applyDelta,
  compile,
  isDelta,
  resolveContextValue,
  type ClientFeature,
  type ClientFeaturesResponse,
  type DeltaEvent,
  type Evaluation,
  type EvaluationContext,
  type Evaluator,
  type FallbackFunction,
  type FlagHandle,
  type VariantResult,
} from '@wavegate/evaluation';
import { Backoff } from './backoff';
import {
  isFeaturesResponse,
  readConfiguration,
  readConfigurationSync,
  writeConfiguration,
} from './cache-file';
import { ErrorAggregator, errorMessage } from './error-reports';
import { MetricsAggregator, countIn, type ToggleCounter } from './metrics';
import { SseParser, type SseEvent } from './sse';
import type {
  ConfigurationSource,
  ErrorReportBody,
  FetchLike,
  FetchResponseLike,
  Logger,
  MetricsBody,
  UpdateEvent,
  WavegateClientOptions,
} from './types';
import { SDK_NAME, SDK_VERSION } from './version';

// The token was refused (401/403). Retrying cannot help, so the client stops and ready() rejects with it.
export class WavegateAuthError extends Error {
  constructor(
    readonly status: number,
    readonly path: string,
  ) {
    super(
      `Wavegate refused the client token (HTTP ${status} on ${path}): check that it is a client token ` +
        `(POST /api/tokens {kind: "client", environment}) and that it has not been revoked`,
    );
    this.name = 'WavegateAuthError';
  }
}

export class WavegateTimeoutError extends Error {
  constructor(ms: number) {
    super(
      `Wavegate client not ready after ${ms} ms: no configuration from the server, bootstrap or cache file`,
    );
    this.name = 'WavegateTimeoutError';
  }
}

export type VariantFallback = Omit<VariantResult, 'feature_enabled'> & { feature_enabled?: boolean };

type Connection = 'starting' | 'streaming' | 'polling' | 'offline' | 'closed' | 'failed';

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
const CONSOLE: Logger = {
  debug() {},
  info() {},
  warn: (m, ...a) => console.warn(`[wavegate] ${m}`, ...a),
  error: (m, ...a) => console.error(`[wavegate] ${m}`, ...a),
};

export interface WavegateClientEvents {
  ready: () => void;
  update: (update: UpdateEvent) => void;
  error: (error: Error) => void;
}

// Evaluates flags locally from the configuration Wavegate serves (Unleash client API format), kept current
// through server-sent events with polling as the fallback. Evaluation never does I/O and never throws.
interface FlagSlot {
  flag: FlagHandle;
  counter: ToggleCounter | undefined;
  generation: number;
}

export class WavegateClient extends EventEmitter {
  readonly appName: string;
  readonly instanceId: string;
  readonly environment: string | undefined;

  private readonly baseUrl: string;
  private readonly fetchFn: FetchLike;
  readonly logger: Logger;
  private readonly headers: Record<string, string>;
  private readonly options: WavegateClientOptions;
  private readonly refreshIntervalMs: number;
  private readonly timeoutMs: number;
  private readonly streamIdleTimeoutMs: number;
  private readonly streamBackoff: Backoff;
  private readonly pollBackoff: Backoff;

  private evaluator: Evaluator = compile(EMPTY_FEATURES_RESPONSE);
  private config: ClientFeaturesResponse | undefined;
  private flagJson = new Map<string, string>();
  private etag: string | undefined;
  // The id of the last stream event (Wavegate uses the configuration's ETag): sent as Last-Event-ID on
  // reconnect so that an unchanged configuration is not sent again.
  private lastEventId: string | undefined;
  private source: ConfigurationSource | undefined;
  private fromServer = false;
  private cacheTried = false;
  private cacheWrite: Promise<void> = Promise.resolve();

  // The static context (appName, environment, options.context) is merged into evaluation contexts only
  // when the configuration refers to one of its fields: the hot path allocates nothing otherwise.
  private readonly staticContext: EvaluationContext;
  private readonly staticKeys: string[];
  private needsStaticContext = false;

  private readonly metrics: MetricsAggregator | undefined;
  // Per flag of the configuration: the compiled flag and its metrics counter, so that isEnabled and
  // getVariant look a flag up once. Emptied when the configuration changes; a slot's counter is valid for
  // one metrics generation (a bucket).
  private slots: Record<string, FlagSlot | undefined> = Object.create(null) as Record<
    string,
    FlagSlot | undefined
  >;
  private readonly errors: ErrorAggregator;

  private connection: Connection = 'starting';
  private streamAbort: AbortController | undefined;
  private streamConnected = false;
  private streamDisabled: boolean;
  private pollTimer: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private metricsTimer: NodeJS.Timeout | undefined;
  private errorsTimer: NodeJS.Timeout | undefined;
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
    this.options = options;
    this.baseUrl = options.url.replace(/\/+$/, '');
    this.appName = options.appName;
    this.environment = options.environment;
    this.instanceId = options.instanceId ?? `${options.appName}-${safeHostname()}-${process.pid}`;
    const globalFetch = (globalThis as { fetch?: FetchLike }).fetch;
    const fetchFn = options.fetch ?? globalFetch;
    if (fetchFn === undefined)
      throw new TypeError('WavegateClient: no global fetch (Node 18+); pass options.fetch');
    this.fetchFn = fetchFn;
    this.logger = options.logger ?? CONSOLE;
    this.refreshIntervalMs = options.refreshIntervalMs ?? 15_000;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.streamIdleTimeoutMs = options.streamIdleTimeoutMs ?? 90_000;
    this.streamBackoff = new Backoff(options.backoffMinMs ?? 500, options.backoffMaxMs ?? 60_000);
    this.pollBackoff = new Backoff(options.backoffMinMs ?? 500, Math.max(this.refreshIntervalMs, 1));
    this.streamDisabled = options.streaming === false;
    this.headers = {
      Authorization: options.token,
      'UNLEASH-APPNAME': options.appName,
      'UNLEASH-INSTANCEID': this.instanceId,
      'UNLEASH-SDK': `${SDK_NAME}:${SDK_VERSION}`,
      'User-Agent': `${SDK_NAME}/${SDK_VERSION} (${options.appName})`,
      ...options.headers,
    };
    const staticContext: EvaluationContext = { appName: options.appName };
    if (options.environment !== undefined) staticContext.environment = options.environment;
    Object.assign(staticContext, options.context);
    this.staticContext = Object.freeze(staticContext);
    this.staticKeys = Object.keys(staticContext);
    const metricsIntervalMs = options.metricsIntervalMs ?? 60_000;
    this.metrics =
      metricsIntervalMs > 0 ? new MetricsAggregator(options.maxMetricsFlags ?? 10_000) : undefined;
    this.errors = new ErrorAggregator(options.maxErrorKeys ?? 1_000);

    this.readyPromise = new Promise<void>((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    // Handled here so that a client nobody awaits does not crash the process with an unhandled rejection.
    this.readyPromise.catch(() => undefined);

    if (options.bootstrap !== undefined) {
      try {
        const data =
          typeof options.bootstrap === 'string'
            ? readConfigurationSync(options.bootstrap)
            : options.bootstrap;
        if (!isFeaturesResponse(data))
          throw new Error('bootstrap: not a features response (no "features" array)');
        this.apply(data, 'bootstrap');
      } catch (e) {
        this.logger.warn(`bootstrap ignored: ${(e as Error).message}`);
      }
    }

    if (options.offline === true) {
      this.connection = 'offline';
      setImmediate(() => void this.startOffline());
      return;
    }
    if (this.metrics !== undefined) {
      this.metricsTimer = setInterval(() => void this.flushMetrics(), metricsIntervalMs);
      this.metricsTimer.unref();
    }
    this.errorsTimer = setInterval(() => void this.flushErrors(), options.errorsIntervalMs ?? 5_000);
    this.errorsTimer.unref();

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
  get status(): { connection: Connection; source: ConfigurationSource | undefined; flagCount: number } {
    return { connection: this.connection, source: this.source, flagCount: this.evaluator.size };
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
    const tenantId = context === undefined ? undefined : resolveContextValue(context, 'tenantId');
    this.errors.add(flag, tenantId, errorMessage(error) ?? 'unspecified error');
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
  async flushMetrics(): Promise<void> {
    if (this.options.offline === true) return;
    const bucket = this.metrics?.take();
    if (bucket === undefined) return;
    const body: MetricsBody = { appName: this.appName, instanceId: this.instanceId, bucket };
    if (this.environment !== undefined) body.environment = this.environment;
    const outcome = await this.post('/api/client/metrics', body);
    if (outcome === 'retry') this.metrics?.restore(bucket);
  }

  // Sends the error reports counted since the last send. A failed send keeps them for the next one.
  async flushErrors(): Promise<void> {
    if (this.errors.size === 0 || this.options.offline === true) return;
    const errors = this.errors.take();
    // Wavegate takes at most 1,000 reports per request.
    for (let i = 0; i < errors.length; i += 1000) {
      const chunk = errors.slice(i, i + 1000);
      const body: ErrorReportBody = { appName: this.appName, instanceId: this.instanceId, errors: chunk };
      if (this.environment !== undefined) body.environment = this.environment;
      const outcome = await this.post('/api/client/errors', body);
      if (outcome === 'retry') this.errors.restore(chunk);
    }
  }

  // Stops streaming and polling, then sends pending metrics and error reports. Evaluation keeps working
  // with the last configuration.
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.connection = 'closed';
    this.stopStream();
    this.clearTimers();
    if (this.readyState === 'pending')
      this.failReady(new Error('Wavegate client closed before it was ready'));
    await Promise.all([this.flushMetrics(), this.flushErrors()]);
    await this.cacheWrite;
  }

  // ---- configuration ----

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

  private apply(config: ClientFeaturesResponse, source: ConfigurationSource): void {
    let evaluator: Evaluator;
    try {
      evaluator = compile(config, { hostname: safeHostname() });
    } catch (e) {
      this.emitError(new Error(`configuration from ${source} rejected: ${(e as Error).message}`));
      return;
    }
    const json = new Map<string, string>();
    for (const f of config.features) json.set(f.name, JSON.stringify(f));
    const segmentsJson = JSON.stringify(config.segments ?? []);
    const previousSegments = JSON.stringify(this.config?.segments ?? []);
    const changed: string[] = [];
    for (const [name, j] of json) {
      if (this.flagJson.get(name) !== j) changed.push(name);
      else if (segmentsJson !== previousSegments && j.includes('"segments"')) changed.push(name);
    }
    for (const name of this.flagJson.keys()) if (!json.has(name)) changed.push(name);
    const first = this.config === undefined;

    this.evaluator = evaluator;
    this.slots = Object.create(null) as Record<string, FlagSlot | undefined>;
    this.config = config;
    this.flagJson = json;
    this.source = source;
    const whole = `${[...json.values()].join(',')}${segmentsJson}`;
    this.needsStaticContext = this.staticKeys.some((k) => whole.includes(`"${k}"`));

    if (source === 'poll' || source === 'stream') {
      const firstFromServer = !this.fromServer;
      this.fromServer = true;
      if (this.options.cacheFile !== undefined && (changed.length > 0 || firstFromServer))
        this.persist(this.options.cacheFile, config);
    }
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

  private persist(path: string, config: ClientFeaturesResponse): void {
    this.cacheWrite = this.cacheWrite
      .then(() => writeConfiguration(path, config))
      .catch((e: unknown) => this.logger.warn(`cache file ${path} not written: ${(e as Error).message}`));
  }

  // At boot, when the server cannot be reached: the last configuration it served, if a cache file holds one.
  private async loadCacheOnce(): Promise<void> {
    const path = this.options.cacheFile;
    if (path === undefined || this.cacheTried || this.fromServer) return;
    this.cacheTried = true;
    try {
      const config = await readConfiguration(path);
      if (this.fromServer || this.closed) return;
      this.apply(config, 'cache');
      this.logger.info(`Wavegate unreachable: started from cache file ${path}`);
    } catch (e) {
      this.logger.warn(`cache file not used: ${(e as Error).message}`);
    }
  }

  private failReady(error: Error): void {
    if (this.readyState !== 'pending') return;
    this.readyState = 'failed';
    this.rejectReady(error);
  }

  private fail(error: Error): void {
    this.connection = 'failed';
    this.stopStream();
    if (this.pollTimer !== undefined) clearTimeout(this.pollTimer);
    if (this.reconnectTimer !== undefined) clearTimeout(this.reconnectTimer);
    this.pollTimer = undefined;
    this.reconnectTimer = undefined;
    this.failReady(error);
    this.emitError(error);
  }

  private emitError(error: Error): void {
    // EventEmitter throws on an 'error' event nobody listens to; log it instead.
    if (this.listenerCount('error') > 0) this.emit('error', error);
    else this.logger.warn(error.message);
  }

  // ---- transport ----

  // Offline: the bootstrap, else the cache file; never a request.
  private async startOffline(): Promise<void> {
    if (this.readyState === 'pending') await this.loadCacheOnce();
    this.failReady(new Error('offline Wavegate client without a bootstrap or a readable cache file'));
  }

  private start(): void {
    if (this.closed) return;
    this.register();
    if (this.streamDisabled) {
      this.connection = 'polling';
      void this.poll();
    } else void this.connectStream();
  }

  private async connectStream(): Promise<void> {
    this.reconnectTimer = undefined;
    if (this.stopped()) return;
    const abort = new AbortController();
    this.streamAbort = abort;
    const path = '/api/client/stream';
    let response: FetchResponseLike;
    const connectTimer = setTimeout(() => abort.abort(), this.timeoutMs);
    try {
      response = await abortable(
        this.fetchFn(`${this.baseUrl}${path}`, {
          headers: {
            ...this.headers,
            Accept: 'text/event-stream',
            'Cache-Control': 'no-cache',
            ...(this.lastEventId !== undefined && this.fromServer
              ? { 'Last-Event-ID': this.lastEventId }
              : {}),
          },
          signal: abort.signal,
        }),
        abort.signal,
      );
    } catch (e) {
      clearTimeout(connectTimer);
      this.streamDown(abort, `stream connection failed: ${errorMessage(e)}`);
      return;
    }
    clearTimeout(connectTimer);
    if (!response.ok || this.closed) {
      // Not read any further: release the connection (aborting alone may not, see readStream).
      response.body?.cancel().catch(() => undefined);
    }
    if (response.status === 401 || response.status === 403) {
      this.fail(new WavegateAuthError(response.status, path));
      return;
    }
    if (response.status === 404 || response.status === 501) {
      // A server without the stream: poll for good.
      this.logger.warn(
        `no stream at ${path} (HTTP ${response.status}); polling every ${this.refreshIntervalMs} ms`,
      );
      this.streamDisabled = true;
      this.connection = 'polling';
      this.startPolling(true);
      return;
    }
    if (!response.ok || response.body === null) {
      this.streamDown(abort, `stream refused: HTTP ${response.status}`);
      return;
    }
    if (this.closed) {
      abort.abort();
      return;
    }
    this.streamConnected = true;
    this.connection = 'streaming';
    this.stopPolling();
    this.streamBackoff.reset();
    await this.readStream(response.body, abort);
  }

  private async readStream(body: ReadableStream<Uint8Array>, abort: AbortController): Promise<void> {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let lastByte = Date.now();
    const idle = setInterval(
      () => {
        if (Date.now() - lastByte > this.streamIdleTimeoutMs) abort.abort();
      },
      Math.max(50, Math.floor(this.streamIdleTimeoutMs / 3)),
    );
    idle.unref();
    // Aborting the request is not enough to end the stream everywhere (Node 18's fetch can lose the link
    // between the signal and the connection after a garbage collection): cancel the body too, which
    // closes the connection and ends the pending read.
    const cancel = (): void => void reader.cancel().catch(() => undefined);
    abort.signal.addEventListener('abort', cancel, { once: true });
    const parser = new SseParser((event) => this.onStreamEvent(event));
    let reason = 'stream closed by the server';
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        lastByte = Date.now();
        parser.push(decoder.decode(value, { stream: true }));
      }
    } catch (e) {
      reason = `stream broken: ${errorMessage(e)}`;
    } finally {
      clearInterval(idle);
      abort.signal.removeEventListener('abort', cancel);
    }
    if (abort.signal.aborted && !this.closed) reason = 'stream idle, reconnecting';
    this.streamDown(abort, reason, parser.retryMs);
  }

  private onStreamEvent(event: SseEvent): void {
    if (event.data === '' || this.closed) return;
    const id = event.id;
    let body: unknown;
    try {
      body = JSON.parse(event.data);
    } catch {
      this.logger.debug(`stream event "${event.event}" ignored: not JSON`);
      return;
    }
    // A full configuration replaces what we have; a delta ({events} or one event) is applied to it.
    if (isFeaturesResponse(body)) this.apply(body, 'stream');
    else if (isDelta(body)) this.apply(applyDelta(this.config ?? EMPTY_FEATURES_RESPONSE, body), 'stream');
    else if (isDeltaEvent(body))
      this.apply(applyDelta(this.config ?? EMPTY_FEATURES_RESPONSE, [body]), 'stream');
    else return;
    if (id !== undefined) this.lastEventId = id;
    this.streamBackoff.reset();
  }

  private streamDown(abort: AbortController, reason: string, retryMs?: number): void {
    if (this.streamAbort === abort) this.streamAbort = undefined;
    const wasConnected = this.streamConnected;
    this.streamConnected = false;
    if (this.stopped()) return;
    this.logger.warn(`${reason}; polling until the stream is back`);
    this.connection = 'polling';
    // Poll at once: updates may have been missed while the stream was down.
    this.startPolling(true);
    if (!wasConnected && !this.fromServer) void this.loadCacheOnce();
    const delay = Math.max(retryMs ?? 0, this.streamBackoff.next());
    this.reconnectTimer = setTimeout(() => void this.connectStream(), delay);
    this.reconnectTimer.unref();
  }

  private stopStream(): void {
    this.streamAbort?.abort();
    this.streamAbort = undefined;
    this.streamConnected = false;
  }

  private startPolling(immediate: boolean): void {
    if (this.pollTimer !== undefined || this.closed) return;
    this.pollTimer = setTimeout(() => void this.poll(), immediate ? 0 : this.refreshIntervalMs);
    this.pollTimer.unref();
  }

  private stopPolling(): void {
    if (this.pollTimer !== undefined) clearTimeout(this.pollTimer);
    this.pollTimer = undefined;
  }

  private async poll(): Promise<void> {
    this.pollTimer = undefined;
    if (this.stopped() || this.streamConnected) return;
    const path = '/api/client/features';
    let next = this.refreshIntervalMs;
    try {
      const headers: Record<string, string> = { ...this.headers, Accept: 'application/json' };
      if (this.etag !== undefined) headers['If-None-Match'] = this.etag;
      const res = await this.requestText(path, { headers });
      if (res.status === 401 || res.status === 403) {
        this.fail(new WavegateAuthError(res.status, path));
        return;
      }
      if (res.status === 304) {
        this.pollBackoff.reset();
      } else if (res.status === 200) {
        const body: unknown = JSON.parse(res.text);
        if (!isFeaturesResponse(body)) throw new Error(`${path}: not a features response`);
        this.etag = res.etag ?? undefined;
        this.lastEventId = this.etag;
        this.pollBackoff.reset();
        if (!this.streamConnected) this.apply(body, 'poll');
      } else {
        throw new Error(`${path}: HTTP ${res.status}`);
      }
    } catch (e) {
      next = this.pollBackoff.next();
      this.emitError(new Error(`fetching flags failed: ${errorMessage(e)}`));
      if (!this.fromServer) await this.loadCacheOnce();
    }
    if (this.stopped() || this.streamConnected) return;
    if (this.pollTimer === undefined) {
      this.pollTimer = setTimeout(() => void this.poll(), next);
      this.pollTimer.unref();
    }
  }

  private async requestText(
    path: string,
    init: { method?: string; headers: Record<string, string>; body?: string },
  ): Promise<{ status: number; text: string; etag: string | null }> {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), this.timeoutMs);
    try {
      // The timeout holds even where fetch ignores the signal (see readStream).
      const res = await abortable(
        this.fetchFn(`${this.baseUrl}${path}`, { ...init, signal: abort.signal }),
        abort.signal,
      );
      const text = await abortable(res.text(), abort.signal);
      return { status: res.status, text, etag: res.headers.get('etag') };
    } finally {
      clearTimeout(timer);
    }
  }

  // 'ok', 'drop' (the server refused the body: resending cannot help) or 'retry' (network or server error).
  private async post(path: string, body: unknown): Promise<'ok' | 'drop' | 'retry'> {
    try {
      const res = await this.requestText(path, {
        method: 'POST',
        headers: { ...this.headers, 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
      if (res.status >= 200 && res.status < 300) return 'ok';
      if (res.status === 429 || res.status >= 500) {
        this.logger.warn(`POST ${path}: HTTP ${res.status}, will retry`);
        return 'retry';
      }
      this.logger.warn(`POST ${path}: HTTP ${res.status} ${res.text.slice(0, 200)}`);
      return 'drop';
    } catch (e) {
      this.logger.warn(`POST ${path} failed: ${errorMessage(e)}, will retry`);
      return 'retry';
    }
  }

  private register(): void {
    const body = {
      appName: this.appName,
      instanceId: this.instanceId,
      sdkVersion: `${SDK_NAME}:${SDK_VERSION}`,
      strategies: [...BUILT_IN_STRATEGIES],
      started: new Date().toISOString(),
      interval: this.options.metricsIntervalMs ?? 60_000,
      ...(this.environment === undefined ? {} : { environment: this.environment }),
    };
    void this.post('/api/client/register', body);
  }

  private stopped(): boolean {
    return this.closed || this.connection === 'failed';
  }

  private clearTimers(): void {
    for (const t of [this.pollTimer, this.reconnectTimer]) if (t !== undefined) clearTimeout(t);
    for (const t of [this.metricsTimer, this.errorsTimer]) if (t !== undefined) clearInterval(t);
    this.pollTimer = this.reconnectTimer = this.metricsTimer = this.errorsTimer = undefined;
  }
}

function isThenable(value: unknown): value is Promise<unknown> {
  return (
    typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function'
  );
}

function isDeltaEvent(body: unknown): body is DeltaEvent {
  const type = (body as { type?: unknown } | null)?.type;
  return (
    type === 'hydration' ||
    type === 'feature-updated' ||
    type === 'feature-removed' ||
    type === 'segment-updated' ||
    type === 'segment-removed'
  );
}

let cachedHostname: string | undefined;
function safeHostname(): string {
  if (cachedHostname === undefined) {
    try {
      cachedHostname = hostname();
    } catch {
      cachedHostname = 'unknown';
    }
  }
  return cachedHostname;
}

// `promise`, or a rejection as soon as `signal` aborts, whether or not the promise's producer honours the signal.
// A response that arrives after the abort has its body cancelled, so that its connection is not held.
function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    discard(promise);
    return Promise.reject(abortError());
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      discard(promise);
      reject(abortError());
    };
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

function discard(promise: Promise<unknown>): void {
  promise.then(
    (value) => {
      const body = (value as { body?: { cancel?: () => Promise<void> } | null } | null)?.body;
      if (typeof body?.cancel === 'function') body.cancel().catch(() => undefined);
    },
    () => undefined,
  );
}

function abortError(): Error {
  const error = new Error('The operation was aborted');
  error.name = 'AbortError';
  return error;
}
